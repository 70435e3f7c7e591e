"""Evaluate resolved trees on arrays, in any number system of `arithmetic`.

A value is an array with one dimension per axis of the model, in declaration order, and
a last one of independent draws ("channels"): a dimension is 1 where the value does not
vary over that axis. In a one-axis model that is (N, C) for a batch value and (1, C) for
a scalar. A Point holds the given leaves of a model and derives nodes and gradients on
demand from their formulas, each once, so evaluating a gradient costs one pass over the
elements whatever the formula refers to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from bnverify.engine.arithmetic import Arithmetic, Undefined
from bnverify.language.names import BATCH_SIZE, hessian_of
from bnverify.language.operators import Op, row, signature
from bnverify.language.shapes import DEFAULT_AXIS
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value


def _reduce(point: Point, x: Any, axes: tuple[str, ...]) -> Any:
    # Over an axis the value varies along, a sum; over one it was broadcast along, a
    # scalar's sum over n elements is n times itself.
    dims = len(point.sizes) + 1
    if isinstance(x, np.ndarray) and x.ndim < dims:
        x = x.reshape((1,) * (dims - x.ndim) + x.shape)
    for axis in axes or tuple(point.sizes):
        k, n = point.axis_index(axis), point.sizes[axis]
        if isinstance(x, np.ndarray) and x.shape[k] == n and n > 1:
            x = x.sum(axis=k, keepdims=True)
        else:
            x = x * n
    return x


def _count(point: Point, axes: tuple[str, ...]) -> Any:
    count = 1
    for axis in axes or tuple(point.sizes):
        count *= point.sizes[axis]
    return point.arith.constant_int(count)


def _ones(point: Point) -> Any:
    shape = (*point.sizes.values(), point.channels)
    return np.full(shape, point.arith.constant_int(1), dtype=point.arith.dtype)


@dataclass(frozen=True)
class Hessian:
    """The leaf H_<output> of a point: the downstream loss's Hessian over the output.

    `axes` are the output's axes in the model's order, M the number of its elements at
    the point's sizes (flattened in that order, the last axis fastest); `matrix` is
    (M, M), the same for every channel, or (channels, M, M). It must be symmetric.
    """

    axes: tuple[str, ...]
    matrix: np.ndarray

    def per_channel(self, channels: int) -> np.ndarray:
        """The matrix as (channels, M, M)."""
        if self.matrix.ndim == 2:
            return np.broadcast_to(self.matrix, (channels, *self.matrix.shape))
        assert self.matrix.shape[0] == channels, "one Hessian per channel, or one for all"
        return self.matrix

    def converted(self, convert: Callable[[Any], Any]) -> Hessian:
        """The same matrix with each entry converted (to intervals, to floats)."""
        return Hessian(self.axes, np.frompyfunc(convert, 1, 1)(self.matrix))


class MissingHessian(KeyError):
    """hess(a, b) was evaluated at a point given no H_<output> leaf."""


def hessian_leaf(point: Mapping[str, Any]) -> Hessian:
    """The one H_<output> leaf of a point (Point.leaves), or MissingHessian."""
    found = [v for k, v in point.items() if hessian_of(k) is not None and isinstance(v, Hessian)]
    if len(found) != 1:
        raise MissingHessian("hess(a, b) needs the point's leaf H_<output>: a Hessian")
    return found[0]


def flat_over(point: Point, value: Any, axes: tuple[str, ...]) -> Any:
    """A value broadcast over `axes` (and constant along the others), as (M, channels)."""
    full = point.full(value)
    index = tuple(slice(None) if a in axes else slice(0, 1) for a in point.sizes)
    return full[(*index, slice(None))].reshape(-1, point.channels)


def _hess(point: Point, a: Any, b: Any, axes: tuple[str, ...]) -> Any:
    # a^T H b per channel, a and b spread over the output's axes first (H is over them).
    hessian = hessian_leaf(point.leaves)
    left, right = flat_over(point, a, hessian.axes), flat_over(point, b, hessian.axes)
    matrices = hessian.per_channel(point.channels)
    values = [left[:, c] @ matrices[c] @ right[:, c] for c in range(point.channels)]
    out = np.empty((1,) * len(point.sizes) + (point.channels,), dtype=point.arith.dtype)
    out[..., :] = values
    return out


# Operator -> how to compute it from (point, *argument values); an exponent comes as the
# exact Fraction it stands for, since each number system decides what a power means. A
# reduction's row also gets the axes it removes (after the values): () means every axis.
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
    Op.SUM: lambda p, a, axes: _reduce(p, a, axes),
    Op.MEAN: lambda p, a, axes: _reduce(p, a, axes) / _count(p, axes),
    Op.DOT: lambda p, a, b, axes: _reduce(p, a * b, axes),
    Op.ONES: _ones,
    Op.HESS: _hess,
}


def one_axis(n: int) -> dict[str, int]:
    """The sizes of a one-axis model with n samples."""
    return {DEFAULT_AXIS: n}


class Point(Mapping[str, Any]):
    """A model's values at one point: leaves given, everything else derived once.

    `sizes` maps each axis, in the model's order, to its size (an int n is a one-axis
    model's N); `size_names` maps each axis to the name of its size (d -> D).
    """

    def __init__(
        self,
        arith: Arithmetic,
        sizes: int | Mapping[str, int],
        channels: int,
        leaves: Mapping[str, Any],
        definitions: Mapping[str, Expr],
        size_names: Mapping[str, str] | None = None,
    ) -> None:
        self.arith, self.channels = arith, channels
        self.sizes = one_axis(sizes) if isinstance(sizes, int) else dict(sizes)
        self.size_names = dict(size_names or {DEFAULT_AXIS: BATCH_SIZE})
        self.leaves = dict(leaves)
        for axis, name in self.size_names.items():
            self.leaves.setdefault(name, arith.constant_int(self.sizes[axis]))
        self.definitions = definitions
        self._values: dict[str, Any] = dict(self.leaves)

    @property
    def n(self) -> int:
        """The number of elements of every axis together (N in a one-axis model)."""
        return int(np.prod(list(self.sizes.values())))

    def axis_index(self, axis: str) -> int:
        """The dimension of an axis in every array of this point."""
        return list(self.sizes).index(axis)

    def shape(self, axes: frozenset[str] | set[str]) -> tuple[int, ...]:
        """The array shape of a value varying over `axes`, channels last."""
        return (*(n if a in axes else 1 for a, n in self.sizes.items()), self.channels)

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

    def full(self, value: Any) -> np.ndarray:
        """A value as an array over every axis and channel (broadcast where it is constant)."""
        array = np.asarray(value, dtype=object if self.arith.dtype is object else None)
        dims = len(self.sizes) + 1
        if array.ndim < dims:
            array = array.reshape((1,) * (dims - array.ndim) + array.shape)
        return np.broadcast_to(array, (*self.sizes.values(), self.channels))

    def in_arithmetic(self, arith: Arithmetic, leaves: Mapping[str, Any]) -> Point:
        """The same sizes and formulas in another number system, from these leaves."""
        return Point(arith, self.sizes, self.channels, leaves, self.definitions, self.size_names)

    def with_leaves(self, **leaves: Any) -> Point:
        """A fresh point with some leaves given or replaced; a given node is not derived."""
        return Point(
            self.arith,
            self.sizes,
            self.channels,
            self.leaves | leaves,
            self.definitions,
            self.size_names,
        )


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
            if signature(op).reduces:
                return row(table[0], op, table[1])(context, *values, expr.axes)
            return row(table[0], op, table[1])(context, *values)
    raise ValueError(f"cannot evaluate {expr!r}")


def _exponent(arg: Expr) -> Fraction:
    value = constant_value(arg)
    assert value is not None, "shapes.infer admits constant exponents only"
    return value
