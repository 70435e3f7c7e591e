"""Shapes of the vector language: a value is one number per element of some of the model's axes.

A model declares named axes (a one-axis model has the axis `n`, of size N). A value's
shape is the set of axes it varies over: gamma of LayerNorm varies over d, x over b and
d, a statistic such as mu over b, and a scalar (eps, N) over none. Elementwise operators
broadcast: the result varies over every axis an operand does. A reduction removes the
axes it names (sum(e, d)); written with no axis, it removes every axis of the model,
which is how a one-axis model writes it. This module is the one place that knows those
rules, and `reduction_axes` the one place that reads the axes a formula names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bnverify.language.operators import Op, row, signature
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value, walk
from bnverify.problem import Problem

Shape = frozenset[str]
SCALAR: Shape = frozenset()
DEFAULT_AXIS = "n"  # the axis of a model that declares none: its samples, of size N
BATCH: Shape = frozenset({DEFAULT_AXIS})  # one number per sample of a one-axis model


def broadcast(*shapes: Shape) -> Shape:
    """The shape of an elementwise result: every axis any operand varies over."""
    return frozenset().union(*shapes)


def _elementwise(expr: Apply, shapes: tuple[Shape, ...]) -> Shape:
    return broadcast(*shapes)


def _reduction(expr: Apply, shapes: tuple[Shape, ...]) -> Shape:
    # No axes written means every axis of the model (a one-axis model's sum(z)).
    return broadcast(*shapes) - frozenset(expr.axes) if expr.axes else SCALAR


# Operator -> rule from the application and its argument shapes to the result's shape.
# `ones` varies over every axis: the caller passes the union of all shapes as its only one.
RULES: dict[Op, Callable[[Apply, tuple[Shape, ...]], Shape]] = {
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
    Op.ONES: _elementwise,
    Op.HESS: _reduction,  # its axes are always (): every axis, one number
}


def describe(shape: Shape, words: Mapping[str, str], order: Sequence[str]) -> str:
    """A shape in words: "one number", "one number per sample and feature"."""
    if not shape:
        return "one number"
    axes = [words.get(axis, axis) for axis in order if axis in shape]
    listed = " and ".join(axes) if len(axes) < 3 else ", ".join(axes[:-1]) + " and " + axes[-1]
    return f"one number per {listed}"


def infer(expr: Expr, shape_of: Mapping[str, Shape]) -> Shape | Problem:
    """The shape of a resolved tree, or the first problem with it."""
    match expr:
        case Num():
            return SCALAR
        case Sym(name=name):
            if name not in shape_of:
                return Problem(f"unknown name {name!r}", expr.span)
            return shape_of[name]
        case Apply(op=Op.ONES):
            return broadcast(*shape_of.values())
        case Apply(op=op, args=args) if not signature(op).syntax_only:
            return _apply(expr, args, shape_of)
    return Problem("this cannot be evaluated as a vector expression", getattr(expr, "span", None))


def _apply(expr: Apply, args: tuple[Expr, ...], shape_of: Mapping[str, Shape]) -> Shape | Problem:
    exponent = signature(expr.op).exponent
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
    return row(RULES, expr.op, "shapes.RULES")(expr, tuple(arg_shapes))


def _is_power_exponent(exponent: Expr) -> bool:
    # Exact evaluation needs powers whose value stays rational or a square root of one.
    value = constant_value(exponent)
    return value is not None and value.denominator in (1, 2)


# The axes of a reduction over whatever its argument varies over: a norm, or an inner
# product <a, b>, which notes write without naming an axis. Resolution fills them in.
ITS_AXES = ("*",)


def reduction_axes(
    expr: Expr, shape_of: Mapping[str, Shape], order: Sequence[str]
) -> Expr | Problem:
    """The tree with every reduction's axes checked and written in the model's form.

    A one-axis model writes its reductions with no axis (sum(z)), whatever was written;
    a model with more axes names them in declaration order. There a reduction written
    without an axis is read only when its argument varies over exactly one axis: a
    choice between two axes is an error located at the reduction, never a guess.
    """
    reductions = [n for n in walk(expr) if isinstance(n, Apply) and signature(n.op).reduces]
    if not reductions:
        return expr
    for node in reductions:
        problem = _check_axes(node, order)
        if problem is not None:
            return problem
    return _fill(expr, shape_of, order)


def _check_axes(node: Apply, order: Sequence[str]) -> Problem | None:
    if node.axes and signature(node.op).every_axis:
        return Problem(f"{node.op} is over every axis: it names none", node.span)
    if node.axes == ITS_AXES:
        return None
    unknown = [axis for axis in node.axes if axis not in order]
    if unknown:
        listed = ", ".join(order)
        return Problem(
            f"{node.op} over {unknown[0]!r}: not an axis of the model (its axes: {listed})",
            node.span,
        )
    if len(set(node.axes)) != len(node.axes):
        return Problem(f"{node.op} names an axis twice", node.span)
    return None


def _fill(expr: Expr, shape_of: Mapping[str, Shape], order: Sequence[str]) -> Expr | Problem:
    if not isinstance(expr, Apply):
        return expr
    args = []
    for arg in expr.args:
        filled = _fill(arg, shape_of, order)
        if isinstance(filled, Problem):
            return filled
        args.append(filled)
    axes = expr.axes
    if signature(expr.op).reduces:
        if len(order) == 1 or signature(expr.op).every_axis:
            axes = ()
        elif axes == ITS_AXES:
            axes = _its_axes(tuple(args), shape_of, order)
            if isinstance(axes, Problem):
                return axes
        elif not axes:
            chosen = _only_axis(expr, tuple(args), shape_of, order)
            if isinstance(chosen, Problem):
                return chosen
            axes = chosen
        else:
            axes = tuple(axis for axis in order if axis in axes)
    return Apply(expr.op, tuple(args), expr.span, axes)


def _its_axes(
    args: tuple[Expr, ...], shape_of: Mapping[str, Shape], order: Sequence[str]
) -> tuple[str, ...] | Problem:
    shapes = [infer(arg, shape_of) for arg in args]
    for shape in shapes:
        if isinstance(shape, Problem):
            return shape
    varies = broadcast(*shapes)  # type: ignore[arg-type]
    return tuple(axis for axis in order if axis in varies)


def _only_axis(
    expr: Apply, args: tuple[Expr, ...], shape_of: Mapping[str, Shape], order: Sequence[str]
) -> tuple[str, ...] | Problem:
    shapes = [infer(arg, shape_of) for arg in args]
    for shape in shapes:
        if isinstance(shape, Problem):
            return shape
    varies = broadcast(*shapes)  # type: ignore[arg-type]
    if len(varies) == 1:
        return tuple(varies)
    listed = ", ".join(axis for axis in order if axis in varies) or "none"
    example = f"{expr.op}(..., {next(iter(a for a in order if a in varies), order[-1])})"
    return Problem(
        f"{expr.op} over which axis? its argument varies over {listed}; name the axes it "
        f"sums over, e.g. {example}",
        expr.span,
    )
