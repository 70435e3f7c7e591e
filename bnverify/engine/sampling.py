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
from bnverify.engine.evaluate import Point, evaluate
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Expr
from bnverify.model.graph import Model


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


def leaf_shapes(model: Model, n: int, channels: int) -> dict[str, tuple[int, int]]:
    """Array shape of every input and of the upstream gradient (constants excluded)."""
    leaves = {name: ((n if shape == BATCH else 1), channels) for name, shape in model.inputs}
    leaves[model.upstream] = (n, channels)
    return leaves


def _constant_shapes(model: Model, channels: int) -> dict[str, tuple[int, int]]:
    return {name: (1, channels) for name, _ in model.constants}


def _complete(
    model: Model,
    arith: Arithmetic,
    n: int,
    channels: int,
    leaves: dict[str, Any],
    definitions: Mapping[str, Expr],
    choose_root: Any,
) -> Point:
    point = Point(arith, n, channels, leaves, definitions)
    if model.square is None or model.square.solve in leaves:
        return point
    base = square_base(model, point)
    root = np.frompyfunc(choose_root, 1, 1)(base)
    return point.with_leaves(**{model.square.solve: root * root - base})


def _settings(
    arith: Arithmetic, settings: Mapping[str, Fraction], shapes: dict[str, tuple[int, int]]
) -> dict[str, np.ndarray]:
    return {
        name: np.full(shapes[name], arith.scalar(value), dtype=arith.dtype)
        for name, value in settings.items()
    }


def exact_point(
    model: Model,
    definitions: Mapping[str, Expr],
    n: int,
    channels: int,
    rng: np.random.Generator,
    settings: Mapping[str, Fraction] | None = None,
    space: Space = GRID,
) -> Point:
    """A random point of exact rationals from `space`; constants drawn positive."""
    shapes = leaf_shapes(model, n, channels)
    leaves = {name: _rationals(rng, shape, shape[0] == 1, space) for name, shape in shapes.items()}
    square_constant = model.square.solve if model.square else None
    for name, _ in model.constants:
        if name != square_constant:
            leaves[name] = np.abs(_rationals(rng, (1, channels), True, space))
    leaves |= _settings(EXACT, settings or {}, shapes | _constant_shapes(model, channels))
    step, extra = int(rng.integers(2, space.denominator + 1)), int(rng.integers(0, 4))
    return _complete(
        model, EXACT, n, channels, leaves, definitions, lambda b: _root_above(b, step, extra)
    )


def small_points(
    model: Model,
    definitions: Mapping[str, Expr],
    n: int,
    settings: Mapping[str, Fraction] | None = None,
) -> Iterator[Point]:
    """Deterministic points of small numbers, simplest first, for counterexamples."""
    shapes = leaf_shapes(model, n, 1)
    # Inputs spread out, the upstream gradient concentrated on one sample first.
    spread = [0, 2, 1, 3, 5, 4, 7, 6, *range(8, n)][:n]
    counting = list(range(1, n + 1))
    input_patterns = [spread, counting]
    upstream_patterns = [[1] + [0] * (n - 1), counting]
    scalar_values = [[0], [1], [2], [-1]]
    names = sorted(shapes)
    choices = [
        (upstream_patterns if name == model.upstream else input_patterns)
        if shapes[name][0] == n and n > 1
        else scalar_values
        for name in names
    ]
    constant_values = {name: Fraction(1, 10) for name, _ in model.constants}
    for combo in itertools.islice(itertools.product(*choices), 200):
        leaves = {
            name: np.array([[gmpy2.mpq(v)] for v in values], dtype=object).reshape(shapes[name])
            for name, values in zip(names, combo, strict=True)
        }
        for name, value in constant_values.items():
            if not model.square or name != model.square.solve:
                leaves[name] = np.full((1, 1), EXACT.scalar(value), dtype=object)
        leaves |= _settings(EXACT, settings or {}, shapes | _constant_shapes(model, 1))
        yield _complete(model, EXACT, n, 1, leaves, definitions, lambda b: _root_above(b, 4, 0))


def float_point(
    model: Model,
    definitions: Mapping[str, Expr],
    n: int,
    channels: int,
    rng: np.random.Generator,
) -> Point:
    """A random float64 point with the constants at their typical values (eps = 1e-5)."""
    leaves: dict[str, Any] = {}
    for name, shape in leaf_shapes(model, n, channels).items():
        if shape[0] == 1:
            leaves[name] = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        else:
            scale = rng.uniform(0.5, 3.0, size=(1, channels))
            leaves[name] = rng.normal(size=shape) * scale + rng.normal(size=(1, channels))
    for name, typical in model.constants:
        leaves[name] = np.full((1, channels), typical)
    return Point(FLOAT, n, channels, leaves, definitions)
