"""The comparator: a resolved candidate and the truth become a Verdict.

A verdict is `match` when no layer of evidence found a difference and at least one
proved or confirmed equality; `diverge` when a layer proved a difference (a shape
mismatch counts); `error` when the candidate could not be checked at all. A diverging
candidate is diagnosed: the reduction that fixes its shape, the missing terms, a small
exact counterexample, the conditions under which it would hold, and its error curve.
The candidate, the truth and the settings are bound once into a Case that every layer
takes; the verdict keeps the resolved formula, so no report has to resolve it again.
"""

from __future__ import annotations

from bnverify.engine.truth import Truth
from bnverify.files.derivation import Candidate
from bnverify.judge import diagnosis, evidence
from bnverify.judge.error_curve import error_curve
from bnverify.judge.records import DIFFERENT, EQUAL, FAILED, Case, Layer, Verdict
from bnverify.model.notation import Resolved
from bnverify.problem import Problem
from bnverify.settings import Settings


def error(candidate: Candidate, problem: Problem, **found: object) -> Verdict:
    """The verdict for a candidate that could not be checked (placed at it if unplaced)."""
    if problem.location is None and problem.span is None:
        problem = problem.at(candidate.location)
    return Verdict(candidate, "error", problem.message, problem=problem, **found)


def judge(candidate: Candidate, resolved: Resolved, truth: Truth, settings: Settings) -> Verdict:
    """Compare a resolved candidate with the truth, layer by layer, and diagnose."""
    case = Case(truth, resolved.expr, resolved.wrt, settings)
    found = {"wrt": case.wrt, "resolved": resolved}
    proof = evidence.truth_layer(case)
    if proof.outcome == FAILED:
        return error(candidate, Problem(proof.detail), evidence=(proof,), **found)
    shape = diagnosis.shape_finding(case, resolved.shape)
    if shape is not None:
        layer = Layer("shape", DIFFERENT, shape.message)
        return Verdict(
            candidate,
            "diverge",
            shape.message,
            evidence=(proof, layer),
            shape_fix=shape.fix,
            **_diagnosed(case),
            **found,
        )
    # The layers that decide: symbolic and exact. The truth's proof comes first in the
    # evidence and the float64 sweep last, but neither decides a verdict.
    deciding = (evidence.symbolic_layer(case), evidence.exact_layer(case))
    errors = evidence.float_errors(case)
    layers = (proof, *deciding, evidence.float_layer(errors))
    if any(layer.outcome == DIFFERENT for layer in deciding):
        return Verdict(
            candidate,
            "diverge",
            _divergence_message(deciding),
            evidence=layers,
            residual=diagnosis.residual(case),
            float_errors=errors,
            **_diagnosed(case),
            **found,
        )
    if not any(layer.outcome == EQUAL for layer in deciding):
        reasons = "; ".join(f"{layer.name}: {layer.detail}" for layer in deciding)
        problem = Problem(
            f"the candidate could not be evaluated where the gradient is defined ({reasons})"
        )
        return error(candidate, problem, evidence=layers, **found)
    message = _match_message(deciding)
    return Verdict(candidate, "match", message, evidence=layers, float_errors=errors, **found)


def _diagnosed(case: Case) -> dict[str, object]:
    """What every diverging verdict is told: where it would hold, a small exact point
    where it does not, and its float64 error against N."""
    return {
        "conditions": diagnosis.conditions(case),
        "counterexample": diagnosis.counterexample(case),
        "curve": error_curve(case),
    }


def _divergence_message(layers: tuple[Layer, ...]) -> str:
    first = next(layer for layer in layers if layer.outcome == DIFFERENT)
    return f"{first.detail} ({first.name})"


def _match_message(layers: tuple[Layer, ...]) -> str:
    return "; ".join(layer.detail for layer in layers if layer.outcome == EQUAL)
