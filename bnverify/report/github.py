"""GitHub Actions: annotations on the pull request's diff, and the job's step summary.

`--format github` prints one `::error` workflow command per candidate whose verdict is not
the expected one (and per problem with the input), placed at the candidate's line in its
TOML file, so GitHub shows it beside the diff. The step summary is a Markdown table of
every candidate, appended to the file GitHub names in GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bnverify.judge.records import FileResult, Verdict
from bnverify.problem import Location, Problem
from bnverify.report.inert import inert_lines, visible
from bnverify.report.text import outcome, summary, verdict_text

# GitHub's escaping for workflow commands: the message ("data") escapes %, CR and LF;
# properties also escape the ":" and "," that separate them.
_DATA_ESCAPES = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_PROPERTY_ESCAPES = {**_DATA_ESCAPES, ":": "%3A", ",": "%2C"}

# Every ASCII punctuation character may be backslash-escaped in GitHub's Markdown, so
# escaping all of them keeps free text (names, formulas, messages) from becoming markup:
# no table cell ends at a "|", no "<" opens an HTML tag, no "*" starts emphasis.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def render(results: Sequence[FileResult], problems: Sequence[Problem] = ()) -> str:
    """Workflow commands for everything not as expected, then the summary line."""
    commands = [_problem_command(p) for p in problems]
    for result in results:
        commands += [_problem_command(p) for p in result.problems]
        commands += [_verdict_command(v) for v in result.verdicts if not v.ok]
    return "".join(f"{c}\n" for c in commands) + summary(results, problems).lstrip() + "\n"


def command(message: str, location: Location | None, title: str) -> str:
    """An `::error` workflow command, escaped as GitHub requires."""
    properties = {"title": title}
    if location is not None:
        properties = {
            "file": location.path,
            "line": str(location.line),
            "col": str(location.column),
            **properties,
        }
    # Every field is shown as `visible` shows it (no raw ESC or BEL reaches the log, and
    # no `##[` survives), then escaped; the message keeps its lines, as %0A.
    listed = ",".join(
        f"{key}={_escape(visible(value), _PROPERTY_ESCAPES)}" for key, value in properties.items()
    )
    return f"::error {listed}::{_escape(inert_lines(message), _DATA_ESCAPES)}"


def _verdict_command(v: Verdict) -> str:
    c = v.candidate
    if v.kind == "error" and v.problem is not None:
        location = v.problem.location or c.location
        return command(verdict_text(v), location, f"{c.name}: could not be checked")
    return command(verdict_text(v), c.location, f"{c.name}: {v.kind}, expected {c.expect}")


def _problem_command(problem: Problem) -> str:
    return command(problem.message, problem.location, "bnverify: bad input")


def _escape(text: str, escapes: Mapping[str, str]) -> str:
    return "".join(escapes.get(character, character) for character in text)


def step_summary_path(environ: Mapping[str, str]) -> str | None:
    """The step summary file, when running in GitHub Actions and it is named."""
    if environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_STEP_SUMMARY"):
        return environ["GITHUB_STEP_SUMMARY"]
    return None


def step_summary(results: Sequence[FileResult], problems: Sequence[Problem] = ()) -> str:
    """A Markdown section: one table row per candidate, then problems and the summary."""
    lines = [
        "### bnverify",
        "",
        "| candidate | file | verdict | expected | outcome | diagnosis |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    verdicts = [v for r in results for v in r.verdicts]
    lines += [_row(v) for v in verdicts]
    bad_input = [*problems, *(p for r in results for p in r.problems)]
    if bad_input:
        lines += ["", "Problems with the input:", ""]
        lines += [f"- {_markdown(f'{_where(p.location)} {p.message}')}" for p in bad_input]
    lines += ["", _markdown(summary(results, problems)), ""]
    return "\n".join(lines) + "\n"


def _row(v: Verdict) -> str:
    c = v.candidate
    cells = (c.name, _where(c.location), v.kind, c.expect, outcome(v), v.message)
    return "| " + " | ".join(_markdown(cell) for cell in cells) + " |"


def _where(location: Location | None) -> str:
    return f"{location.path}:{location.line}" if location else ""


def _markdown(text: str) -> str:
    """Free text as one line of inert Markdown (safe in a table cell)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))
