"""Rational functions as a numerator polynomial over a denominator, with no gcds.

SymPy's field elements cancel a gcd after every operation, which dominated the symbolic
proofs. The denominators that arise here are almost always monomials (powers of the
root symbol r, and integers such as N), so a Ratio keeps its denominator a monic
monomial whenever it can and only cancels common monomial factors, which is cheap.
Other denominators are carried uncancelled: equality is decided by cross-multiplying,
which is exact whatever the form.
"""

from __future__ import annotations

from typing import Any

from sympy.polys.domains import QQ


def _is_monomial(poly: Any) -> bool:
    return len(poly) == 1


def _shift(poly: Any, exponents: tuple[int, ...], sign: int) -> Any:
    # Multiply (sign=1) or divide (sign=-1) a polynomial by a monic monomial.
    return poly.ring.from_dict(
        {tuple(a + sign * b for a, b in zip(m, exponents, strict=True)): c for m, c in poly.items()}
    )


class Ratio:
    """num / den, both SymPy PolyElements of one ring."""

    __slots__ = ("den", "num")

    def __init__(self, num: Any, den: Any | None = None) -> None:
        ring = num.ring
        den = ring.one if den is None else den
        if not den:
            raise ZeroDivisionError("division by zero")
        if _is_monomial(den):
            ((exponents, coeff),) = den.items()
            num = num.quo_ground(coeff) if coeff != 1 else num
            if num and any(exponents):
                # Cancel the common monomial factor (e.g. r^k on both sides).
                low = tuple(
                    min(e, min(m[i] for m in num)) if e else 0 for i, e in enumerate(exponents)
                )
                if any(low):
                    num = _shift(num, low, -1)
                    exponents = tuple(e - s for e, s in zip(exponents, low, strict=True))
            den = ring.from_dict({exponents: QQ.one})
        self.num, self.den = num, den

    def _lift(self, other: Any) -> Ratio:
        if isinstance(other, Ratio):
            return other
        return Ratio(self.num.ring(other))

    def __add__(self, other: Any) -> Ratio:
        other = self._lift(other)
        if self.den == other.den:
            return Ratio(self.num + other.num, self.den)
        if _is_monomial(self.den) and _is_monomial(other.den):
            (a,), (b,) = self.den.keys(), other.den.keys()
            lcm = tuple(max(x, y) for x, y in zip(a, b, strict=True))
            left = _shift(self.num, tuple(m - x for m, x in zip(lcm, a, strict=True)), 1)
            right = _shift(other.num, tuple(m - y for m, y in zip(lcm, b, strict=True)), 1)
            return Ratio(left + right, self.num.ring.from_dict({lcm: QQ.one}))
        return Ratio(self.num * other.den + other.num * self.den, self.den * other.den)

    __radd__ = __add__

    def __neg__(self) -> Ratio:
        return Ratio(-self.num, self.den)

    def __sub__(self, other: Any) -> Ratio:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Ratio:
        return self._lift(other) - self

    def __mul__(self, other: Any) -> Ratio:
        other = self._lift(other)
        return Ratio(self.num * other.num, self.den * other.den)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Ratio:
        other = self._lift(other)
        if not other.num:
            raise ZeroDivisionError("division by zero")
        return Ratio(self.num * other.den, self.den * other.num)

    def __rtruediv__(self, other: Any) -> Ratio:
        return self._lift(other) / self

    def __pow__(self, exponent: int) -> Ratio:
        if exponent == 0:  # x^0 = 1, even at x = 0, as in the exact and float64 layers
            return Ratio(self.num.ring.one)
        if exponent < 0:
            return Ratio(self.num.ring.one) / (self**-exponent)
        return Ratio(self.num**exponent, self.den**exponent)

    def __eq__(self, other: object) -> bool:
        other = self._lift(other)
        if self.den == other.den:
            return self.num == other.num
        return self.num * other.den == other.num * self.den

    def __hash__(self) -> int:
        raise TypeError("Ratio is not hashable")

    def __bool__(self) -> bool:
        return bool(self.num)

    def diff(self, x: Any) -> Ratio:
        """The partial derivative with respect to a generator of the ring."""
        num = self.num.diff(x) * self.den - self.num * self.den.diff(x)
        return Ratio(num, self.den * self.den)

    def monomial_root(self, positive: frozenset[int]) -> Ratio | None:
        """sqrt(c m^2) = sqrt(c) m for monomials m in positive generators; else None."""
        num, den = _monomial_root(self.num, positive), _monomial_root(self.den, positive)
        return None if num is None or den is None else Ratio(num, den)

    def as_expr(self) -> Any:
        """A SymPy expression."""
        return self.num.as_expr() / self.den.as_expr()

    def __repr__(self) -> str:
        return f"({self.num}) / ({self.den})"


def _monomial_root(poly: Any, positive: frozenset[int]) -> Any | None:
    if not _is_monomial(poly):
        return None
    ((exponents, coeff),) = poly.items()
    if coeff < 0 or any(e % 2 or (e and i not in positive) for i, e in enumerate(exponents)):
        return None
    num, den = int(coeff.numerator), int(coeff.denominator)
    root_num, root_den = _isqrt(num), _isqrt(den)
    if root_num is None or root_den is None:
        return None
    return poly.ring.from_dict({tuple(e // 2 for e in exponents): QQ(root_num, root_den)})


def _isqrt(k: int) -> int | None:
    import math

    root = math.isqrt(k)
    return root if root * root == k else None
