"""Layers of evidence that a candidate equals the truth: symbolic, exact, float64.

- symbolic: SymPy proves equality (or difference) for every input at N = 1..8;
- exact: both are evaluated in exact rationals at random points, up to N = 256, with
  several channels; a square root that is not rational moves that point to 256-bit
  interval arithmetic, where disjoint intervals prove a difference;
- float64: sweeps up to N = 4096 report the size of the difference. They never decide
  a verdict: float64 shows rounding error on correct formulas.
No tolerance decides anything: a difference is either proved or absent. Each layer takes
one Case (the candidate's formula, the truth and the settings, bound once by the verdict).
"""

from __future__ import annotations

import zlib
from functools import cache
from typing import Any

import numpy as np

from bnverify.engine import arithmetic
from bnverify.engine.arithmetic import INTERVAL, Inexact, Undefined
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.sampling import exact_point, float_point
from bnverify.engine.symbolic import compare
from bnverify.engine.truth import Truth
from bnverify.judge import budget
from bnverify.judge.records import (
    DIFFERENT,
    EQUAL,
    FAILED,
    MEASURED,
    UNAVAILABLE,
    Case,
    FloatError,
    Layer,
)
from bnverify.language.names import gradient_name, gradient_of
from bnverify.language.tree import Expr, names

CONSISTENT = "consistent"  # intervals overlap: no difference found, none proved


def rng_for(seed: int, *labels: object) -> np.random.Generator:
    """A generator determined by the seed and labels (stable across runs and machines)."""
    label = "/".join(map(str, labels)).encode()
    return np.random.default_rng([seed, zlib.crc32(label)])


@budget.layer("truth")
def truth_layer(case: Case) -> Layer:
    """SymPy's proof of every engine gradient the comparison relies on, N = 1..max."""
    top, truth = case.settings.max_symbolic_batch, case.truth
    names = gradients_used(case)
    listed = ", ".join(gradient_name(n) for n in names)
    if top < 1:
        return Layer("truth", UNAVAILABLE, f"{listed} not proved (--max-symbolic-batch 0)")
    seconds = case.settings.symbolic_seconds
    proved = budget.within(seconds, lambda: _prove_truth(truth, names, top))
    if isinstance(proved, budget.Overrun):
        return Layer("truth", UNAVAILABLE, f"{listed}: {_stopped(proved)}")
    if proved is not None:
        return proved
    return Layer(
        "truth",
        EQUAL,
        f"the engine's {listed} {'equals' if len(names) == 1 else 'equal'} SymPy's direct "
        f"differentiation of L at N = 1..{top}",
    )


def _prove_truth(truth: Truth, names: list[str], top: int) -> Layer | None:
    """The layer for the first gradient SymPy does not confirm, or None when all agree."""
    for name in names:
        for proof in truth.proof(name, top):
            if proof.outcome == DIFFERENT:
                return Layer(
                    "truth",
                    FAILED,
                    f"the engine's {gradient_name(name)} disagrees with SymPy's direct "
                    f"differentiation at N = {proof.n}: this is a bug in bnverify",
                )
            if proof.outcome == UNAVAILABLE:
                return Layer("truth", UNAVAILABLE, f"{gradient_name(name)}: {proof.reason}")
    return None


def _stopped(overrun: budget.Overrun) -> str:
    # SymPy's rational functions can swell past any budget; the exact layer does not.
    return (
        f"symbolic proof stopped after {overrun.seconds:g} s (expression swell); "
        "the exact and float64 layers decide"
    )


def gradients_used(case: Case) -> list[str]:
    """wrt, then every other gradient the candidate refers to (but the given upstream one)."""
    upstream = case.truth.model.upstream
    used = sorted(
        target
        for name in names(case.expr)
        if name != upstream and (target := gradient_of(name)) is not None
    )
    return [case.wrt, *(n for n in used if n != case.wrt)]


@budget.layer("symbolic")
def symbolic_layer(case: Case) -> Layer:
    """SymPy's proof, for N = 1..max: equal for all inputs, or different at some N."""
    top = case.settings.max_symbolic_batch
    if top < 1:
        return Layer("symbolic", UNAVAILABLE, "skipped (--max-symbolic-batch 0)")
    found = budget.within(case.settings.symbolic_seconds, lambda: _prove(case, top))
    if isinstance(found, budget.Overrun):
        return Layer("symbolic", UNAVAILABLE, _stopped(found))
    return found


def _prove(case: Case, top: int) -> Layer:
    truth = case.truth
    for n in range(1, top + 1):
        result = compare(truth.model, truth.gradients, n, case.expr, case.wrt)
        if result.outcome == DIFFERENT:
            why = f" ({result.reason})" if result.reason else ""
            return Layer("symbolic", DIFFERENT, f"proved different at N = {n}{why}")
        if result.outcome == UNAVAILABLE:
            return Layer("symbolic", UNAVAILABLE, f"not attempted: {result.reason}")
    return Layer("symbolic", EQUAL, f"proved equal for all inputs at N = 1..{top}")


@cache
def shared_exact_point(truth: Truth, seed: int, n: int, channels: int) -> Point:
    """The exact point every candidate of a run is evaluated at, for this size."""
    rng = rng_for(seed, "exact", n, channels)
    return exact_point(truth.model, truth.definitions, n, channels, rng)


@budget.layer("exact")
def exact_layer(case: Case) -> Layer:
    """Exact evaluation at random rational points (intervals where roots are irrational)."""
    settings = case.settings
    approximate, skipped = 0, 0
    for n, channels in settings.exact_trials:
        point = shared_exact_point(case.truth, settings.seed, n, channels)
        outcome = compare_at(point, case.expr, case.truth_name)
        if outcome == DIFFERENT:
            return Layer("exact", DIFFERENT, f"different at a random rational point with N = {n}")
        approximate += outcome == CONSISTENT
        skipped += outcome == UNAVAILABLE
    sizes = ", ".join(str(n) for n, _ in settings.exact_trials)
    channels = max(c for _, c in settings.exact_trials)
    if skipped == len(settings.exact_trials):
        return Layer("exact", UNAVAILABLE, "undefined at every random point")
    if approximate:
        return Layer(
            "exact",
            EQUAL,
            f"agrees at random rational points (N = {sizes}; {channels} channels); "
            f"{approximate} evaluated in {arithmetic.INTERVAL_BITS}-bit intervals "
            "because of an irrational square root",
        )
    return Layer(
        "exact",
        EQUAL,
        f"exactly equal at random rational points (N = {sizes}; {channels} channels)",
    )


def compare_at(point: Point, expr: Expr, truth_name: str, by_value: bool = False) -> str:
    """EQUAL, DIFFERENT, CONSISTENT (intervals overlap) or UNAVAILABLE (undefined here).

    With `by_value`, a scalar equal to every element of a batch counts as equal (for
    finding a counterexample that shows different numbers, not only different shapes).
    """
    try:
        truth, value = point[truth_name], evaluate(expr, point)
    except Undefined:
        return UNAVAILABLE
    except Inexact:
        return _compare_in_intervals(point, expr, truth_name, by_value)
    return DIFFERENT if values_differ(truth, value, point, by_value) else EQUAL


def values_differ(truth: Any, value: Any, point: Point, by_value: bool = False) -> bool:
    """Whether two exact values differ anywhere (a scalar never equals a batch for N > 1)."""
    truth, value = _as_rows(truth, point), _as_rows(value, point)
    if _shapes_differ(truth, value, point, by_value):
        return True
    a, b = np.broadcast_arrays(truth, value)
    return bool(np.any(a != b))


def _shapes_differ(truth: np.ndarray, value: np.ndarray, point: Point, by_value: bool) -> bool:
    return not by_value and truth.shape != value.shape and point.n > 1


def _as_rows(value: Any, point: Point) -> np.ndarray:
    # A bare constant is one number per channel.
    array = np.asarray(value, dtype=object)
    return np.broadcast_to(array, (1, point.channels)) if array.ndim == 0 else array


def _compare_in_intervals(point: Point, expr: Expr, truth_name: str, by_value: bool) -> str:
    # The same rational point, every value enclosed in a 256-bit interval: disjoint
    # intervals prove the values differ; overlapping ones are consistent with equality.
    leaves = {name: arithmetic.to_interval(value) for name, value in point.leaves.items()}
    interval_point = Point(INTERVAL, point.n, point.channels, leaves, point.definitions)
    try:
        truth, value = interval_point[truth_name], evaluate(expr, interval_point)
    except Undefined:
        return UNAVAILABLE
    truth, value = _as_rows(truth, point), _as_rows(value, point)
    if not all(arithmetic.bounded(x) for x in (*truth.flat, *value.flat)):
        return UNAVAILABLE  # a division by an interval holding zero
    if _shapes_differ(truth, value, point, by_value):
        return DIFFERENT
    a, b = np.broadcast_arrays(truth, value)
    if any(arithmetic.disjoint(x, y) for x, y in zip(a.flat, b.flat, strict=True)):
        return DIFFERENT
    return CONSISTENT


@budget.layer("float64")
def float_errors(case: Case) -> tuple[FloatError, ...]:
    """The relative difference in float64 at each sweep size (rounding, or an error)."""
    settings, out = case.settings, []
    for n in settings.float_sizes:
        point = shared_float_point(case.truth, settings.seed, n, settings.float_channels)
        rel = relative_errors(point, case.expr, case.wrt)
        out.append(FloatError(n, float(np.median(rel)), float(np.max(rel))))
    return tuple(out)


def relative_errors(point: Point, expr: Expr, wrt: str) -> np.ndarray:
    """|candidate - g_<wrt>| / max|g_<wrt>| per channel of a float64 point (absolute if 0)."""
    with np.errstate(all="ignore"):
        exact = np.broadcast_to(point[gradient_name(wrt)], (point.n, point.channels))
        value = np.broadcast_to(evaluate(expr, point), exact.shape)
        scale = np.max(np.abs(exact), axis=0)
        return np.max(np.abs(value - exact), axis=0) / np.where(scale == 0, 1.0, scale)


@cache
def shared_float_point(truth: Truth, seed: int, n: int, channels: int) -> Point:
    """The float64 point every candidate of a run is evaluated at, for this size."""
    return float_point(truth.model, truth.definitions, n, channels, rng_for(seed, "float", n))


def float_layer(errors: tuple[FloatError, ...]) -> Layer:
    """A report of the float64 sweep (informational: it never decides)."""
    if not errors:
        return Layer("float64", UNAVAILABLE, "no sweep")
    worst = max(errors, key=lambda e: e.largest)
    sizes = ", ".join(str(e.n) for e in errors)
    return Layer(
        "float64",
        UNAVAILABLE if not np.isfinite(worst.largest) else MEASURED,
        f"largest relative difference {worst.largest:.1e} (N = {sizes}; eps at its typical "
        "value); float64 alone cannot tell rounding from a small error",
    )
