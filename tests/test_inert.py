"""Nothing from input is obeyed: no forged CI command, no raw control character.

`runner_commands` reads output the way the GitHub Actions runner does (actions/runner,
ActionCommand.TryParseV2 and TryParse, with every command name counted as registered),
and every output format of a hostile derivation goes through it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bnverify.report.inert import BIDI_CONTROLS, escaped_document, inert_lines, shown_path, visible

# Lines as the runner reads a process's output (.NET ReadLine: \r, \n or \r\n).
_LINES = re.compile(r"\r\n|\r|\n")


def runner_commands(output: str) -> list[str]:
    """Every line the runner would take as a workflow command, either syntax."""
    return [line for line in _LINES.split(output) if _v2(line) or _v1(line)]


def _v2(line: str) -> bool:
    trimmed = line.lstrip()  # str.isspace covers every character .NET's TrimStart does
    return trimmed.startswith("::") and trimmed.find("::", 2) > 0


def _v1(line: str) -> bool:
    start = line.find("##[")
    return start >= 0 and line.find("]", start) > 0


HOSTILE = (
    'title = "##[notice]forged title"\n'
    'source = "::notice::forged source"\n'
    'model = "batchnorm"\n'
    "[[candidate]]\n"
    'name = "::warning file=README.md,line=1::forged: all derivations verified"\n'
    'wrt = "z"\n'
    'expr = "g_y"\n'
    'note = "x\\n::stop-commands::token\\r::error::forged\\u001b[2J\\u0007\\u202e ##[error]n"\n'
    "[[candidate]]\n"
    'name = "##[group]forged\\u001bc\\u2066"\n'
    "latex = '::error::\\\\foo'\n"
)
ONE_LINE = "::warning file=README.md,line=1::forged: all derivations verified\n"
RAW_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f" + "".join(map(chr, BIDI_CONTROLS)) + "]")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "derivations"
    folder.mkdir()
    (folder / "hostile.toml").write_text(HOSTILE, encoding="utf-8")
    (folder / "one-line.toml").write_text(ONE_LINE, encoding="utf-8")
    (folder / "::warning::forged.toml").write_text(ONE_LINE, encoding="utf-8")
    return tmp_path


def bnverify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bnverify", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
@pytest.mark.parametrize("target", ["derivations", "."])  # "." lists paths starting "::"
def test_no_format_carries_a_command(hostile, fmt, target):
    result = bnverify("check", target, "--format", fmt, cwd=hostile)
    assert result.returncode == 2
    assert runner_commands(result.stdout) == []
    assert runner_commands(result.stderr) == []
    assert "forged" in result.stdout  # shown, not dropped
    if fmt == "text":
        assert RAW_CONTROLS.search(result.stdout + result.stderr) is None


def test_the_data_formats_lose_nothing(hostile):
    # JSON and XML escape what would be obeyed, so a program reads the names as written.
    document = json.loads(bnverify("check", "derivations", "--format", "json", cwd=hostile).stdout)
    names = {r["name"] for r in document["results"]}
    assert "##[group]forged\x1bc\u2066" in names
    assert "::warning file=README.md,line=1::forged: all derivations verified" in names
    junit = bnverify("check", "derivations", "--format", "junit", cwd=hostile).stdout
    cases = ET.fromstring(junit.encode()).iter("testcase")
    assert any(case.get("name", "").startswith("##[group]forged") for case in cases)


def test_github_format_has_only_its_own_commands(hostile):
    result = bnverify("check", "derivations", "--format", "github", cwd=hostile)
    commands = runner_commands(result.stdout)
    assert commands and all(line.startswith("::error ") for line in commands)
    assert len(commands) == len(result.stdout.splitlines()) - 1  # then the summary line
    assert RAW_CONTROLS.search(result.stdout) is None
    assert runner_commands(result.stderr) == []


def test_the_markdown_report_on_standard_output(hostile):
    result = bnverify("report", "derivations/hostile.toml", cwd=hostile)
    assert runner_commands(result.stdout) == [] and runner_commands(result.stderr) == []
    assert RAW_CONTROLS.search(result.stdout) is None
    assert "forged title" in result.stdout


def test_the_pytest_plugin(hostile):
    command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "derivations"]
    result = subprocess.run(
        command, cwd=hostile, capture_output=True, text=True, timeout=300, env={"PATH": "/bin"}
    )
    assert "failed" in result.stdout
    assert runner_commands(result.stdout) == []
    assert RAW_CONTROLS.search(result.stdout) is None


# --- The functions themselves ----------------------------------------------------------


def test_visible_shows_every_control_in_one_line():
    assert visible("a\x1b[2Jb\x07\r\n\x85") == "a␛[2Jb␇␍␊\ufffd"
    assert visible("x\u202ey\u2066") == "x<U+202E>y<U+2066>"
    assert visible("##[error]") == "#\u200b#[error]"
    assert "\n" not in visible("a\nb")


def test_inert_lines_keep_newlines_and_break_commands():
    shown = inert_lines("ok\n  ::error::x\n\t::warning::y\nz ##[group]")
    assert shown.splitlines()[0] == "ok"
    assert runner_commands(shown) == []
    assert shown.count("\n") == 3


def test_escaped_documents_read_back_the_same():
    text = "x ##[error] \u202e \x85 and\n  ::warning::y"
    as_json = escaped_document(json.dumps(text, ensure_ascii=False), lambda c: f"\\u{ord(c):04x}")
    assert json.loads(as_json) == text and runner_commands(as_json) == []
    element = ET.Element("t")
    element.text = text
    as_xml = escaped_document(ET.tostring(element, encoding="unicode"), lambda c: f"&#{ord(c)};")
    assert ET.fromstring(as_xml).text == text and runner_commands(as_xml) == []


def test_a_path_never_starts_with_a_colon():
    assert shown_path("::warning::x.toml") == "./::warning::x.toml"
    assert shown_path("derivations/a.toml") == "derivations/a.toml"
