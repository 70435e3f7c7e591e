"""Ratio: rational functions without gcds must still be exact rational functions.

Every operation is checked against Fraction arithmetic on the values at a rational
point, and the one economy Ratio promises (monomial denominators stay monic monomials,
with common monomial factors cancelled) is checked on the denominators themselves.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from sympy.polys.domains import QQ
from sympy.polys.fields import field
from sympy.polys.rings import ring

from bnverify.engine.ratio import Ratio

RING, X, R = ring("x,r", QQ)
FIELD, FX, FR = field("x,r", QQ)
SMALL = st.builds(Fraction, st.integers(-5, 5), st.sampled_from([1, 2, 3]))
NONZERO = st.builds(Fraction, st.integers(1, 5), st.sampled_from([1, -1, 2, -3]))
EXPONENTS = st.tuples(st.integers(0, 2), st.integers(0, 2))


def poly(terms: list[tuple[tuple[int, int], Fraction]]) -> object:
    return sum((RING({m: QQ(c.numerator, c.denominator)}) for m, c in terms), RING.zero)


POLYS = st.lists(st.tuples(EXPONENTS, SMALL), min_size=1, max_size=3).map(poly)
NONZERO_POLYS = POLYS.filter(bool)
MONOMIALS = st.tuples(EXPONENTS, NONZERO).map(lambda t: poly([t]))
RATIOS = st.builds(Ratio, POLYS, st.one_of(MONOMIALS, NONZERO_POLYS))
MONOMIAL_RATIOS = st.builds(Ratio, POLYS, MONOMIALS)
POINTS = st.tuples(SMALL, SMALL)


def fraction(q) -> Fraction:
    return Fraction(int(q.numerator), int(q.denominator))


def value(ratio: Ratio, point: tuple[Fraction, Fraction]) -> Fraction:
    """The ratio's value at (x, r); assumes (for hypothesis) its denominator is not 0 there."""
    at = [QQ(p.numerator, p.denominator) for p in point]
    den = fraction(ratio.den(*at))
    assume(den != 0)
    return fraction(ratio.num(*at)) / den


def is_monic_monomial(p) -> bool:
    return len(p) == 1 and p.LC == 1


def is_polynomial(p) -> bool:
    # The ring would hold x**-1 too: a Ratio must not lean on that.
    return all(e >= 0 for monomial in p for e in monomial)


@given(RATIOS, RATIOS, POINTS)
def test_sum_difference_and_product_agree_with_fraction(a, b, point):
    va, vb = value(a, point), value(b, point)
    assert value(a + b, point) == va + vb
    assert value(a - b, point) == va - vb
    assert value(a * b, point) == va * vb
    assert value(-a, point) == -va


@given(RATIOS, RATIOS, POINTS)
def test_quotient_agrees_with_fraction(a, b, point):
    assume(b)
    va, vb = value(a, point), value(b, point)
    assume(vb != 0)
    assert value(a / b, point) == va / vb


@given(RATIOS, st.integers(-3, 3), POINTS)
def test_integer_powers_agree_with_fraction(a, k, point):
    assume(a or k >= 0)
    va = value(a, point)
    assume(va != 0 or k >= 0)
    assert value(a**k, point) == va**k


@given(RATIOS, st.integers(-5, 5), POINTS)
def test_plain_numbers_mix_in_on_either_side(a, k, point):
    va = value(a, point)
    assert value(a + k, point) == value(k + a, point) == va + k
    assert value(k - a, point) == k - va and value(a - k, point) == va - k
    assert value(a * k, point) == value(k * a, point) == va * k
    if k:
        assert value(a / k, point) == va / k
    if a and va:
        assert value(k / a, point) == k / va


@given(RATIOS, RATIOS, RATIOS)
def test_the_field_laws_hold_as_equalities(a, b, c):
    assert a + b == b + a and a * b == b * a
    assert (a + b) + c == a + (b + c)
    assert a * (b + c) == a * b + a * c
    assert a - a == 0 and not (a - a)
    if a:
        assert (b / a) * a == b
        assert a / a == 1


@given(RATIOS, NONZERO_POLYS)
def test_equality_is_decided_by_cross_multiplying(a, p):
    # The same function with a common factor left uncancelled is still equal.
    assert Ratio(a.num * p, a.den * p) == a
    assert a + Ratio(RING.one, p) != a


@given(MONOMIAL_RATIOS, MONOMIAL_RATIOS)
def test_monomial_denominators_stay_monic_monomials(a, b):
    assert is_monic_monomial(a.den) and is_monic_monomial(b.den)
    for result in (a + b, a - b, a * b):
        assert is_monic_monomial(result.den)
        assert is_polynomial(result.num) and is_polynomial(result.den)


def test_common_monomial_factors_cancel():
    ratio = Ratio(2 * X**2 * R**3, 4 * X * R**5)
    assert ratio.num == X / 2 and ratio.den == R**2
    whole = Ratio(6 * X * R, 3 * R)
    assert whole.num == 2 * X and whole.den == RING.one
    assert Ratio(X, R**2) + Ratio(RING.one, R) == Ratio(X + R, R**2)
    assert (Ratio(X, R**2) + Ratio(RING.one, R)).den == R**2


def test_a_zero_denominator_raises():
    with pytest.raises(ZeroDivisionError):
        Ratio(X, RING.zero)
    with pytest.raises(ZeroDivisionError):
        Ratio(X) / Ratio(RING.zero)
    with pytest.raises(ZeroDivisionError):
        Ratio(RING.zero) ** -1


def test_x_to_the_zero_is_one_even_at_zero():
    assert Ratio(RING.zero) ** 0 == 1
    assert Ratio(X + 1, X - 1) ** 0 == 1


def test_ratios_are_not_hashable():
    # Two equal ratios may have different numerators and denominators.
    with pytest.raises(TypeError):
        hash(Ratio(X))


def test_truth_value_is_whether_it_is_zero():
    assert Ratio(X, R)
    assert not Ratio(RING.zero, R)
    assert not (Ratio(X, R) - Ratio(X * R, R**2))


@given(RATIOS)
def test_diff_agrees_with_sympy(a):
    # SymPy's own field of rational functions, which cancels gcds, differentiates too.
    as_field = FIELD.from_expr(a.as_expr())
    for generator, symbol in ((X, FX), (R, FR)):
        derivative = a.diff(generator)
        assert FIELD.from_expr(derivative.as_expr()) == as_field.diff(symbol)


def test_as_expr():
    x, r = sp.symbols("x r")
    assert sp.cancel(Ratio(X + 1, 2 * R).as_expr() - (x + 1) / (2 * r)) == 0
    assert Ratio(X * R, R).as_expr() == x


@pytest.mark.parametrize(
    ("num", "den", "positive", "root"),
    [
        (4 * X**2, 9 * R**2, {0, 1}, Ratio(2 * X, 3 * R)),
        (R**4 / 4, RING.one, {1}, Ratio(R**2 / 2)),
        (RING(9), RING.one, set(), Ratio(RING(3))),
        (X**2, RING.one, {1}, None),  # x may be negative: sqrt(x^2) is |x|
        (2 * R**2, RING.one, {1}, None),  # sqrt(2) is not rational
        (-(R**2), RING.one, {1}, None),
        (R**3, RING.one, {1}, None),
        (R**2 + 1, RING.one, {1}, None),  # not a monomial
        (RING.one, R**2 + 1, {1}, None),
    ],
)
def test_monomial_root(num, den, positive, root):
    found = Ratio(num, den).monomial_root(frozenset(positive))
    if root is None:
        assert found is None
    else:
        assert found == root and found * found == Ratio(num, den)
