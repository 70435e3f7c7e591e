"""The JUnit XML report: one testcase per candidate, for Jenkins, GitLab and other CI.

The layout is the one Jenkins (JUnit and xUnit plugins) and GitLab's test reports read: a
<testsuites> root, one <testsuite> per derivation file, one <testcase> per candidate, its
classname from the file and its name the candidate's. A verdict other than the expected
one is a <failure>, a candidate that could not be checked an <error>. A problem with a file
(or a missing path) becomes a testcase with an <error> of its own, so nothing is dropped.
<skipped> is never written: every candidate is decided or reported as an error. No time
is recorded, so the same seed gives the same file byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from xml.etree import ElementTree as ET

from bnverify.judge.records import FileResult
from bnverify.problem import Problem
from bnverify.report.inert import escaped_document
from bnverify.report.rows import CandidateRow, FileRow, ProblemRow, Run, run_of

RUN_SUITE = "bnverify"  # the suite and classname of problems that belong to no file

# XML 1.0 cannot carry most control characters, even escaped; a TOML basic string can
# ("\u0001"), so they are shown as \x.. instead of making the whole file unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(results: Sequence[FileResult], problems: Sequence[Problem] = ()) -> str:
    """The whole run as a JUnit XML document (ends with a newline)."""
    return render_run(run_of(results, problems))


def render_run(run: Run) -> str:
    """The JUnit XML document of a run's rows (ends with a newline)."""
    suites = [_suite(f.path, _file_cases(f)) for f in run.files]
    if run.problems:
        cases = [_problem_case(RUN_SUITE, p.message, p) for p in run.problems]
        suites.append(_suite(RUN_SUITE, cases))
    root = ET.Element("testsuites", name=RUN_SUITE)
    for attribute in ("tests", "failures", "errors"):
        root.set(attribute, str(sum(int(s.get(attribute, "0")) for s in suites)))
    root.extend(suites)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=True)
    return escaped_document(text, lambda character: f"&#{ord(character)};") + "\n"


def classname(path: str) -> str:
    """A file's classname: its path without suffix, dotted (derivations.forum-post)."""
    return ".".join(PurePath(path).with_suffix("").parts) or path


def _suite(name: str, cases: list[ET.Element]) -> ET.Element:
    suite = ET.Element("testsuite", name=_safe(name))
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    suite.set("errors", str(sum(c.find("error") is not None for c in cases)))
    suite.set("skipped", "0")
    suite.extend(cases)
    return suite


def _file_cases(row: FileRow) -> list[ET.Element]:
    cases = [_verdict_case(c) for c in row.candidates]
    if row.problems:
        # One testcase for the file itself, named after it, listing all its problems.
        name = PurePath(row.path).name
        cases.insert(0, _problem_case(classname(row.path), name, *row.problems))
    return cases


def _verdict_case(c: CandidateRow) -> ET.Element:
    case = _case(classname(c.file), c.name)
    if c.verdict == "error":
        _child(case, "error", "not checked", c.message, c.details)
    elif not c.ok:
        message = f"{c.verdict}, expected {c.expect}: {c.message}"
        _child(case, "failure", f"unexpected {c.verdict}", message, c.details)
    return case


def _problem_case(cls: str, name: str, *problems: ProblemRow) -> ET.Element:
    case = _case(cls, name)
    message = "; ".join(p.message for p in problems)
    _child(case, "error", "bad input", message, "\n".join(p.shown for p in problems))
    return case


def _case(cls: str, name: str) -> ET.Element:
    return ET.Element("testcase", classname=_safe(cls), name=_safe(name))


def _child(case: ET.Element, tag: str, kind: str, message: str, text: str) -> None:
    element = ET.SubElement(case, tag, type=kind, message=_safe(message))
    element.text = _safe(text)


def _safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
