"""A model's formulas for every size of every axis: one element, sums as atoms, sizes as symbols.

An input over some axes stands for its value at one element (x means x_{b,d}). A sum
over an axis is linear, so the sum of an element expression is expanded into sums over
that axis of monomials in the quantities that vary along it, sum_d(x^a g_y^b), each an
atom: a generator of the field, like the sizes and the scalars, that varies over the
axes its monomial varies over but the one summed (sum_d(x) varies over b). Where the
expression divides by something that varies along the axis (LayerNorm's per-sample
sqrt(var + eps) inside a sum over the samples), the atom is the sum of one monomial
over that divisor: sum_b(x g_y s / P). Either way each atom keeps the argument it sums,
for the chain rule. With a square rule whose expression is one number (Batch Norm's
var + eps), the constant it fixes is eliminated (eps = r^2 - var, r > 0), so
sqrt(var + eps) is the generator r; every other square root is an atom of the field.

Every formula then is one value of the field, valid for every size of every axis: equal
values are equal functions wherever both are defined (docs/proofs.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bnverify.engine.arithmetic import Undefined
from bnverify.engine.backprop import Gradients
from bnverify.engine.evaluate import fold
from bnverify.engine.field import Field, Poly, Value
from bnverify.engine.sampling import fixes_square
from bnverify.language.names import gradient_name
from bnverify.language.operators import Op
from bnverify.language.tree import Expr
from bnverify.model.graph import Model

ROOT = "root#"  # the generator r = sqrt(square expression), named apart from any input
SUM_PREFIX = "sum#"


class Unsupported(ArithmeticError):
    """A formula this general form cannot reason about for every size (said in words)."""


@dataclass(frozen=True)
class Sum:
    """An atom: the sum over `axes` of `argument`, a monomial when `monomial` is set."""

    axes: frozenset[str]
    argument: Value
    monomial: tuple[tuple[str, int], ...] | None  # (generator, power) pairs, or None


@dataclass(frozen=True)
class Function:
    """An atom: exp or log of `argument`, varying as the argument does."""

    name: str  # "exp" or "log"
    argument: Value


@dataclass(frozen=True)
class Pair:
    """An atom: hess(m, m') of two monomials in generators that vary along the output's axes.

    H_y is a free symmetric matrix, independent of every input, so these atoms are
    independent of every other generator and of each other (docs/proofs.md); the pair is
    kept in one order, since hess(m, m') = hess(m', m).
    """

    left: tuple[tuple[str, int], ...]
    right: tuple[tuple[str, int], ...]


@dataclass
class Atoms:
    """The sums over an axis, exp and log, and hess pairs met so far, by atom name, in order."""

    sums: dict[str, Sum] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    pairs: dict[str, Pair] = field(default_factory=dict)
    _keys: dict[object, str] = field(default_factory=dict)

    def named(self, key: object, make: Callable[[str], None]) -> str:
        """The atom for a key, made (and recorded by `make`) the first time."""
        if key not in self._keys:
            self._keys[key] = f"{SUM_PREFIX}{len(self._keys)}"
            make(self._keys[key])
        return self._keys[key]

    def sum_of(self, axes: frozenset[str], monomial: tuple[tuple[str, int], ...]) -> str | None:
        """The atom that is the sum over `axes` of a monomial, when one was met."""
        return self._keys.get((axes, monomial))

    @property
    def monomials(self) -> dict[str, tuple[tuple[str, int], ...]]:
        """The atoms that are sums of a monomial, and their monomials."""
        return {a: s.monomial for a, s in self.sums.items() if s.monomial is not None}

    @property
    def opaque(self) -> dict[str, Value]:
        """The atoms that are sums of a quotient by something varying, and what they sum."""
        return {a: s.argument for a, s in self.sums.items() if s.monomial is None}

    def over(self, axis: str) -> list[str]:
        """The atoms that sum over an axis."""
        return [atom for atom, s in self.sums.items() if axis in s.axes]

    @property
    def count(self) -> int:
        """How many sums are atoms."""
        return len(self._keys)


@dataclass(frozen=True)
class Obligation:
    """Where a formula needs something to be defined: a divisor nonzero, a root's argument >= 0."""

    kind: str  # "divisor", "root" or "logarithm" (whose argument must be positive)
    value: Value
    expr: Expr  # the operand as written, for messages


class General(Mapping[str, Value]):
    """The values of a model's names for every size, derived once each on demand."""

    def __init__(
        self,
        model: Model,
        definitions: Mapping[str, Expr],
        field_: Field,
        atoms: Atoms,
        leaves: dict[str, Value],
    ) -> None:
        self.model, self.definitions, self.field, self.atoms = model, definitions, field_, atoms
        self._values = dict(leaves)
        self.square_base: Value | None = None  # the square expression with its constant 0

    def __getitem__(self, name: str) -> Value:
        if name not in self._values:
            if name not in self.definitions:
                raise KeyError(name)
            self._values[name] = self.evaluate(self.definitions[name])
        return self._values[name]

    def __iter__(self):
        return iter(set(self._values) | set(self.definitions))

    def __len__(self) -> int:
        return len(set(self._values) | set(self.definitions))

    def size_of(self, axis: str) -> Value:
        """The size of an axis (N; D)."""
        return self._values[self.model.sizes[axis]]

    @property
    def size(self) -> Value:
        """The number of elements of every axis together: N in a one-axis model."""
        return self.count(())

    def count(self, axes: tuple[str, ...]) -> Value:
        """The number of elements over some axes; every axis when none are named."""
        out = self.field.constant(1)
        for axis in axes or self.model.order:
            out = out * self.size_of(axis)
        return out

    def evaluate(self, expr: Expr, notes: list[Obligation] | None = None) -> Value:
        """The value of a resolved tree; `notes` collects its own divisors and roots."""
        try:
            return _eval(expr, self, notes)
        except ZeroDivisionError as err:
            raise Undefined("division by zero for every input") from err

    def total(self, value: Value, axes: tuple[str, ...] = ()) -> Value:
        """The sum over some axes (every axis when none are named) of an element value.

        Sums over several axes are taken in one order whatever order they are written
        in, so that the same double sum meets the same atoms: first the axes the
        divisor does not vary along (their sums are of monomials), in the model's order.
        """
        left = [axis for axis in self.model.order if axis in (axes or self.model.order)]
        while left:
            den = self.field.axes_of(self.field.lift(value.den))
            axis = next((a for a in left if a not in den), left[0])
            left.remove(axis)
            value = self._total(value, axis)
        return value

    def _total(self, value: Value, axis: str) -> Value:
        if axis not in value.axes():
            return value * self.size_of(axis)
        field_ = self.field
        num, den = field_.lift(value.num), field_.lift(value.den)
        steady, varying = _split_divisor(field_, den, axis)
        out = field_.constant(0)
        for part, divisor in _partial_fractions(num, varying):
            out = out + self._sum_of(part, divisor, axis)
        return out / Value(field_, steady)

    def _sum_of(self, num: Poly, divisor: Poly, axis: str) -> Value:
        """The sum over axis of num/divisor, divisor monic: one atom per monomial of num
        in the quantities varying along the axis, its other factors pulled out."""
        field_ = self.field
        names = field_.ctx.names()
        along = [i for i, n in enumerate(names) if axis in field_.varying.get(n, ())]
        groups: dict[tuple[int, ...], dict] = defaultdict(dict)
        for exponents, coeff in field_.lift(num).to_dict().items():
            key = tuple(int(exponents[i]) for i in along)
            rest = tuple(0 if i in along else e for i, e in enumerate(exponents))
            groups[key][rest] = coeff
        # Every coefficient is built before any atom adds a generator to the context.
        parts = [
            (
                Value(field_, field_.ctx.from_dict(terms)),
                tuple((names[i], int(e)) for i, e in zip(along, key, strict=True) if e),
            )
            for key, terms in sorted(groups.items())
        ]
        out = field_.constant(0)
        for coefficient, monomial in parts:
            out = out + coefficient * self._atom(axis, monomial, divisor)
        return out

    def _atom(self, axis: str, monomial: tuple[tuple[str, int], ...], divisor: Poly) -> Value:
        field_ = self.field
        plain = divisor.is_constant()
        axes = frozenset({axis})
        if plain:
            axes, monomial = self._flattened(axes, monomial)
        term = field_.constant(1)
        for name, power in monomial:
            term = term * field_.gen(name) ** power
        argument = term / Value(field_, divisor)
        if not argument.axes() & axes:
            return argument * self.count(tuple(a for a in self.model.order if a in axes))
        key = (axes, monomial) if plain else (axis, str(argument.num), str(argument.den))

        def make(atom: str) -> None:
            self.atoms.sums[atom] = Sum(axes, argument, monomial if plain else None)
            field_.gen(atom, axes=argument.axes() - axes)

        return field_.gen(self.atoms.named(key, make))

    def function(self, name: str, value: Value) -> Value:
        """exp(u) or log(u): an atom that varies as u does (exp of anything is positive).

        exp and log of an element are independent of the element's other atoms (exp is
        transcendental), which is what treating them as generators assumes; their few
        exact values (exp(0) = 1, log(1) = 0) and log(exp(u)) = u are used.
        """
        field_ = self.field
        if name == "exp" and value.is_zero():
            return field_.constant(1)
        if name == "log" and value == 1:
            return field_.constant(0)
        used = field_.uses(field_.lift(value.num))
        if name == "log" and len(used) == 1 and value.den.is_constant():
            (gen,) = used
            inner = self.atoms.functions.get(gen)
            if inner is not None and inner.name == "exp" and value == field_.gen(gen):
                return inner.argument
        key = (name, str(value.num), str(value.den))
        if key not in self.atoms._keys:
            atom = f"{name}#{len(self.atoms.functions)}"
            self.atoms._keys[key] = atom
            self.atoms.functions[atom] = Function(name, value)
            field_.gen(atom, positive=name == "exp", axes=value.axes())
        return field_.gen(self.atoms._keys[key])

    def hess(self, a: Value, b: Value) -> Value:
        """a^T H_y b of two element values: the sum over pairs of their monomials in the
        generators varying along the output's axes of c c' times the pair's atom."""
        axes = self.model.shape_of[self.model.output]
        left, right = self._monomials(a, axes), self._monomials(b, axes)
        out = self.field.constant(0)
        for c, m in left:
            for c2, m2 in right:
                out = out + c * c2 * self._pair(m, m2)
        return out

    def _monomials(
        self, value: Value, axes: frozenset[str]
    ) -> list[tuple[Value, tuple[tuple[str, int], ...]]]:
        """value as sum of c_m * m: m a monomial in the generators varying along `axes`,
        c_m varying along none of them (as _sum_of splits a numerator)."""
        field_ = self.field
        den = field_.lift(value.den)
        if field_.axes_of(den) & axes:
            raise Unsupported(
                "hess(a, b) of a quotient by something that varies along the output's axes "
                "has no form for every size here"
            )
        names = field_.ctx.names()
        along = [i for i, n in enumerate(names) if field_.varying.get(n, frozenset()) & axes]
        groups: dict[tuple[int, ...], dict] = defaultdict(dict)
        for exponents, coeff in field_.lift(value.num).to_dict().items():
            key = tuple(int(exponents[i]) for i in along)
            rest = tuple(0 if i in along else e for i, e in enumerate(exponents))
            groups[key][rest] = coeff
        # Every coefficient is built before any atom adds a generator to the context.
        return [
            (
                Value(field_, field_.ctx.from_dict(terms), den),
                tuple((names[i], int(e)) for i, e in zip(along, key, strict=True) if e),
            )
            for key, terms in sorted(groups.items())
        ]

    def _pair(self, left: tuple[tuple[str, int], ...], right: tuple[tuple[str, int], ...]) -> Value:
        first, second = sorted((left, right))
        key = ("hess", first, second)
        if key not in self.atoms._keys:
            atom = f"hess#{len(self.atoms.pairs)}"
            self.atoms._keys[key] = atom
            self.atoms.pairs[atom] = Pair(first, second)
            self.field.gen(atom)
        return self.field.gen(self.atoms._keys[key])

    def _flattened(
        self, axes: frozenset[str], monomial: tuple[tuple[str, int], ...]
    ) -> tuple[frozenset[str], tuple[tuple[str, int], ...]]:
        """A sum of a sum as one sum over both axes: sum_s(sum_n(g_y)) is sum_{n,s}(g_y).

        So the same double sum is one atom whichever axis was summed first. It applies
        when the inner sum is of a monomial, appears once (power 1), and nothing else in
        the monomial varies along the inner sum's axes.
        """
        inner = [
            (name, self.atoms.sums[name])
            for name, power in monomial
            if power == 1 and name in self.atoms.sums and self.atoms.sums[name].monomial is not None
        ]
        for name, found in inner:
            rest = [(n, p) for n, p in monomial if n != name]
            if any(found.axes & self.field.varying.get(n, frozenset()) for n, _ in rest):
                continue
            assert found.monomial is not None
            merged: dict[str, int] = dict(rest)
            for n, p in found.monomial:
                merged[n] = merged.get(n, 0) + p
            names = self.field.ctx.names()
            ordered = tuple(sorted(merged.items(), key=lambda item: names.index(item[0])))
            return axes | found.axes, ordered
        return axes, monomial


def _split_divisor(field_: Field, den: Poly, axis: str) -> tuple[Poly, Poly]:
    """den as (the part that does not vary along axis, the part that does), both monic."""
    if axis not in field_.axes_of(den):
        return den, field_.ctx.constant(1)
    content, factors = den.factor()
    steady, varying = field_.ctx.constant(content), field_.ctx.constant(1)
    for factor, power in factors:
        if axis in field_.axes_of(factor):
            varying *= factor**power
        else:
            steady *= factor**power
    lead = varying.leading_coefficient()
    return steady * lead, varying / lead


def _partial_fractions(num: Poly, den: Poly) -> list[tuple[Poly, Poly]]:
    """num/den as a sum of parts r/P^j that every way of writing the value shares.

    A sum over an axis is linear, so sum(A/P + B) and sum((A + B*P)/P) must become the
    same atoms. When den is a power P^k of one polynomial, num is written in base P,
    num = r_0 + r_1 P + ..., each digit the unique remainder of division by P (one
    divisor is its own Groebner basis), and num/P^k = sum_j r_j / P^(k-j). Per-sample
    statistics give such divisors (var + eps, its powers). Any other divisor is kept whole.
    """
    if den.is_constant():
        return [(num, den)]
    _, factors = den.factor()
    if len(factors) != 1:
        return [(num, den)]
    base, power = factors[0]
    lead = base.leading_coefficient()
    base = base / lead
    scale = den.leading_coefficient()  # den = scale * base^power (both monic otherwise)
    digits = []
    rest = num / scale
    while not rest.is_zero():
        rest, digit = divmod(rest, base)
        digits.append(digit)
    parts: list[tuple[Poly, Poly]] = []
    one = base.context().constant(1)
    for j, digit in enumerate(digits):
        if digit.is_zero():
            continue
        if j >= power:
            parts.append((digit * base ** (j - power), one))
        else:
            parts.append((digit, base ** (power - j)))
    return parts


def _power(point: General, base: Value, exponent: Fraction) -> Value:
    if exponent.denominator == 2:
        base = point.field.sqrt(base)
    return base**exponent.numerator


# Operator -> its value for every size from (point, *argument values); an exponent comes
# as the exact Fraction it stands for, and a reduction gets the axes it removes last.
GENERAL: dict[Op, Callable[..., Value]] = {
    Op.ADD: lambda p, a, b: a + b,
    Op.SUB: lambda p, a, b: a - b,
    Op.MUL: lambda p, a, b: a * b,
    Op.DIV: lambda p, a, b: a / b,
    Op.POW: _power,
    Op.NEG: lambda p, a: -a,
    Op.SQRT: lambda p, a: p.field.sqrt(a),
    Op.EXP: lambda p, a: p.function("exp", a),
    Op.LOG: lambda p, a: p.function("log", a),
    Op.SUM: lambda p, a, axes: p.total(a, axes),
    Op.MEAN: lambda p, a, axes: p.total(a, axes) / p.count(axes),
    Op.DOT: lambda p, a, b, axes: p.total(a * b, axes),
    Op.ONES: lambda p: p.field.constant(1),
    Op.HESS: lambda p, a, b, axes: p.hess(a, b),
}


def _eval(expr: Expr, point: General, notes: list[Obligation] | None) -> Value:
    def noted(op: Op, args: tuple[Expr, ...], values: list[Any]) -> None:
        assert notes is not None
        _note(op, args, values, notes)

    table = (GENERAL, "general.GENERAL")
    return fold(
        expr, point, point, table, point.field.constant, noted if notes is not None else None
    )


def _note(op: Op, args: tuple[Expr, ...], values: list[Any], notes: list[Obligation]) -> None:
    if op == Op.DIV:
        notes.append(Obligation("divisor", values[1], args[1]))
    if op == Op.POW and values[1] < 0:
        notes.append(Obligation("divisor", values[0], args[0]))
    if op == Op.SQRT or (op == Op.POW and values[1].denominator == 2):
        notes.append(Obligation("root", values[0], args[0]))
    if op == Op.LOG:
        notes.append(Obligation("logarithm", values[0], args[0]))


def general_point(model: Model, gradients: Gradients, free: str | None = None) -> General:
    """The model for every size; with `free`, that node is a generator of its own."""
    field_ = Field()
    leaves = {size: field_.gen(size, positive=True) for size in model.sizes.values()}
    shape_of = model.shape_of
    names = (*(n for n, _ in model.inputs), model.upstream, *([free] if free else []))
    for name in names:
        leaves[name] = field_.gen(name, positive=name in model.positive, axes=shape_of[name])
    square = model.square.solve if fixes_square(model) else None
    for name, _ in model.constants:
        if name != square:
            leaves[name] = field_.gen(name, positive=True)
    definitions = {**dict(model.nodes), **gradients.formulas}
    definitions.pop(free, None)
    atoms = Atoms()
    point = General(model, definitions, field_, atoms, leaves)
    if square is None:
        return point
    assert model.square is not None
    zero = General(model, definitions, field_, atoms, leaves | {square: field_.constant(0)})
    base = zero.evaluate(model.square.expr)
    root = field_.gen(ROOT, positive=True)
    point = General(model, definitions, field_, atoms, leaves | {square: root * root - base})
    point.square_base = base
    return point


def total_derivative(point: General, value: Value, name: str) -> Value:
    """d value / d name at one element of name, through every sum and root that uses it.

    `value` varies over no axis (a loss). This is reverse accumulation over the atoms,
    newest first, so each atom's adjoint is complete before it passes it on: a sum
    sum_a(F) passes its adjoint times dF/dg to each generator g of F; a root sqrt(P)
    (and r = sqrt(base + eps), eps held constant) passes dP/dg / (2 sqrt(P)). What flows
    to g over axes g does not vary over is summed over them: gamma of LayerNorm, one
    number per feature, collects its flow from every sample.
    """
    field_ = point.field
    adjoint: dict[str, Value] = {}
    for gen in field_.uses(field_.lift(value.num)) | field_.uses(field_.lift(value.den)):
        adjoint[gen] = field_.partial(value, gen)
    for atom in reversed(field_.ctx.names()):
        outer = adjoint.get(atom)
        if outer is None or outer.is_zero():
            continue
        inner, scale = _inside(point, atom)
        if inner is None:
            continue
        flow = outer * scale
        for gen in field_.uses(field_.lift(inner.num)) | field_.uses(field_.lift(inner.den)):
            change = flow * field_.partial(inner, gen)
            if change.is_zero():
                continue
            extra = tuple(a for a in point.model.order if a in change.axes() - _axes(field_, gen))
            change = point.total(change, extra) if extra else change
            adjoint[gen] = adjoint[gen] + change if gen in adjoint else change
    if name not in adjoint:
        return field_.constant(0)
    return adjoint[name]


def _axes(field_: Field, gen: str) -> frozenset[str]:
    return field_.varying.get(gen, frozenset())


def _inside(point: General, atom: str) -> tuple[Value | None, Value]:
    """What an atom is made of, and the factor of its adjoint each part receives."""
    field_ = point.field
    if atom in point.atoms.pairs:
        raise Unsupported("no derivative through hess(a, b): its VJP needs H_y times a vector")
    if atom in point.atoms.sums:
        return point.atoms.sums[atom].argument, field_.constant(1)
    if atom in point.atoms.functions:
        found = point.atoms.functions[atom]
        # d exp(u) = exp(u) du; d log(u) = du / u.
        scale = field_.gen(atom) if found.name == "exp" else 1 / found.argument
        return found.argument, scale
    if atom in field_.roots:
        return Value(field_, field_.roots[atom]), 1 / (2 * field_.gen(atom))
    if atom == ROOT and point.square_base is not None:
        return point.square_base, 1 / (2 * field_.gen(atom))
    return None, field_.constant(1)


def loss(point: General) -> Value:
    """L = sum(g_out * out) over the output's axes (none for a scalar output), every size."""
    model = point.model
    axes = model.in_order(model.shape_of[model.output])
    value = point[model.upstream] * point[model.output]
    return point.total(value, axes) if axes else value


def engine_gradient(point: General, name: str) -> Value:
    """The engine's g_<name> at one element, for every size."""
    return point[gradient_name(name)]
