"""The expression tree that LaTeX and ASCII formulas, model files and the engine share.

A tree is made of three node types: numbers, names and applications of an operator.
Every node remembers the span of formula text it came from, so any later error can
point at a column. Spans never take part in equality: the LaTeX and the ASCII spelling
of one formula give equal trees.

Two further node types exist only between parsing and name resolution: an indexed sum
(`\\sum_{i=1}^{m}` keeps its index and bounds until they are checked) and an equation
(`g_z = ...`, whose left side names the gradient; a claim's sides may also be compared
by an inequality).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bnverify.language.operators import Op
from bnverify.problem import Span

NOWHERE = Span(0, 0)


@dataclass(frozen=True)
class Num:
    """An exact rational constant."""

    value: Fraction
    span: Span = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Sym:
    """A name: an input, a constant, a node, `g_<node>` (its gradient), `N` or `ones`.

    `index` is the LaTeX element index, one letter (`x_i` has "i", `g_{y,j}` "j", and
    `x_{b,d}` is the name x_b with "d"). A subscript of other or several letters stays in
    the name (`x_{ij}` is x_ij, `x_{n,g,c,s}` x_n_gcs), since only the model can tell a
    name's subscript from its indices (bnverify.model.indices). Resolved trees have none.
    """

    name: str
    index: str | None = None
    span: Span = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Apply:
    """An operator applied to arguments; bnverify.language.operators declares the operators."""

    op: Op
    args: tuple[Expr, ...]
    span: Span = field(default=NOWHERE, compare=False, repr=False)
    # The axes a reduction removes, in the model's order; () means every axis of the
    # model, which is how a one-axis model writes its reductions (sum(z)).
    axes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A tree built from a spelling, Apply("sqrt", ...), holds the operator itself,
        # and an unknown spelling is refused here rather than by some later table.
        if not isinstance(self.op, Op):
            object.__setattr__(self, "op", Op(self.op))


@dataclass(frozen=True)
class IndexedSum:
    """`\\sum_{index=lower}^{upper} body` as written; resolution turns it into `sum`.

    `index` is one letter; `\\sum_{n,s} x` is read as `\\sum_n \\sum_s x`.
    """

    index: str | None
    body: Expr
    lower: Expr | None = None
    upper: Expr | None = None
    span: Span = field(default=NOWHERE, compare=False, repr=False)


# How a claim may compare its sides, by every spelling the syntaxes accept.
RELATIONS = {
    "=": "=",
    "<": "<",
    "<=": "<=",
    "\\le": "<=",
    "\\leq": "<=",
    "\\leqslant": "<=",
    ">": ">",
    ">=": ">=",
    "\\ge": ">=",
    "\\geq": ">=",
    "\\geqslant": ">=",
}


# What each canonical relation means, for numbers that compare (exact or float64).
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Equation:
    """`lhs = rhs` at the top of a formula; the left side names what is differentiated.

    A claim's sides may be compared otherwise (`relation` "<", "<=", ">" or ">="); a
    candidate's never (resolution says so).
    """

    lhs: Expr
    rhs: Expr
    span: Span = field(default=NOWHERE, compare=False, repr=False)
    relation: str = "="


Expr = Num | Sym | Apply | IndexedSum
Formula = Expr | Equation


def _divide(a: Fraction, b: Fraction) -> Fraction | None:
    return a / b if b else None


# The operators whose value on rational numbers is rational: these fold into constants.
_FOLDS: dict[Op, Callable[..., Fraction | None]] = {
    Op.ADD: operator.add,
    Op.SUB: operator.sub,
    Op.MUL: operator.mul,
    Op.DIV: _divide,
    Op.NEG: operator.neg,
}


def constant_value(expr: Expr) -> Fraction | None:
    """The exact value of an expression built from numbers alone, else None."""
    match expr:
        case Num(value=value):
            return value
        case Apply(op=op, args=args) if op in _FOLDS:
            values = [constant_value(arg) for arg in args]
            return None if None in values else _FOLDS[op](*values)
    return None


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of a node."""
    match expr:
        case Apply(args=args):
            return args
        case IndexedSum(body=body, lower=lower, upper=upper):
            return tuple(e for e in (body, lower, upper) if e is not None)
    return ()


def factors(expr: Expr) -> list[Expr]:
    """A product chain's factors, left to right: a b c for (a b) c and a (b c)."""
    out: list[Expr] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Apply) and node.op == Op.MUL:
            stack.extend(reversed(node.args))
        else:
            out.append(node)
    return out


def walk(expr: Expr) -> list[Expr]:
    """Every node of the tree, parents before children."""
    out: list[Expr] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out


def names(expr: Expr) -> frozenset[str]:
    """The names a tree refers to."""
    return frozenset(node.name for node in walk(expr) if isinstance(node, Sym))


def size(expr: Expr) -> int:
    """Number of nodes in the tree."""
    return len(walk(expr))


def depth(expr: Expr) -> int:
    """Length of the longest path from the root to a leaf."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(node))
    return deepest
