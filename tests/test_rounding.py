"""Tests for bnverify.engine.rounding: the float64 rounding bound holds, and is tight enough.

A bound that is too small would make float64 object to right formulas; one that is
infinite would never let it object. Each formula is evaluated in float64 with its bound
and exactly (rationals at the same float inputs), and the true error must lie within.
"""

from __future__ import annotations

from fractions import Fraction

import gmpy2
import numpy as np
import pytest

from bnverify.engine import arithmetic
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.rounding import UNIT, Bounds
from bnverify.judge.evidence import shared_float_point

FORMULAS = [
    "gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))",
    "(gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat)) + 1e300) - 1e300",
    "((z + 1e16) - 1e16)*g_y",
    "mean(z^3)/(var + eps)^(3/2)",
    "sqrt(sum((z - mu)^2))/N",
    "1/(z - mu + 1e-12)",
    "(sum(0) + mean(1))*g_y",  # constants reduced over the batch keep their (1, 1) shape
    "exp(zhat)/sum(exp(zhat))*g_y",  # a softmax
    "log(z*z + 1)*g_y",
    "log(sum(exp(30*z - 30*mu)))",  # exp of a rounded argument: the error it moves
    "exp(log(z*z + 1e-8))",
    "log(var + eps) - log(eps)",  # log near 1: the libm's error is relative to its result
    "exp(-1000*z*z)",  # underflow: subnormal and zero results
    "log(exp(800*z*z))",  # overflow: an infinite exp has an infinite bound
]


def precise_twin(point: Point) -> Point:
    """The same inputs, read exactly (a float64 is a rational), in 1,024-bit intervals."""
    arith = arithmetic.interval(1024)

    def to_rational(x):
        return gmpy2.mpq(Fraction(float(x)))

    leaves = {
        name: arithmetic.to_interval(
            np.frompyfunc(to_rational, 1, 1)(np.asarray(value, dtype=np.float64)), arith
        )
        for name, value in point.leaves.items()
        if name != "N"
    }
    return Point(arith, point.n, point.channels, leaves, point.definitions)


@pytest.mark.parametrize("text", FORMULAS)
def test_the_bound_covers_the_true_rounding_error(truth, formula, text):
    point = shared_float_point(truth, 0, 16, 4)
    found = Bounds(point).evaluate(formula(text))
    enclosed = np.asarray(evaluate(formula(text), precise_twin(point)), dtype=object)
    middle = np.vectorize(arithmetic.midpoint)(enclosed)
    radius = np.vectorize(lambda x: float(x.delta) / 2)(enclosed)
    value, error = np.broadcast_arrays(found.value, found.error)
    gap = np.abs(value - np.broadcast_to(middle, value.shape))
    allowed = error * (1 + 1e-9) + np.broadcast_to(radius, value.shape) + 1e-300
    assert np.all(gap <= allowed), (text, gap.max(), error.max())


def test_exp_and_log_have_an_infinite_bound_where_they_may_leave_float64(truth, formula):
    point = shared_float_point(truth, 0, 16, 4)
    bounds = Bounds(point)
    overflowed = bounds.evaluate(formula("exp(800*z*z)"))
    assert np.all(np.isinf(overflowed.error[np.isinf(overflowed.value)]))
    argument = bounds.evaluate(formula("(z + 1e16) - 1e16"))
    logged = bounds.evaluate(formula("log((z + 1e16) - 1e16)"))
    reaching_zero = argument.value - argument.error <= 0  # the argument may be 0 or below
    assert reaching_zero.any() and np.all(np.isinf(logged.error[reaching_zero]))


def test_the_bound_is_tight_on_a_stable_formula(truth, formula):
    point = shared_float_point(truth, 0, 256, 4)
    found = Bounds(point).evaluate(formula(FORMULAS[0]))
    relative = found.error / np.abs(found.value).max(axis=0)
    assert relative.max() < 1e5 * UNIT  # a few thousand roundings at N = 256, no more


def test_a_cancellation_of_huge_numbers_has_a_huge_bound(truth, formula):
    point = shared_float_point(truth, 0, 16, 4)
    found = Bounds(point).evaluate(formula(FORMULAS[1]))
    assert found.error.min() > 1e280
