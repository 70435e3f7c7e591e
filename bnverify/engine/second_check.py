"""The second-order truth checked against SymPy, element by element, at small sizes.

engine/forward.py derives Q(u, w) at the vector level by its own JVP rules; this module
takes nothing from them. It builds the model's output y with one SymPy symbol per element
of every input, differentiates it twice with SymPy along u and w (sum_ij u_i w_j
d2L/dx_i dx_j, L(x) = sum(g_y * y(x)) + 1/2 (y(x) - y0)^T H (y(x) - y0) at y = y0, H a
symmetric matrix of symbols h_i_j), and proves the difference from Q zero in the exact
field of engine/field.py, where each square root sqrt(P) is an atom s with s^2 = P.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

import numpy as np
import sympy as sp

from bnverify.engine.arithmetic import Arithmetic
from bnverify.engine.evaluate import Hessian, Point, evaluate, flat_over
from bnverify.engine.field import Field, Value
from bnverify.engine.forward import Directions, second_order, with_directions
from bnverify.engine.sampling import Sizes, leaf_shapes, point, sizes_of
from bnverify.language.names import hessian_name
from bnverify.language.tree import Expr, Sym
from bnverify.model.graph import Model


class SympyArithmetic(Arithmetic):
    """SymPy's own numbers and symbols, as a number system of the evaluator."""

    def scalar(self, value: Fraction) -> sp.Expr:
        return sp.Rational(value.numerator, value.denominator)

    def root(self, x: sp.Expr) -> sp.Expr:
        return sp.sqrt(x)

    def exponential(self, x: sp.Expr) -> sp.Expr:
        return sp.exp(x)

    def logarithm(self, x: sp.Expr) -> sp.Expr:
        return sp.log(x)


SYMPY = SympyArithmetic("sympy", object)


@dataclass(frozen=True)
class SecondCheck:
    """What the element-level check found: the sizes tried and the first that differed."""

    model: str
    wrt: str
    freeze: tuple[str, ...]
    sizes: tuple[dict[str, int], ...]
    differs_at: dict[str, int] | None  # None when Q matched SymPy at every size tried

    @property
    def proved(self) -> bool:
        """Whether Q equals SymPy's second derivative at every size tried."""
        return self.differs_at is None


def small_sizes(model: Model, most: int = 4) -> list[dict[str, int]]:
    """Every choice of sizes, 1 to `most` per axis, with at most `most` elements in all."""
    choices = product(range(1, most + 1), repeat=len(model.order))
    return [dict(zip(model.order, c, strict=True)) for c in choices if int(np.prod(c)) <= most]


def check_second_order(
    model: Model, wrt: str, freeze: tuple[str, ...] = (), most: int = 4
) -> SecondCheck:
    """Q(u, w) of forward.second_order against SymPy's, at every size small_sizes gives."""
    tried: list[dict[str, int]] = []
    for sizes in small_sizes(model, most):
        tried.append(sizes)
        if not agrees_at(model, wrt, freeze, sizes):
            return SecondCheck(model.name, wrt, tuple(freeze), tuple(tried), sizes)
    return SecondCheck(model.name, wrt, tuple(freeze), tuple(tried), None)


def agrees_at(model: Model, wrt: str, freeze: tuple[str, ...], sizes: Sizes) -> bool:
    """Whether the vector-level Q(u, w) is SymPy's element-level one at these sizes."""
    at, directions = symbolic_point(model, wrt, freeze, sizes)
    extended, (u, w) = directions.model, directions.names
    vector = evaluate(second_order(extended, wrt, Sym(u), Sym(w), freeze), at)
    matrix = at.leaves[hessian_name(extended.output)].matrix
    element = _element_q(extended, at, wrt, (u, w), matrix)
    return is_zero(sp.Add(_value(vector), -element))


def stated_agrees_at(
    model: Model, wrt: str, freeze: tuple[str, ...], sizes: Sizes, stated: Expr
) -> bool:
    """Whether a stated form of Q(u, u), in the names of with_directions(model, wrt),
    is the engine's Q(u, u) at these sizes (a proof there, every symbol free)."""
    at, directions = symbolic_point(model, wrt, freeze, sizes)
    u = Sym(directions.names[0])
    q = evaluate(second_order(directions.model, wrt, u, u, freeze), at)
    return is_zero(sp.Add(_value(q), -_value(evaluate(stated, at))))


def symbolic_point(
    model: Model, wrt: str, freeze: tuple[str, ...], sizes: Sizes
) -> tuple[Point, Directions]:
    """The model with directions u and w at these sizes, one real symbol per element of
    every leaf and held node (wrt too, when it is a node), and H_y a symmetric matrix of
    symbols h_i_j."""
    directions = with_directions(model, wrt)
    extended = directions.model
    at = _symbolic_point(extended, sizes, (*freeze, *([wrt] if wrt in dict(model.nodes) else [])))
    out_axes = extended.in_order(extended.shape_of[extended.output])
    m = int(np.prod([at.sizes[a] for a in out_axes]))
    matrix = np.empty((m, m), dtype=object)
    for i, j in product(range(m), repeat=2):
        matrix[i, j] = sp.Symbol(f"h_{min(i, j) + 1}_{max(i, j) + 1}", real=True)
    hessian = Hessian(out_axes, matrix)
    return at.with_leaves(**{hessian_name(extended.output): hessian}), directions


def _value(array: Any) -> sp.Expr:
    """The one number of a value that varies over no axis (a SymPy expression)."""
    return np.asarray(array).reshape(-1)[0]


def _element_q(
    model: Model, at: Point, wrt: str, directions: tuple[str, str], matrix: np.ndarray
) -> sp.Expr:
    """sum_ij u_i w_j d2L/dx_i dx_j by SymPy's diff, L quadratic in y about y0."""
    out_axes = model.in_order(model.shape_of[model.output])
    wrt_axes = model.in_order(model.shape_of[wrt])
    ys = list(flat_over(at, at[model.output], out_axes)[:, 0])
    gs = list(flat_over(at, at[model.upstream], out_axes)[:, 0])
    xs, us, ws = (list(flat_over(at, at[n], wrt_axes)[:, 0]) for n in (wrt, *directions))
    along_u = [sum(ui * sp.diff(y, xi) for ui, xi in zip(us, xs, strict=True)) for y in ys]
    along_w = [sum(wi * sp.diff(y, xi) for wi, xi in zip(ws, xs, strict=True)) for y in ys]
    second = [sum(wi * sp.diff(d, xi) for wi, xi in zip(ws, xs, strict=True)) for d in along_u]
    curvature = sum(
        along_u[i] * matrix[i, j] * along_w[j] for i, j in product(range(len(ys)), repeat=2)
    )
    return curvature + sum(g * s for g, s in zip(gs, second, strict=True))


def _symbolic_point(model: Model, sizes: Sizes, held: tuple[str, ...]) -> Point:
    """One real symbol per element of every input, constant and held node (a held node
    is a leaf of its own: the identity then holds for every value of it)."""
    leaves: dict[str, Any] = {}
    shapes = leaf_shapes(model, sizes, 1)
    full = sizes_of(model, sizes)
    for name in held:
        axes = model.shape_of[name]
        shapes[name] = (*(n if a in axes else 1 for a, n in full.items()), 1)
    for name, shape in shapes.items():
        cells = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            at = [str(i + 1) for i, n in zip(index, shape, strict=True) if n > 1]
            label = "_".join([name, *at])
            cells[index] = sp.Symbol(label, real=True)
        leaves[name] = cells
    for name, _ in model.constants:
        leaves[name] = np.full((1, 1), sp.Symbol(name, positive=True), dtype=object)
    return point(model, SYMPY, sizes, 1, leaves, dict(model.nodes))


def is_zero(expr: sp.Expr) -> bool:
    """Whether a SymPy expression with square roots is zero for every value of its
    symbols: as a value of the exact field (engine/field.py), a proof."""
    return to_field(expr, Field(), {}).is_zero()


def to_field(expr: sp.Expr, field: Field, made: dict) -> Value:
    """A SymPy expression (symbols, rationals, +, *, integer and half-integer powers,
    exp, log) as a value of the exact field, where a square root is an atom s with
    s^2 = P and exp(a), log(a) generators: an identity there is one of real functions."""
    if expr in made:
        return made[expr]
    if expr.is_Symbol:
        value = field.gen(expr.name, positive=bool(expr.is_positive))
    elif expr.is_Rational:
        value = field.constant(Fraction(int(expr.p), int(expr.q)))
    elif expr.is_Add or expr.is_Mul:
        parts = [to_field(arg, field, made) for arg in expr.args]
        value = parts[0]
        for part in parts[1:]:
            value = value + part if expr.is_Add else value * part
    elif expr.is_Pow and expr.exp.is_Rational and expr.exp.q in (1, 2):
        base = to_field(expr.base, field, made)
        value = (field.sqrt(base) if expr.exp.q == 2 else base) ** int(expr.exp.p)
    elif isinstance(expr, sp.exp):
        value = _exponential(expr.args[0], field)
    elif isinstance(expr, sp.log):
        # A generator of its own: a zero found treating it as free is zero for its value.
        value = field.gen(f"log#{sp.srepr(expr.args[0])}")
    else:
        raise ValueError(f"no exact form of {expr}")
    made[expr] = value
    return value


def _exponential(argument: sp.Expr, field: Field) -> Value:
    """exp(a + k b) as exp(a) exp(b)^k (SymPy writes 1/exp(x) as exp(-x)), each exp of a
    term without an integer factor a generator of its own, positive."""
    value = field.constant(1)
    for term in sp.Add.make_args(argument):
        coeff, rest = term.as_coeff_Mul()
        if not coeff.is_Integer:
            coeff, rest = sp.Integer(1), term
        value = value * field.gen(f"exp#{sp.srepr(rest)}", positive=True) ** int(coeff)
    return value
