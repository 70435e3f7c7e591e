"""The number systems: exact rationals stay exact, intervals enclose, float64 never raises.

Exact arithmetic must be a field with rational square roots where they exist and a
named refusal (Inexact, Undefined) where they do not, exp and log included; intervals
must contain the exact value at the working precision; float64 gives inf and nan where
the others refuse.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import gmpy2
import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bnverify.engine.arithmetic import (
    EXACT,
    EXP_REACH,
    FLOAT,
    INTERVAL,
    INTERVAL_BITS,
    Inexact,
    NegativeArgument,
    NegativeLog,
    Undefined,
    bounded,
    disjoint,
    to_interval,
)
from bnverify.engine.elements import FieldArithmetic
from bnverify.engine.field import Field

FRACTIONS = st.fractions(max_denominator=10**6).filter(lambda q: abs(q) < 10**12)
NONZERO = FRACTIONS.filter(bool)


def exact(value: Fraction):
    return EXACT.scalar(value)


def as_fraction(q) -> Fraction:
    return Fraction(int(q.numerator), int(q.denominator))


def column(*values: Fraction, arith=EXACT) -> np.ndarray:
    return np.array([[arith.scalar(v)] for v in values], dtype=arith.dtype)


# --- exact rationals ----------------------------------------------------------------


@given(FRACTIONS)
def test_an_exact_scalar_is_the_rational_itself(q):
    assert as_fraction(exact(q)) == q


@given(FRACTIONS, FRACTIONS, FRACTIONS)
def test_exact_arithmetic_is_a_commutative_ring(a, b, c):
    x, y, w = exact(a), exact(b), exact(c)
    assert x + y == y + x and x * y == y * x
    assert (x + y) + w == x + (y + w)
    assert (x * y) * w == x * (y * w)
    assert x * (y + w) == x * y + x * w
    assert x + exact(Fraction(0)) == x and x * exact(Fraction(1)) == x
    assert x + (-x) == 0
    assert as_fraction(x * y - w) == a * b - c  # and agrees with Fraction


@given(NONZERO, FRACTIONS)
def test_exact_division_inverts_multiplication(a, b):
    x, y = exact(a), exact(b)
    assert x * (1 / x) == 1
    assert (y / x) * x == y
    assert as_fraction(y / x) == b / a


def test_exact_division_by_zero_raises():
    with pytest.raises(ZeroDivisionError):
        exact(Fraction(1)) / exact(Fraction(0))


@given(FRACTIONS)
def test_the_root_of_a_square_is_exact_and_not_negative(q):
    root = EXACT.sqrt(column(q * q))
    assert root.shape == (1, 1)
    assert as_fraction(root[0, 0]) == abs(q)


@pytest.mark.parametrize("value", [Fraction(2), Fraction(1, 3), Fraction(8, 9), Fraction(4, 7)])
def test_the_root_of_a_non_square_is_inexact(value):
    with pytest.raises(Inexact):
        EXACT.sqrt(column(value))


def test_the_root_of_a_negative_number_is_undefined():
    with pytest.raises(Undefined):
        EXACT.sqrt(column(Fraction(4), Fraction(-4)))
    assert issubclass(Inexact, ArithmeticError) and issubclass(Undefined, ArithmeticError)


@given(st.fractions(min_value=Fraction(1, 100), max_value=100, max_denominator=100))
def test_exact_half_integer_powers(q):
    x = column(q * q)
    for k in range(-4, 5):
        assert as_fraction(EXACT.power(x, Fraction(k, 2))[0, 0]) == q**k
        assert as_fraction(EXACT.power(x, Fraction(k))[0, 0]) == q ** (2 * k)


def test_a_power_of_zero():
    zero = column(Fraction(0))
    assert EXACT.power(zero, Fraction(0))[0, 0] == 1  # x^0 = 1, even at 0
    assert EXACT.power(zero, Fraction(3, 2))[0, 0] == 0
    with pytest.raises(ZeroDivisionError):
        EXACT.power(zero, Fraction(-1))


def test_exp_and_log_are_exact_at_their_one_rational_point():
    assert EXACT.exp(column(Fraction(0)))[0, 0] == 1
    assert EXACT.log(column(Fraction(1)))[0, 0] == 0


@given(NONZERO)
def test_exp_of_a_nonzero_rational_is_inexact(q):
    # Lindemann-Weierstrass: e^q is irrational for every rational q != 0.
    with pytest.raises(Inexact):
        EXACT.exp(column(q))


@given(FRACTIONS.filter(lambda q: q > 0 and q != 1))
def test_log_of_a_positive_rational_but_one_is_inexact(q):
    with pytest.raises(Inexact):
        EXACT.log(column(q))


def test_log_of_a_negative_number_is_undefined_on_an_open_set_and_of_zero_at_a_point():
    with pytest.raises(NegativeLog):
        EXACT.log(column(Fraction(1), Fraction(-1, 3)))
    assert issubclass(NegativeLog, NegativeArgument) and issubclass(NegativeLog, Undefined)
    with pytest.raises(Undefined) as at_zero:
        EXACT.log(column(Fraction(0)))
    assert not isinstance(at_zero.value, NegativeArgument)


def test_exp_and_log_in_the_element_field_are_exact_only_at_constants():
    field = Field()
    arith = FieldArithmetic(field)
    assert arith.exponential(field.constant(0)) == 1
    assert arith.logarithm(field.constant(1)) == 0
    for value in (field.gen("x"), field.constant(2)):
        with pytest.raises(Inexact):
            arith.exponential(value)
        with pytest.raises(Inexact):
            arith.logarithm(value)
    with pytest.raises(NegativeLog):
        arith.logarithm(field.constant(-2))


def test_a_constant_is_a_one_by_one_array_that_broadcasts():
    third = EXACT.constant(Fraction(1, 3))
    assert third.shape == (1, 1)
    batch = column(Fraction(3), Fraction(6), Fraction(-9))
    assert [as_fraction(v) for v in (batch * third).ravel()] == [1, 2, -3]
    assert EXACT.constant_int(7)[0, 0] == 7
    assert isinstance(EXACT.constant_int(7)[0, 0], type(gmpy2.mpq(1, 2)))


# --- intervals ----------------------------------------------------------------------


def endpoint(value) -> Fraction:
    """An interval's endpoint as the exact binary fraction it is."""
    with mpmath.mp.workprec(4 * INTERVAL_BITS):  # wide enough to round nothing
        binary = mpmath.mp.mpf(value)
    mantissa, exponent = binary.man_exp  # of the magnitude: the sign is apart
    magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
    return -magnitude if binary < 0 else magnitude


def contains(interval, q: Fraction) -> bool:
    return endpoint(interval.a) <= q <= endpoint(interval.b)


@given(FRACTIONS)
def test_an_interval_encloses_its_rational(q):
    with INTERVAL.context():
        assert contains(INTERVAL.scalar(q), q)
        assert contains(to_interval(exact(q)), q)


@given(st.fractions(min_value=Fraction(1, 1000), max_value=1000, max_denominator=1000))
def test_an_interval_root_encloses_the_real_root(q):
    with INTERVAL.context():
        root = INTERVAL.sqrt(np.array([[INTERVAL.scalar(q)]], dtype=object))[0, 0]
        assert contains(root * root, q)
        # 256 bits: the enclosure is tight, far below anything float64 could tell apart.
        assert endpoint(root.b) - endpoint(root.a) < Fraction(1, 2**200)


def test_an_interval_reaching_below_zero_has_no_root():
    with INTERVAL.context():
        around_zero = INTERVAL.scalar(Fraction(1)) - INTERVAL.scalar(Fraction(1, 3)) * 3
        assert around_zero.a <= 0 <= around_zero.b
        with pytest.raises(Undefined):
            INTERVAL.sqrt(np.array([[INTERVAL.scalar(Fraction(-1))]], dtype=object))


def precise(fn, q: Fraction) -> Fraction:
    """fn(q) to 2,048 bits, as the exact binary fraction that approximation is."""
    with mpmath.mp.workprec(2048):
        value = fn(mpmath.mp.mpf(q.numerator) / q.denominator)
        mantissa, exponent = value.man_exp
    magnitude = Fraction(int(mantissa)) * Fraction(2) ** int(exponent)
    return -magnitude if value < 0 else magnitude


SMALL = st.fractions(min_value=-50, max_value=50, max_denominator=1000)


@given(SMALL)
def test_an_interval_exp_encloses_the_real_exp(q):
    with INTERVAL.context():
        enclosure = INTERVAL.exp(np.array([[INTERVAL.scalar(q)]], dtype=object))[0, 0]
    assert contains(enclosure, precise(mpmath.exp, q))
    assert endpoint(enclosure.b) - endpoint(enclosure.a) < endpoint(enclosure.b) / 2**200


@given(SMALL.filter(lambda q: q > 0))
def test_an_interval_log_encloses_the_real_log(q):
    with INTERVAL.context():
        enclosure = INTERVAL.log(np.array([[INTERVAL.scalar(q)]], dtype=object))[0, 0]
    assert contains(enclosure, precise(mpmath.log, q))
    assert endpoint(enclosure.b) - endpoint(enclosure.a) < Fraction(1, 2**200)


def test_exp_and_log_of_different_values_are_disjoint_intervals():
    third, close = Fraction(1, 3), Fraction(1, 3) + Fraction(1, 10**40)
    with INTERVAL.context():
        for fn in (INTERVAL.exponential, INTERVAL.logarithm):
            a, b = fn(INTERVAL.scalar(third)), fn(INTERVAL.scalar(close))
            assert disjoint(a, b)
            assert not disjoint(a, fn(INTERVAL.scalar(third)))


def test_an_interval_log_reaching_zero_is_undefined():
    with INTERVAL.context():
        for reaching in (mpmath.iv.mpf([-1, 2]), mpmath.iv.mpf([0, 2])):
            with pytest.raises(Undefined):
                INTERVAL.logarithm(reaching)


def test_an_interval_exp_past_its_reach_keeps_one_rigorous_end():
    # exp(exp(z)) at z = 1000 has 10^434 digits: past EXP_REACH, exp is bounded, not computed.
    huge = mpmath.iv.mpf([EXP_REACH * 4, EXP_REACH * 8])
    with INTERVAL.context():
        above = INTERVAL.exponential(huge)
        below = INTERVAL.exponential(-huge)
        reach = INTERVAL.exponential(INTERVAL.scalar(Fraction(EXP_REACH)))
        back = INTERVAL.exponential(INTERVAL.scalar(Fraction(-EXP_REACH)))
    assert above.a == reach.a and above.b == mpmath.inf and not bounded(above)
    assert below.a == 0 and below.b == back.b and bounded(below)


def test_the_interval_context_sets_and_restores_the_precision():
    before = mpmath.iv.prec
    with INTERVAL.context():
        assert mpmath.iv.prec == INTERVAL_BITS
    assert mpmath.iv.prec == before


def test_to_interval_converts_whole_arrays():
    values = column(Fraction(1, 3), Fraction(-2))
    intervals = to_interval(values)
    assert intervals.shape == (2, 1)
    assert contains(intervals[0, 0], Fraction(1, 3)) and contains(intervals[1, 0], Fraction(-2))


def test_disjoint_intervals_prove_a_difference():
    with INTERVAL.context():
        third = INTERVAL.scalar(Fraction(1, 3))
        close = INTERVAL.scalar(Fraction(1, 3) + Fraction(1, 10**40))
        assert disjoint(third, close) and disjoint(close, third)
        assert not disjoint(third, INTERVAL.scalar(Fraction(1, 3)))
        assert not disjoint(third, third + INTERVAL.scalar(Fraction(0)))


def test_division_by_an_interval_holding_zero_is_unbounded():
    with INTERVAL.context():
        one = INTERVAL.scalar(Fraction(1))
        assert bounded(one / INTERVAL.scalar(Fraction(3)))
        assert not bounded(one / mpmath.iv.mpf([-1, 1]))


# --- float64 --------------------------------------------------------------------------


@given(FRACTIONS)
def test_a_float_scalar_is_the_nearest_float64(q):
    assert FLOAT.scalar(q) == np.float64(float(q))
    assert FLOAT.constant(q).dtype == np.float64


def test_a_rational_past_float64_is_infinite_there():
    huge = Fraction(10**400)
    assert FLOAT.scalar(huge) == np.inf and FLOAT.scalar(-huge) == -np.inf


def test_float_roots_and_powers_give_nan_without_a_warning():
    x = np.array([[-4.0], [4.0], [0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roots = FLOAT.sqrt(x)
        powers = FLOAT.power(x, Fraction(-1, 2))
    assert np.isnan(roots[0, 0]) and roots[1, 0] == 2.0 and roots[2, 0] == 0.0
    assert np.isnan(powers[0, 0]) and powers[1, 0] == 0.5 and powers[2, 0] == np.inf


def test_float_exp_and_log_give_inf_and_nan_without_a_warning():
    x = np.array([[-1.0], [0.0], [1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logs, exps = FLOAT.log(x), FLOAT.exp(x)
    assert np.isnan(logs[0, 0]) and logs[1, 0] == -np.inf and exps[2, 0] == np.inf
    assert FLOAT.exp(np.array([[0.0]]))[0, 0] == 1.0 and FLOAT.log(np.array([[1.0]]))[0, 0] == 0


@given(st.floats(min_value=1e-3, max_value=1e3))
def test_float_half_powers_agree_with_numpy(x):
    assume(x > 0)
    value = np.array([[x]])
    assert FLOAT.power(value, Fraction(3, 2))[0, 0] == pytest.approx(x**1.5, rel=1e-15)
    assert FLOAT.power(value, Fraction(-2))[0, 0] == pytest.approx(x**-2, rel=1e-15)
