"""Signs that follow from how a formula is built: sqrt(var + eps) is positive, var is not negative.

A divisor that is positive by its construction is never zero, and a root's argument
that is never negative by its construction always has a real root, whatever the
inputs: a size, a positive constant (eps) or input (a running variance), a square, a
sum or mean of squares (the variance), and sums, products and roots of such. That
settles the domain of almost every formula people write without any point or proof
at a size, so the proof step asks here first (judge/proof.py).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from bnverify.language.operators import Op, row
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value
from bnverify.model.graph import Model


class Sign(IntEnum):
    """What is known of a value's sign, weakest first."""

    UNKNOWN = 0
    NONNEGATIVE = 1
    POSITIVE = 2


def _both(a: Sign, b: Sign) -> Sign:
    return min(a, b)


def _add(a: Sign, b: Sign) -> Sign:
    if min(a, b) == Sign.UNKNOWN:
        return Sign.UNKNOWN
    return max(a, b)  # x >= 0 plus y > 0 is > 0


def _power(base: Sign, exponent: Expr) -> Sign:
    value = constant_value(exponent)
    if value is not None and value.denominator == 1 and value.numerator % 2 == 0:
        return Sign.POSITIVE if base == Sign.POSITIVE else Sign.NONNEGATIVE
    return base


def _unknown(*signs: Sign) -> Sign:
    return Sign.UNKNOWN


# Operator -> its result's sign from its arguments' signs (an exponent comes as a tree).
SIGNS: dict[Op, Callable[..., Sign]] = {
    Op.ADD: _add,
    Op.SUB: _unknown,
    Op.MUL: _both,
    Op.DIV: _both,
    Op.POW: _power,
    Op.NEG: _unknown,
    Op.SQRT: lambda a: a,
    Op.EXP: lambda a: Sign.POSITIVE,
    Op.LOG: _unknown,
    Op.SUM: lambda a: a,
    Op.MEAN: lambda a: a,
    Op.DOT: _both,
    Op.ONES: lambda: Sign.POSITIVE,
    Op.HESS: _unknown,  # H_y is any symmetric matrix, definite or not
}


def sign(expr: Expr, model: Model) -> Sign:
    """The sign a resolved tree has by construction, for every input where it is defined."""
    match expr:
        case Num(value=value):
            return Sign.POSITIVE if value > 0 else Sign.NONNEGATIVE if value == 0 else Sign.UNKNOWN
        case Sym(name=name):
            return _name_sign(name, model)
        case Apply(op=Op.POW, args=(base, exponent)):
            return _power(sign(base, model), exponent)
        case Apply(op=op, args=args):
            return row(SIGNS, op, "signs.SIGNS")(*(sign(arg, model) for arg in args))
    return Sign.UNKNOWN


def _name_sign(name: str, model: Model) -> Sign:
    if name in model.size_names or name in dict(model.constants) or name in model.positive:
        return Sign.POSITIVE
    nodes = dict(model.nodes)
    if name in nodes:
        return sign(nodes[name], model)
    return Sign.UNKNOWN


def settled(kind: str, expr: Expr, model: Model) -> bool:
    """Whether an obligation holds by construction: a divisor or a logarithm's argument
    positive, a root's argument never negative."""
    needed = Sign.NONNEGATIVE if kind == "root" else Sign.POSITIVE
    return sign(expr, model) >= needed
