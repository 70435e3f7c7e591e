"""The JSON report: the verdict records as data, for CI jobs and other programs.

The layout is documented in README.md ("JSON output"). Keys are stable; new keys may be
added, never removed or renamed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bnverify.judge.records import Counterexample, FileResult, Verdict, exit_status
from bnverify.problem import Problem
from bnverify.report.inert import escaped_document


def render(results: Sequence[FileResult], problems: Sequence[Problem] = ()) -> str:
    """The whole report as a JSON document (ends with a newline)."""
    verdicts = [v for r in results for v in r.verdicts]
    document = {
        "results": [_result(v) for v in verdicts],
        "problems": [_problem(p) for r in results for p in r.problems]
        + [_problem(p) for p in problems],
        "summary": {
            "total": len(verdicts),
            "match": sum(v.kind == "match" for v in verdicts),
            "diverge": sum(v.kind == "diverge" for v in verdicts),
            "error": sum(v.kind == "error" for v in verdicts),
            "ok": sum(v.ok for v in verdicts),
            "status": exit_status(results, len(problems)),
        },
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return escaped_document(text, lambda character: f"\\u{ord(character):04x}") + "\n"


def _result(v: Verdict) -> dict[str, Any]:
    c = v.candidate
    return {
        "file": c.path,
        "line": c.location.line,
        "name": c.name,
        "wrt": v.wrt if v.wrt is not None else c.wrt,
        "verdict": v.kind,
        "expect": c.expect,
        "ok": v.ok,
        "message": v.message,
        "residual": {"ascii": v.residual.ascii, "latex": v.residual.latex} if v.residual else None,
        "conditions": list(v.conditions),
        "counterexample": _counterexample(v.counterexample),
        "shape_fix": v.shape_fix,
        "diagnosis_cut_short": v.diagnosis_note,
        "evidence": [
            {"layer": e.name, "outcome": e.outcome, "detail": e.detail} for e in v.evidence
        ],
        "error": _problem(v.problem) if v.problem else None,
    }


def _counterexample(ce: Counterexample | None) -> dict[str, Any] | None:
    if ce is None:
        return None
    return {
        "N": ce.n,
        "inputs": {name: list(values) for name, values in ce.inputs},
        "truth": list(ce.truth),
        "candidate": list(ce.candidate),
    }


def _problem(problem: Problem) -> dict[str, Any]:
    where = problem.location
    return {
        "file": where.path if where else None,
        "line": where.line if where else None,
        "column": where.column if where else None,
        "message": problem.message,
    }
