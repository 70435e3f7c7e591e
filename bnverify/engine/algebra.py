"""Formulas of the vector language as SymPy expressions valid for every batch size N.

A batch name stands for one element (z means z_i); a sum over the batch is an opaque
BatchSum of an element expression. A sum is made canonical by expanding its argument and
pulling out what does not depend on the element (sum(c*x) = c*sum(x), sum(c) = N*c), so
equal formulas written differently meet in the same form. The model's identities
(z = mu + zhat*sqrt(var + eps), sum(zhat) = 0, ...) let closed forms be stated in the
names a reader expects. This is used to state results, never to decide a verdict.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial

import sympy as sp

from bnverify.engine.backprop import Gradients
from bnverify.engine.signs import Sign, sign
from bnverify.language.names import gradient_name, gradient_of
from bnverify.language.operators import Op, row, signature
from bnverify.language.tree import Apply, Expr, Num, Sym


class BatchSum(sp.Function):
    """The sum of an element expression over the batch, or over the axis given second
    (a symbol named as the axis) in a model with several axes; kept unevaluated."""

    nargs = (1, 2, 3, 4, 5)


class Hess(sp.Function):
    """hess(a, b) = a^T H_y b of two element expressions, kept unevaluated.

    H_y is a free symmetric matrix, so hess is bilinear and symmetric; `Reducer.hess`
    expands it into Hess of the parts that vary, each pair in one order.
    """

    nargs = 2


def _pair(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """Hess(a, b) with its arguments in a canonical order (H_y is symmetric)."""
    first, second = sorted((a, b), key=sp.default_sort_key)
    return Hess(first, second)


@dataclass(frozen=True)
class Reducer:
    """What a reduction needs to be written for every size: the sum over axes, and counts.

    `split` cuts an element expression's term into (the factor that varies over no axis,
    the rest), so hess(a, b) can pull constants out; by default nothing is pulled out.
    """

    total: Callable[[sp.Expr, tuple[str, ...]], sp.Expr]
    count: Callable[[tuple[str, ...]], sp.Expr]
    split: Callable[[sp.Expr], tuple[sp.Expr, sp.Expr]] = lambda term: (sp.Integer(1), term)

    def hess(self, a: sp.Expr, b: sp.Expr) -> sp.Expr:
        """a^T H_y b, expanded by bilinearity: sum of c c' Hess(m, m')."""
        out = sp.Integer(0)
        for left in sp.Add.make_args(sp.expand(a)):
            c, m = self.split(left)
            for right in sp.Add.make_args(sp.expand(b)):
                c2, m2 = self.split(right)
                out += c * c2 * _pair(m, m2)
        return out


def _elementwise(fn: Callable[..., sp.Expr]) -> Callable[..., sp.Expr]:
    # An operator on one element at a time needs nothing of the batch.
    return lambda reducer, *elements: fn(*elements)


# Operator -> its SymPy form from (Reducer, *element expressions of the arguments). An
# exponent is a number, so it converts to the exact SymPy rational it stands for.
CLOSED_FORMS: dict[Op, Callable[..., sp.Expr]] = {
    Op.ADD: _elementwise(operator.add),
    Op.SUB: _elementwise(operator.sub),
    Op.MUL: _elementwise(operator.mul),
    Op.DIV: _elementwise(operator.truediv),
    Op.POW: _elementwise(operator.pow),
    Op.NEG: _elementwise(operator.neg),
    Op.SQRT: _elementwise(sp.sqrt),
    Op.EXP: _elementwise(sp.exp),
    Op.LOG: _elementwise(sp.log),
    Op.SUM: lambda reducer, a, axes: reducer.total(a, axes),
    Op.MEAN: lambda reducer, a, axes: reducer.total(a, axes) / reducer.count(axes),
    Op.DOT: lambda reducer, a, b, axes: reducer.total(a * b, axes),
    Op.ONES: _elementwise(lambda: sp.Integer(1)),
    Op.HESS: lambda reducer, a, b, axes: reducer.hess(a, b),
}


@dataclass(frozen=True)
class Algebra:
    """Conversion of a model's formulas to general-N SymPy expressions."""

    gradients: Gradients

    @cached_property
    def symbols(self) -> dict[str, sp.Symbol]:
        """One SymPy symbol per name of the model (an element symbol for batch names)."""
        model = self.gradients.model
        out: dict[str, sp.Symbol] = {
            size: sp.Symbol(size, positive=True, integer=True) for size in model.sizes.values()
        }
        for name, _ in model.constants:
            out[name] = sp.Symbol(name, positive=True)
        for name in model.primal_names():
            # A name positive by construction (rms = sqrt(mean(x^2) + eps)) is a positive
            # symbol, so SymPy writes sqrt(rms^2) as rms, not Abs(rms).
            positive = sign(Sym(name), model) == Sign.POSITIVE
            out.setdefault(
                name, sp.Symbol(name, positive=True) if positive else sp.Symbol(name, real=True)
            )
        for name in model.primal_names():  # gradients, kept as names by `stated`
            out.setdefault(gradient_name(name), sp.Symbol(gradient_name(name), real=True))
        return out

    @cached_property
    def axes_of(self) -> dict[sp.Symbol, frozenset[str]]:
        """The element symbols (names that vary over some axis) and their axes."""
        shape_of = self.gradients.model.shape_of
        return {s: shape_of[name] for name, s in self.symbols.items() if shape_of.get(name)}

    @cached_property
    def batch(self) -> frozenset[sp.Symbol]:
        """The element symbols: names with one value per element of some axis."""
        return frozenset(self.axes_of)

    @cached_property
    def _element_rewrites(self) -> dict[str, sp.Expr]:
        out = {}
        for identity in self.gradients.model.identities:
            if isinstance(identity.rewrite, Sym):
                out[identity.rewrite.name] = self._convert(identity.replacement, {}, {})
        return out

    @cached_property
    def _sum_rewrites(self) -> dict[sp.Expr, sp.Expr]:
        out = {}
        for identity in self.gradients.model.identities:
            if not isinstance(identity.rewrite, Sym):
                key = self._convert(identity.rewrite, self._element_rewrites, {})
                out[key] = self._convert(identity.replacement, self._element_rewrites, {})
        return out

    def convert(self, expr: Expr) -> sp.Expr:
        """A resolved tree as a canonical general-N expression (gradients inlined)."""
        return self._convert(expr, self._element_rewrites, self._sum_rewrites)

    def gradient(self, name: str) -> sp.Expr:
        """The engine's g_<name> in closed form, simplified."""
        return simplify(self.convert(Sym(gradient_name(name))))

    def stated(self, expr: Expr) -> sp.Expr:
        """A formula simplified for every N, the gradients it refers to kept as names."""
        model = self.gradients.model
        kept = {gradient_name(n): self.symbols[gradient_name(n)] for n in model.primal_names()}
        return simplify(self._convert(expr, self._element_rewrites | kept, self._sum_rewrites))

    def _convert(self, expr: Expr, element: dict, sums: dict) -> sp.Expr:
        match expr:
            case Num(value=value):
                return sp.Rational(value.numerator, value.denominator)
            case Sym(name=name):
                return self._name(name, element, sums)
            case Apply(op=op, args=args):
                values = [self._convert(arg, element, sums) for arg in args]
                reducer = Reducer(partial(self.batch_sum, sums=sums), self._count, self._split)
                if signature(op).reduces:
                    values.append(expr.axes)
                return row(CLOSED_FORMS, op, "algebra.CLOSED_FORMS")(reducer, *values)
        raise ValueError(f"cannot convert {expr!r}")

    def _name(self, name: str, element: dict, sums: dict) -> sp.Expr:
        model = self.gradients.model
        if name in element:
            return element[name]
        target = gradient_of(name)
        if target is not None and name != model.upstream:
            return self._convert(self.gradients.formula(target), element, sums)
        return self.symbols[name]

    def _count(self, axes: tuple[str, ...]) -> sp.Expr:
        model = self.gradients.model
        return sp.Mul(*(self.symbols[model.sizes[axis]] for axis in axes or model.order))

    def batch_sum(self, element_expr: sp.Expr, axes: tuple[str, ...], sums: dict) -> sp.Expr:
        """sum over axes, with constant factors pulled out and known sums replaced."""
        model = self.gradients.model
        summed = frozenset(axes or model.order)
        total = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(element_expr)):
            constant, varying = sp.Integer(1), sp.Integer(1)
            for factor in sp.Mul.make_args(term):
                if summed & self._axes(factor):
                    varying *= factor
                else:
                    constant *= factor
            # Axes the varying part does not vary along count their elements instead.
            along = [a for a in model.order if a in summed & self._axes(varying)]
            for axis in model.order:
                if axis in summed and axis not in along:
                    constant *= self.symbols[model.sizes[axis]]
            if not along:
                total += constant * varying
                continue
            if len(model.order) == 1:
                atom = BatchSum(varying)
            else:
                atom = BatchSum(varying, *(sp.Symbol(a) for a in along))
            total += constant * sums.get(atom, atom)
        return total

    def _split(self, term: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
        """A term as (its factors that vary over no axis, the others)."""
        constant, varying = sp.Integer(1), sp.Integer(1)
        for factor in sp.Mul.make_args(term):
            if self._axes(factor):
                varying *= factor
            else:
                constant *= factor
        return constant, varying

    def _axes(self, expr: sp.Expr) -> frozenset[str]:
        # The axes an expression varies over: its element symbols', but a sum's own axis.
        if isinstance(expr, Hess):  # one number: a sum over every axis
            return frozenset()
        if isinstance(expr, BatchSum):
            inner = self._axes(expr.args[0])
            return inner - {str(a) for a in expr.args[1:]} if len(expr.args) > 1 else frozenset()
        if expr in self.axes_of:
            return self.axes_of[expr]
        return frozenset().union(*(self._axes(arg) for arg in expr.args))


def simplify(expr: sp.Expr) -> sp.Expr:
    """A readable normal form: one fraction, common factors pulled out."""
    return sp.factor_terms(sp.together(sp.expand(expr)))
