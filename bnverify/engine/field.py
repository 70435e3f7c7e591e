"""Exact rational functions of named generators, with square roots as algebraic atoms.

A proof compares two formulas as elements of one field: rational functions over Q of
generators (an element of an input, a sum over an axis, a scalar, a size, ...) extended by square
roots. A square root that is not a rational function becomes a new generator s with the
defining relation s^2 = P, P a polynomial; every numerator is kept reduced (degree at
most 1 in each such s) and every denominator free of them (multiplied by conjugates), so
a value is zero exactly when its reduced numerator is the zero polynomial. That makes
"equal" a proof: the relations hold for the real square roots, so an identity here is an
identity of real functions wherever both sides are defined. The converse can fail only
when some P is secretly a square; then a true identity is not recognised and the caller
reports it undecided, never different.

Polynomials are python-flint's fmpq_mpoly (measured fastest: bench/bench_algebra.py).
Generators are added as a proof meets them, each a new context extending the last.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

import flint
import sympy as sp
from flint.utils.flint_exceptions import DomainError

from bnverify.engine.arithmetic import Inexact, NegativeRoot

Poly = Any  # flint.fmpq_mpoly
ORDER = "lex"

# Bounds on the work one proof may ask for. A C call of flint cannot be interrupted, so
# a product or power that would pass them is refused before it starts (the caller then
# searches for a counterexample instead); a tower of k roots costs 2^k conjugates.
MAX_TERMS = 400_000  # terms of a product (the product of the factors' term counts)
MAX_ROOTS = 4


class TooLarge(Inexact):
    """The exact form would be too large to compute within the limits above."""


# Integers past this many bits are not factored to find a square factor (factoring a
# 100-digit number can take minutes); their root stays an atom of the whole number.
_FACTOR_BITS = 64


class Field:
    """Q(generators)[square-root atoms]: the generators of one proof and their relations."""

    def __init__(self, names: Iterable[str] = (), positive: Iterable[str] = ()) -> None:
        self.ctx = flint.fmpq_mpoly_ctx.get(tuple(names), ORDER)
        self.positive: set[str] = set(positive)  # generators known to be > 0
        self.varying: dict[str, frozenset[str]] = {}  # generator -> the axes it varies over
        self.roots: dict[str, Poly] = {}  # square-root atom -> its square P, in order made
        self._root_names: dict[str, str] = {}  # str(P) -> its atom
        self._squares: set[str] = set()  # atoms whose P is the square of an unsigned poly

    # -- generators --------------------------------------------------------------
    def gen(
        self, name: str, *, positive: bool = False, axes: frozenset[str] = frozenset()
    ) -> Value:
        """The generator `name` (varying over `axes`) as a value, added to the field if new."""
        if name not in self.ctx.names():
            self.ctx = self.ctx.append_gens(name)
        if positive:
            self.positive.add(name)
        if axes:
            self.varying[name] = frozenset(axes)
        return Value(self, self.ctx.gen(self.ctx.variable_to_index(name)))

    def has(self, name: str) -> bool:
        """Whether `name` is a generator of the field."""
        return name in self.ctx.names()

    def constant(self, value: Fraction | int) -> Value:
        """An exact rational."""
        value = Fraction(value)
        return Value(self, self.ctx.constant(flint.fmpq(value.numerator, value.denominator)))

    def lift(self, poly: Poly) -> Poly:
        """A polynomial of an earlier context in the current one."""
        return poly if poly.context() is self.ctx else poly.project_to_context(self.ctx)

    def uses(self, poly: Poly) -> set[str]:
        """The generators a polynomial involves."""
        names = poly.context().names()
        return {names[i] for i, d in enumerate(poly.degrees()) if d > 0}

    def axes_of(self, poly: Poly) -> frozenset[str]:
        """The axes a polynomial varies over: those of the generators it involves."""
        return frozenset().union(*(self.varying.get(name, ()) for name in self.uses(poly)))

    # -- the relations s^2 = P -----------------------------------------------------
    def reduce(self, poly: Poly) -> Poly:
        """The polynomial with every s^k (k >= 2) replaced by P^(k//2) s^(k%2)."""
        poly = self.lift(poly)
        for atom in reversed(list(self.roots)):  # outer roots first: P holds inner ones
            index = self.ctx.variable_to_index(atom)
            if poly.degrees()[index] < 2:
                continue
            square, root = self.lift(self.roots[atom]), self.ctx.gen(index)
            out = self.ctx.constant(0)
            for power, part in _split(self.ctx, poly, index).items():
                out += part * square ** (power // 2) * (root if power % 2 else 1)
            poly = out
        return poly

    def rationalize(self, num: Poly, den: Poly) -> tuple[Poly, Poly]:
        """num/den with den multiplied by conjugates until it holds no square-root atom."""
        num, den = self.lift(num), self.lift(den)
        for atom in reversed(list(self.roots)):
            index = self.ctx.variable_to_index(atom)
            if den.degrees()[index] == 0:
                continue
            parts = _split(self.ctx, den, index)
            conjugate = parts.get(0, self.ctx.constant(0)) - parts.get(
                1, self.ctx.constant(0)
            ) * self.ctx.gen(index)
            num, den = self.reduce(num * conjugate), self.reduce(den * conjugate)
            if den.is_zero():
                if atom in self._squares:
                    raise Inexact(f"cannot divide by an expression in {atom}")
                raise ZeroDivisionError("division by zero")
        return num, den

    # -- square roots --------------------------------------------------------------
    def sqrt(self, value: Value) -> Value:
        """The principal square root, exact: rational where it is, else an atom."""
        num, den = value.num, value.den
        if num.is_zero():
            return value
        if not self.provably_positive(den):
            raise Inexact("square root of a quotient whose denominator's sign is unknown")
        # sqrt(num/den) = sqrt(num*den)/den, for den > 0.
        return self._sqrt_poly(self.reduce(num * den)) / Value(self, den)

    def is_square(self, poly: Poly) -> bool:
        """Whether a polynomial is the square of one with rational coefficients."""
        poly = self.lift(poly)
        if poly.is_constant():
            value = Fraction(str(poly.leading_coefficient()))
            return value >= 0 and _square_part(value.numerator * value.denominator)[1] == 1
        try:
            poly.sqrt()
        except DomainError:
            return False
        return True

    def provably_positive(self, poly: Poly) -> bool:
        """Positive for all inputs: positive coefficients of positive generators only."""
        poly = self.lift(poly)
        if poly.is_constant():
            return poly.leading_coefficient() > 0
        return self.uses(poly) <= self.positive and all(c > 0 for c in poly.coeffs())

    def _sqrt_poly(self, poly: Poly) -> Value:
        if poly.is_constant():
            return self._sqrt_rational(Fraction(str(poly.leading_coefficient())))
        # Pull out even powers of positive generators: sqrt(r^2 Q) = r sqrt(Q).
        low = _monomial_content(poly)
        names = self.ctx.names()
        pulled = tuple(e // 2 * 2 if names[i] in self.positive else 0 for i, e in enumerate(low))
        outside = self.ctx.from_dict({tuple(e // 2 for e in pulled): 1})
        if any(pulled):
            poly = poly / self.ctx.from_dict({pulled: 1})
        if poly.is_constant():  # sqrt(-r^2) has no real value: the constant decides
            return Value(self, outside) * self._sqrt_rational(
                Fraction(str(poly.leading_coefficient()))
            )
        lead = Fraction(str(poly.leading_coefficient()))
        monic = poly / flint.fmpq(abs(lead.numerator), lead.denominator)
        scale = self._sqrt_rational(abs(lead))
        return Value(self, outside) * scale * self._root_of_monic(monic)

    def _root_of_monic(self, poly: Poly) -> Value:
        try:
            root = poly.sqrt()
        except DomainError:
            root = None
        if root is not None and self.provably_positive(root):
            return Value(self, root)
        if root is not None and self.provably_positive(-root):
            return Value(self, -root)
        return self._atom(poly, square=root is not None)

    def _sqrt_rational(self, value: Fraction) -> Value:
        if value < 0:
            raise NegativeRoot("square root of a negative number")
        # sqrt(a/b) = sqrt(a*b)/b, and a*b = k^2 f with f free of squares where we can tell.
        whole = value.numerator * value.denominator
        k, rest = _square_part(whole)
        outside = self.constant(Fraction(k, value.denominator))
        if rest == 1:
            return outside
        return outside * self._atom(self.ctx.constant(rest), square=False)

    def _atom(self, base: Poly, *, square: bool) -> Value:
        # `square`: base is the square of a polynomial whose sign is unknown (|M|).
        key = str(base)
        if key not in self._root_names and len(self.roots) >= MAX_ROOTS:
            raise TooLarge(f"more than {MAX_ROOTS} different square roots")
        if key not in self._root_names:
            name = f"sqrt#{len(self.roots)}"
            self.gen(name, axes=self.axes_of(base))
            self.roots[name] = self.lift(base)
            self._root_names[key] = name
            if square:
                self._squares.add(name)
        return self.gen(self._root_names[key])

    def substitute(self, value: Value, name: str, replacement: Value) -> Value:
        """The value with generator `name` replaced by another value."""
        if not self.has(name):
            return value
        used = self.uses(self.lift(value.num)) | self.uses(self.lift(value.den))
        if any(name in self.uses(self.roots[atom]) for atom in used & set(self.roots)):
            raise Inexact(f"{name} appears under a square root")
        index = self.ctx.variable_to_index(name)

        def put(poly: Poly) -> Value:
            out = self.constant(0)
            for power, part in _split(self.ctx, self.lift(poly), index).items():
                out = out + Value(self, part) * replacement**power
            return out

        return put(value.num) / put(value.den)

    def substitute_square(self, value: Value, name: str, square: Value) -> Value:
        """The value with name^2 written as `square` (name^(2k+1) = name * square^k): an
        identity where `square` is name's square, and no new root."""
        if not self.has(name):
            return value
        index = self.ctx.variable_to_index(name)

        def put(poly: Poly) -> Value:
            out = self.constant(0)
            for power, part in _split(self.ctx, self.lift(poly), index).items():
                odd = self.gen(name) if power % 2 else self.constant(1)
                out = out + Value(self, part) * odd * square ** (power // 2)
            return out

        return put(value.num) / put(value.den)

    # -- derivatives -----------------------------------------------------------------
    def partial(self, value: Value, name: str) -> Value:
        """d value / d name, every other generator (square-root atoms too) held fixed."""
        if not self.has(name):
            return self.constant(0)
        index = self.ctx.variable_to_index(name)
        num, den = self.lift(value.num), self.lift(value.den)
        top = num.derivative(index) * den - num * den.derivative(index)
        return Value(self, top, den * den)


class Value:
    """A reduced num/den of one Field: den free of root atoms, gcd 1, leading coeff 1."""

    __slots__ = ("den", "field", "num")

    def __init__(self, field: Field, num: Poly, den: Poly | None = None) -> None:
        self.field = field
        num = field.lift(num)
        if den is None:
            self.num, self.den = num, field.ctx.constant(1)
            return
        den = field.lift(den)
        if den.is_zero():
            raise ZeroDivisionError("division by zero")
        num, den = field.rationalize(num, den)
        if not den.is_constant():
            common = num.gcd(den)
            if not common.is_constant():
                num, den = num / common, den / common
        lead = den.leading_coefficient()
        self.num, self.den = num / lead, den / lead

    def _lift(self, other: Any) -> Value:
        if isinstance(other, Value):
            return other
        return self.field.constant(Fraction(other))

    def __add__(self, other: Any) -> Value:
        other, field = self._lift(other), self.field
        a_num, a_den, b_num, b_den = (
            field.lift(p) for p in (self.num, self.den, other.num, other.den)
        )
        if a_den == b_den:
            return Value(field, a_num + b_num, a_den)
        _bound(a_num, b_den)
        _bound(b_num, a_den)
        _bound(a_den, b_den)
        return Value(field, a_num * b_den + b_num * a_den, a_den * b_den)

    __radd__ = __add__

    def __neg__(self) -> Value:
        return Value(self.field, -self.num, self.den)

    def __sub__(self, other: Any) -> Value:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Value:
        return self._lift(other) - self

    def __mul__(self, other: Any) -> Value:
        other, field = self._lift(other), self.field
        _bound(self.num, other.num)
        _bound(self.den, other.den)
        num = field.reduce(field.lift(self.num) * field.lift(other.num))
        return Value(field, num, field.lift(self.den) * field.lift(other.den))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Value:
        other, field = self._lift(other), self.field
        if other.num.is_zero():
            raise ZeroDivisionError("division by zero")
        _bound(self.num, other.den)
        _bound(self.den, other.num)
        num = field.reduce(field.lift(self.num) * field.lift(other.den))
        return Value(field, num, field.reduce(field.lift(self.den) * field.lift(other.num)))

    def __rtruediv__(self, other: Any) -> Value:
        return self._lift(other) / self

    def __pow__(self, exponent: int) -> Value:
        if exponent == 0:  # x^0 = 1, even at x = 0, as in every other number system
            return self.field.constant(1)
        if exponent < 0:
            return self.field.constant(1) / (self ** (-exponent))
        terms = max(len(self.num), len(self.den))
        if terms > 1 and math.comb(terms - 1 + exponent, exponent) > MAX_TERMS:
            raise TooLarge(f"a power of {terms} terms to the {exponent} is too large to expand")
        out, base = self.field.constant(1), self
        while exponent:  # square and multiply, reducing by the relations at each step
            if exponent & 1:
                out = out * base
            exponent >>= 1
            if exponent:
                base = base * base
        return out

    def is_zero(self) -> bool:
        """Whether the value is the zero function (a proof, by the module's argument)."""
        return self.num.is_zero()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value | int | Fraction):
            return NotImplemented
        return (self - other).is_zero()

    def __hash__(self) -> int:
        raise TypeError("Value is not hashable")

    def __bool__(self) -> bool:
        return not self.is_zero()

    def axes(self) -> frozenset[str]:
        """The axes the value varies over (the element it depends on)."""
        return self.field.axes_of(self.num) | self.field.axes_of(self.den)

    def as_expr(self) -> sp.Expr:
        """The value as a SymPy expression (for printing): each root atom as sqrt(P)."""
        field = self.field
        roots = {
            atom: sp.sqrt(_poly_expr(field, square, {})) for atom, square in field.roots.items()
        }
        return _poly_expr(field, self.num, roots) / _poly_expr(field, self.den, roots)

    def __repr__(self) -> str:
        return f"({self.num}) / ({self.den})"


def _poly_expr(field: Field, poly: Poly, roots: dict[str, sp.Expr]) -> sp.Expr:
    names = field.lift(poly).context().names()
    symbols = [roots.get(name, sp.Symbol(name)) for name in names]
    terms = []
    for exponents, coeff in field.lift(poly).to_dict().items():
        term = sp.Rational(int(coeff.p), int(coeff.q))
        for symbol, power in zip(symbols, exponents, strict=True):
            term *= symbol ** int(power)
        terms.append(term)
    return sp.Add(*terms)


def _bound(a: Poly, b: Poly) -> None:
    if len(a) * len(b) > MAX_TERMS:
        raise TooLarge(f"a product of {len(a)} by {len(b)} terms is too large to expand")


def _split(ctx: Any, poly: Poly, index: int) -> dict[int, Poly]:
    """poly as sum_k part_k * x^k for generator `index`: {k: part_k}."""
    parts: dict[int, dict] = defaultdict(dict)
    for exponents, coeff in poly.to_dict().items():
        rest = list(exponents)
        rest[index] = 0
        parts[exponents[index]][tuple(rest)] = coeff
    return {k: ctx.from_dict(terms) for k, terms in parts.items()}


def _monomial_content(poly: Poly) -> tuple[int, ...]:
    exponents = list(poly.to_dict())
    return tuple(min(column) for column in zip(*exponents, strict=True))


def _square_part(whole: int) -> tuple[int, int]:
    """k, f with whole = k^2 f, f free of square factors where factoring is cheap."""
    root = flint.fmpz(whole).isqrt()
    if root * root == whole:
        return int(root), 1
    if whole.bit_length() > _FACTOR_BITS:
        return 1, whole
    k, rest = 1, 1
    for prime, power in flint.fmpz(whole).factor():
        k *= int(prime) ** (power // 2)
        rest *= int(prime) ** (power % 2)
    return k, rest
