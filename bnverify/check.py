"""`bnverify check` as a library: derivation files in, verdicts out, nothing printed.

Each file is loaded, its model found and its notation read; each candidate is parsed,
resolved and judged on its own, so a broken candidate (or file) never stops the others.
Problems found inside a formula are placed in the file here, from the formula's spans.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bnverify.engine.truth import truth_of
from bnverify.files.access import model_file_refusal
from bnverify.files.derivation import Candidate, Derivation, load_derivation
from bnverify.judge import budget, verdict
from bnverify.judge.verdict import Verdict
from bnverify.language import parser
from bnverify.language.limits import formula_problem
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem
from bnverify.settings import Settings, flag


@dataclass(frozen=True)
class FileResult:
    """The verdicts of one derivation file, and what was wrong with the file itself."""

    path: str
    title: str
    problems: tuple[Problem, ...]
    verdicts: tuple[Verdict, ...]


def check_file(path: str | Path, settings: Settings) -> FileResult:
    """Load a derivation file and judge each of its candidates."""
    return check_derivation(load_derivation(path, settings.limits), settings)


def check_derivation(derivation: Derivation, settings: Settings) -> FileResult:
    """Judge every candidate of a loaded derivation."""
    problems = list(derivation.problems)
    model = model_of(derivation)
    if isinstance(model, Problem):
        problems.append(model)
        model = None
    if model is None:
        return FileResult(derivation.path, derivation.title, tuple(problems), ())
    names, notation_problems = user_names(model, derivation.notation)
    problems.extend(notation_problems)
    verdicts = tuple(check_candidate(c, names, model, settings) for c in derivation.candidates)
    return FileResult(derivation.path, derivation.title, tuple(problems), verdicts)


def model_of(derivation: Derivation) -> Model | Problem | None:
    """The model a derivation names (None when it names none), or why it cannot be used."""
    if not derivation.model:
        return None
    model = _model_file_problem(derivation) or load_model(
        derivation.model, Path(derivation.path).parent
    )
    return _place_model_problem(model, derivation) if isinstance(model, Problem) else model


def check_candidate(
    candidate: Candidate, names: Names, model: Model, settings: Settings
) -> Verdict:
    """Parse, resolve and judge one candidate; any problem becomes an error verdict.

    The whole check runs within the candidate's time budget; one that runs out is an
    error verdict saying where, and the caller goes on to the next candidate.
    """
    if candidate.problem is not None:
        return verdict.error(candidate, candidate.problem)
    outcome = _within_budget(candidate, names, model, settings)
    return outcome if isinstance(outcome, Verdict) else verdict.error(candidate, outcome)


def _within_budget(
    candidate: Candidate, names: Names, model: Model, settings: Settings
) -> Verdict | Problem:
    """The candidate's verdict, or why it has none: out of time, too deep, or a bug."""
    seconds = settings.limits.time_budget
    try:
        checked = budget.within(seconds, lambda: _check(candidate, names, model, settings))
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
    if isinstance(checked, budget.Overrun):
        return Problem(
            f"ran out of its {seconds:g} s time budget in the {checked.layer} layer; "
            f"raise it with {flag('time_budget')}"
        )
    return checked


@budget.layer("parse")
def _check(candidate: Candidate, names: Names, model: Model, settings: Settings) -> Verdict:
    parsed = parser.parse(candidate.text, candidate.syntax, settings.limits)
    if isinstance(parsed, Problem):
        return verdict.error(candidate, _place(parsed, candidate))
    resolved = resolve(parsed, names, candidate.wrt)
    if isinstance(resolved, Problem):
        return verdict.error(candidate, _place(resolved, candidate))
    # Notation may put a formula where the candidate names it: bound the result again.
    too_big = formula_problem(resolved.expr, candidate.text, settings.limits)
    if too_big is not None:
        return verdict.error(candidate, _place(too_big, candidate))
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


def exit_status(results: Iterable[FileResult], extra_problems: int = 0) -> int:
    """0 when every verdict is as expected, 1 when one differs, 2 on any error."""
    results = list(results)
    if extra_problems or any(r.problems for r in results):
        return 2
    verdicts = [v for r in results for v in r.verdicts]
    if any(v.kind == "error" for v in verdicts):
        return 2
    return 0 if all(v.ok for v in verdicts) else 1
