"""Why a candidate diverges: shape, missing terms, a small counterexample, conditions.

- shape: a per-sample formula for a per-channel gradient is tried with the reductions
  (sum, mean) that would fix it;
- residual: truth minus candidate, simplified for every N (the missing terms);
- counterexample: the simplest small exact point where the two differ;
- conditions: the model's probes (eps = 0, statistics held constant, N = 1, ...) under
  which the candidate would be right.
Each takes one Case: the candidate's formula, the truth and the settings, bound once.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import gmpy2
import numpy as np
import sympy as sp

from bnverify.engine import printing as printing
from bnverify.engine.arithmetic import Undefined
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import exact_point, small_points
from bnverify.engine.truth import Truth
from bnverify.judge import budget
from bnverify.judge.evidence import compare_at, rng_for
from bnverify.judge.records import DIFFERENT, UNAVAILABLE, Case, Counterexample, Residual
from bnverify.language.operators import Op
from bnverify.language.shapes import DESCRIPTION, SCALAR, Shape
from bnverify.language.tree import Apply
from bnverify.model.graph import Probe

# The reductions that may fix a candidate's shape, tried in order, and how each is said.
REDUCTIONS = {Op.SUM: "summing it over the batch", Op.MEAN: "averaging it over the batch"}

_SHOWN_BITS = 3322  # about 1,000 decimal digits


@dataclass(frozen=True)
class ShapeFinding:
    """A shape mismatch and the reduction that fixes it, if any."""

    message: str
    fix: str | None


@budget.layer("shape")
def shape_finding(case: Case, shape: Shape) -> ShapeFinding | None:
    """None when shapes agree; else what is wrong and which reduction (if any) fixes it."""
    wrt = case.wrt
    want = case.truth.shape(wrt)
    if shape == want:
        return None
    said = (
        f"it is {DESCRIPTION[shape]}, but the gradient with respect to {wrt} is {DESCRIPTION[want]}"
    )
    if shape == SCALAR:
        return ShapeFinding(said, None)
    for reduction, how in REDUCTIONS.items():
        if agrees(case.trying(Apply(reduction, (case.expr,)))):
            return ShapeFinding(f"{said}; {how} ({reduction}) gives the truth", reduction)
    return ShapeFinding(f"{said}, and neither its sum nor its mean over the batch matches", None)


def agrees(case: Case, seed_label: str = "fix") -> bool:
    """Whether the case's formula equals g_<wrt> at a few random exact points (a screen)."""
    truth, settings = case.truth, case.settings
    for n, channels in settings.probe_trials:
        rng = rng_for(settings.seed, seed_label, n)
        point = exact_point(truth.model, truth.definitions, n, channels, rng)
        if compare_at(point, case.expr, case.truth_name) == DIFFERENT:
            return False
    return True


@budget.layer("diagnosis")
def residual(case: Case) -> Residual | None:
    """Truth minus candidate, simplified, valid for every batch size (None if undefined)."""
    truth = case.truth
    algebra = truth.algebra
    difference = sp.expand(algebra.convert(truth.formula(case.wrt)) - algebra.convert(case.expr))
    if difference.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None  # the candidate divides by zero for every input
    simplified = sp.factor_terms(sp.together(difference))
    try:
        return Residual(
            printing.ascii(simplified), printing.latex(simplified, truth.model, algebra)
        )
    except ValueError:  # Python will not print an integer of more than 4,300 digits
        return None


@budget.layer("diagnosis")
def counterexample(case: Case) -> Counterexample | None:
    """The first small exact point, smallest batch first, where the two differ."""
    truth, expr, name = case.truth, case.expr, case.truth_name
    for n in case.settings.counterexample_sizes:
        for point in small_points(truth.model, truth.definitions, n):
            # Compare numbers, not shapes: a shape mismatch is reported on its own, and a
            # counterexample should show values that differ.
            if compare_at(point, expr, name, by_value=True) != DIFFERENT:
                continue
            try:
                value = evaluate(expr, point)
            except (Undefined, ArithmeticError):
                continue
            return Counterexample(
                n=n,
                inputs=tuple((leaf, _column(point.leaves[leaf])) for leaf in _shown(truth, point)),
                truth=_column(point[name]),
                candidate=_column(value),
            )
    return None


def _shown(truth: Truth, point: Any) -> list[str]:
    model = truth.model
    return [n for n in (*model.leaves, model.upstream) if n in point.leaves]


def _column(value: Any) -> tuple[str, ...]:
    array = np.asarray(value, dtype=object).reshape(-1)
    return tuple(_exact_text(v) for v in array)


def _exact_text(value: Any) -> str:
    numerator, denominator = int(value.numerator), int(value.denominator)
    if max(numerator.bit_length(), denominator.bit_length()) > _SHOWN_BITS:
        # Thousands of digits help no reader (and Python refuses to print past 4,300).
        return f"about {gmpy2.mpfr(gmpy2.mpq(numerator, denominator)):.6e}"
    return str(Fraction(numerator, denominator))


@budget.layer("diagnosis")
def conditions(case: Case) -> tuple[str, ...]:
    """The model's probes under which the candidate matches the truth."""
    return tuple(p.condition for p in case.truth.model.probes if _holds(case, p))


def _holds(case: Case, probe: Probe) -> bool:
    truth, settings = case.truth, case.settings
    variant = truth.frozen(probe.freeze) if probe.freeze else truth
    trials = ((probe.batch, 2),) if probe.batch else settings.probe_trials
    outcomes = []
    for n, channels in trials:
        rng = rng_for(settings.seed, "probe", probe.condition, n)
        point = exact_point(variant.model, variant.definitions, n, channels, rng, dict(probe.set))
        outcomes.append(compare_at(point, case.expr, case.truth_name))
    defined = [o for o in outcomes if o != UNAVAILABLE]
    return bool(defined) and DIFFERENT not in defined
