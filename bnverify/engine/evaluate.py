"""Evaluate resolved trees on arrays, in any number system of `arithmetic`.

A value is an array with one row per sample and one column per channel: shape (N, C) for
a batch value, (1, C) for a scalar. A Point holds the given leaves of a model and derives
nodes and gradients on demand from their formulas, each once, so evaluating a gradient
costs O(N) whatever the formula refers to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bnverify.engine.arithmetic import Arithmetic, Undefined
from bnverify.language import names
from bnverify.language.names import BATCH_SIZE
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value


def _reduce(x: Any, n: int) -> Any:
    # A scalar broadcast over the batch sums to N times itself.
    if isinstance(x, np.ndarray) and x.shape[0] == n and x.ndim == 2 and n > 1:
        return x.sum(axis=0, keepdims=True)
    return x * n


# Operator -> how to compute it from argument values (arith, batch size, *args).
OPERATIONS: dict[str, Callable[..., Any]] = {
    "add": lambda ar, n, a, b: a + b,
    "sub": lambda ar, n, a, b: a - b,
    "mul": lambda ar, n, a, b: a * b,
    "div": lambda ar, n, a, b: a / b,
    "neg": lambda ar, n, a: -a,
    "sqrt": lambda ar, n, a: ar.sqrt(a),
    "sum": lambda ar, n, a: _reduce(a, n),
    "mean": lambda ar, n, a: _reduce(a, n) / ar.constant_int(n),
    "dot": lambda ar, n, a, b: _reduce(a * b, n),
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
    arith, n = point.arith, point.n
    with arith.context():
        try:
            return _eval(expr, point, arith, n)
        except ZeroDivisionError as err:
            raise Undefined("division by zero") from err


def _eval(expr: Expr, point: Point, arith: Arithmetic, n: int) -> Any:
    match expr:
        case Num(value=value):
            return arith.constant(value)
        case Sym(name=name):
            return point[name]
        case Apply(op="pow", args=(base, exponent)):
            value = constant_value(exponent)
            assert value is not None, "shapes.infer admits constant exponents only"
            return arith.power(_eval(base, point, arith, n), value)
        case Apply(op=names.ONES):
            return np.full((n, point.channels), arith.constant_int(1), dtype=arith.dtype)
        case Apply(op=op, args=args) if op in OPERATIONS:
            values = [_eval(arg, point, arith, n) for arg in args]
            return OPERATIONS[op](arith, n, *values)
    raise ValueError(f"cannot evaluate {expr!r}")
