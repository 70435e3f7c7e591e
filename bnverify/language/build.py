"""Constructors for resolved trees that fold the trivial cases (x*1, 0+x, --x).

Gradient formulas built by the engine stay readable because the constructors never
write a multiplication by one or an addition of zero.
"""

from __future__ import annotations

from fractions import Fraction

from bnverify.language.names import BATCH_SIZE
from bnverify.language.operators import Op
from bnverify.language.tree import Apply, Expr, Num, Sym

ZERO = Num(Fraction(0))
ONE = Num(Fraction(1))
TWO = Num(Fraction(2))
BATCH_SIZE_SYM = Sym(BATCH_SIZE)


def num(value: int | Fraction) -> Num:
    """A number node."""
    return Num(Fraction(value))


def _is(expr: Expr, value: int) -> bool:
    return isinstance(expr, Num) and expr.value == value


def add(a: Expr, b: Expr) -> Expr:
    """a + b."""
    if _is(a, 0):
        return b
    if _is(b, 0):
        return a
    if isinstance(b, Apply) and b.op == Op.NEG:
        return sub(a, b.args[0])
    return Apply(Op.ADD, (a, b))


def sub(a: Expr, b: Expr) -> Expr:
    """a - b."""
    if _is(b, 0):
        return a
    if _is(a, 0):
        return neg(b)
    return Apply(Op.SUB, (a, b))


def neg(a: Expr) -> Expr:
    """-a."""
    if isinstance(a, Num):
        return Num(-a.value)
    if isinstance(a, Apply) and a.op == Op.NEG:
        return a.args[0]
    return Apply(Op.NEG, (a,))


def mul(a: Expr, b: Expr) -> Expr:
    """a * b (elementwise, scalars broadcast)."""
    if _is(a, 0) or _is(b, 0):
        return ZERO
    if _is(a, 1):
        return b
    if _is(b, 1):
        return a
    if _is(a, -1):
        return neg(b)
    if _is(b, -1):
        return neg(a)
    if isinstance(a, Num) and isinstance(b, Num):
        return Num(a.value * b.value)
    return Apply(Op.MUL, (a, b))


def div(a: Expr, b: Expr) -> Expr:
    """a / b."""
    if _is(b, 1):
        return a
    if _is(a, 0):
        return ZERO
    return Apply(Op.DIV, (a, b))


def power(a: Expr, exponent: Fraction) -> Expr:
    """a ** exponent for a constant exponent."""
    if exponent == 1:
        return a
    if exponent == 0:
        return ONE
    return Apply(Op.POW, (a, Num(exponent)))


def sqrt(a: Expr) -> Expr:
    """sqrt(a)."""
    return Apply(Op.SQRT, (a,))


def exp(a: Expr) -> Expr:
    """exp(a)."""
    return Apply(Op.EXP, (a,))


def total(a: Expr, axes: tuple[str, ...] = ()) -> Expr:
    """sum(a) over some axes; over every axis of the model when none are named."""
    if _is(a, 0):
        return ZERO
    return Apply(Op.SUM, (a,), axes=axes)


def mean(a: Expr, axes: tuple[str, ...] = ()) -> Expr:
    """mean(a) over some axes; over every axis of the model when none are named."""
    return Apply(Op.MEAN, (a,), axes=axes)


def dot(a: Expr, b: Expr) -> Expr:
    """The inner product of two batch vectors."""
    return Apply(Op.DOT, (a, b))


def add_all(terms: list[Expr]) -> Expr:
    """The sum of a list of terms, 0 for none."""
    result: Expr = ZERO
    for term in terms:
        result = add(result, term)
    return result
