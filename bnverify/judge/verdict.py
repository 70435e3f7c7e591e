"""The comparator: a resolved candidate and the truth become a Verdict.

The verdict is decided first and alone (judge/proof.py): `match` when the candidate is
proved equal to the truth for every N, `diverge` when a counterexample is checked
exactly or a difference is proved (a shape mismatch counts), `error` when neither could
be established, with the reason. float64 never makes a verdict, but it may object: a
proved match that float64 contradicts by far more than rounding is an error, since one
of the two is then wrong. Only after the verdict is fixed does the diagnosis run (the
reduction that fixes a shape, the missing terms, a small counterexample, the conditions
under which it holds, the error curve), within a budget of its own: a diagnosis cut
short says so and never changes the verdict.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bnverify.engine.truth import Truth
from bnverify.files.derivation import Candidate
from bnverify.judge import budget, diagnosis, evidence, proof
from bnverify.judge.error_curve import error_curve
from bnverify.judge.records import (
    DIFFERENT,
    EQUAL,
    FAILED,
    Case,
    FloatError,
    Layer,
    Verdict,
)
from bnverify.model.notation import Resolved
from bnverify.problem import Problem
from bnverify.settings import Settings, flag

# float64 objects to a proved match when it misses the truth by this many times its
# running bound on rounding error (engine/rounding.py).
FLOAT_OBJECTION = 1e6


def error(candidate: Candidate, problem: Problem, **found: object) -> Verdict:
    """The verdict for a candidate that could not be checked (placed at it if unplaced)."""
    if problem.location is None and problem.span is None:
        problem = problem.at(candidate.location)
    return Verdict(candidate, "error", problem.message, problem=problem, **found)


def judge(candidate: Candidate, resolved: Resolved, truth: Truth, settings: Settings) -> Verdict:
    """Decide a resolved candidate against the truth, then diagnose a divergence."""
    case = Case(truth, resolved.expr, resolved.wrt, settings)
    found = {"wrt": case.wrt, "resolved": resolved}
    truth_proof = evidence.truth_layer(case)
    if truth_proof.outcome == FAILED:
        return error(candidate, Problem(truth_proof.detail), evidence=(truth_proof,), **found)
    shape = diagnosis.shape_finding(case, resolved.shape)
    if shape is not None:
        layer = Layer("shape", DIFFERENT, shape.message)
        decided = Verdict(
            candidate, "diverge", shape.message, evidence=(truth_proof, layer), **found
        )
        return _diagnose(decided, case, shape=shape)
    decision = budget.within(settings.limits.time_budget, lambda: proof.decide(case))
    if isinstance(decision, budget.Overrun):
        problem = Problem(
            f"ran out of its {settings.limits.time_budget:g} s time budget in the "
            f"{decision.layer} layer; raise it with {flag('time_budget')}"
        )
        return error(candidate, problem, evidence=(truth_proof,), **found)
    errors = evidence.float_errors(case)
    layers = (truth_proof, Layer("proof", decision.outcome, decision.detail))
    layers += (evidence.float_layer(case.truth, errors),)
    if decision.outcome == EQUAL and truth_proof.outcome != EQUAL:
        problem = Problem(
            f"{decision.detail} to the engine's gradient, but the engine's gradient itself "
            f"is not proved ({truth_proof.detail})"
        )
        return error(candidate, problem, evidence=layers, **found)
    if decision.outcome == EQUAL:
        objection = _float_objection(case, errors)
        if objection is not None:
            return error(candidate, Problem(objection), evidence=layers, **found)
        return Verdict(
            candidate, "match", decision.detail, evidence=layers, float_errors=errors, **found
        )
    if decision.outcome == DIFFERENT:
        decided = Verdict(
            candidate,
            "diverge",
            decision.detail,
            evidence=layers,
            float_errors=errors,
            counterexample=decision.counterexample,
            **found,
        )
        return _diagnose(
            decided, case, residual=not decision.undefined_at, undefined_at=decision.undefined_at
        )
    problem = Problem(f"the candidate could not be decided: {decision.detail}")
    return error(candidate, problem, evidence=layers, **found)


def _float_objection(case: Case, errors: tuple[FloatError, ...]) -> str | None:
    """Why float64 contradicts a proved match, or None when rounding explains it.

    At each sweep size the candidate and the truth are evaluated in float64 with a
    running bound on their rounding errors (engine/rounding.py); a difference past a
    million times the two bounds together is no rounding. An infinite or NaN bound
    means float64 cannot tell, and says nothing.
    """
    settings = case.settings
    for found in errors:
        sizes = evidence.sweep_sizes(case.truth, found.n)
        bounds = evidence.shared_bounds(case.truth, settings.seed, sizes, settings.float_channels)
        truth, candidate = bounds[case.truth_name], bounds.evaluate(case.expr)
        with np.errstate(all="ignore"):
            allowed = FLOAT_OBJECTION * (truth.error + candidate.error)
            gap = np.abs(candidate.value - truth.value)
            judged = np.isfinite(allowed) & np.isfinite(truth.value)
            beyond = judged & ~(gap <= allowed)
        if np.any(beyond):
            worst = float(np.nanmax(np.where(beyond, gap, 0.0)))
            return (
                f"inconsistent: proved equal, but float64 differs by {worst:.1e} at "
                f"{case.truth.model.at_sizes(sizes)}, more than {FLOAT_OBJECTION:.0e} times "
                "its bound on rounding error; this is a bug in bnverify: please report it"
            )
    return None


def _diagnose(
    decided: Verdict,
    case: Case,
    *,
    shape: diagnosis.ShapeFinding | None = None,
    residual: bool = False,
    undefined_at: tuple[tuple[str, int], ...] = (),
) -> Verdict:
    """The diverging verdict with its diagnosis, which never changes the verdict itself."""
    seconds = case.settings.limits.time_budget
    shape_fix = shape.fix if shape is not None else None
    said = shape.headline if shape is not None else None
    found = budget.within(seconds, lambda: _diagnosis(case, residual, undefined_at, said))
    if isinstance(found, budget.Overrun):
        note = f"diagnosis cut short after {seconds:g} s (in the {found.layer} step)"
        return replace(decided, shape_fix=shape_fix, diagnosis_note=note)
    return replace(decided, shape_fix=shape_fix, **found)


def _diagnosis(
    case: Case, residual: bool, undefined_at: tuple[tuple[str, int], ...], shape: str | None
) -> dict[str, object]:
    """Where it would hold, the missing terms, a small exact point where it does not, its
    float64 error against N, and a headline in plain words from the strongest finding."""
    # A candidate equal wherever it is defined holds exactly where it is defined.
    holding = () if undefined_at else diagnosis.holding(case)
    conditions = tuple(p.condition for p in holding)  # as diagnosis.conditions words them
    if undefined_at:
        conditions = (diagnosis.defined_sizes(undefined_at),)
    out: dict[str, object] = {
        "conditions": conditions,
        "headline": diagnosis.headline(case, shape, holding, undefined_at),
    }
    if residual:
        out["residual"] = diagnosis.residual(case)
    small = diagnosis.counterexample(case)
    if small is not None:
        out["counterexample"] = small
    out["curve"] = error_curve(case)
    return out
