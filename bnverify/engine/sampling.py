"""Points to evaluate a model at: random exact rationals, small rationals, random floats.

Exact points keep every gradient rational: when the model declares a square rule
(`square = { expr = "var + eps", solve = "eps" }`), the constant is chosen so that the
expression is the square of a rational, which makes its square root rational too.
The same rule, with a symbol for the root, lets the symbolic layer eliminate eps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import gmpy2
import numpy as np

from bnverify.engine.arithmetic import EXACT, FLOAT, Arithmetic
from bnverify.engine.evaluate import Hessian, Point, evaluate
from bnverify.language.names import hessian_name
from bnverify.language.shapes import SCALAR
from bnverify.language.tree import Expr
from bnverify.model.graph import Model

# The sizes of a point: one per axis (a mapping, or its (axis, size) pairs, which can be
# a cache's key), or one int for every axis (N in a one-axis model).
Sizes = int | Mapping[str, int] | tuple[tuple[str, int], ...]


def sizes_of(model: Model, sizes: Sizes) -> dict[str, int]:
    """Each axis's size, in the model's order; an int gives every axis that size."""
    if isinstance(sizes, int):
        return dict.fromkeys(model.order, sizes)
    given = dict(sizes)
    return {axis: given[axis] for axis in model.order}


def point(
    model: Model,
    arith: Arithmetic,
    sizes: Sizes,
    channels: int,
    leaves: Mapping[str, Any],
    definitions: Mapping[str, Expr],
) -> Point:
    """A Point of this model: its axes' sizes, and the names of those sizes."""
    return Point(arith, sizes_of(model, sizes), channels, leaves, definitions, model.sizes)


def fixes_square(model: Model) -> bool:
    """Whether the square rule can choose its constant: the expression is one number.

    With per-sample statistics (LayerNorm's var over d) one constant cannot make every
    sample's var + eps a square; exact evaluation then takes its roots as intervals.
    """
    return model.square is not None and model.shape_of_expr(model.square.expr) == SCALAR


@dataclass(frozen=True)
class Space:
    """Random rationals p/q with |p| <= numerator and 1 <= q <= denominator."""

    numerator: int
    denominator: int


# The probes' and the error curve's points: small numbers keep exact arithmetic fast at
# N = 256. They never decide a verdict.
GRID = Space(9, 8)
# Counterexamples a verdict rests on are drawn from a space too large for any fixed
# factor of a wrong formula to vanish on by design (a polynomial of degree d vanishes at
# a random point of it with probability at most d / 2,000,001: Schwartz-Zippel).
WIDE = Space(10**6, 10**3)


def square_base(model: Model, point: Point) -> Any:
    """The model's square expression at a point, with its constant set to zero."""
    assert model.square is not None
    zero = point.arith.constant_int(0)
    return evaluate(model.square.expr, point.with_leaves(**{model.square.solve: zero}))


def _rationals(
    rng: np.random.Generator, shape: tuple[int, int], nonzero: bool, space: Space = GRID
) -> np.ndarray:
    nums = rng.integers(-space.numerator, space.numerator + 1, size=shape)
    if nonzero:
        nums = np.where(nums == 0, space.numerator, nums)
    dens = rng.integers(1, space.denominator + 1, size=shape)
    return np.frompyfunc(lambda p, q: gmpy2.mpq(int(p), int(q)), 2, 1)(nums, dens)


def _root_above(base: Any, step: int, extra: int) -> Any:
    # The smallest multiple of 1/step above sqrt(base), plus `extra` steps.
    scaled = gmpy2.isqrt(gmpy2.floor(base * step * step)) if base > 0 else 0
    return gmpy2.mpq(int(scaled) + 1 + extra, step)


def leaf_shapes(model: Model, n: Sizes, channels: int) -> dict[str, tuple[int, ...]]:
    """Array shape of every input and of the upstream gradient (constants excluded)."""
    sizes = sizes_of(model, n)

    def shape(axes: frozenset[str]) -> tuple[int, ...]:
        return (*(size if axis in axes else 1 for axis, size in sizes.items()), channels)

    leaves = {name: shape(axes) for name, axes in model.inputs}
    leaves[model.upstream] = shape(model.shape_of[model.output])
    return leaves


def _constant_shapes(model: Model, channels: int) -> dict[str, tuple[int, ...]]:
    return {name: (*(1 for _ in model.order), channels) for name, _ in model.constants}


def _varies(shape: tuple[int, ...]) -> bool:
    return any(size > 1 for size in shape[:-1])


def _complete(
    model: Model,
    arith: Arithmetic,
    n: Sizes,
    channels: int,
    leaves: dict[str, Any],
    definitions: Mapping[str, Expr],
    choose_root: Any,
) -> Point:
    at = point(model, arith, n, channels, leaves, definitions)
    if model.square is None or model.square.solve in leaves or not fixes_square(model):
        return at
    base = square_base(model, at)
    root = np.frompyfunc(choose_root, 1, 1)(base)
    return at.with_leaves(**{model.square.solve: root * root - base})


def _settings(
    arith: Arithmetic, settings: Mapping[str, Fraction], shapes: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    return {
        name: np.full(shapes[name], arith.scalar(value), dtype=arith.dtype)
        for name, value in settings.items()
    }


def exact_point(
    model: Model,
    definitions: Mapping[str, Expr],
    n: Sizes,
    channels: int,
    rng: np.random.Generator,
    settings: Mapping[str, Fraction] | None = None,
    space: Space = GRID,
) -> Point:
    """A random point of exact rationals from `space`; constants and positive inputs > 0."""
    shapes = leaf_shapes(model, n, channels)
    leaves = {
        name: _rationals(rng, shape, not _varies(shape) or name in model.positive, space)
        for name, shape in shapes.items()
    }
    for name in model.positive:
        leaves[name] = np.abs(leaves[name])
    square_constant = model.square.solve if fixes_square(model) else None
    for name, shape in _constant_shapes(model, channels).items():
        if name != square_constant:
            leaves[name] = np.abs(_rationals(rng, shape, True, space))
    leaves |= _settings(EXACT, settings or {}, shapes | _constant_shapes(model, channels))
    step, extra = int(rng.integers(2, space.denominator + 1)), int(rng.integers(0, 4))
    return _complete(
        model, EXACT, n, channels, leaves, definitions, lambda b: _root_above(b, step, extra)
    )


def small_points(
    model: Model,
    definitions: Mapping[str, Expr],
    n: Sizes,
    settings: Mapping[str, Fraction] | None = None,
) -> Iterator[Point]:
    """Deterministic points of small numbers, simplest first, for counterexamples."""
    shapes = leaf_shapes(model, n, 1)
    names = sorted(shapes)
    choices = [_small_patterns(shapes[name], name == model.upstream) for name in names]
    positive = {name: Fraction(1, 10) for name, _ in model.constants}
    square_constant = model.square.solve if fixes_square(model) else None
    for combo in itertools.islice(itertools.product(*choices), 200):
        leaves = {
            name: np.array([gmpy2.mpq(v) for v in values], dtype=object).reshape(shapes[name])
            for name, values in zip(names, combo, strict=True)
        }
        if any(min(leaves[name].flat) <= 0 for name in model.positive):
            continue
        for name, value in positive.items():
            if name != square_constant:
                leaves[name] = np.full((1, 1), EXACT.scalar(value), dtype=object)
        leaves |= _settings(EXACT, settings or {}, shapes | _constant_shapes(model, 1))
        yield _complete(model, EXACT, n, 1, leaves, definitions, lambda b: _root_above(b, 4, 0))


def _small_patterns(shape: tuple[int, ...], upstream: bool) -> list[list[int]]:
    """Values to try for one leaf, simplest first: spread-out inputs, a one-hot upstream."""
    count = int(np.prod(shape))
    if count == 1:
        return [[0], [1], [2], [-1]]
    spread = [0, 2, 1, 3, 5, 4, 7, 6, *range(8, count)][:count]
    counting = list(range(1, count + 1))
    return [[1] + [0] * (count - 1), counting] if upstream else [spread, counting]


def float_point(
    model: Model,
    definitions: Mapping[str, Expr],
    n: Sizes,
    channels: int,
    rng: np.random.Generator,
) -> Point:
    """A random float64 point with the constants at their typical values (eps = 1e-5)."""
    leaves: dict[str, Any] = {}
    scalar = (*(1 for _ in model.order), channels)
    for name, shape in leaf_shapes(model, n, channels).items():
        if not _varies(shape):
            leaves[name] = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        else:
            scale = rng.uniform(0.5, 3.0, size=scalar)
            leaves[name] = rng.normal(size=shape) * scale + rng.normal(size=scalar)
        if name in model.positive:
            leaves[name] = np.abs(leaves[name]) + 0.1
    for name, typical in model.constants:
        leaves[name] = np.full(scalar, typical)
    return point(model, FLOAT, n, channels, leaves, definitions)


def with_hessian(model: Model, at: Point, rng: np.random.Generator, space: Space = GRID) -> Point:
    """The point with its leaf H_<output> drawn: one random symmetric matrix per channel
    over the output's elements, exact rationals from `space` (floats at a float64 point),
    for hess. Its entries take both signs: an indefinite H, as a person would try."""
    axes = model.in_order(model.shape_of[model.output])
    m = int(np.prod([at.sizes[axis] for axis in axes]))
    draws = _rationals(rng, (at.channels * m, m), False, space).reshape(at.channels, m, m)
    matrix = draws + draws.transpose(0, 2, 1)
    if at.arith is FLOAT:
        matrix = matrix.astype(np.float64)
    return at.with_leaves(**{hessian_name(model.output): Hessian(axes, matrix)})
