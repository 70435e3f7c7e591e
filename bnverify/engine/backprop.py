"""Reverse accumulation over a model's graph, at the level of the vector language.

Every node's gradient is the sum, over the nodes that consume it, of what flows back
through each consumer's formula. The local rules below, one per operator, are all the
calculus the engine knows; nothing here knows which layer the model describes.
The result is a formula per name, in the same language as candidates, valid for every
batch size N and cheap to evaluate (each gradient refers to its consumers' gradients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from bnverify.language import build, shapes
from bnverify.language.build import TWO
from bnverify.language.names import gradient_name
from bnverify.language.operators import Op, row, signature
from bnverify.language.shapes import Shape
from bnverify.language.tree import Apply, Expr, Sym, constant_value
from bnverify.model.graph import Model
from bnverify.problem import Problem

# A rule maps (upstream gradient, arguments, count) to what flows back into one argument;
# `count` is a reduction's number of elements (N; B*D), which only mean needs.
Rule = Callable[[Expr, tuple[Expr, ...], Expr], Expr]


def _pow_rule(g: Expr, args: tuple[Expr, ...], count: Expr) -> Expr:
    base, exponent = args
    value = constant_value(exponent)
    assert value is not None, "shapes.infer admits constant exponents only"
    return build.mul(g, build.mul(build.num(value), build.power(base, value - 1)))


class NoVJP(NotImplementedError):
    """An operator whose VJP the formula language cannot write (no bug: a limit of it)."""


def _hess_rule(g: Expr, args: tuple[Expr, ...], count: Expr) -> Expr:
    # d/da of a^T H b is H b: a matrix applied to a vector, which no formula can write.
    raise NoVJP(
        "hess(a, b) has no VJP in the formula language (it is H_y applied to a vector); "
        "differentiate a second-order quantity forward, with bnverify.engine.forward"
    )


# Operator -> one rule per argument, mapping (upstream gradient, arguments) to what flows
# back into that argument. A None rule means the argument is a constant (an exponent).
VJP: dict[Op, tuple[Rule | None, ...]] = {
    Op.ADD: (lambda g, a, n: g, lambda g, a, n: g),
    Op.SUB: (lambda g, a, n: g, lambda g, a, n: build.neg(g)),
    Op.MUL: (lambda g, a, n: build.mul(g, a[1]), lambda g, a, n: build.mul(g, a[0])),
    Op.DIV: (
        lambda g, a, n: build.div(g, a[1]),
        lambda g, a, n: build.neg(build.div(build.mul(g, a[0]), build.power(a[1], 2))),
    ),
    Op.POW: (_pow_rule, None),
    Op.NEG: (lambda g, a, n: build.neg(g),),
    Op.SQRT: (lambda g, a, n: build.div(g, build.mul(TWO, build.sqrt(a[0]))),),
    Op.EXP: (lambda g, a, n: build.mul(g, build.exp(a[0])),),
    Op.LOG: (lambda g, a, n: build.div(g, a[0]),),
    Op.SUM: (lambda g, a, n: g,),
    Op.MEAN: (lambda g, a, n: build.div(g, n),),
    Op.DOT: (lambda g, a, n: build.mul(g, a[1]), lambda g, a, n: build.mul(g, a[0])),
    Op.ONES: (),
    Op.HESS: (_hess_rule, _hess_rule),
}


@dataclass(frozen=True)
class Term:
    """What flows back into a name through one consumer's formula."""

    consumer: str
    expr: Expr


@dataclass(frozen=True)
class Gradients:
    """The engine's gradients of L = sum(g_out * out) for every name of a model."""

    model: Model
    freeze: tuple[str, ...]
    terms: tuple[tuple[str, tuple[Term, ...]], ...]

    @cached_property
    def formulas(self) -> dict[str, Expr]:
        """g_<name> -> its formula (the sum of its terms); the upstream gradient has none."""
        return {
            gradient_name(name): build.add_all([t.expr for t in terms])
            for name, terms in self.terms
        }

    def formula(self, name: str) -> Expr:
        """The formula of g_<name>."""
        return self.formulas[gradient_name(name)]


def backprop(model: Model, freeze: tuple[str, ...] = ()) -> Gradients:
    """Gradients of every leaf and node; nodes in `freeze` pass nothing to their inputs."""
    flows: dict[str, list[Term]] = {name: [] for name in model.primal_names()}
    for node, expr in reversed(model.nodes):
        if node in freeze:
            continue
        for leaf, contribution in pullback(expr, Sym(gradient_name(node)), model):
            flows[leaf].append(Term(node, contribution))
    terms = tuple(
        (name, tuple(flows[name])) for name in model.primal_names() if name != model.output
    )
    return Gradients(model, tuple(freeze), terms)


def pullback(expr: Expr, grad: Expr, model: Model) -> list[tuple[str, Expr]]:
    """(name, contribution) for every name in `expr`, given the gradient of `expr`."""
    match expr:
        case Sym(name=name) if name in model.shape_of and name not in model.size_names:
            return [(name, grad)]
        case Apply(op=op, args=args):
            out: list[tuple[str, Expr]] = []
            count = size_of(model, reduced(model, expr)) if signature(op).reduces else build.ONE
            seen_as = _shape(expr, model)
            if signature(op).reduces:
                # A reduction sees its argument over the axes it removes, even where an
                # operand was broadcast over them.
                seen_as |= frozenset(reduced(model, expr))
            for arg, rule in zip(args, row(VJP, op, "backprop.VJP"), strict=True):
                if rule is not None:
                    flow = unbroadcast(model, rule(grad, args, count), seen_as, _shape(arg, model))
                    out.extend(pullback(arg, flow, model))
            return out
    return []


def reduced(model: Model, expr: Apply) -> tuple[str, ...]:
    """The axes a reduction removes: those it names, or every axis when it names none."""
    return expr.axes or model.order


def size_of(model: Model, axes: tuple[str, ...]) -> Expr:
    """The number of elements over some axes: the product of their sizes (N; B*D)."""
    out: Expr = build.ONE
    for axis in axes:
        out = build.mul(out, Sym(model.sizes[axis]))
    return out


def unbroadcast(model: Model, flow: Expr, seen_as: Shape, arg_shape: Shape) -> Expr:
    """What an operand lacking some axes receives: the flow summed over them.

    An operand broadcast over an axis it lacks receives the sum over that axis of what
    flows back; where the flow itself does not vary over the axis, the sum of its n
    copies is n times it.
    """
    removed = model.in_order(seen_as - arg_shape)
    if not removed:
        return flow
    varying = _shape(flow, model)
    summed = tuple(axis for axis in removed if axis in varying)
    if summed:
        flow = build.total(flow, summed if len(model.order) > 1 else ())
    copies = tuple(axis for axis in removed if axis not in varying)
    return build.mul(size_of(model, copies), flow) if copies else flow


def _shape(expr: Expr, model: Model) -> Shape:
    shape = shapes.infer(expr, model.shape_of)
    assert not isinstance(shape, Problem), "model formulas are checked when loaded"
    return shape
