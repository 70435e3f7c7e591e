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
from bnverify.language.build import BATCH_SIZE_SYM, TWO
from bnverify.language.names import BATCH_SIZE, gradient_name
from bnverify.language.operators import Op, row, signature
from bnverify.language.shapes import BATCH, SCALAR, Shape
from bnverify.language.tree import Apply, Expr, Sym, constant_value
from bnverify.model.graph import Model
from bnverify.problem import Problem

Rule = Callable[[Expr, tuple[Expr, ...]], Expr]


def _pow_rule(g: Expr, args: tuple[Expr, ...]) -> Expr:
    base, exponent = args
    value = constant_value(exponent)
    assert value is not None, "shapes.infer admits constant exponents only"
    return build.mul(g, build.mul(build.num(value), build.power(base, value - 1)))


# Operator -> one rule per argument, mapping (upstream gradient, arguments) to what flows
# back into that argument. A None rule means the argument is a constant (an exponent).
VJP: dict[Op, tuple[Rule | None, ...]] = {
    Op.ADD: (lambda g, a: g, lambda g, a: g),
    Op.SUB: (lambda g, a: g, lambda g, a: build.neg(g)),
    Op.MUL: (lambda g, a: build.mul(g, a[1]), lambda g, a: build.mul(g, a[0])),
    Op.DIV: (
        lambda g, a: build.div(g, a[1]),
        lambda g, a: build.neg(build.div(build.mul(g, a[0]), build.power(a[1], 2))),
    ),
    Op.POW: (_pow_rule, None),
    Op.NEG: (lambda g, a: build.neg(g),),
    Op.SQRT: (lambda g, a: build.div(g, build.mul(TWO, build.sqrt(a[0]))),),
    Op.EXP: (lambda g, a: build.mul(g, build.exp(a[0])),),
    Op.LOG: (lambda g, a: build.div(g, a[0]),),
    Op.SUM: (lambda g, a: g,),
    Op.MEAN: (lambda g, a: build.div(g, BATCH_SIZE_SYM),),
    Op.DOT: (lambda g, a: build.mul(g, a[1]), lambda g, a: build.mul(g, a[0])),
    Op.ONES: (),
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
        for leaf, contribution in pullback(expr, Sym(gradient_name(node)), model.shape_of):
            flows[leaf].append(Term(node, contribution))
    terms = tuple(
        (name, tuple(flows[name])) for name in model.primal_names() if name != model.output
    )
    return Gradients(model, tuple(freeze), terms)


def pullback(expr: Expr, grad: Expr, shape_of: dict[str, Shape]) -> list[tuple[str, Expr]]:
    """(name, contribution) for every name in `expr`, given the gradient of `expr`."""
    match expr:
        case Sym(name=name) if name in shape_of and name != BATCH_SIZE:
            return [(name, grad)]
        case Apply(op=op, args=args):
            out: list[tuple[str, Expr]] = []
            # A reduction sees its argument as a batch even when a scalar was broadcast into it.
            seen_as = BATCH if signature(op).reduces else _shape(expr, shape_of)
            for arg, rule in zip(args, row(VJP, op, "backprop.VJP"), strict=True):
                if rule is not None:
                    flow = _unbroadcast(rule(grad, args), seen_as, _shape(arg, shape_of), shape_of)
                    out.extend(pullback(arg, flow, shape_of))
            return out
    return []


def _unbroadcast(flow: Expr, seen_as: Shape, arg_shape: Shape, shape_of: dict) -> Expr:
    # A scalar broadcast over the batch receives the sum of what flows back per sample;
    # when that flow is itself one number, the sum over N samples is N times it.
    if arg_shape == SCALAR and seen_as == BATCH:
        if _shape(flow, shape_of) == BATCH:
            return build.total(flow)
        return build.mul(BATCH_SIZE_SYM, flow)
    return flow


def _shape(expr: Expr, shape_of: dict[str, Shape]) -> Shape:
    shape = shapes.infer(expr, shape_of)
    assert not isinstance(shape, Problem), "model formulas are checked when loaded"
    return shape
