"""Field and Value: exact rational functions with square-root atoms, as a proof needs them.

Every operation is checked against Fraction arithmetic at random rational points, the
field laws hold as equalities, and derivatives agree with SymPy's. Square roots are
rational where they can be, atoms whose square is their argument where not, and the
guards refuse work flint could not be interrupted in.
"""

from __future__ import annotations

import math
import time
from fractions import Fraction

import flint
import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from bnverify.engine import field as field_module
from bnverify.engine.arithmetic import Inexact, NegativeRoot
from bnverify.engine.field import MAX_ROOTS, Field, TooLarge, Value

NAMES = ("x", "y")
FIELD = Field(NAMES)  # no roots are ever taken in it: its values are rational functions
SYMBOLS = {name: sp.Symbol(name) for name in NAMES}
SMALL = st.builds(Fraction, st.integers(-5, 5), st.sampled_from([1, 2, 3]))
EXPONENTS = st.tuples(st.integers(0, 2), st.integers(0, 2))
POINTS = st.tuples(SMALL, SMALL)


def poly(terms: list[tuple[tuple[int, int], Fraction]]):
    out = FIELD.ctx.constant(0)
    for exponents, c in terms:
        out += FIELD.ctx.from_dict({exponents: flint.fmpq(c.numerator, c.denominator)})
    return out


POLYS = st.lists(st.tuples(EXPONENTS, SMALL), min_size=1, max_size=3).map(poly)
NONZERO_POLYS = POLYS.filter(lambda p: not p.is_zero())
VALUES = st.builds(lambda num, den: Value(FIELD, num, den), POLYS, NONZERO_POLYS)


def at(p, point: dict[str, Fraction]) -> Fraction:
    """A flint polynomial's value where each of its generators is given a Fraction."""
    names = p.context().names()
    total = Fraction(0)
    for exponents, c in p.to_dict().items():
        term = Fraction(int(c.p), int(c.q))
        for name, e in zip(names, exponents, strict=True):
            term *= point[name] ** int(e) if e else 1
        total += term
    return total


def value(v: Value, point: tuple[Fraction, Fraction]) -> Fraction:
    """The value at (x, y); assumes (for hypothesis) its denominator is not 0 there."""
    named = dict(zip(NAMES, point, strict=True))
    den = at(v.den, named)
    assume(den != 0)
    return at(v.num, named) / den


def sympy_of(p) -> sp.Expr:
    """A flint polynomial as a SymPy expression, built term by term (never from a string)."""
    symbols = [sp.Symbol(name) for name in p.context().names()]
    return sp.Add(
        *(
            sp.Rational(int(c.p), int(c.q))
            * sp.Mul(*(s**e for s, e in zip(symbols, m, strict=True)))
            for m, c in p.to_dict().items()
        )
    )


# -- Fraction arithmetic at random points -----------------------------------------------


@given(VALUES, VALUES, POINTS)
def test_sum_difference_and_product_agree_with_fraction(a, b, point):
    va, vb = value(a, point), value(b, point)
    assert value(a + b, point) == va + vb
    assert value(a - b, point) == va - vb
    assert value(a * b, point) == va * vb
    assert value(-a, point) == -va


@given(VALUES, VALUES, POINTS)
def test_quotient_agrees_with_fraction(a, b, point):
    assume(b)
    va, vb = value(a, point), value(b, point)
    assume(vb != 0)
    assert value(a / b, point) == va / vb


@given(VALUES, st.integers(-3, 3), POINTS)
def test_integer_powers_agree_with_fraction(a, k, point):
    assume(a or k >= 0)
    va = value(a, point)
    assume(va != 0 or k >= 0)
    assert value(a**k, point) == va**k


@given(VALUES, st.integers(-5, 5), POINTS)
def test_plain_numbers_mix_in_on_either_side(a, k, point):
    va = value(a, point)
    assert value(a + k, point) == value(k + a, point) == va + k
    assert value(k - a, point) == k - va and value(a - k, point) == va - k
    assert value(a * k, point) == value(k * a, point) == va * k
    if k:
        assert value(a / k, point) == va / k
    if a and va:
        assert value(k / a, point) == k / va


@given(VALUES, VALUES, POINTS)
def test_substituting_a_generator_agrees_with_fraction(a, b, point):
    # a(x := b) at (x, y) is a at (b(x, y), y).
    vb = value(b, point)
    inner = value(a, (vb, point[1]))
    assert value(FIELD.substitute(a, "x", b), point) == inner


# -- Laws and canonical form --------------------------------------------------------------


@given(VALUES, VALUES, VALUES)
def test_the_field_laws_hold_as_equalities(a, b, c):
    assert a + b == b + a and a * b == b * a
    assert (a + b) + c == a + (b + c)
    assert (a * b) * c == a * (b * c)
    assert a * (b + c) == a * b + a * c
    assert a - a == 0 and not (a - a)
    if a:
        assert (b / a) * a == b
        assert a / a == 1


@given(VALUES, NONZERO_POLYS)
def test_a_common_factor_left_in_cancels_to_the_same_value(a, p):
    same = Value(FIELD, a.num * p, a.den * p)
    assert same == a
    assert (same.num, same.den) == (a.num, a.den)


@given(VALUES)
def test_values_are_canonical_monic_and_coprime(a):
    assert a.den.leading_coefficient() == 1
    assert a.num.gcd(a.den).is_constant()


def test_a_denominator_never_holds_a_root():
    f = Field(["x"])
    x, root2 = f.gen("x"), f.sqrt(f.constant(2))
    for v in (1 / (1 + root2), x / (x + root2), (root2 + x) / (root2 - 1) ** 2):
        assert f.uses(v.den) <= {"x"}
        assert v.den.leading_coefficient() == 1


@pytest.mark.slow
@given(VALUES)
def test_partial_derivatives_agree_with_sympy(a):
    expr = sympy_of(a.num) / sympy_of(a.den)
    for name, symbol in SYMBOLS.items():
        d = FIELD.partial(a, name)
        assert sp.cancel(sympy_of(d.num) / sympy_of(d.den) - sp.diff(expr, symbol)) == 0


def test_the_partial_by_an_unknown_generator_is_zero():
    assert FIELD.partial(FIELD.gen("x") ** 2, "nowhere") == 0


# -- Python protocol -------------------------------------------------------------------


def test_dividing_by_zero_raises_zero_division():
    x = FIELD.gen("x")
    with pytest.raises(ZeroDivisionError):
        Value(FIELD, x.num, FIELD.ctx.constant(0))
    with pytest.raises(ZeroDivisionError):
        x / 0
    with pytest.raises(ZeroDivisionError):
        x / (x - x)
    with pytest.raises(ZeroDivisionError):
        FIELD.constant(0) ** -1


def test_x_to_the_zero_is_one_even_at_zero():
    x = FIELD.gen("x")
    assert FIELD.constant(0) ** 0 == 1
    assert ((x + 1) / (x - 1)) ** 0 == 1


def test_values_are_not_hashable():
    with pytest.raises(TypeError):
        hash(FIELD.gen("x"))


def test_truth_value_is_whether_it_is_zero():
    x, y = FIELD.gen("x"), FIELD.gen("y")
    assert x / y
    assert not (x / y - x * y / y**2)
    assert not FIELD.constant(0)


def test_equality_compares_with_ints_and_fractions_only():
    half = FIELD.constant(Fraction(1, 2))
    assert half == Fraction(1, 2) and 2 * half == 1
    assert half != "1/2"


# -- Square roots -------------------------------------------------------------------------


def test_the_root_of_a_rational_square_is_rational():
    f = Field()
    assert f.sqrt(f.constant(Fraction(9, 4))) == Fraction(3, 2)
    assert f.sqrt(f.constant(0)) == 0
    assert not f.roots


def test_square_factors_come_out_of_a_root():
    f = Field()
    assert f.sqrt(f.constant(8)) == 2 * f.sqrt(f.constant(2))
    assert f.sqrt(f.constant(Fraction(1, 2))) == f.sqrt(f.constant(2)) / 2
    assert len(f.roots) == 1


def test_the_root_of_a_positive_generators_square_is_itself():
    f = Field()
    r = f.gen("r", positive=True)
    assert f.sqrt(r * r) == r
    assert f.sqrt(2 * r**3) == r * f.sqrt(2 * r)
    assert f.sqrt((r + 1) ** 2) == r + 1


def test_the_root_of_an_unsigned_square_is_an_atom_not_the_generator():
    # sqrt(z^2) is |z|: neither z nor -z, but its square is z^2.
    f = Field()
    z = f.gen("z")
    absolute = f.sqrt(z * z)
    assert absolute != z and absolute != -z
    assert f.uses(absolute.num) == {"sqrt#0"}
    assert absolute * absolute == z * z


def test_a_root_times_its_reciprocal_is_one():
    f = Field()
    one_plus = 1 + f.sqrt(f.constant(2))
    assert one_plus * (1 / one_plus) == 1
    assert 1 / one_plus == f.sqrt(f.constant(2)) - 1


def test_a_root_atom_obeys_its_relation_at_every_power():
    f = Field()
    x = f.gen("x")
    s = f.sqrt(x + 2)
    assert s**2 == x + 2
    assert s**3 == (x + 2) * s
    assert f.reduce(f.lift(s.num) ** 5) == f.lift(((x + 2) ** 2 * s).num)


def test_nested_roots_square_back_to_their_arguments():
    f = Field()
    root2 = f.sqrt(f.constant(2))
    inner = 1 + root2
    nested = f.sqrt(inner)
    assert nested * nested == inner
    assert f.sqrt(root2) ** 4 == 2
    assert 1 / nested * nested == 1


def test_the_root_of_a_quotient_over_a_positive_denominator():
    f = Field()
    n = f.gen("N", positive=True)
    assert f.sqrt(4 / n**2) == 2 / n
    assert f.sqrt(1 / n) ** 2 == 1 / n


def test_the_root_of_a_negative_constant_raises_negative_root():
    f = Field()
    with pytest.raises(NegativeRoot):
        f.sqrt(f.constant(-4))
    with pytest.raises(NegativeRoot):
        f.sqrt(f.constant(Fraction(-1, 3)))


def test_the_root_of_a_provably_negative_value_raises_negative_root():
    f = Field()
    r = f.gen("r", positive=True)
    with pytest.raises(NegativeRoot):
        f.sqrt(-(r * r))


def test_the_root_of_a_quotient_of_unknown_sign_is_inexact():
    f = Field()
    x, y = f.gen("x"), f.gen("y")
    with pytest.raises(Inexact):
        f.sqrt(x / y)


def test_a_generator_under_a_root_cannot_be_substituted():
    f = Field()
    x = f.gen("x")
    with pytest.raises(Inexact):
        f.substitute(f.sqrt(x + 1), "x", f.constant(3))


def test_positive_means_positive_coefficients_of_positive_generators():
    f = Field()
    n, z = f.gen("N", positive=True), f.gen("z")
    assert f.provably_positive((n**2 + 3 * n + 1).num)
    assert f.provably_positive(f.constant(2).num)
    assert not f.provably_positive(f.constant(0).num)
    assert not f.provably_positive((n - 1).num)
    assert not f.provably_positive((z**2 + 1).num)  # true, but not by this rule


# -- Guards ------------------------------------------------------------------------------


def test_a_huge_power_is_refused_before_it_starts():
    f = Field(["a", "b", "c", "d"])
    four = sum((f.gen(name) for name in "abcd"), f.constant(0))
    start = time.perf_counter()
    with pytest.raises(TooLarge):
        four**1000
    assert time.perf_counter() - start < 0.1


def test_a_huge_product_is_refused():
    f = Field(["a", "b"])
    a, b = f.gen("a"), f.gen("b")
    wide = sum((a**i for i in range(700)), f.constant(0))
    tall = sum((b**i for i in range(700)), f.constant(0))
    with pytest.raises(TooLarge):
        wide * tall


def test_a_huge_power_of_a_denominator_is_refused(monkeypatch):
    # With the limit lowered, the same sizes are cheap to compute if the guard misses.
    monkeypatch.setattr(field_module, "MAX_TERMS", 50)
    f = Field(["a", "b", "c", "d"])
    four = sum((f.gen(name) for name in "abcd"), f.constant(0))
    assert math.comb(4 - 1 + 10, 10) > 50
    with pytest.raises(TooLarge):
        (1 / four) ** 10


def test_more_than_max_roots_roots_is_too_large():
    f = Field()
    primes = [2, 3, 5, 7, 11, 13][: MAX_ROOTS + 1]
    for p in primes[:MAX_ROOTS]:
        f.sqrt(f.constant(p))
    assert f.sqrt(f.constant(8)) == 2 * f.sqrt(f.constant(2))  # a root met before is free
    with pytest.raises(TooLarge):
        f.sqrt(f.constant(primes[MAX_ROOTS]))
    assert len(f.roots) == MAX_ROOTS


def test_substituting_a_generators_square_keeps_its_odd_powers_and_adds_no_root():
    field = Field()
    r, v, e = (field.gen(name, positive=True) for name in ("r", "v", "e"))
    value = (r**3 + r**2 * v) / (r**4)
    found = field.substitute_square(value, "r", v + e)
    assert found == (r * (v + e) + (v + e) * v) / ((v + e) ** 2)
    assert not field.roots
