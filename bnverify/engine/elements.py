"""A model at one batch size, one generator per element: proofs about a single N.

The every-N form (general.py) decides identities; what it cannot see is a formula that
is undefined for every input at one small N, where the sums are not independent (at
N = 1, var is identically 0). Here each sample of each batch input is a generator of
its own, so a division by a quotient that is zero for every input raises, as a proof.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from bnverify.engine import arithmetic, sampling
from bnverify.engine.arithmetic import (
    Arithmetic,
    Inexact,
    Undefined,
    exact_exponential,
    exact_logarithm,
)
from bnverify.engine.backprop import Gradients
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.field import Field, Value
from bnverify.engine.general import ROOT
from bnverify.engine.sampling import Sizes, fixes_square, leaf_shapes, square_base
from bnverify.language.tree import Expr
from bnverify.model.graph import Model


class FieldArithmetic(Arithmetic):
    """Values of one Field: exact, with square roots as atoms."""

    def __init__(self, field: Field) -> None:
        super().__init__("field", object)
        object.__setattr__(self, "field", field)

    def scalar(self, value: Fraction) -> Any:
        return self.field.constant(value)

    def root(self, x: Value) -> Value:
        return self.field.sqrt(x)

    def exponential(self, x: Value) -> Value:
        return self.field.constant(exact_exponential(_rational(x)))

    def logarithm(self, x: Value) -> Value:
        return self.field.constant(exact_logarithm(_rational(x)))


def _rational(x: Value) -> Fraction:
    """The one rational a value is for every input, else Inexact.

    exp and log of a function of the inputs are no rational functions of them (nor of
    the field's square roots), so only a constant argument can have an exact value.
    """
    if x.is_zero():
        return Fraction(0)
    if not (x.num.is_constant() and x.den.is_constant()):
        raise Inexact("exp or log of a function of the inputs has no exact value here")
    num, den = (Fraction(str(p.leading_coefficient())) for p in (x.num, x.den))
    return num / den


@cache
def element_point(model: Model, gradients: Gradients, n: Sizes) -> Point:
    """The model at these sizes with one generator per element of every input."""
    field = Field()
    arith = FieldArithmetic(field)
    leaves: dict[str, np.ndarray] = {}
    for name, shape in leaf_shapes(model, n, 1).items():
        positive = name in model.positive
        cells = np.empty(shape, dtype=object)
        axes = model.shape_of[model.output if name == model.upstream else name]
        varies = [axis in axes for axis in model.order]
        for index in np.ndindex(*shape):
            cells[index] = field.gen(_label(name, index, varies), positive=positive)
        leaves[name] = cells
    square = model.square.solve if fixes_square(model) else None
    for name, _ in model.constants:
        if name != square:
            leaves[name] = np.full((1, 1), field.gen(name, positive=True), dtype=object)
    definitions = {**dict(model.nodes), **gradients.formulas}
    point = sampling.point(model, arith, n, 1, leaves, definitions)
    if square is None:
        return point
    root = np.full((1, 1), field.gen(ROOT, positive=True), dtype=object)
    return point.with_leaves(**{square: root * root - square_base(model, point)})


def _label(name: str, index: tuple[int, ...], varies: list[bool]) -> str:
    """x_2_3: the element of x at those positions along the axes it varies over."""
    positions = [str(i + 1) for i, along in zip(index[:-1], varies, strict=True) if along]
    return "_".join([name, *positions])


@cache
def first_defined(model: Model, gradients: Gradients, expr: Expr, most: int) -> dict[str, int]:
    """Per axis, the smallest size (up to `most`) at which a formula is defined somewhere.

    The true gradient of Batch Norm is defined from N = 1; one with an unbiased variance,
    divided by N - 1, only from N = 2. With several axes each is tried from 1 with the
    others at 2. Past `most`, 1 is assumed (and said by the caller).
    """
    start = dict.fromkeys(model.order, 1)
    for axis in model.order:
        for n in range(1, most + 1):
            sizes = tuple((a, n if a == axis else 2) for a in model.order)
            if _defined(model, gradients, expr, sizes if len(sizes) > 1 else n):
                start[axis] = n
                break
    return start


def _defined(model: Model, gradients: Gradients, expr: Expr, sizes: Sizes) -> bool:
    """Whether a formula is defined somewhere at these sizes: a rational witness, else
    a proof with one generator per element."""
    definitions = {**dict(model.nodes), **gradients.formulas}
    try:
        witness = sampling.exact_point(model, definitions, sizes, 1, np.random.default_rng(0))
        evaluate(expr, witness)
        return True
    except Undefined:
        pass
    except Inexact:  # an irrational root: the same point in rigorous intervals
        arith = arithmetic.interval(arithmetic.INTERVAL_BITS)
        leaves = {k: arithmetic.to_interval(v, arith) for k, v in witness.leaves.items()}
        try:
            values = np.asarray(evaluate(expr, witness.in_arithmetic(arith, leaves)))
            if all(arithmetic.bounded(v) for v in values.flat):
                return True
        except ArithmeticError:
            pass
    try:
        evaluate(expr, element_point(model, gradients, sizes))
        return True
    except (Undefined, Inexact):
        return False
