"""Forward accumulation (tangents) over a model's graph, and the loss's second-order truth.

Backprop's VJP table gives first derivatives; second directional derivatives come by
recursion (as jax builds higher orders): the tangent of the tangent. `JVP` is the
table, one rule per operator from (the application, its arguments' tangents). With the
downstream loss known to second order, L(y + d) = L + g_y.d + 1/2 d^T H_y d, the second
derivative of L along u and w is

    Q(u, w) = hess(D_u y, D_w y) + sum(g_y * D_w D_u y),

one formula of the vector language, valid for every size (docs/proofs.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from bnverify.language import build
from bnverify.language.build import TWO, ZERO
from bnverify.language.names import gradient_of
from bnverify.language.operators import Op, row, signature
from bnverify.language.tree import Apply, Expr, Num, Sym, constant_value
from bnverify.model.graph import Model

# A rule maps (the application, its arguments' tangents) to the tangent of its result.
Rule = Callable[[Apply, tuple[Expr, ...]], Expr]


def _zero(expr: Expr) -> bool:
    return isinstance(expr, Num) and expr.value == 0


def _reduce(op: Op, expr: Apply, *args: Expr) -> Expr:
    """The reduction `op` over the axes `expr` removes, of new arguments."""
    return Apply(op, args, axes=expr.axes)


def _product(e: Apply, t: tuple[Expr, ...]) -> Expr:
    a, b = e.args
    return build.add(build.mul(t[0], b), build.mul(a, t[1]))


def _quotient(e: Apply, t: tuple[Expr, ...]) -> Expr:
    a, b = e.args
    # d(a/b) = da/b - a db/b^2.
    return build.sub(build.div(t[0], b), build.div(build.mul(a, t[1]), build.power(b, 2)))


def _power(e: Apply, t: tuple[Expr, ...]) -> Expr:
    base, exponent = e.args
    value = constant_value(exponent)
    assert value is not None, "shapes.infer admits constant exponents only"
    return build.mul(build.mul(build.num(value), build.power(base, value - 1)), t[0])


def _linear(op: Op) -> Rule:
    """A reduction linear in its one argument: its tangent is itself of the tangent."""
    return lambda e, t: ZERO if _zero(t[0]) else _reduce(op, e, t[0])


def _bilinear(op: Op) -> Rule:
    """A reduction linear in each of two arguments (dot, hess): the product rule."""

    def rule(e: Apply, t: tuple[Expr, ...]) -> Expr:
        a, b = e.args
        left = ZERO if _zero(t[0]) else _reduce(op, e, t[0], b)
        right = ZERO if _zero(t[1]) else _reduce(op, e, a, t[1])
        return build.add(left, right)

    return rule


# Operator -> the tangent of its result from (the application, its arguments' tangents);
# an exponent's tangent is always 0. H_y is constant, so hess is bilinear as dot is.
JVP: dict[Op, Rule] = {
    Op.ADD: lambda e, t: build.add(t[0], t[1]),
    Op.SUB: lambda e, t: build.sub(t[0], t[1]),
    Op.MUL: _product,
    Op.DIV: _quotient,
    Op.POW: _power,
    Op.NEG: lambda e, t: build.neg(t[0]),
    Op.SQRT: lambda e, t: build.div(t[0], build.mul(TWO, e)),
    Op.EXP: lambda e, t: build.mul(e, t[0]),
    Op.LOG: lambda e, t: build.div(t[0], e.args[0]),
    Op.SUM: _linear(Op.SUM),
    Op.MEAN: _linear(Op.MEAN),
    Op.DOT: _bilinear(Op.DOT),
    Op.ONES: lambda e, t: ZERO,
    Op.HESS: _bilinear(Op.HESS),
}


class NoTangent(ValueError):
    """A name whose tangent this table cannot give: a gradient other than the given one."""


class Tangents:
    """Tangents along one direction: `wrt` moves by `direction`, every other leaf and
    every node in `freeze` is held; a node's tangent is that of its formula, made once."""

    def __init__(
        self, model: Model, wrt: str, direction: Expr, freeze: tuple[str, ...] = ()
    ) -> None:
        self.model, self.wrt, self.direction, self.freeze = model, wrt, direction, freeze
        self._nodes = dict(model.nodes)
        self._made: dict[str, Expr] = {}

    def of(self, expr: Expr) -> Expr:
        """The directional derivative of a model expression."""
        match expr:
            case Num():
                return ZERO
            case Sym(name=name):
                return self._name(name)
            case Apply(op=op, args=args):
                tangents = tuple(
                    ZERO if at == signature(op).exponent else self.of(arg)
                    for at, arg in enumerate(args)
                )
                if all(_zero(t) for t in tangents):
                    return ZERO
                return row(JVP, op, "forward.JVP")(expr, tangents)
        raise ValueError(f"no tangent of {expr!r}")

    def _name(self, name: str) -> Expr:
        if name == self.wrt:
            return self.direction
        if name in self.freeze:
            return ZERO
        if name != self.model.upstream and gradient_of(name) is not None:
            # g_z moves with g_y, and g_y with y through H_y: no formula here holds that.
            raise NoTangent(f"no tangent of the gradient {name}: it moves with H_y too")
        if name not in self._nodes:
            return ZERO  # a leaf, a size, g_y or a direction: held
        if name not in self._made:
            self._made[name] = self.of(self._nodes[name])
        return self._made[name]


def tangent(
    model: Model, expr: Expr, wrt: str, direction: Expr, freeze: tuple[str, ...] = ()
) -> Expr:
    """The derivative of a model expression as `wrt` moves along `direction` (an Expr of
    wrt's shape); nodes in `freeze` are held constant, as truth_of(model, freeze) holds them.

    A node's name stands for its formula; with wrt a node, that node moves as a leaf of
    its own (its inputs held), as a node's gradient means.
    """
    return Tangents(model, wrt, direction, tuple(freeze)).of(expr)


def second_order(model: Model, wrt: str, u: Expr, w: Expr, freeze: tuple[str, ...] = ()) -> Expr:
    """Q(u, w) = hess(D_u y, D_w y) + sum(g_y * D_w D_u y): the second derivative of L
    along u and w, L known to second order (gradient g_y, Hessian H_y) at the output y.

    u and w are fixed directions: even one written with wrt's name (u = z) is held while
    D_w differentiates D_u y, which a placeholder for u makes sure of.
    """
    output, held = Sym(model.output), Sym(PLACEHOLDER)
    along_u = tangent(model, output, wrt, u, freeze)
    along_w = along_u if w == u else tangent(model, output, wrt, w, freeze)
    second = _put(tangent(model, tangent(model, output, wrt, held, freeze), wrt, w, freeze), u)
    curvature = ZERO if _zero(along_u) or _zero(along_w) else _hess(along_u, along_w)
    return build.add(curvature, _sum(model, build.mul(Sym(model.upstream), second)))


PLACEHOLDER = "direction#"  # no name of a model has a #


def _put(expr: Expr, direction: Expr) -> Expr:
    """The expression with the placeholder replaced by the direction."""
    match expr:
        case Sym(name=name) if name == PLACEHOLDER:
            return direction
        case Apply(op=op, args=args, axes=axes):
            return Apply(op, tuple(_put(arg, direction) for arg in args), expr.span, axes)
    return expr


def _hess(a: Expr, b: Expr) -> Expr:
    return Apply(Op.HESS, (a, b))


def _sum(model: Model, expr: Expr) -> Expr:
    """sum(expr) over the output's axes: every axis, as L = sum(g_y * y) sums."""
    if _zero(expr):
        return ZERO
    axes = model.in_order(model.shape_of[model.output])
    if not axes:
        return expr
    return build.total(expr, () if len(model.order) == 1 else axes)


@dataclass(frozen=True)
class Directions:
    """A model with inputs added for directions of `wrt`, and their names."""

    model: Model
    wrt: str
    names: tuple[str, ...]


DIRECTION_NAMES = ("u", "w", "v", "t")  # the first `count` name the directions


def with_directions(model: Model, wrt: str, count: int = 2) -> Directions:
    """The model with `count` (at most 4) new inputs of wrt's shape, u, w, v, t (u1 if u
    is taken), so points, general and exact, draw them as they draw every input."""
    taken = set(model.shape_of) | set(model.size_names) | set(dict(model.constants))
    names: list[str] = []
    for base in DIRECTION_NAMES[:count]:
        name, k = base, 1
        while name in taken:
            name, k = f"{base}{k}", k + 1
        taken.add(name)
        names.append(name)
    shape = model.shape_of[wrt]
    extended = replace(model, inputs=(*model.inputs, *((n, shape) for n in names)))
    return Directions(extended, wrt, tuple(names))
