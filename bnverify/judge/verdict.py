"""The comparator: a resolved candidate and the truth become a Verdict.

A verdict is `match` when no layer of evidence found a difference and at least one
proved or confirmed equality; `diverge` when a layer proved a difference (a shape
mismatch counts); `error` when the candidate could not be checked at all. A diverging
candidate is diagnosed: the reduction that fixes its shape, the missing terms, a small
exact counterexample, and the conditions under which it would hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bnverify.engine.truth import Truth
from bnverify.files.derivation import Candidate
from bnverify.judge import diagnosis, evidence
from bnverify.judge.diagnosis import Counterexample, Residual
from bnverify.judge.evidence import DIFFERENT, EQUAL, FAILED, FloatError, Layer
from bnverify.model.notation import Resolved
from bnverify.problem import Problem
from bnverify.settings import Settings

Kind = Literal["match", "diverge", "error"]


@dataclass(frozen=True)
class Verdict:
    """What bnverify concluded about one candidate, and why."""

    candidate: Candidate
    kind: Kind
    message: str
    wrt: str | None = None
    evidence: tuple[Layer, ...] = ()
    residual: Residual | None = None
    shape_fix: str | None = None
    conditions: tuple[str, ...] = ()
    counterexample: Counterexample | None = None
    float_errors: tuple[FloatError, ...] = ()
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        """Whether the verdict is what the derivation file expected."""
        return self.kind == self.candidate.expect


def error(candidate: Candidate, problem: Problem, **found: object) -> Verdict:
    """The verdict for a candidate that could not be checked (placed at it if unplaced)."""
    if problem.location is None and problem.span is None:
        problem = problem.at(candidate.location)
    return Verdict(candidate, "error", problem.message, problem=problem, **found)


def judge(candidate: Candidate, resolved: Resolved, truth: Truth, settings: Settings) -> Verdict:
    """Compare a resolved candidate with the truth, layer by layer, and diagnose."""
    expr, wrt = resolved.expr, resolved.wrt
    proof = evidence.truth_layer(truth, expr, wrt, settings)
    if proof.outcome == FAILED:
        return error(candidate, Problem(proof.detail), wrt=wrt, evidence=(proof,))
    shape = diagnosis.shape_finding(truth, expr, resolved.shape, wrt, settings)
    if shape is not None:
        return _diverge_on_shape(candidate, resolved, truth, settings, shape, proof)
    # The layers that decide: symbolic and exact. The truth's proof comes first in the
    # evidence and the float64 sweep last, but neither decides a verdict.
    deciding = (
        evidence.symbolic_layer(truth, expr, wrt, settings),
        evidence.exact_layer(truth, expr, wrt, settings),
    )
    errors = evidence.float_errors(truth, expr, wrt, settings)
    layers = (proof, *deciding, evidence.float_layer(errors))
    if any(layer.outcome == DIFFERENT for layer in deciding):
        return Verdict(
            candidate,
            "diverge",
            _divergence_message(deciding),
            wrt=wrt,
            evidence=layers,
            residual=diagnosis.residual(truth, expr, wrt),
            conditions=diagnosis.conditions(truth, expr, wrt, settings),
            counterexample=diagnosis.counterexample(truth, expr, wrt, settings),
            float_errors=errors,
        )
    if not any(layer.outcome == EQUAL for layer in deciding):
        reasons = "; ".join(f"{layer.name}: {layer.detail}" for layer in deciding)
        problem = Problem(
            f"the candidate could not be evaluated where the gradient is defined ({reasons})"
        )
        return error(candidate, problem, wrt=wrt, evidence=layers)
    return Verdict(
        candidate, "match", _match_message(deciding), wrt=wrt, evidence=layers, float_errors=errors
    )


def _diverge_on_shape(
    candidate: Candidate,
    resolved: Resolved,
    truth: Truth,
    settings: Settings,
    shape: diagnosis.ShapeFinding,
    proof: Layer,
) -> Verdict:
    expr, wrt = resolved.expr, resolved.wrt
    layer = Layer("shape", DIFFERENT, shape.message)
    return Verdict(
        candidate,
        "diverge",
        shape.message,
        wrt=wrt,
        evidence=(proof, layer),
        shape_fix=shape.fix,
        conditions=diagnosis.conditions(truth, expr, wrt, settings),
        counterexample=diagnosis.counterexample(truth, expr, wrt, settings),
    )


def _divergence_message(layers: tuple[Layer, ...]) -> str:
    first = next(layer for layer in layers if layer.outcome == DIFFERENT)
    return f"{first.detail} ({first.name})"


def _match_message(layers: tuple[Layer, ...]) -> str:
    return "; ".join(layer.detail for layer in layers if layer.outcome == EQUAL)
