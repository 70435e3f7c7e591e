"""`bnverify report` as users run it: formats, figure files, standard output, exit status."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.report.printable import markdown, prose

DERIVATIONS = Path(__file__).parent.parent / "derivations"
FORUM = str(DERIVATIONS / "forum-post.toml")
HOSTILE = str(Path(__file__).parent / "data" / "hostile.toml")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_markdown_report_with_figures_beside_it(tmp_path):
    result = run("report", FORUM, "-o", str(tmp_path / "post.md"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "post-figure-2.svg",
        "post-figure-3.svg",
        "post.md",
    ]
    report = (tmp_path / "post.md").read_text()
    assert "](<post-figure-3.svg>)" in report
    assert (tmp_path / "post-figure-3.svg").read_text().startswith("<?xml")
    assert "--format md --seed 0 --max-symbolic-batch 8 `" in report


def test_same_seed_same_bytes_other_seed_other_figures(tmp_path):
    target = tmp_path / "r.md"
    runs = []
    for seed in ("1", "1", "2"):
        assert run("report", FORUM, "-o", str(target), "--seed", seed).exit_code == 0
        runs.append((target.read_bytes(), (tmp_path / "r-figure-3.svg").read_bytes()))
    assert runs[0] == runs[1]
    assert runs[2][1] != runs[0][1]


def test_standard_output_is_markdown_and_no_figure_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("report", FORUM)
    assert result.exit_code == 0
    assert result.output.startswith("# Batch Norm gradients from a class-forum post")
    assert markdown.text(prose.NO_FIGURE) in result.output
    assert list(tmp_path.iterdir()) == []


def test_format_overrides_the_extension(tmp_path):
    target = tmp_path / "post.txt"
    assert run("report", FORUM, "-o", str(target), "--format", "tex").exit_code == 0
    assert target.read_text().startswith(r"\documentclass")
    assert (tmp_path / "post-figure-3.pdf").read_bytes().startswith(b"%PDF-")


def test_html_report_is_one_file(tmp_path):
    result = run("report", FORUM, "-o", str(tmp_path / "post.html"))
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["post.html"]
    assert "<svg" in (tmp_path / "post.html").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "post.pdf"), "cannot tell the report format from 'post.pdf'"),
        (("-o", "post.md", "--pdf"), "--pdf prints an HTML report written to a file"),
        (("--format", "html", "--pdf"), "--pdf prints an HTML report written to a file"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run("report", FORUM, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_directory_without_an_output_folder_or_a_missing_file_exits_2(tmp_path):
    folder = run("report", str(DERIVATIONS))  # a folder's reports need -o handouts/
    assert folder.exit_code == 2 and "-o handouts/" in folder.output
    missing = run("report", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "r.md"))
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert not (tmp_path / "r.md").exists()


def test_a_candidate_that_cannot_be_checked_is_reported_and_exits_2(tmp_path):
    result = run("report", HOSTILE, "-o", str(tmp_path / "r.md"))
    assert result.exit_code == 2
    assert "hostile.toml:14:16: error: unknown command" in result.output
    report = (tmp_path / "r.md").read_text()
    assert "**⚠ error**" in report and "<script>" not in report


def test_figure_names_are_safe_whatever_the_report_is_called(tmp_path):
    target = tmp_path / "my report (v2) $x.tex"
    assert run("report", FORUM, "-o", str(target)).exit_code == 0
    figures = sorted(p.name for p in tmp_path.glob("*.pdf"))
    assert figures == ["my-report-v2-x-figure-2.pdf", "my-report-v2-x-figure-3.pdf"]
    assert "{my-report-v2-x-figure-3.pdf}" in target.read_text()


def test_a_formula_too_deep_to_print_is_named_and_the_rest_written(tmp_path):
    # A tower of powers within raised limits: the check copes, the printers recurse.
    tower = "(" * 390 + "g_y" + ")^1" * 390
    path = tmp_path / "tower.toml"
    path.write_text(
        f'model = "batchnorm"\n[[candidate]]\nname = "t"\nwrt = "beta"\nexpr = "sum({tower})"\n'
    )
    for suffix in ("md", "tex", "html"):
        out = tmp_path / f"tower.{suffix}"
        result = run("report", str(path), "-o", str(out), "--max-nesting", "400")
        assert result.exit_code == 0, result.output
        assert "not printed: nested too deeply" in out.read_text() or suffix == "html"
        assert "g_{\\beta}" in out.read_text() or suffix == "html"  # the rest is there


def test_a_shadowed_model_spelling_is_noted_in_every_report_format(tmp_path):
    sigma = str(Path(__file__).parent / "data" / "sigma-notation.toml")
    for suffix in ("md", "tex", "html"):
        out = tmp_path / f"sigma.{suffix}"
        assert run("report", sigma, "-o", str(out), "--max-symbolic-batch", "2").exit_code == 0
        report = out.read_text()
        assert report.count("Note:") == 1 and "not as the model" in report
