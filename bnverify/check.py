"""`bnverify check` as a library: derivation files in, verdicts out, nothing printed.

Each file is loaded, its model found and its notation read; each candidate is parsed,
resolved and judged on its own, so a broken candidate (or file) never stops the others.
Problems found inside a formula are placed in the file here, from the formula's spans.
The results keep what a printable report shows (the truth, each formula as parsed and
resolved, the curves), so `report_of` builds a report from one check and nothing more.

With `jobs`, as the command line runs them, candidates (and a report's derivation steps)
are checked in worker processes (judge.workers) that the parent stops when one passes
its CPU-time budget or memory limit, even inside C code; the results are the same
records, in the same order, whatever the number of jobs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from bnverify.engine.truth import Truth, truth_of
from bnverify.files.claim_records import Claim
from bnverify.files.derivation import (
    Candidate,
    Derivation,
    NotationEntry,
    inline_candidate,
    load_derivation,
)
from bnverify.files.toml_strings import TextOrigin
from bnverify.judge import budget, claims, verdict, workers
from bnverify.judge.records import FileResult, Verdict
from bnverify.language import parser
from bnverify.language.limits import formula_problem
from bnverify.language.tree import Formula
from bnverify.model.graph import Model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.models import load_usable, model_of, usable
from bnverify.problem import Location, Problem, location_in_text
from bnverify.report import notebook  # noqa: F401 (registers the records' notebook printers)
from bnverify.settings import Settings, flag

if TYPE_CHECKING:
    from bnverify.report.printable.records import Document

T = TypeVar("T")


Progress = Callable[[int, int], None]  # (candidates checked, candidates found so far)
MISSING_MODEL = "missing model"  # how files.derivation reports a file without model =
NOTATION_FLAG = "--notation"  # where a problem with an inline notation entry is shown


def check_file(
    path: str | Path,
    settings: Settings,
    fallback: Model | None = None,
    searched: Sequence[str | Path] = (),
) -> FileResult:
    """Load a derivation file and judge each of its candidates.

    `fallback` is the model of a file that names none (`check --model`). `searched` are
    the folders the run was given: a model file may be anywhere in a folder of them that
    holds the derivation (or in its git repository; see files.access).
    """
    derivation, model = _loaded(path, settings, fallback)
    return check_derivation(derivation, settings, model, searched)


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


def check_files(
    paths: Sequence[str | Path],
    settings: Settings,
    jobs: int,
    progress: Progress | None = None,
    fallback: Model | None = None,
    searched: Sequence[str | Path] = (),
) -> list[FileResult]:
    """Judge the candidates of many files in `jobs` worker processes, in the files' order.

    Files are read here and their candidates handed to the workers as each file is read;
    `progress` hears of every candidate checked. `fallback` is the model of a file that
    names none; `searched`, the folders the run was given (see check_file).
    """
    plans: list[_Plan] = []
    with workers.Pool(jobs, settings.limits.max_memory) as pool:
        for path in paths:
            plans.append(_plan(*_loaded(path, settings, fallback), settings, searched))
            for j, candidate in enumerate(plans[-1].candidates):
                pool.submit(
                    _judge_job((len(plans) - 1, j), candidate, *plans[-1].judged_by, settings)
                )
        verdicts = _collected(pool, _candidates(plans), settings, progress)
    return [
        plan.result(tuple(verdicts[i, j] for j in range(len(plan.candidates))))
        for i, plan in enumerate(plans)
    ]


def check_formula(
    text: str,
    wrt: str | None = None,
    *,
    model: str | Model = "batchnorm",
    syntax: Literal["ascii", "latex"] = "ascii",
    settings: Settings | None = None,
    jobs: int | None = None,
    notation: Mapping[str, str] | None = None,
    claim: Claim | None = None,
) -> Verdict:
    """Judge one formula against the true gradient of a model, as `check --expr` does;
    with `claim`, decide it as a claim that should hold, as `check --claim` does.

    `model` is a built-in model's name, the path of a model file or a loaded Model; a
    model that cannot be used (what it states is proved first, see bnverify.models)
    gives an error verdict with its first problem (models.load_usable gives them all).
    Without `wrt`, a LaTeX formula may name it on its left side. With `jobs`, it is
    checked in a worker process (see check_files). `notation` maps the
    formula's names to the model's, as a derivation's [notation] table does ({"q": "z"});
    a bad entry gives an error verdict saying which.
    """
    settings = settings or Settings()
    loaded = load_usable(model, settings) if isinstance(model, str) else usable(model, settings)
    candidate = inline_candidate(text, syntax, wrt)
    if claim is not None:
        candidate = replace(candidate, claim=claim, expect="holds")
    if isinstance(loaded, tuple):
        return verdict.error(candidate, loaded[0])
    names, problems = user_names(loaded, _inline_notation(notation or {}))
    if problems:
        return verdict.error(candidate, problems[0])
    if jobs is None:
        return check_candidate(candidate, names, loaded, settings)
    with workers.Pool(jobs, settings.limits.max_memory) as pool:
        pool.submit(_judge_job(0, candidate, names, loaded, settings))
        return _collected(pool, {0: candidate}, settings)[0]


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
    path: str | Path,
    settings: Settings,
    command: str,
    jobs: int | None = None,
    fallback: Model | None = None,
    searched: Sequence[str | Path] = (),
) -> tuple[Document | Problem, FileResult]:
    """Read and check a derivation file once: its printable report, and the check's result.

    With `jobs`, the candidates and then the report's derivation steps are worked out in
    worker processes (see check_files); steps that pass the budget give a Problem in
    place of the report. `fallback` is the model of a file that names none; `searched`,
    the folders the run was given (see check_file).
    """
    derivation, model = _loaded(path, settings, fallback)
    if jobs is None:
        result = check_derivation(derivation, settings, model, searched)
        return _document(derivation, result, settings, command), result
    plan = _plan(derivation, model, settings, searched)
    with workers.Pool(jobs, settings.limits.max_memory) as pool:
        for j, candidate in enumerate(plan.candidates):
            pool.submit(_judge_job(j, candidate, *plan.judged_by, settings))
        verdicts = _collected(pool, dict(enumerate(plan.candidates)), settings)
        result = plan.result(tuple(verdicts[j] for j in range(len(plan.candidates))))
        pool.submit(
            workers.Job(
                "report", _bounded_document, (derivation, result, plan.model, settings, command)
            )
        )
        (_, built), *_ = pool.completed()
    if isinstance(built, workers.Stopped | workers.Raised):
        built = _failure(built, settings)
    if isinstance(built, Problem):
        built = Problem(f"no report written: its derivation steps {built.message}")
        built = built.at(_report_location(derivation))
    return built, result


def check_derivation(
    derivation: Derivation,
    settings: Settings,
    fallback: Model | None = None,
    searched: Sequence[str | Path] = (),
) -> FileResult:
    """Judge every candidate of a loaded derivation (by `fallback` when it names no model).

    `searched` are the folders the run was given (see check_file).
    """
    plan = _plan(derivation, fallback, settings, searched)
    if plan.model is None or plan.names is None:
        return plan.result(())
    verdicts = tuple(check_candidate(c, plan.names, plan.model, settings) for c in plan.candidates)
    # The truth the candidates were judged against (cached), for a report of the file.
    return plan.result(verdicts, truth_of(plan.model))


@dataclass(frozen=True)
class _Plan:
    """A derivation as read: its file's problems, and what its candidates are judged by."""

    derivation: Derivation
    problems: tuple[Problem, ...]
    model: Model | None
    names: Names | None

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """The candidates to judge: none when the model cannot be used."""
        return self.derivation.candidates if self.model is not None else ()

    @property
    def judged_by(self) -> tuple[Names | None, Model | None]:
        """The names a candidate may use, and the model it is judged by."""
        return self.names, self.model

    def result(self, verdicts: tuple[Verdict, ...], truth: Truth | None = None) -> FileResult:
        d = self.derivation
        notes = self.names.notes if self.names is not None else ()
        return FileResult(
            d.path, d.title, self.problems, verdicts, truth, notes=notes, source=d.source
        )


def _plan(
    derivation: Derivation,
    fallback: Model | None,
    settings: Settings,
    searched: Sequence[str | Path] = (),
) -> _Plan:
    problems = list(derivation.problems)
    model = model_of(derivation, settings, tuple(map(Path, searched)))
    if model is None and fallback is not None:
        model = usable(fallback, settings)  # proved once: the proof is cached per model
    if isinstance(model, tuple):
        problems.extend(model)
        model = None
    if model is None:
        return _Plan(derivation, tuple(problems), None, None)
    names, notation_problems = user_names(model, derivation.notation)
    problems.extend(notation_problems)
    return _Plan(derivation, tuple(problems), model, names)


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
    ends = _deadline(settings.candidate_seconds)
    parsed = _within_budget(ends, settings, lambda: _parse(candidate, settings))
    if isinstance(parsed, Problem):
        return verdict.error(candidate, _place(parsed, candidate))
    judged = _within_budget(
        ends, settings, lambda: _judge(candidate, parsed, names, model, settings)
    )
    if isinstance(judged, Problem):
        judged = verdict.error(candidate, _place(judged, candidate))
    return replace(judged, parsed=parsed)


def _judge_job(
    key: Hashable,
    candidate: Candidate,
    names: Names | None,
    model: Model | None,
    settings: Settings,
) -> workers.Job:
    return workers.Job(key, _judged, (candidate, names, model, settings))


def _judged(candidate: Candidate, names: Names, model: Model, settings: Settings) -> Verdict:
    """check_candidate in a worker, after the model's truth is derived in a stage of its own.

    The truth is cached in the worker, so the first candidate a worker checks would pay
    for it out of its own budget and the others not; with a budget of its own, a
    candidate's verdict does not depend on which worker checks it, or after what.
    """
    seconds = settings.limits.time_budget
    if candidate.problem is None:
        workers.stage("truth", seconds)
        derived = _within_budget(_deadline(seconds), settings, lambda: _truth(model))
        if isinstance(derived, Problem):
            return verdict.error(candidate, _place(derived, candidate))
    workers.stage("check", settings.candidate_seconds)
    return check_candidate(candidate, names, model, settings)


@budget.layer("truth")
def _truth(model: Model) -> Truth:
    return truth_of(model)


def _collected(
    pool: workers.Pool,
    candidates: dict[Hashable, Candidate],
    settings: Settings,
    progress: Progress | None = None,
) -> dict[Hashable, Verdict]:
    """Each job's verdict by its key; a job stopped by a limit is its candidate's error."""
    verdicts: dict[Hashable, Verdict] = {}
    for key, outcome in pool.completed():
        if not isinstance(outcome, Verdict):
            outcome = verdict.error(
                candidates[key], _place(_failure(outcome, settings), candidates[key])
            )
        verdicts[key] = outcome
        if progress is not None:
            progress(len(verdicts), len(candidates))
    return verdicts


def _candidates(plans: list[_Plan]) -> dict[Hashable, Candidate]:
    return {(i, j): c for i, plan in enumerate(plans) for j, c in enumerate(plan.candidates)}


def _failure(outcome: object, settings: Settings) -> Problem:
    """Why a job in a worker has no result: the limit it passed, or a bug."""
    if isinstance(outcome, workers.Stopped):
        where = f"in the {outcome.stage} stage ({outcome.detail})"
        if outcome.limit == "time":
            return Problem(
                f"ran out of its {outcome.seconds or 0:g} s time budget {where}; "
                f"raise it with {flag('time_budget')}"
            )
        if outcome.limit == "memory":
            return Problem(
                f"ran out of its {settings.limits.max_memory:,} MB memory limit {where}; "
                f"raise it with {flag('max_memory')}"
            )
        return Problem(f"the worker process checking this died {where}; this is a bug in bnverify")
    text = outcome.text if isinstance(outcome, workers.Raised) else repr(outcome)
    if settings.debug:  # the worker's exception, with its traceback there as a note
        error = outcome.error if isinstance(outcome, workers.Raised) else None
        error = error or RuntimeError("an exception in a worker process")
        error.add_note(f"in a worker process:\n{text}")
        raise error
    last = text.strip().splitlines()[-1] if text.strip() else "no message"
    return Problem(
        f"internal error while checking this: {last}; this is a bug in bnverify "
        "(run with --debug for the traceback)"
    )


def _document(
    derivation: Derivation, result: FileResult, settings: Settings, command: str
) -> Document:
    # The report's records and printers load only for `report`, not on every `check`.
    from bnverify.report.printable.document import build_document

    return build_document(derivation, result, settings, command)


def _bounded_document(
    derivation: Derivation,
    result: FileResult,
    model: Model | None,
    settings: Settings,
    command: str,
) -> Document | Problem:
    """The printable report, built in a worker within a budget of its own.

    The backward pass a report prints, step by step, can swell where the check does not
    (a node that uses the one before it twice doubles at each step).
    """
    seconds = settings.limits.time_budget
    workers.stage("report", seconds)

    def build() -> Document:
        truth = _truth(model) if model is not None else None
        return _document(derivation, replace(result, truth=truth), settings, command)

    built = _within_budget(_deadline(seconds), settings, budget.layer("report")(build))
    return built


def _report_location(derivation: Derivation) -> Location:
    # The model is what the report's steps are worked out from: point at where it is named.
    return derivation.model_location or Location(derivation.path, 1, 1)


def _deadline(seconds: float | None) -> float | None:
    return time.process_time() + seconds if seconds else None


def _within_budget(ends: float | None, settings: Settings, work: Callable[[], T]) -> T | Problem:
    """work(), or why it has no result: out of time, too deep, or a bug."""
    try:
        done = budget.within(_time_left(ends), work)
    except MemoryError:
        if workers.in_worker():
            raise  # the worker ends, and its parent names the memory limit
        return Problem(f"ran out of memory; lower the limits ({flag('max_expression_size')}, ...)")
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
    return None if ends is None else max(ends - time.process_time(), 1e-9)


@budget.layer("parse")
def _parse(candidate: Candidate, settings: Settings) -> Formula | Problem:
    return parser.parse(candidate.text, candidate.syntax, settings.limits)


@budget.layer("resolve")
def _judge(
    candidate: Candidate, parsed: Formula, names: Names, model: Model, settings: Settings
) -> Verdict | Problem:
    if candidate.claim is not None:
        return claims.judge_claim(candidate, parsed, names.entries, model, settings)
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
