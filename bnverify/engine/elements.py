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
from bnverify.engine.sampling import leaf_shapes, square_base
from bnverify.language.shapes import BATCH
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
def element_point(model: Model, gradients: Gradients, n: int) -> Point:
    """The model at batch size n with one generator per element of every input."""
    field = Field()
    arith = FieldArithmetic(field)
    leaves: dict[str, np.ndarray] = {}
    for name, (rows, _) in leaf_shapes(model, n, 1).items():
        batch = name == model.upstream or model.shape_of.get(name) == BATCH
        labels = [f"{name}_{i + 1}" for i in range(rows)] if batch else [name]
        leaves[name] = np.array([[field.gen(label)] for label in labels], dtype=object)
    square = model.square.solve if model.square else None
    for name, _ in model.constants:
        if name != square:
            leaves[name] = np.full((1, 1), field.gen(name, positive=True), dtype=object)
    definitions = {**dict(model.nodes), **gradients.formulas}
    point = Point(arith, n, 1, leaves, definitions)
    if square is None:
        return point
    root = np.full((1, 1), field.gen(ROOT, positive=True), dtype=object)
    return point.with_leaves(**{square: root * root - square_base(model, point)})


@cache
def first_defined(model: Model, gradients: Gradients, expr: Expr, most: int) -> int:
    """The smallest N (up to `most`) at which a formula is defined for some input.

    The true gradient of Batch Norm is defined from N = 1; one with an unbiased variance,
    divided by N - 1, only from N = 2. Past `most`, 1 is assumed (and said by the caller).
    """
    for n in range(1, most + 1):
        try:
            evaluate(expr, element_point(model, gradients, n))
            return n
        except (Undefined, Inexact):
            continue
    return 1
