"""The bounds a parsed formula must meet before anything computes with it.

A formula from a stranger could ask for a tree too big to walk, or a number too big to
build: z^(10^10) or (z*z*z)^1000 in exact arithmetic. Each bound is a field of
bnverify.settings.Limits, and each message names the limit and the flag that raises it.
Nothing here folds a constant whose size it has not bounded first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from bnverify.language.operators import Op, row
from bnverify.language.tree import (
    Apply,
    Equation,
    Expr,
    Formula,
    IndexedSum,
    Num,
    Span,
    Sym,
    constant_value,
    walk,
)
from bnverify.language.tree import depth as tree_depth
from bnverify.language.tree import size as tree_size
from bnverify.problem import Problem, Rejected
from bnverify.settings import Limits, flag

CHARACTERS_PER_NODE = 64  # `\left( \sigma_B^2 + \epsilon \right)` spends 7 per node
_EXPONENT_BITS = 256  # numerator and denominator of one literal in an exponent


def text_problem(text: str, limits: Limits) -> Problem | None:
    """Why a formula's text is too long to parse at all, else None."""
    # Parsing costs time in the length of the text: a text too long for its node limit
    # even at CHARACTERS_PER_NODE (far more than any formula spends) is refused unread.
    most = limits.max_expression_size * CHARACTERS_PER_NODE
    if len(text) <= most:
        return None
    message = (
        f"formula too long: {len(text):,} characters; at most {most:,} are read "
        f"({CHARACTERS_PER_NODE} per node of {flag('max_expression_size')}, which raises it)"
    )
    return Problem(message, Span(0, len(text)))


@dataclass(frozen=True)
class Growth:
    """How large a formula's values can grow: its degree in the names, and the digits of
    the numbers it builds (a product adds both, a power multiplies both)."""

    degree: int
    digits: int


LEAF = Growth(degree=1, digits=0)  # an input's value is drawn small; its powers are what grow


def formula_problem(formula: Formula, text: str, limits: Limits) -> Problem | None:
    """Why a parsed formula is too big to check (size, nesting, powers), else None."""
    sides = (formula.lhs, formula.rhs) if isinstance(formula, Equation) else (formula,)
    whole = Span(0, len(text))
    # A tree of depth d needs at least d characters, so short formulas skip the walk.
    if len(text) > limits.max_nesting and max(map(tree_depth, sides)) > limits.max_nesting:
        what = f"formula nested deeper than {limits.max_nesting} levels of operations"
        return Problem(limits.exceeded("max_nesting", what), whole)
    nodes = sum(map(tree_size, sides))
    if nodes > limits.max_expression_size:
        message = limits.exceeded("max_expression_size", f"formula too large: {nodes:,} nodes")
        return Problem(message, whole)
    try:
        for side in sides:
            growth(side, limits)
    except Rejected as too_big:
        return too_big.problem()
    return None


def growth(expr: Expr, limits: Limits, names: Mapping[str, Growth] | None = None) -> Growth:
    """How far a formula's values grow, bounded; raises Rejected at the node past a limit.

    `names` gives the growth of names defined by other formulas, such as a model's
    earlier nodes: with a = z^1000, b = a^1000 has degree 1,000,000, though each formula
    alone is within the limit.
    """
    # Children before parents, without recursion: raised nesting limits stay safe here.
    grown: dict[int, Growth] = {}
    for node in reversed(walk(expr)):
        grown[id(node)] = _node_growth(node, grown, limits, names or {})
    return grown[id(expr)]


def _node_growth(
    node: Expr, grown: dict[int, Growth], limits: Limits, names: Mapping[str, Growth]
) -> Growth:
    """One node's growth from its children's."""
    match node:
        case Num(value=value):
            # An integer has no denominator to build: 1e999 has 1,000 digits, not 1,001.
            denominator = _digits(value.denominator) if value.denominator > 1 else 0
            return Growth(0, _digits(value.numerator) + denominator)
        case Apply(op=op, args=args):
            inner = tuple(grown[id(arg)] for arg in args)
            degree = row(DEGREES, op, "limits.DEGREES")(
                node, tuple(g.degree for g in inner), limits
            )
            digits = sum(g.digits for g in inner)
            if op is Op.POW:
                digits = _power_digits(node, inner[0].digits, limits)
        case IndexedSum(body=body):
            degree, digits = grown[id(body)].degree, grown[id(body)].digits
        case Sym(name=name):
            degree, digits = names.get(name, LEAF).degree, names.get(name, LEAF).digits
        case _:
            degree, digits = LEAF.degree, LEAF.digits
    _bound_digits(digits, node.span, limits)
    if degree > limits.max_exponent:
        what = (
            f"this raises the formula's names to the power {degree:,} "
            "(products add powers, powers of powers multiply them)"
        )
        raise Rejected(limits.exceeded("max_exponent", what), node.span)
    return Growth(degree, digits)


def _largest(node: Apply, inner: tuple[int, ...], limits: Limits) -> int:
    return max(inner)


def _total(node: Apply, inner: tuple[int, ...], limits: Limits) -> int:
    return sum(inner)


def _power(node: Apply, inner: tuple[int, ...], limits: Limits) -> int:
    power = _exponent(node.args[1], limits)
    if power is None:
        return inner[0]  # not a number: bnverify.language.shapes explains what is accepted
    return inner[0] * math.ceil(abs(power))


def _transcendental(node: Apply, inner: tuple[int, ...], limits: Limits) -> int:
    # exp and log have no degree; they count as their argument's, and at least as a name.
    # No polynomial bounds e^z, but what a degree protects never builds it: exact
    # arithmetic stops there (exp(0) = 1 and log(1) = 0 are its only exact values) and a
    # proof's field can hold exp(a) or log(a) only as an atom defined by a, whose degree
    # was bounded at a. A number too large for exp to be computed, exp(exp(z)), intervals
    # bound without computing (engine.arithmetic.EXP_REACH); float64 overflows to inf.
    return max(inner[0], LEAF.degree)


# Operator -> its degree from (node, its arguments' degrees, limits), as for polynomials:
# a sum keeps the largest degree, a product adds them, a power multiplies.
DEGREES: dict[Op, Callable[[Apply, tuple[int, ...], Limits], int]] = {
    Op.ADD: _largest,
    Op.SUB: _largest,
    Op.MUL: _total,
    Op.DIV: _total,
    Op.POW: _power,
    Op.NEG: _total,
    Op.SQRT: _total,
    Op.EXP: _transcendental,
    Op.LOG: _transcendental,
    Op.SUM: _total,
    Op.MEAN: _total,
    Op.DOT: _total,
    Op.ONES: lambda node, inner, limits: 1,
    Op.TRANSPOSE: _total,
    Op.HESS: _total,
}


def _exponent(exponent: Expr, limits: Limits) -> Fraction | None:
    """The value of a power's exponent, once each number in it is known to be small."""
    # Folding the exponent is then cheap: no literal in it has more than ~80 digits.
    for node in walk(exponent):
        if not isinstance(node, Num):
            continue
        if abs(node.value) > limits.max_exponent:
            what = f"exponent {_short(node.value)} is too large"
            raise Rejected(limits.exceeded("max_exponent", what), node.span)
        if sum(abs(part).bit_length() for part in node.value.as_integer_ratio()) > _EXPONENT_BITS:
            message = "this exponent has too many digits: write a number such as 2, -1 or 3/2"
            raise Rejected(message, node.span)
    value = constant_value(exponent)
    if value is not None and abs(value) > limits.max_exponent:
        what = f"exponent {_short(value)} is too large"
        raise Rejected(limits.exceeded("max_exponent", what), exponent.span)
    return value


def _power_digits(node: Apply, base_digits: int, limits: Limits) -> int:
    """The digits a power builds from its base's numbers: (1e999*z)^999 has 999,000."""
    # The exponent was bounded by _power (DEGREES) before this runs, so folding it is cheap.
    power = constant_value(node.args[1])
    return base_digits if power is None else base_digits * math.ceil(abs(power))


def _bound_digits(built: int, span: Span, limits: Limits) -> None:
    """Refuse numbers with too many digits, whether alone or multiplied by names."""
    # A name does not stop its constant factor from growing: (1e999*1e999*z)^999 once
    # built a 2,000,000-digit coefficient, 25 s and 882 MB past every other limit.
    most = limits.max_digits * limits.max_exponent
    if built > most:
        message = (
            f"this would build a number of about {built:,} digits (products add digits, "
            f"powers multiply them); "
            f"the limit is {most:,} ({flag('max_digits')} times {flag('max_exponent')}; "
            "raise either)"
        )
        raise Rejected(message, span)


def _digits(n: int) -> int:
    """About how many decimal digits n has, without printing it (log10 2 = 0.30103)."""
    return abs(n).bit_length() * 30103 // 100000 + 1


def _short(value: Fraction) -> str:
    """The value as written, or its size when it is too long to show."""
    text = str(value) if max(map(abs, value.as_integer_ratio())).bit_length() < 100 else ""
    return text or f"of about {_digits(max(map(abs, value.as_integer_ratio()))):,} digits"
