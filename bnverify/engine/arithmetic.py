"""Number systems the evaluator runs in: float64, exact rationals, intervals, SymPy fields.

The evaluator only adds, multiplies and divides arrays; what a constant, a square root,
a fractional power, exp and log mean is decided here, per number system. Exact rationals
use gmpy2 (an order of magnitude faster than fractions.Fraction); a square root that is
not rational, and exp or log anywhere but exp(0) = 1 and log(1) = 0, raise Inexact so the
caller can move to intervals; intervals (mpmath) bound every value rigorously, so two
values whose intervals are disjoint are proved different.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import gmpy2
import mpmath
import numpy as np

INTERVAL_BITS = 256
# Interval comparisons retry at these precisions while the intervals overlap.
INTERVAL_PRECISIONS = (256, 1024, 4096)
# The largest |x| whose exp an interval computes. mpmath reduces x by ln 2 at about
# log2|x| extra bits, so exp(exp(z)) at z = 1000 would need 10^434 of them; past this
# reach the enclosure keeps its rigorous side and opens the other: [exp(REACH), inf].
EXP_REACH = 2**64


class Inexact(ArithmeticError):
    """The exact value is not a rational number (a square root of a non-square)."""


class Undefined(ArithmeticError):
    """The value does not exist here: division by zero, or a root of a negative number."""


class NegativeArgument(Undefined):
    """An argument below an operator's domain: undefined on an open set, not just at a point."""


class NegativeRoot(NegativeArgument):
    """A square root of a negative number."""


class NegativeLog(NegativeArgument):
    """A logarithm of a negative number."""


@dataclass(frozen=True)
class Arithmetic:
    """How one number system makes constants, square roots and fractional powers."""

    name: str
    dtype: Any

    def scalar(self, value: Fraction) -> Any:
        """One number of this system equal to (or enclosing) an exact rational."""
        raise NotImplementedError

    def constant(self, value: Fraction) -> Any:
        """A constant as a (1, 1) array, so numpy broadcasts it like any scalar value."""
        # A bare mpmath interval or SymPy element would try, and fail, to multiply a
        # numpy array itself instead of leaving the elementwise work to numpy.
        return np.full((1, 1), self.scalar(value), dtype=self.dtype)

    def constant_int(self, value: int) -> Any:
        """An integer constant in this number system."""
        return self.constant(Fraction(value))

    def root(self, x: Any) -> Any:
        """The square root of one element."""
        raise NotImplementedError

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        """Elementwise square root."""
        return _elementwise(self.root, x)

    def exponential(self, x: Any) -> Any:
        """e ** x of one element."""
        raise NotImplementedError

    def logarithm(self, x: Any) -> Any:
        """The natural logarithm of one element."""
        raise NotImplementedError

    def exp(self, x: np.ndarray) -> np.ndarray:
        """Elementwise e ** x."""
        return _elementwise(self.exponential, x)

    def log(self, x: np.ndarray) -> np.ndarray:
        """Elementwise natural logarithm."""
        return _elementwise(self.logarithm, x)

    def power(self, x: np.ndarray, exponent: Fraction) -> np.ndarray:
        """Elementwise x ** exponent for an exponent with denominator 1 or 2."""
        if exponent.denominator == 2:
            x = self.sqrt(x)
        if exponent.numerator < 0:
            return self.constant(Fraction(1)) / x ** (-exponent.numerator)
        return x**exponent.numerator

    def context(self) -> contextlib.AbstractContextManager:
        """The context every operation of an evaluation runs in (e.g. a precision)."""
        return contextlib.nullcontext()


def _elementwise(fn: Any, x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return np.frompyfunc(fn, 1, 1)(x)
    return fn(x)


def exact_exponential(x: Any) -> int:
    """e ** x for an exact rational x: 1 at 0, its only rational value.

    e^q is irrational (indeed transcendental) for every rational q != 0, by the
    Lindemann-Weierstrass theorem, so anywhere else the exact value is not a rational.
    """
    if x != 0:
        raise Inexact("e to a nonzero rational power is irrational")
    return 1


def exact_logarithm(x: Any) -> int:
    """The natural logarithm of an exact rational x: 0 at 1, its only rational value.

    log q = p/r would make e^p = q^r rational, which Lindemann-Weierstrass forbids for
    p != 0. Below 0 the logarithm is undefined on an open set (NegativeLog); at 0 only
    at a point, as a division by zero is.
    """
    if x < 0:
        raise NegativeLog("logarithm of a negative number")
    if x == 0:
        raise Undefined("logarithm of zero")
    if x != 1:
        raise Inexact("the logarithm of a positive rational other than 1 is irrational")
    return 0


class _Float(Arithmetic):
    def scalar(self, value: Fraction) -> Any:
        try:
            return np.float64(value.numerator / value.denominator)
        except OverflowError:  # 1e999 has no float64: it is infinite there
            return np.float64(np.inf if value > 0 else -np.inf)

    def sqrt(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(x)

    def power(self, x: np.ndarray, exponent: Fraction) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.power(x, float(exponent))

    def exp(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # overflow to inf, as a sum past 1e308 does
            return np.exp(x)

    def log(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):  # -inf at 0 and nan below, as sqrt gives nan
            return np.log(x)


class _Exact(Arithmetic):
    def scalar(self, value: Fraction) -> Any:
        return gmpy2.mpq(value.numerator, value.denominator)

    def root(self, x: Any) -> Any:
        if x < 0:
            raise NegativeRoot("square root of a negative number")
        num, den = gmpy2.numer(x), gmpy2.denom(x)
        if not (gmpy2.is_square(num) and gmpy2.is_square(den)):
            raise Inexact("square root of a rational that is not a square")
        return gmpy2.mpq(gmpy2.isqrt(num), gmpy2.isqrt(den))

    def exponential(self, x: Any) -> Any:
        return gmpy2.mpq(exact_exponential(x))

    def logarithm(self, x: Any) -> Any:
        return gmpy2.mpq(exact_logarithm(x))


@dataclass(frozen=True)
class _Interval(Arithmetic):
    bits: int = INTERVAL_BITS

    def scalar(self, value: Fraction) -> Any:
        return mpmath.iv.mpf(value.numerator) / mpmath.iv.mpf(value.denominator)

    def root(self, x: Any) -> Any:
        # An interval reaching below zero may hold a negative value: no real root.
        if x.a < 0:
            raise Undefined("square root of a number that may be negative")
        return mpmath.iv.sqrt(x)

    def exponential(self, x: Any) -> Any:
        return _interval_exp(x)

    def logarithm(self, x: Any) -> Any:
        # As for a root: an interval reaching 0 may hold a point with no logarithm.
        if x.a <= 0:
            raise Undefined("logarithm of a number that may be zero or negative")
        return mpmath.iv.log(x)

    def context(self) -> contextlib.AbstractContextManager:
        # Every interval operation, including numpy's elementwise ones, must run at the
        # working precision; mpmath keeps it in its global interval context.
        return _interval_precision(self.bits)


def _interval_exp(x: Any) -> Any:
    """An interval holding exp of every point of x, computed only within EXP_REACH.

    mpmath's iv.exp rounds each end outward. Past the reach, exp(a) > exp(REACH) is still
    a lower end and exp(b) < exp(-REACH) an upper one; the other end opens to 0 or inf.
    """
    iv = mpmath.iv
    clipped = iv.mpf([_clip(x.a), _clip(x.b)])
    inner = iv.exp(clipped)
    lower = 0 if x.a < -EXP_REACH else inner.a
    upper = mpmath.inf if x.b > EXP_REACH else inner.b
    return iv.mpf([lower, upper])


def _clip(end: Any) -> Any:
    return min(max(end, -EXP_REACH), EXP_REACH)


@contextlib.contextmanager
def _interval_precision(bits: int) -> Iterator[None]:
    saved = mpmath.iv.prec
    mpmath.iv.prec = bits
    try:
        yield
    finally:
        mpmath.iv.prec = saved


FLOAT = _Float("float64", np.float64)
EXACT = _Exact("exact", object)
INTERVAL = _Interval("interval", object)


def interval(bits: int) -> Arithmetic:
    """Interval arithmetic at a given precision."""
    return _Interval("interval", object, bits)


def to_interval(x: Any, arith: Arithmetic = INTERVAL) -> Any:
    """An exact gmpy2 rational (or array of them) as a tight mpmath interval."""

    def convert(q: Any) -> Any:
        return arith.scalar(Fraction(int(q.numerator), int(q.denominator)))

    with arith.context():
        return _elementwise(convert, x)


def midpoint(x: Any) -> float:
    """The midpoint of an interval, as a float (for showing an irrational value)."""
    return float(mpmath.mpf(x.mid))


def bounded(x: Any) -> bool:
    """Whether an interval is finite (division by an interval holding 0 is not)."""
    return not (mpmath.isinf(x.a) or mpmath.isinf(x.b) or mpmath.isnan(x.a) or mpmath.isnan(x.b))


def disjoint(a: Any, b: Any) -> bool:
    """Whether two intervals share no point: then their values are provably different."""
    return bool(a.b < b.a or b.b < a.a)
