"""Shapes of the vector language: a value is one number per channel or one per sample.

The language has two shapes. A `scalar` holds one number per channel (gamma, mu, N);
a `batch` value holds one number per sample of the batch (z, zhat, g_y). Elementwise
operators broadcast a scalar over the batch; the reductions sum, mean and dot return a
scalar. This module is the one place that knows those rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from bnverify.language.operators import Op, row, signature
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value
from bnverify.problem import Problem

Shape = Literal["scalar", "batch"]
SCALAR: Shape = "scalar"
BATCH: Shape = "batch"


def broadcast(*shapes: Shape) -> Shape:
    """The shape of an elementwise result: batch if any operand is a batch."""
    return BATCH if BATCH in shapes else SCALAR


def _elementwise(shapes: tuple[Shape, ...]) -> Shape:
    return broadcast(*shapes)


def _reduction(shapes: tuple[Shape, ...]) -> Shape:
    return SCALAR


# Operator -> rule from argument shapes to result shape.
RULES: dict[Op, Callable[[tuple[Shape, ...]], Shape]] = {
    Op.ADD: _elementwise,
    Op.SUB: _elementwise,
    Op.MUL: _elementwise,
    Op.DIV: _elementwise,
    Op.POW: _elementwise,
    Op.NEG: _elementwise,
    Op.SQRT: _elementwise,
    Op.EXP: _elementwise,
    Op.LOG: _elementwise,
    Op.SUM: _reduction,
    Op.MEAN: _reduction,
    Op.DOT: _reduction,
    Op.ONES: lambda shapes: BATCH,
}

DESCRIPTION: dict[Shape, str] = {
    SCALAR: "one number per channel",
    BATCH: "one number per sample",
}


def infer(expr: Expr, shape_of: Mapping[str, Shape]) -> Shape | Problem:
    """The shape of a resolved tree, or the first problem with it."""
    match expr:
        case Num():
            return SCALAR
        case Sym(name=name):
            if name not in shape_of:
                return Problem(f"unknown name {name!r}", expr.span)
            return shape_of[name]
        case Apply(op=op, args=args) if not signature(op).syntax_only:
            return _apply(op, args, shape_of)
    return Problem("this cannot be evaluated as a vector expression", getattr(expr, "span", None))


def _apply(op: Op, args: tuple[Expr, ...], shape_of: Mapping[str, Shape]) -> Shape | Problem:
    exponent = signature(op).exponent
    if exponent is not None and not _is_power_exponent(args[exponent]):
        return Problem(
            "an exponent must be a number with denominator 1 or 2 (such as 2, -1, 1/2 or -3/2)",
            args[exponent].span,
        )
    arg_shapes: list[Shape] = []
    for arg in args:
        shape = infer(arg, shape_of)
        if isinstance(shape, Problem):
            return shape
        arg_shapes.append(shape)
    return row(RULES, op, "shapes.RULES")(tuple(arg_shapes))


def _is_power_exponent(exponent: Expr) -> bool:
    # Exact evaluation needs powers whose value stays rational or a square root of one.
    value = constant_value(exponent)
    return value is not None and value.denominator in (1, 2)
