"""Evidence about a candidate: the truth's proof, exact comparisons at points, float64.

- truth: the engine's gradients are proved equal to the derivative of L for every N,
  by the chain rule through the sums (engine/general.py);
- points: exact comparisons at a rational point, where rigorous intervals stand in for
  irrational roots; only disjoint intervals prove a difference, overlap proves nothing;
- float64: sweeps up to N = 4096 size the difference. They never make a verdict; a
  large disagreement with a proof is reported as an inconsistency (judge/verdict.py).
The verdict itself is decided in judge/proof.py. Each layer takes one Case.
"""

from __future__ import annotations

import itertools
import zlib
from fractions import Fraction
from functools import cache
from typing import Any

import gmpy2
import numpy as np

from bnverify.engine import arithmetic
from bnverify.engine.arithmetic import Inexact, NegativeArgument, Undefined
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.general import Unsupported, general_point, loss, total_derivative
from bnverify.engine.rounding import Bounds
from bnverify.engine.sampling import WIDE, exact_point, float_point, small_points
from bnverify.engine.truth import Truth
from bnverify.judge import budget
from bnverify.judge.records import (
    DIFFERENT,
    EQUAL,
    FAILED,
    MEASURED,
    UNAVAILABLE,
    Case,
    Counterexample,
    FloatError,
    Layer,
)
from bnverify.language.names import gradient_name, gradient_of
from bnverify.language.tree import Expr, Sym, names
from bnverify.model.graph import Model

CONSISTENT = "consistent"  # intervals overlap: no difference found, none proved
SMALL_FIRST = 24  # small-number points tried at a size before random ones


def rng_for(seed: int, *labels: object) -> np.random.Generator:
    """A generator determined by the seed and labels (stable across runs and machines)."""
    label = "/".join(map(str, labels)).encode()
    return np.random.default_rng([seed, zlib.crc32(label)])


@budget.layer("truth")
def truth_layer(case: Case) -> Layer:
    """The proof, for every N, of every engine gradient the comparison relies on."""
    names = gradients_used(case)
    listed = ", ".join(gradient_name(n) for n in names)
    proved = budget.within(
        case.settings.limits.time_budget, lambda: _prove_truth(case.truth, names)
    )
    if isinstance(proved, budget.Overrun):
        return Layer("truth", UNAVAILABLE, f"{listed}: proof stopped after {proved.seconds:g} s")
    if proved is not None:
        return proved
    return Layer(
        "truth",
        EQUAL,
        f"the engine's {listed} {'is' if len(names) == 1 else 'are'} the derivative of L, "
        f"proved for every {case.truth.model.size_list}",
    )


def _prove_truth(truth: Truth, names: list[str]) -> Layer | None:
    """The layer for the first gradient not proved, or None when all are."""
    for name in names:
        outcome = _truth_proof(truth, name)
        if outcome == DIFFERENT:
            return Layer(
                "truth",
                FAILED,
                f"the engine's {gradient_name(name)} is not the derivative of L: "
                "this is a bug in bnverify",
            )
        if outcome != EQUAL:
            return Layer("truth", UNAVAILABLE, f"{gradient_name(name)}: {outcome}")
    return None


@cache
def _truth_proof(truth: Truth, name: str) -> str:
    model = truth.model
    if model.square and name == model.square.solve:
        return f"{name} is eliminated for the square root"
    free = None if name in dict(model.inputs) else name
    try:
        point = general_point(model, truth.gradients, free)
        engine = point[gradient_name(name)]
        direct = total_derivative(point, loss(point), name)
    except (Unsupported, Inexact, Undefined) as err:
        return f"no proof for every {model.size_list} ({err})"
    return EQUAL if engine == direct else DIFFERENT


def gradients_used(case: Case) -> list[str]:
    """wrt, then every other gradient the candidate refers to (but the given upstream one)."""
    upstream = case.truth.model.upstream
    used = sorted(
        target
        for name in names(case.expr)
        if name != upstream and (target := gradient_of(name)) is not None
    )
    return [case.wrt, *(n for n in used if n != case.wrt)]


@cache
def shared_exact_point(truth: Truth, seed: int, n: int, channels: int) -> Point:
    """The exact point every candidate of a run is evaluated at first, for this size."""
    rng = rng_for(seed, "exact", n, channels)
    return exact_point(truth.model, truth.definitions, n, channels, rng)


def counterexample_at(case: Case, n: int, tries: int) -> Counterexample | None:
    """A point of size n where the two differ: small numbers first, for a reader, then
    random rationals from a large seeded space, where no designed factor vanishes."""
    truth, settings = case.truth, case.settings
    for point in itertools.islice(small_points(truth.model, truth.definitions, n), SMALL_FIRST):
        found = counterexample_from(point, case)
        if found is not None:
            return found
    for attempt in range(tries):
        rng = rng_for(settings.seed, "counterexample", n, attempt)
        point = exact_point(truth.model, truth.definitions, n, 1, rng, space=WIDE)
        found = counterexample_from(point, case)
        if found is not None:
            return found
    return None


def counterexample_from(point: Point, case: Case, by_value: bool = False) -> Counterexample | None:
    """The point as a counterexample, if the candidate differs from the truth there.

    A candidate that takes the square root or the logarithm of a negative number where
    the truth is defined differs on an open set around the point, so that counts too.
    """
    name = case.truth_name
    try:
        truth = column(point[name])
    except Undefined:
        return None
    except Inexact:  # an irrational truth (LayerNorm's per-sample roots): intervals
        truth = _intervalcolumn(point, Sym(name))
        if truth == ("irrational",):
            return None
    try:
        value = column(evaluate(case.expr, point))
    except NegativeArgument as err:
        value = (f"undefined ({err})",)
    except Undefined:
        return None
    except Inexact:  # irrational: compare_at decides in rigorous intervals
        value = _intervalcolumn(point, case.expr)
    if (
        not value[0].startswith("undefined")
        and compare_at(point, case.expr, name, by_value) != DIFFERENT
    ):
        return None
    model = case.truth.model
    leaves = shown(case.truth, point)
    shapes = {
        leaf: model.shape_of[model.output if leaf == model.upstream else leaf] for leaf in leaves
    }
    shapes |= {"truth": model.shape_of[case.wrt], "candidate": model.shape_of_expr(case.expr)}
    return Counterexample(
        sizes=tuple((point.size_names[axis], n) for axis, n in point.sizes.items()),
        inputs=tuple((leaf, column(point.leaves[leaf])) for leaf in leaves),
        truth=truth,
        candidate=value,
        shapes=tuple(
            (name, tuple(n if axis in axes else 1 for axis, n in point.sizes.items()))
            for name, axes in shapes.items()
        ),
    )


def _intervalcolumn(point: Point, expr: Expr) -> tuple[str, ...]:
    # An irrational value is shown by its interval's midpoint, marked as approximate.
    arith = arithmetic.interval(arithmetic.INTERVAL_PRECISIONS[-1])
    leaves = {name: arithmetic.to_interval(value, arith) for name, value in point.leaves.items()}
    try:
        values = evaluate(expr, point.in_arithmetic(arith, leaves))
    except ArithmeticError:  # an interval reaching below 0 under a root: no midpoint to show
        return ("irrational",)
    return tuple(f"≈ {arithmetic.midpoint(v):.6g}" for v in np.asarray(values).reshape(-1))


def shown(truth: Truth, point: Point) -> list[str]:
    """The leaves a counterexample shows: inputs, constants and the upstream gradient."""
    model = truth.model
    return [n for n in (*model.leaves, model.upstream) if n in point.leaves]


_SHOWN_BITS = 3322  # about 1,000 decimal digits


def column(value: Any) -> tuple[str, ...]:
    """A value's elements as exact strings, row-major."""
    array = np.asarray(value, dtype=object).reshape(-1)
    return tuple(_exact_text(v) for v in array)


def _exact_text(value: Any) -> str:
    numerator, denominator = int(value.numerator), int(value.denominator)
    if max(numerator.bit_length(), denominator.bit_length()) > _SHOWN_BITS:
        # Thousands of digits help no reader (and Python refuses to print past 4,300).
        return f"about {gmpy2.mpfr(gmpy2.mpq(numerator, denominator)):.6e}"
    return str(Fraction(numerator, denominator))


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
    # Along an axis of one element, a value that varies and one that does not agree.
    varies = [a != 1 or b != 1 for a, b in zip(truth.shape, value.shape, strict=True)]
    return not by_value and truth.shape != value.shape and any(varies[:-1])


def _as_rows(value: Any, point: Point) -> np.ndarray:
    # A bare constant is one number per channel; every value gets a dimension per axis.
    array = np.asarray(value, dtype=object)
    if array.ndim == 0:
        array = np.broadcast_to(array, (1, point.channels))
    dims = len(point.sizes) + 1
    return array.reshape((1,) * (dims - array.ndim) + array.shape)


def _compare_in_intervals(point: Point, expr: Expr, truth_name: str, by_value: bool) -> str:
    # The same rational point, every value enclosed in an interval: disjoint intervals
    # prove the values differ; overlapping ones prove nothing, so the precision grows
    # (a cancellation such as (1e100 + sqrt(2)) - 1e100 needs more than 332 bits).
    outcome = UNAVAILABLE
    for bits in arithmetic.INTERVAL_PRECISIONS:
        outcome = _intervals_at(point, expr, truth_name, by_value, arithmetic.interval(bits))
        if outcome != CONSISTENT:
            return outcome
    return outcome


def _intervals_at(
    point: Point, expr: Expr, truth_name: str, by_value: bool, arith: arithmetic.Arithmetic
) -> str:
    leaves = {name: arithmetic.to_interval(value, arith) for name, value in point.leaves.items()}
    interval_point = point.in_arithmetic(arith, leaves)
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
        point = shared_float_point(
            case.truth, settings.seed, sweep_sizes(case.truth, n), settings.float_channels
        )
        rel = relative_errors(point, case.expr, case.wrt)
        out.append(FloatError(n, float(np.median(rel)), float(np.max(rel))))
    return tuple(out)


def relative_errors(point: Point, expr: Expr, wrt: str) -> np.ndarray:
    """|candidate - g_<wrt>| / max|g_<wrt>| per channel of a float64 point (absolute if 0)."""
    with np.errstate(all="ignore"):
        exact = point.full(point[gradient_name(wrt)]).reshape(-1, point.channels)
        value = point.full(evaluate(expr, point)).reshape(-1, point.channels)
        scale = np.max(np.abs(exact), axis=0)
        return np.max(np.abs(value - exact), axis=0) / np.where(scale == 0, 1.0, scale)


def sweep_sizes(truth: Truth, n: int) -> int | tuple[tuple[str, int], ...]:
    """A float64 sweep's sizes for about n elements: N = n with one axis; with k axes,
    each axis about the k-th root of n (64 x 64 for 4096 over two axes)."""
    order = truth.model.order
    if len(order) == 1:
        return n
    side = max(1, round(n ** (1 / len(order))))
    return tuple((axis, side) for axis in order)


@cache
def shared_float_point(truth: Truth, seed: int, n: object, channels: int) -> Point:
    """The float64 point every candidate of a run is evaluated at, for this size."""
    return float_point(truth.model, truth.definitions, n, channels, rng_for(seed, "float", n))


@cache
def shared_bounds(truth: Truth, seed: int, n: object, channels: int) -> Bounds:
    """The float64 point of this size with rounding bounds (the truth's derived once)."""
    return Bounds(shared_float_point(truth, seed, n, channels))


def float_layer(truth: Truth, errors: tuple[FloatError, ...]) -> Layer:
    """A report of the float64 sweep (informational: it never decides)."""
    if not errors:
        return Layer("float64", UNAVAILABLE, "no sweep")
    worst = max(errors, key=lambda e: e.largest)
    return Layer(
        "float64",
        UNAVAILABLE if not np.isfinite(worst.largest) else MEASURED,
        f"largest relative difference {worst.largest:.1e} ({sweep_words(truth, errors)}"
        f"{_typical(truth.model)}); float64 alone cannot tell rounding from a small error",
    )


def sweep_words(truth: Truth, errors: tuple[FloatError, ...]) -> str:
    """The sweep's sizes in the model's letters: "N = 16, 256, 4096", "B = D = 4, 16, 64"."""
    model = truth.model
    sides = ", ".join(str(side) for side in _sides(truth, errors))
    return " = ".join(model.sizes.values()) + f" = {sides}"


def _sides(truth: Truth, errors: tuple[FloatError, ...]) -> list[int]:
    # sweep_sizes gives every axis the same size: the first axis's stands for all.
    found = (sweep_sizes(truth, e.n) for e in errors)
    return [sizes if isinstance(sizes, int) else sizes[0][1] for sizes in found]


def _typical(model: Model) -> str:
    """ "; eps at its typical value", as the model's constants are named."""
    names = [name for name, _ in model.constants]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"; {listed} at {'its typical value' if len(names) == 1 else 'their typical values'}"
