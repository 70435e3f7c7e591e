"""SymPy at a concrete batch size: one symbol per element, and proofs of equality.

At batch size N the model becomes a rational function of its inputs, one symbol per
element. With a square rule, eps is eliminated for r = sqrt(var + eps) (eps = r^2 - var):
the map from (z, eps) to (z, r) is one-to-one where eps > -var, so an identity in (z, r)
is an identity in (z, eps), and every square root the model takes becomes the symbol r.
Values live in SymPy's field of rational functions, where equality is exact.

Every formula of the vector language is permutation-equivariant (elementwise operators
and symmetric reductions only), so its first component determines the others: comparing
component 0 proves the whole vector equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np
from sympy import Symbol
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from bnverify.engine.arithmetic import Arithmetic, Inexact, Undefined
from bnverify.engine.backprop import Gradients
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.ratio import Ratio
from bnverify.engine.sampling import leaf_shapes, square_base
from bnverify.language.names import gradient_name
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Expr
from bnverify.model.graph import Model

ROOT = "r"  # the symbol standing for sqrt(square expression)


class RatioArithmetic(Arithmetic):
    """Exact arithmetic on rational functions of one SymPy polynomial ring."""

    def __init__(self, ring: Any, positive: frozenset[int]) -> None:
        super().__init__("sympy", object)
        object.__setattr__(self, "ring", ring)
        object.__setattr__(self, "positive", positive)

    def scalar(self, value: Fraction) -> Any:
        return Ratio(self.ring(QQ(value.numerator, value.denominator)))

    def root(self, x: Ratio) -> Any:
        # sqrt(c m^2) = sqrt(c) m only for monomials m in positive symbols (the root r);
        # any other square root is not a rational function of the symbols.
        if x.num.is_ground and x.den.is_ground and x.num.LC < 0:
            raise Undefined("square root of a negative number")
        root = x.monomial_root(self.positive)
        if root is None:
            raise Inexact("square root of a rational function that is not a square")
        return root


@dataclass(frozen=True)
class Instance:
    """A model at batch size N in a SymPy field, optionally with one node made free."""

    model: Model
    n: int
    free: str | None
    point: Point
    symbols: dict[str, Any]  # leaf name (or free node) -> array of generators

    def component(self, value: Any) -> Any:
        """Component 0 of a value (the value itself for a scalar)."""
        return np.asarray(value, dtype=object).reshape(-1)[0]


@cache
def instance(model: Model, gradients: Gradients, n: int, free: str | None = None) -> Instance:
    """The model at batch size n; with `free`, that node is a symbol of its own."""
    shapes = leaf_shapes(model, n, 1)
    square = model.square.solve if model.square else None
    for name, _ in model.constants:
        if name != square:
            shapes[name] = (1, 1)
    if free is not None and free not in shapes:
        shapes[free] = (n if model.shape_of[free] == BATCH else 1, 1)
    labels = [
        f"{name}_{i + 1}" if rows > 1 or model.shape_of.get(name) == BATCH else name
        for name, (rows, _) in shapes.items()
        for i in range(rows)
    ]
    if square:
        labels.append(ROOT)
    poly_ring, *generators = ring([Symbol(label) for label in labels], QQ)
    positive = frozenset({len(labels) - 1}) if square else frozenset()
    arith = RatioArithmetic(poly_ring, positive)
    symbols, at = {}, 0
    for name, (rows, _) in shapes.items():
        elements = [Ratio(g) for g in generators[at : at + rows]]
        symbols[name] = np.array(elements, dtype=object).reshape(rows, 1)
        at += rows
    definitions = {**dict(model.nodes), **gradients.formulas}
    point = Point(arith, n, 1, symbols, definitions)
    if square:
        root = np.full((1, 1), Ratio(generators[-1]), dtype=object)
        symbols[ROOT] = generators[-1]
        point = point.with_leaves(**{square: root * root - square_base(model, point)})
    return Instance(model, n, free, point, symbols)


def loss(inst: Instance) -> Any:
    """L = sum(g_out * out) as one rational function."""
    point = inst.point
    flat = np.asarray(point[inst.model.upstream] * point[inst.model.output]).reshape(-1)
    return sum(flat[1:], flat[0])


def direct_gradient(model: Model, gradients: Gradients, n: int, name: str) -> Any:
    """dL/d(name)[0] by SymPy's differentiation of the fully substituted L."""
    free = None if name in dict(model.inputs) else name
    inst = instance(model, gradients, n, free)
    variable = inst.component(inst.symbols[name]).num  # a generator of the ring
    total = loss(inst)
    derivative = total.diff(variable)
    if model.square:
        # eps is a constant: r^2 = base + eps moves with the variable, dr = dbase / (2r).
        root = inst.symbols[ROOT]
        base = inst.component(square_base(model, inst.point))
        derivative += total.diff(root) * base.diff(variable) / Ratio(2 * root)
    return derivative


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing two formulas symbolically at one batch size."""

    n: int
    outcome: str  # "equal", "different", "unavailable"
    reason: str = ""


def prove_gradient(model: Model, gradients: Gradients, n: int, name: str) -> Comparison:
    """Whether the engine's g_<name> equals direct differentiation at batch size n."""
    if model.square and name == model.square.solve:
        return Comparison(n, "unavailable", f"{name} is eliminated for the square root")
    free = None if name in dict(model.inputs) else name
    inst = instance(model, gradients, n, free)
    engine = inst.component(inst.point[gradient_name(name)])
    direct = direct_gradient(model, gradients, n, name)
    return Comparison(n, "equal" if engine == direct else "different")


def compare(model: Model, gradients: Gradients, n: int, candidate: Expr, wrt: str) -> Comparison:
    """Whether a candidate equals the engine's g_<wrt> at batch size n, for all inputs."""
    inst = instance(model, gradients, n)
    truth = inst.component(inst.point[gradient_name(wrt)])
    try:
        value = inst.component(evaluate(candidate, inst.point))
    except Inexact as err:
        return Comparison(n, "unavailable", str(err))
    except Undefined as err:
        return Comparison(n, "different", f"the candidate is undefined at N = {n}: {err}")
    return Comparison(n, "equal" if value == truth else "different")
