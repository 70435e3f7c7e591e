"""A model's formulas for every batch size: one element, sums as atoms, N a symbol.

A batch name stands for its value at one element i (z means z_i). A sum over the batch
is linear, so the sum of an element expression is expanded into sums of monomials in
the batch names, sum(z^a g_y^b), each an atom: a generator of the field, like N and
the scalars. A sum whose argument divides by a batch quantity stays one opaque atom.
With a square rule the constant it fixes is eliminated (eps = r^2 - var, r > 0), so
sqrt(var + eps) is the generator r; every other square root is an atom of the field.

Every formula then is one value of the field, valid for every N: equal values are equal
functions at every batch size where both are defined (docs/proofs.md).
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
from bnverify.engine.field import Field, Value
from bnverify.language.names import BATCH_SIZE, gradient_name
from bnverify.language.operators import Op
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Expr
from bnverify.model.graph import Model

ROOT = "root#"  # the generator r = sqrt(square expression), named apart from any input
SUM_PREFIX = "sum#"


class Unsupported(ArithmeticError):
    """A formula this general form cannot reason about for every N (said in words)."""


@dataclass
class Atoms:
    """The sums over the batch met so far: monomial sums, and opaque ones."""

    monomials: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    opaque: dict[str, str] = field(default_factory=dict)  # atom -> its argument, printed
    _keys: dict[object, str] = field(default_factory=dict)

    def named(self, key: object, make: Callable[[str], None]) -> str:
        """The atom for a key, made (and recorded by `make`) the first time."""
        if key not in self._keys:
            self._keys[key] = f"{SUM_PREFIX}{len(self._keys)}"
            make(self._keys[key])
        return self._keys[key]

    @property
    def count(self) -> int:
        """How many sums are atoms: the independence bound counts them (docs/proofs.md)."""
        return len(self._keys)


@dataclass(frozen=True)
class Obligation:
    """Where a formula needs something to be defined: a divisor nonzero, a root's argument >= 0."""

    kind: str  # "divisor" or "root"
    value: Value
    expr: Expr  # the operand as written, for messages


class General(Mapping[str, Value]):
    """The values of a model's names for every N, derived once each on demand."""

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

    @property
    def size(self) -> Value:
        """N."""
        return self._values[BATCH_SIZE]

    def evaluate(self, expr: Expr, notes: list[Obligation] | None = None) -> Value:
        """The value of a resolved tree; `notes` collects its own divisors and roots."""
        try:
            return _eval(expr, self, notes)
        except ZeroDivisionError as err:
            raise Undefined("division by zero for every input") from err

    def total(self, value: Value) -> Value:
        """The sum over the batch of an element value, by linearity into atoms."""
        if not value.varies():
            return value * self.size
        field_ = self.field
        num, den = field_.lift(value.num), field_.lift(value.den)
        if field_.is_varying(den):
            return self._opaque(value)
        names = field_.ctx.names()
        varying = [i for i, n in enumerate(names) if n in field_.varying]
        groups: dict[tuple[int, ...], dict] = defaultdict(dict)
        for exponents, coeff in num.to_dict().items():
            key = tuple(int(exponents[i]) for i in varying)
            rest = tuple(0 if i in varying else e for i, e in enumerate(exponents))
            groups[key][rest] = coeff
        parts = [(key, Value(field_, field_.ctx.from_dict(t))) for key, t in groups.items()]
        out = field_.constant(0)
        for key, coefficient in sorted(parts, key=lambda part: part[0]):
            monomial = tuple((names[i], int(e)) for i, e in zip(varying, key, strict=True) if e)
            out = out + coefficient * (self._monomial_sum(monomial) if monomial else self.size)
        return out / Value(field_, den)

    def _monomial_sum(self, monomial: tuple[tuple[str, int], ...]) -> Value:
        def make(atom: str) -> None:
            self.atoms.monomials[atom] = monomial
            self.field.gen(atom)

        return self.field.gen(self.atoms.named(monomial, make))

    def _opaque(self, value: Value) -> Value:
        text = f"sum(({value.num})/({value.den}))"

        def make(atom: str) -> None:
            self.atoms.opaque[atom] = text
            self.field.gen(atom)

        return self.field.gen(self.atoms.named(("opaque", text), make))


def _power(point: General, base: Value, exponent: Fraction) -> Value:
    if exponent.denominator == 2:
        base = point.field.sqrt(base)
    return base**exponent.numerator


def _divide(point: General, a: Value, b: Value) -> Value:
    return a / b


def _not_yet(name: str) -> Callable[..., Value]:
    # A placeholder until the field holds exp and log: the caller searches instead.
    def refuse(point: General, *values: Value) -> Value:
        raise Unsupported(f"{name} in a proof for every size is not supported yet")

    return refuse


# Operator -> its value for every N from (point, *argument values); an exponent comes as
# the exact Fraction it stands for.
GENERAL: dict[Op, Callable[..., Value]] = {
    Op.ADD: lambda p, a, b: a + b,
    Op.SUB: lambda p, a, b: a - b,
    Op.MUL: lambda p, a, b: a * b,
    Op.DIV: _divide,
    Op.POW: _power,
    Op.NEG: lambda p, a: -a,
    Op.SQRT: lambda p, a: p.field.sqrt(a),
    Op.EXP: _not_yet("exp"),
    Op.LOG: _not_yet("log"),
    Op.SUM: lambda p, a: p.total(a),
    Op.MEAN: lambda p, a: p.total(a) / p.size,
    Op.DOT: lambda p, a, b: p.total(a * b),
    Op.ONES: lambda p: p.field.constant(1),
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


def general_point(model: Model, gradients: Gradients, free: str | None = None) -> General:
    """The model for every N; with `free`, that node is a generator of its own."""
    field_ = Field()
    leaves = {BATCH_SIZE: field_.gen(BATCH_SIZE, positive=True)}
    batch = {name for name, shape in model.inputs if shape == BATCH} | {model.upstream}
    if free is not None and model.shape_of[free] == BATCH:
        batch.add(free)
    for name in (*(n for n, _ in model.inputs), model.upstream, *([free] if free else [])):
        leaves[name] = field_.gen(name, varying=name in batch)
    square = model.square.solve if model.square else None
    for name, _ in model.constants:
        if name != square:
            leaves[name] = field_.gen(name, positive=True)
    definitions = {**dict(model.nodes), **gradients.formulas}
    definitions.pop(free, None)
    atoms = Atoms()
    point = General(model, definitions, field_, atoms, leaves)
    if model.square is None:
        return point
    zero = General(model, definitions, field_, atoms, leaves | {square: field_.constant(0)})
    base = zero.evaluate(model.square.expr)
    root = field_.gen(ROOT, positive=True)
    point = General(model, definitions, field_, atoms, leaves | {square: root * root - base})
    point.square_base = base
    return point


def total_derivative(point: General, value: Value, name: str) -> Value:
    """d value / d name at element i, through every sum and root that depends on it.

    `value` does not vary over the batch (a loss). A sum atom sum(m) changes with the
    element name x_i by dm/dx at element i; r = sqrt(base + eps), eps held constant,
    by d base / (2 r); a root atom sqrt(P) by dP / (2 sqrt(P)).
    """
    field_ = point.field
    out = field_.partial(value, name)
    for atom in list(point.atoms.opaque):
        if field_.partial(value, atom):
            raise Unsupported(f"a sum of a quotient ({point.atoms.opaque[atom]})")
    for atom, monomial in list(point.atoms.monomials.items()):
        outer = field_.partial(value, atom)
        if outer:
            out = out + outer * _monomial_derivative(point, monomial, name)
    for root, inner in _roots(point):
        outer = field_.partial(value, root)
        if outer:
            inner_change = total_derivative(point, inner, name)
            out = out + outer * inner_change / (2 * field_.gen(root))
    return out


def _roots(point: General) -> list[tuple[str, Value]]:
    field_ = point.field
    found = [(atom, Value(field_, square)) for atom, square in field_.roots.items()]
    if any(field_.is_varying(square) for square in field_.roots.values()):
        raise Unsupported("a square root of a batch quantity")
    if point.square_base is not None:
        found.append((ROOT, point.square_base))
    return found


def _monomial_derivative(point: General, monomial: tuple[tuple[str, int], ...], name: str) -> Value:
    field_ = point.field
    out = field_.constant(1)
    power = dict(monomial)
    if name not in power:
        return field_.constant(0)
    for var, exponent in monomial:
        if var not in {n for n, _ in point.model.inputs} | {point.model.upstream, name}:
            raise Unsupported(f"a sum over {var}")
        if var == name:
            out = out * exponent * field_.gen(var) ** (exponent - 1)
        else:
            out = out * field_.gen(var) ** exponent
    return out


def loss(point: General) -> Value:
    """L = sum(g_out * out) for every N."""
    model = point.model
    return point.total(point[model.upstream] * point[model.output])


def engine_gradient(point: General, name: str) -> Value:
    """The engine's g_<name> at element i, for every N."""
    return point[gradient_name(name)]
