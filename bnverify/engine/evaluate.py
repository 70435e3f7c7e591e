"""Evaluate resolved trees on arrays, in any number system of `arithmetic`.

A value is an array with one row per sample and one column per channel: shape (N, C) for
a batch value, (1, C) for a scalar. A Point holds the given leaves of a model and derives
nodes and gradients on demand from their formulas, each once, so evaluating a gradient
costs O(N) whatever the formula refers to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np

from bnverify.engine.arithmetic import Arithmetic, Undefined
from bnverify.language.names import BATCH_SIZE
from bnverify.language.operators import Op, row, signature
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value


def _reduce(x: Any, n: int) -> Any:
    # A scalar broadcast over the batch sums to N times itself.
    if isinstance(x, np.ndarray) and x.shape[0] == n and x.ndim == 2 and n > 1:
        return x.sum(axis=0, keepdims=True)
    return x * n


def _ones(point: Point) -> Any:
    return np.full((point.n, point.channels), point.arith.constant_int(1), dtype=point.arith.dtype)


# Operator -> how to compute it from (point, *argument values); an exponent comes as the
# exact Fraction it stands for, since each number system decides what a power means.
OPERATIONS: dict[Op, Callable[..., Any]] = {
    Op.ADD: lambda p, a, b: a + b,
    Op.SUB: lambda p, a, b: a - b,
    Op.MUL: lambda p, a, b: a * b,
    Op.DIV: lambda p, a, b: a / b,
    Op.POW: lambda p, a, exponent: p.arith.power(a, exponent),
    Op.NEG: lambda p, a: -a,
    Op.SQRT: lambda p, a: p.arith.sqrt(a),
    Op.EXP: lambda p, a: p.arith.exp(a),
    Op.LOG: lambda p, a: p.arith.log(a),
    Op.SUM: lambda p, a: _reduce(a, p.n),
    Op.MEAN: lambda p, a: _reduce(a, p.n) / p.arith.constant_int(p.n),
    Op.DOT: lambda p, a, b: _reduce(a * b, p.n),
    Op.ONES: _ones,
}


class Point(Mapping[str, Any]):
    """A model's values at one point: leaves given, everything else derived once."""

    def __init__(
        self,
        arith: Arithmetic,
        n: int,
        channels: int,
        leaves: Mapping[str, Any],
        definitions: Mapping[str, Expr],
    ) -> None:
        self.arith, self.n, self.channels = arith, n, channels
        self.leaves = dict(leaves)
        self.leaves.setdefault(BATCH_SIZE, arith.constant_int(n))
        self.definitions = definitions
        self._values: dict[str, Any] = dict(self.leaves)

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            if name not in self.definitions:
                raise KeyError(name)
            self._values[name] = evaluate(self.definitions[name], self)
        return self._values[name]

    def __iter__(self):
        return iter(set(self.leaves) | set(self.definitions))

    def __len__(self) -> int:
        return len(set(self.leaves) | set(self.definitions))

    def with_leaves(self, **leaves: Any) -> Point:
        """A fresh point with some leaves given or replaced; a given node is not derived."""
        return Point(self.arith, self.n, self.channels, self.leaves | leaves, self.definitions)


def evaluate(expr: Expr, point: Point) -> Any:
    """The value of a resolved tree at a point; raises Undefined where it has none."""
    with point.arith.context():
        try:
            return _eval(expr, point)
        except ZeroDivisionError as err:
            raise Undefined("division by zero") from err


def _eval(expr: Expr, point: Point) -> Any:
    return fold(expr, point, point, (OPERATIONS, "evaluate.OPERATIONS"), point.arith.constant)


# What an operator's arguments were and became, for a caller that keeps notes of them.
Note = Callable[[Op, tuple[Expr, ...], list[Any]], None]


def fold(
    expr: Expr,
    names: Mapping[str, Any],
    context: Any,
    table: tuple[Mapping[Op, Callable[..., Any]], str],
    constant: Callable[[Fraction], Any],
    note: Note | None = None,
) -> Any:
    """A resolved tree's value in one number system: the evaluators' common walk.

    A number becomes `constant(value)`, a name `names[name]`, and an operator's row of
    `table` (a table and its name, for a missing row's message) gets `context` and the
    argument values; an exponent comes as the exact Fraction it stands for.
    """
    match expr:
        case Num(value=value):
            return constant(value)
        case Sym(name=name):
            return names[name]
        case Apply(op=op, args=args):
            exponent = signature(op).exponent
            values = [
                _exponent(arg)
                if at == exponent
                else fold(arg, names, context, table, constant, note)
                for at, arg in enumerate(args)
            ]
            if note is not None:
                note(op, args, values)
            return row(table[0], op, table[1])(context, *values)
    raise ValueError(f"cannot evaluate {expr!r}")


def _exponent(arg: Expr) -> Fraction:
    value = constant_value(arg)
    assert value is not None, "shapes.infer admits constant exponents only"
    return value
