"""The JSON report: the verdict records as data, for CI jobs and other programs.

The layout is documented in README.md ("JSON output"). Keys are stable; new keys may be
added, never removed or renamed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bnverify.judge.records import KINDS, Counterexample, FileResult, Verdict, exit_status
from bnverify.problem import Problem
from bnverify.report.inert import escaped_document
from bnverify.report.rows import headline
from bnverify.report.text import located, verdict_text


def render(
    results: Sequence[FileResult],
    problems: Sequence[Problem] = (),
    positions: Sequence[int] | None = None,
) -> str:
    """The whole report as a JSON document (ends with a newline).

    `positions` place each file among the run's files before a --shard split.
    """
    places = positions if positions is not None else range(len(results))
    files = [_file(r, at) for r, at in zip(results, places, strict=True)]
    return assemble(files, [_problem(p) for p in problems])


def assemble(files: Sequence[dict[str, Any]], problems: Sequence[dict[str, Any]]) -> str:
    """The document of files' entries (as "files" holds them) and run-level problems.

    `bnverify merge` assembles shards' entries here too, so a merged report has the bytes
    of a single run's.
    """
    results = [r for f in files for r in f["results"]]
    statuses = [f["status"] for f in files] + [2] * bool(problems)
    document = {
        "results": results,
        "problems": [p for f in files for p in f["problems"]] + list(problems),
        "files": list(files),
        "summary": {
            "total": len(results),
            **{kind: sum(r["verdict"] == kind for r in results) for kind in KINDS},
            "ok": sum(r["ok"] for r in results),
            "status": max(statuses, default=0),
        },
    }
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return escaped_document(text, lambda character: f"\\u{ord(character):04x}") + "\n"


def _file(result: FileResult, position: int) -> dict[str, Any]:
    return {
        "file": result.path,
        "title": result.title,
        "source": result.source,
        "position": position,
        "ok": sum(v.ok for v in result.verdicts),
        "total": len(result.verdicts),
        "status": exit_status([result]),
        "problems": [_problem(p) for p in result.problems],
        "results": [_result(v) for v in result.verdicts],
    }


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
        "correction": (
            {"said": v.correction.said, "ascii": v.correction.ascii, "latex": v.correction.latex}
            if v.correction
            else None
        ),
        "conditions": list(v.conditions),
        "counterexample": _counterexample(v.counterexample),
        "shape_fix": v.shape_fix,
        "diagnosis_cut_short": v.diagnosis_note,
        "evidence": [
            {"layer": e.name, "outcome": e.outcome, "detail": e.detail} for e in v.evidence
        ],
        "error": _problem(v.problem) if v.problem else None,
        "headline": headline(v),
        "details": verdict_text(v),
    }


def _counterexample(ce: Counterexample | None) -> dict[str, Any] | None:
    if ce is None:
        return None
    return {
        "N": ce.n,
        "sizes": dict(ce.sizes),
        "inputs": {name: list(values) for name, values in ce.inputs},
        "truth": list(ce.truth),
        "candidate": list(ce.candidate),
        "labels": list(ce.labels),
    }


def _problem(problem: Problem) -> dict[str, Any]:
    where = problem.location
    return {
        "file": where.path if where else None,
        "line": where.line if where else None,
        "column": where.column if where else None,
        "message": problem.message,
        "shown": located(problem),
    }
