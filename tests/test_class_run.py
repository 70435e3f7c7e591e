"""A class in one command: per-file summary, CSV, JSON per file, shards and their merge.

What a TA relies on: one summary line per student file and a class total; a CSV that a
spreadsheet (and Python's csv module) reads; the same bytes from the same command; and
shards whose merged reports are the bytes of a single run.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main

FAST = ["--max-symbolic-batch", "2", "--seed", "1"]
RIGHT = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
FORMULAS = {
    "right": RIGHT,
    "eval mode": "gamma/sqrt(var + eps) * g_y",
    "broken": "gamma*(g_y - ",
}


def submission(folder: Path, i: int) -> Path:
    """Student i's file: a name in `source`, one g_z candidate, some without a model."""
    kind = list(FORMULAS)[i % len(FORMULAS)]
    model = 'model = "batchnorm"\n' if i % 4 else ""
    text = (
        f'title = "Homework 3"\nsource = "Student {i:02d}"\n{model}'
        f'[[candidate]]\nname = "g_z"\nwrt = "z"\nexpr = "{FORMULAS[kind]}"\n'
    )
    path = folder / f"student-{i:02d}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submissions")
    for i in range(40):
        submission(folder, i)
    return folder


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, *FAST])
    return result.exit_code, result.stdout


def test_summary_is_one_line_per_file_and_a_total(classroom):
    status, out = run("check", str(classroom), "--model", "batchnorm", "--summary")
    lines = out.splitlines()
    assert status == 2  # the broken formulas could not be checked
    assert len(lines) == 41 <= 45
    assert lines[0].startswith("1/1  Homework 3 - Student 00  (")
    assert "failed: g_z" in lines[1]
    assert lines[-1].startswith("class: 40 files, 14/40 candidates as expected")
    assert run("check", str(classroom), "--model", "batchnorm", "--summary")[1] == out


def test_without_model_a_file_naming_none_is_a_problem(classroom):
    _, out = run("check", str(classroom), "--summary")
    assert "0/0  Homework 3 - Student 00" in out and "1 problem with the file" in out


def test_csv_reads_back_one_row_per_candidate(classroom):
    _, out = run("check", str(classroom), "--model", "batchnorm", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == 40
    assert list(table[0]) == [
        "file", "title", "source", "name", "verdict", "expect", "ok", "headline"
    ]  # fmt: skip
    assert table[0]["source"] == "Student 00" and table[0]["ok"] == "true"
    assert {row["verdict"] for row in table} == {"match", "diverge", "error"}


def test_json_groups_results_per_file_with_title_and_source(classroom):
    _, out = run("check", str(classroom), "--model", "batchnorm", "--format", "json")
    document = json.loads(out)
    first = document["files"][0]
    assert (first["title"], first["source"], first["ok"], first["total"]) == (
        "Homework 3",
        "Student 00",
        1,
        1,
    )
    assert [r for f in document["files"] for r in f["results"]] == document["results"]


@pytest.mark.parametrize("flag", ["--expr", "--latex"])
def test_an_inline_formula_with_paths_is_a_usage_error(classroom, flag):
    result = CliRunner().invoke(main, ["check", str(classroom), flag, "g_y", "--wrt", "y"])
    assert result.exit_code == 2
    assert "paths were also given" in result.output
    assert "Traceback" not in result.output


def test_shards_merge_to_the_bytes_of_one_run(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(7):
        submission(folder, i)
    base = ["check", str(folder), str(tmp_path / "missing"), "--model", "batchnorm"]
    shards = []
    for k in (1, 2, 3):
        shard = tmp_path / f"shard-{k}.json"
        run(*base, "--shard", f"{k}/3", "--format", "json", "-o", str(shard))
        shards.append(str(shard))
    singles = {
        "summary": run(*base, "--summary")[1],
        "csv": run(*base, "--format", "csv")[1],
        "junit": run(*base, "--format", "junit")[1],
        "json": run(*base, "--format", "json")[1],
    }
    for fmt, single in singles.items():
        result = CliRunner().invoke(main, ["merge", *reversed(shards), "--format", fmt])
        assert result.exit_code == 2  # a missing path and broken formulas
        assert result.stdout == single, fmt


def test_merge_refuses_what_is_not_a_report_and_a_shard_given_twice(tmp_path, classroom):
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": []}', encoding="utf-8")
    result = CliRunner().invoke(main, ["merge", str(bad)])
    assert result.exit_code == 2 and "is not a report" in result.output
    shard = tmp_path / "one.json"
    path = str(classroom / "student-01.toml")
    run("check", path, "--format", "json", "-o", str(shard))
    result = CliRunner().invoke(main, ["merge", str(shard), str(shard)])
    assert result.exit_code == 2 and "also in another shard" in result.output


@pytest.mark.parametrize("shard", ["0/2", "3/2", "a/b", "2"])
def test_a_bad_shard_is_a_usage_error(shard):
    result = CliRunner().invoke(main, ["check", "--shard", shard])
    assert result.exit_code == 2 and "K/N" in result.output


def test_csv_shows_control_characters_and_defuses_formulas(tmp_path):
    path = tmp_path / "evil.toml"
    path.write_text(
        'title = "=HYPERLINK(\\"x\\")"\nsource = "\\u001b[2Jwiped"\nmodel = "batchnorm"\n'
        '[[candidate]]\nname = "c"\nwrt = "beta"\nexpr = "sum(g_y)"\n',
        encoding="utf-8",
    )
    _, out = run("check", str(path), "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["title"].startswith("'=") and "\x1b" not in out


def test_merge_locates_a_broken_json_file(tmp_path):
    broken = tmp_path / "shard.json"
    broken.write_text('{"files": [\n  oops\n]}', encoding="utf-8")
    result = CliRunner().invoke(main, ["merge", str(broken)])
    assert result.exit_code == 2
    assert f"{broken}:2:3: error: not JSON" in result.output
    assert "Traceback" not in result.output
