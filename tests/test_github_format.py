"""`check --format github`: workflow commands GitHub turns into annotations, and the summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.problem import Location
from bnverify.report.github import command, step_summary_path

DERIVATIONS = Path(__file__).parent.parent / "derivations"
DATA = Path(__file__).parent / "data"

# GitHub's syntax: ::error key=value,key=value::message (properties may be absent).
COMMAND = re.compile(r"^::error(?: (?P<properties>[^:]*))?::(?P<message>.*)$")
UNESCAPE = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def unescape(text: str) -> str:
    return re.sub("%25|%0D|%0A|%3A|%2C", lambda m: UNESCAPE[m.group()], text)


def parse(output: str) -> list[dict[str, str]]:
    """Every workflow command in the output, its properties and message unescaped."""
    found = []
    for line in output.splitlines():
        match = COMMAND.match(line)
        if match is None:
            continue
        listed = match["properties"] or ""
        properties = dict(part.split("=", 1) for part in listed.split(",") if part)
        found.append(
            {key: unescape(value) for key, value in properties.items()}
            | {"message": unescape(match["message"])}
        )
    return found


def run(*args: str, env: dict[str, str] | None = None):
    # Unset unless given, so the suite run inside GitHub Actions writes no summary of its own.
    outside = {"GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None}
    return CliRunner().invoke(main, ["check", *args], env=outside | (env or {}))


def test_shipped_derivations_give_no_annotation():
    result = run(str(DERIVATIONS), "--format", "github")
    assert result.exit_code == 0
    assert parse(result.stdout) == []
    texts = [p.read_text(encoding="utf-8") for p in DERIVATIONS.glob("*.toml")]
    candidates = sum(text.count("[[candidate]]") for text in texts)
    claims = sum(text.count("[[claim]]") for text in texts)
    assert f"{candidates} candidates" in result.stdout and f"{claims} claims" in result.stdout
    assert "all as expected" in result.stdout


def test_one_annotation_per_unexpected_candidate_at_its_line():
    path = DATA / "unexpected.toml"
    result = run(str(path), "--format", "github")
    assert result.exit_code == 2
    annotations = parse(result.stdout)
    assert len(annotations) == 4  # "as expected" is
    diverged, matched, typo, no_formula = annotations
    assert diverged["file"] == str(path)
    assert (diverged["line"], diverged["col"]) == ("5", "1")
    assert diverged["title"] == "g_z, eval mode: no batch terms: diverge, expected match"
    assert "missing terms (truth - candidate):" in diverged["message"]
    assert "\n  matches when: batch statistics held constant" in diverged["message"]
    assert (matched["line"], matched["title"]) == (
        "15",
        "unexpected match: match, expected diverge",
    )
    assert (typo["line"], typo["col"]) == ("23", "9")  # the misspelt name itself
    assert typo["title"] == "typo: could not be checked" and "gama" in typo["message"]
    assert no_formula["line"] == "26"


def test_problems_with_the_input_are_annotated(tmp_path):
    broken = DATA / "broken.toml"
    result = run(str(broken), str(tmp_path / "gone"), "--format", "github")
    assert result.exit_code == 2
    missing, invalid = parse(result.stdout)
    assert "file" not in missing and "no such file or directory" in missing["message"]
    assert invalid["file"] == str(broken) and invalid["line"] == "5"
    assert invalid["message"].startswith("invalid TOML")


def test_escaping_follows_github():
    where = Location("a,b:c.toml", 7, 2)
    line = command("100% sure\r\nreally", where, "x: y, z")
    assert line == (
        "::error file=a%2Cb%3Ac.toml,line=7,col=2,title=x%3A y%2C z::100%25 sure␍%0Areally"
    )
    # A carriage return would end the line in the runner's log: it is shown, not sent.
    assert parse(line) == [
        {"file": "a,b:c.toml", "line": "7", "col": "2", "title": "x: y, z"}
        | {"message": "100% sure␍\nreally"}
    ]


SUMMARY_ENV = {"GITHUB_ACTIONS": "true"}


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github"])
def test_step_summary_is_appended_whatever_the_format(tmp_path, fmt):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    env = SUMMARY_ENV | {"GITHUB_STEP_SUMMARY": str(summary)}
    output = tmp_path / "out"
    result = run(str(DERIVATIONS / "forum-post.toml"), "--format", fmt, "-o", str(output), env=env)
    assert result.exit_code == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### bnverify\n")
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| candidate | file | verdict | expected | outcome | diagnosis |"
    assert len(rows) == 2 + 3
    assert rows[4].startswith("| g\\_z |")
    expected = "| diverge | ok | proved different\\: a counterexample at N \\= 2\\, checked"
    assert expected in rows[4], rows[4]


def test_step_summary_escapes_free_text(tmp_path):
    path = tmp_path / "hostile.toml"
    path.write_text(
        'model = "batchnorm"\n[[candidate]]\nname = "a | <script>x</script>\\nb"\n'
        'expr = "g_y"\nwrt = "z"\n',
        encoding="utf-8",
    )
    summary = tmp_path / "summary.md"
    env = SUMMARY_ENV | {"GITHUB_STEP_SUMMARY": str(summary)}
    assert run(str(path), env=env).exit_code == 1
    row = next(line for line in summary.read_text().splitlines() if line.startswith("| a"))
    assert row.startswith("| a \\| \\<script\\>x\\<\\/script\\> b |")
    assert row.count(" | ") == 5  # six cells: the name's "|" did not add a column
    assert "<script>" not in row


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"GITHUB_ACTIONS": "false", "GITHUB_STEP_SUMMARY": "set"},
        {"GITHUB_ACTIONS": "true"},
        {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""},
    ],
)
def test_no_step_summary_outside_github_actions(env):
    assert step_summary_path(env) is None


def test_no_step_summary_file_is_written_when_unset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"GITHUB_ACTIONS": "false", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    result = run(str(DERIVATIONS / "forum-post.toml"), env=env)
    assert result.exit_code == 0
    assert list(tmp_path.iterdir()) == []
