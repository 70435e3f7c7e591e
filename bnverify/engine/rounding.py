"""float64 with a running bound on its rounding error: how far off float64 may honestly be.

Each value is evaluated in float64 beside a bound on its distance from the exact value
at the same inputs (running error analysis, as in Higham, "Accuracy and Stability of
Numerical Algorithms", ch. 3): a sum adds its operands' bounds and one rounding of the
result, a product |a| e_b + |b| e_a + e_a e_b and one rounding, exp and log what their
argument's error moves them plus the libm's own error, and so on. The bound is first
order in places (powers, roots, exp), which is fine for its one use: a float64 value
that misses a proved-equal one by a million times this bound cannot be rounding
(judge/verdict.py), while `(T + 1e300) - 1e300` loses T to a bound of about 1e284.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from bnverify.engine.evaluate import Hessian, Point, flat_over, fold, hessian_leaf
from bnverify.language.operators import Op
from bnverify.language.tree import Expr

UNIT = 2.0**-53  # float64's unit roundoff
# numpy's exp and log are within 4 ulp: its AVX-512 code is Intel's SVML, "maximum ULP
# error across all the implementations is 4 ULP" (numpy PR #19478); glibc's within 1.
LIBM_ULPS = 4
SUBNORMAL_SPACING = 2.0**-1074  # an ulp below 2^-1022, where it is no longer relative


@dataclass(frozen=True)
class Bounded:
    """A float64 array and a bound on its rounding error, elementwise."""

    value: np.ndarray
    error: np.ndarray

    @staticmethod
    def exact(value: Any) -> Bounded:
        array = np.asarray(value, dtype=np.float64)
        return Bounded(array, np.zeros_like(array))


def _rounded(value: np.ndarray, error: np.ndarray) -> Bounded:
    return Bounded(value, error + UNIT * np.abs(value))


def _add(a: Bounded, b: Bounded) -> Bounded:
    return _rounded(a.value + b.value, a.error + b.error)


def _sub(a: Bounded, b: Bounded) -> Bounded:
    return _rounded(a.value - b.value, a.error + b.error)


def _mul(a: Bounded, b: Bounded) -> Bounded:
    error = np.abs(a.value) * b.error + np.abs(b.value) * a.error + a.error * b.error
    return _rounded(a.value * b.value, error)


def _div(a: Bounded, b: Bounded) -> Bounded:
    value = a.value / b.value
    room = np.abs(b.value) - b.error  # the divisor's distance from 0, at worst
    error = np.where(room > 0, (a.error + np.abs(value) * b.error) / room, np.inf)
    return _rounded(value, error)


def _sqrt(a: Bounded) -> Bounded:
    value = np.sqrt(a.value)
    # |sqrt(x) - sqrt(y)| <= min(sqrt(|x - y|), |x - y| / sqrt(y)).
    with np.errstate(divide="ignore"):
        error = np.minimum(np.sqrt(a.error), a.error / np.where(value > 0, value, 0))
    return _rounded(value, error)


def _libm(value: np.ndarray, error: np.ndarray) -> Bounded:
    # One ulp of v is at most 2 UNIT |v|, or the subnormal spacing below 2^-1022. A NaN
    # (log of a negative number) is no approximation of anything: its bound is infinite.
    size = np.where(np.isnan(value), np.inf, np.abs(value))
    return Bounded(value, error + LIBM_ULPS * (2 * UNIT * size + SUBNORMAL_SPACING))


def _exp(a: Bounded) -> Bounded:
    value = np.exp(a.value)
    # |e^x - e^y| = e^y |e^(x - y) - 1| <= e^y expm1(|x - y|), y the computed argument.
    moved = np.where(a.error > 0, np.abs(value) * np.expm1(a.error), 0.0)
    return _libm(value, moved)


def _log(a: Bounded) -> Bounded:
    value = np.log(a.value)
    # |log x - log y| <= |x - y| / min(x, y) (mean value theorem); none when x may be <= 0.
    room = a.value - a.error
    moved = np.where(room > 0, a.error / np.where(room > 0, room, 1.0), np.inf)
    return _libm(value, moved)


def _power(a: Bounded, exponent: Fraction) -> Bounded:
    if exponent.denominator == 2:
        a = _sqrt(a)
    k = exponent.numerator
    if k < 0:
        return _div(Bounded.exact(np.ones_like(a.value)), _power(a, Fraction(-k)))
    out = Bounded.exact(np.ones_like(a.value))
    for _ in range(k):  # exponents are bounded by the limits (at most 1,000)
        out = _mul(out, a)
    return out


def _sum(p: Point, a: Bounded, axes: tuple[str, ...]) -> Bounded:
    dims = len(p.sizes) + 1
    value, error = (x.reshape((1,) * (dims - x.ndim) + x.shape) for x in (a.value, a.error))
    a = Bounded(value, error)
    for axis in axes or tuple(p.sizes):
        k, n = p.axis_index(axis), p.sizes[axis]
        if a.value.shape[k] == n and n > 1:
            value = a.value.sum(axis=k, keepdims=True)
            # Recursive summation: (n - 1) u sum|x| bounds numpy's pairwise sum too.
            error = a.error.sum(axis=k, keepdims=True)
            spread = (n - 1) * UNIT * np.abs(a.value).sum(axis=k, keepdims=True)
            a = Bounded(value, error + spread)
        else:
            a = _mul(a, Bounded.exact(np.full((1, 1), n)))
    return a


def _count(p: Point, axes: tuple[str, ...]) -> Bounded:
    return Bounded.exact(np.full((1, 1), np.prod([p.sizes[a] for a in axes or tuple(p.sizes)])))


def _hess(p: Point, a: Bounded, b: Bounded, axes: tuple[str, ...]) -> Bounded:
    """a^T H b per channel as the sum of the M^2 products a_i H_ij b_j, H exact."""
    hessian = hessian_leaf(p.leaves)
    matrices = np.asarray(hessian.per_channel(p.channels), dtype=np.float64)
    parts = [
        Bounded(flat_over(p, x.value, hessian.axes), flat_over(p, x.error, hessian.axes))
        for x in (a, b)
    ]
    values, errors = [], []
    for c in range(p.channels):
        left = Bounded(parts[0].value[:, c : c + 1], parts[0].error[:, c : c + 1])
        right = Bounded(parts[1].value[None, :, c], parts[1].error[None, :, c])
        terms = _mul(_mul(left, Bounded.exact(matrices[c])), right)
        count = terms.value.size
        values.append(terms.value.sum())
        spread = (count - 1) * UNIT * np.abs(terms.value).sum()
        errors.append(terms.error.sum() + spread)
    shape = (1,) * len(p.sizes) + (p.channels,)
    return Bounded(np.reshape(values, shape), np.reshape(errors, shape))


ROUNDING: dict[Op, Callable[..., Bounded]] = {
    Op.ADD: lambda p, a, b: _add(a, b),
    Op.SUB: lambda p, a, b: _sub(a, b),
    Op.MUL: lambda p, a, b: _mul(a, b),
    Op.DIV: lambda p, a, b: _div(a, b),
    Op.POW: lambda p, a, exponent: _power(a, exponent),
    Op.NEG: lambda p, a: Bounded(-a.value, a.error),
    Op.SQRT: lambda p, a: _sqrt(a),
    Op.EXP: lambda p, a: _exp(a),
    Op.LOG: lambda p, a: _log(a),
    Op.SUM: lambda p, a, axes: _sum(p, a, axes),
    Op.MEAN: lambda p, a, axes: _div(_sum(p, a, axes), _count(p, axes)),
    Op.DOT: lambda p, a, b, axes: _sum(p, _mul(a, b), axes),
    Op.ONES: lambda p: Bounded.exact(np.ones((*p.sizes.values(), p.channels))),
    Op.HESS: _hess,
}


class Bounds:
    """A float64 point's values with their rounding bounds, each derived once."""

    def __init__(self, point: Point) -> None:
        self.point = point
        self._values: dict[str, Bounded] = {
            name: Bounded.exact(value)
            for name, value in point.leaves.items()
            if not isinstance(value, Hessian)  # read by hess(a, b) itself
        }
        for axis, name in point.size_names.items():
            self._values.setdefault(name, Bounded.exact(np.full((1, 1), point.sizes[axis])))
        self.definitions: Mapping[str, Expr] = point.definitions

    def __getitem__(self, name: str) -> Bounded:
        if name not in self._values:
            self._values[name] = self.evaluate(self.definitions[name])
        return self._values[name]

    def evaluate(self, expr: Expr) -> Bounded:
        """The float64 value of a resolved tree and the bound on its rounding error."""
        with np.errstate(all="ignore"):
            return self._eval(expr)

    def _eval(self, expr: Expr) -> Bounded:
        return fold(expr, self, self.point, (ROUNDING, "rounding.ROUNDING"), _number)


def _number(value: Fraction) -> Bounded:
    # (1, 1), as every number system gives a constant: it broadcasts as a scalar.
    exact = float(value) if abs(value) < 1e308 else np.inf * np.sign(value)
    return _rounded(np.full((1, 1), exact), np.zeros((1, 1)))
