"""`bnverify check` as a library: derivation files in, verdicts out, nothing printed.

Each file is loaded, its model found and its notation read; each candidate is parsed,
resolved and judged on its own, so a broken candidate (or file) never stops the others.
Problems found inside a formula are placed in the file here, from the formula's spans.
The results keep what a printable report shows (the truth, each formula as parsed and
resolved, the curves), so `report_of` builds a report from one check and nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from bnverify.engine.truth import truth_of
from bnverify.files.access import model_file_refusal
from bnverify.files.derivation import (
    Candidate,
    Derivation,
    NotationEntry,
    inline_candidate,
    load_derivation,
)
from bnverify.files.toml_strings import TextOrigin
from bnverify.judge import budget, verdict
from bnverify.judge.records import FileResult, Verdict
from bnverify.language import parser
from bnverify.language.limits import formula_problem
from bnverify.language.tree import Formula
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem, location_in_text
from bnverify.report import notebook  # noqa: F401 (registers the records' notebook printers)
from bnverify.settings import Settings, flag

if TYPE_CHECKING:
    from bnverify.report.printable.records import Document

T = TypeVar("T")
MISSING_MODEL = "missing model"  # how files.derivation reports a file without model =
NOTATION_FLAG = "--notation"  # where a problem with an inline notation entry is shown


def check_file(path: str | Path, settings: Settings, fallback: Model | None = None) -> FileResult:
    """Load a derivation file and judge each of its candidates.

    `fallback` is the model of a file that names none (`check --model`).
    """
    derivation, model = _loaded(path, settings, fallback)
    return check_derivation(derivation, settings, model)


def _loaded(
    path: str | Path, settings: Settings, fallback: Model | None
) -> tuple[Derivation, Model | None]:
    """A derivation file, and the fallback model when it names none (else None)."""
    derivation = load_derivation(path, settings.limits)
    if fallback is not None and not derivation.model and derivation.model_location is None:
        return _without_missing_model(derivation), fallback
    return derivation, None


def _without_missing_model(derivation: Derivation) -> Derivation:
    # The file names no model and the command line gives one: "missing model" is no problem.
    kept = tuple(p for p in derivation.problems if not p.message.startswith(MISSING_MODEL))
    return replace(derivation, problems=kept)


def check_formula(
    text: str,
    wrt: str | None = None,
    *,
    model: str | Model = "batchnorm",
    syntax: Literal["ascii", "latex"] = "ascii",
    settings: Settings | None = None,
    notation: Mapping[str, str] | None = None,
) -> Verdict:
    """Judge one formula against the true gradient of a model, as `check --expr` does.

    `model` is a built-in model's name, the path of a model file or a loaded Model; a
    file that cannot be used gives an error verdict with its first problem (load_model
    gives them all). Without `wrt`, a LaTeX formula may name it on its left side.
    `notation` maps the formula's names to the model's, as a derivation's [notation]
    table does ({"q": "z"}); a bad entry gives an error verdict saying which.
    """
    settings = settings or Settings()
    loaded = load_model(model) if isinstance(model, str) else model
    candidate = inline_candidate(text, syntax, wrt)
    if isinstance(loaded, tuple):
        return verdict.error(candidate, loaded[0])
    names, problems = user_names(loaded, _inline_notation(notation or {}))
    if problems:
        return verdict.error(candidate, problems[0])
    return check_candidate(candidate, names, loaded, settings)


def _inline_notation(notation: Mapping[str, str]) -> list[NotationEntry]:
    """--notation KEY=VALUE entries, each located in its own `KEY=VALUE` text."""
    entries = []
    for key, value in notation.items():
        shown = f"{key}={value}"
        start = len(key) + 1
        origin = TextOrigin(NOTATION_FLAG, shown, tuple(range(start, len(shown) + 1)))
        where = location_in_text(NOTATION_FLAG, shown, 0, len(key))
        entries.append(NotationEntry(key, value, where, origin))
    return entries


def report_of(
    path: str | Path, settings: Settings, command: str, fallback: Model | None = None
) -> tuple[Document, FileResult]:
    """Read and check a derivation file once: its printable report, and the check's result.

    `fallback` is the model of a file that names none (`report --model`).
    """
    # The report's records and printers load only for `report`, not on every `check`.
    from bnverify.report.printable.document import build_document

    derivation, model = _loaded(path, settings, fallback)
    result = check_derivation(derivation, settings, model)
    return build_document(derivation, result, settings, command), result


def check_derivation(
    derivation: Derivation, settings: Settings, fallback: Model | None = None
) -> FileResult:
    """Judge every candidate of a loaded derivation (by `fallback` when it names no model)."""
    problems = list(derivation.problems)
    model = model_of(derivation) or fallback
    if isinstance(model, tuple):
        problems.extend(model)
        model = None
    if model is None:
        return FileResult(
            derivation.path, derivation.title, tuple(problems), (), source=derivation.source
        )
    names, notation_problems = user_names(model, derivation.notation)
    problems.extend(notation_problems)
    verdicts = tuple(check_candidate(c, names, model, settings) for c in derivation.candidates)
    # The truth the candidates were judged against (cached), for a report of the file.
    truth = truth_of(model)
    return FileResult(
        derivation.path, derivation.title, tuple(problems), verdicts, truth, derivation.source
    )


def model_of(derivation: Derivation) -> Model | tuple[Problem, ...] | None:
    """The model a derivation names (None when it names none), or why it cannot be used:
    every problem with the model file, each placed where the derivation names it unless
    it has a place in the model file."""
    if not derivation.model:
        return None
    refused = _model_file_problem(derivation)
    if refused is not None:
        return (refused,)
    model = load_model(derivation.model, Path(derivation.path).parent)
    if isinstance(model, Model):
        return model
    return tuple(_place_model_problem(p, derivation) for p in model)


def check_candidate(
    candidate: Candidate, names: Names, model: Model, settings: Settings
) -> Verdict:
    """Parse, resolve and judge one candidate; any problem becomes an error verdict.

    The whole check runs within the candidate's time budget: first the parse, then the
    rest in the time left. One that runs out is an error verdict saying where, and the
    caller goes on to the next candidate. The verdict keeps the tree as parsed whatever
    happens after the parse, so a report shows the formula as written.
    """
    if candidate.problem is not None:
        return verdict.error(candidate, candidate.problem)
    seconds = settings.limits.time_budget
    ends = time.monotonic() + seconds if seconds else None
    parsed = _within_budget(ends, settings, lambda: _parse(candidate, settings))
    if isinstance(parsed, Problem):
        return verdict.error(candidate, _place(parsed, candidate))
    judged = _within_budget(
        ends, settings, lambda: _judge(candidate, parsed, names, model, settings)
    )
    if isinstance(judged, Problem):
        judged = verdict.error(candidate, _place(judged, candidate))
    return replace(judged, parsed=parsed)


def _within_budget(ends: float | None, settings: Settings, work: Callable[[], T]) -> T | Problem:
    """work(), or why it has no result: out of time, too deep, or a bug."""
    try:
        done = budget.within(_time_left(ends), work)
    except RecursionError:  # only reachable with --max-nesting raised near its ceiling
        return Problem(
            "the formula is nested too deeply for bnverify's tree walks; "
            f"write it with fewer levels (or a lower {flag('max_nesting')})"
        )
    except Exception as err:  # a bug must not cost the other candidates their verdicts
        if settings.debug:
            raise
        return Problem(
            f"internal error while checking this candidate: {err!r}; this is a bug in "
            "bnverify (run with --debug for the traceback)"
        )
    if isinstance(done, budget.Overrun):
        return Problem(
            f"ran out of its {settings.limits.time_budget:g} s time budget in the "
            f"{done.layer} layer; raise it with {flag('time_budget')}"
        )
    return done


def _time_left(ends: float | None) -> float | None:
    # Never 0, which `within` reads as no deadline: a budget already spent runs out at once.
    return None if ends is None else max(ends - time.monotonic(), 1e-9)


@budget.layer("parse")
def _parse(candidate: Candidate, settings: Settings) -> Formula | Problem:
    return parser.parse(candidate.text, candidate.syntax, settings.limits)


@budget.layer("resolve")
def _judge(
    candidate: Candidate, parsed: Formula, names: Names, model: Model, settings: Settings
) -> Verdict | Problem:
    resolved = resolve(parsed, names, candidate.wrt)
    if isinstance(resolved, Problem):
        return resolved
    # Notation may put a formula where the candidate names it: bound the result again.
    too_big = formula_problem(resolved.expr, candidate.text, settings.limits)
    if too_big is not None:
        return too_big
    return verdict.judge(candidate, resolved, truth_of(model), settings)


def _place(problem: Problem, candidate: Candidate) -> Problem:
    if problem.location is not None:
        return problem
    if problem.span is not None:
        return problem.at(candidate.origin.locate(problem.span))
    return problem.at(candidate.location)


def _model_file_problem(derivation: Derivation) -> Problem | None:
    """Why the model file a derivation names may not be read, else None.

    A stranger's derivation could name any file the user can read (model = "../.env"),
    and an error message would then show a line of it: see file_access.
    """
    ref = derivation.model
    if not ref.endswith(".toml"):  # a built-in model, or the loader says there is none
        return None
    refused = model_file_refusal(ref, Path(derivation.path).parent)
    if refused is None:
        return None
    return Problem(f"model {ref!r} is not read: {refused}", location=derivation.model_location)


def _place_model_problem(problem: Problem, derivation: Derivation) -> Problem:
    if problem.location is not None or derivation.model_location is None:
        return problem
    return problem.at(derivation.model_location)
