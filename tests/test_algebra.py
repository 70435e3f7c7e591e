"""The general-N algebra: one canonical form per formula, and closed forms true at every N.

Sums over the batch obey their laws in the canonical form (linear, constants pulled
out, N copies of a scalar), so formulas written differently meet; the closed form of a
gradient, with its sums carried out, equals the exact evaluation at every batch size.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnverify.engine.algebra import BatchSum, simplify
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import exact_point


@pytest.fixture(scope="module")
def algebra(truth):
    return truth.algebra


@pytest.fixture(scope="module")
def s(algebra):
    """The algebra's symbols by name."""
    return algebra.symbols


def test_symbols_carry_what_the_model_knows(s, algebra):
    assert s["N"].is_integer and s["N"].is_positive
    assert s["eps"].is_positive  # a constant
    assert s["z"].is_real and s["gamma"].is_real and s["g_y"].is_real
    names = {str(symbol) for symbol in algebra.batch}
    assert names == {"z", "zhat", "y", "g_y", "g_z", "g_zhat"}  # one value per sample


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sum(gamma)", lambda s: s["N"] * s["gamma"]),  # N copies of a scalar
        ("sum(2*gamma*g_y)", lambda s: 2 * s["gamma"] * BatchSum(s["g_y"])),
        ("mean(g_y)*N", lambda s: BatchSum(s["g_y"])),
        ("dot(zhat, g_y)", lambda s: BatchSum(s["g_y"] * s["zhat"])),
        ("ones", lambda s: sp.Integer(1)),  # an element of the batch of ones
        ("sum(ones)", lambda s: s["N"]),
        # The model's identities: z = mu + zhat sqrt(var + eps), sum(zhat) = 0, ...
        ("z", lambda s: s["mu"] + s["zhat"] * sp.sqrt(s["var"] + s["eps"])),
        ("mean(z)", lambda s: s["mu"]),
        ("sum(z - mu)", lambda s: sp.Integer(0)),
        ("sum(zhat^2)", lambda s: s["N"] * s["var"] / (s["var"] + s["eps"])),
        ("sqrt(4)", lambda s: sp.Integer(2)),
        ("gamma^(-1/2)", lambda s: s["gamma"] ** sp.Rational(-1, 2)),
    ],
)
def test_convert_to_the_canonical_form(algebra, s, formula, text, expected):
    assert sp.expand(algebra.convert(formula(text)) - expected(s)) == 0


def test_convert_inlines_gradients_and_stated_keeps_them(algebra, s, formula):
    assert algebra.convert(formula("g_beta")) == BatchSum(s["g_y"])
    assert algebra.stated(formula("g_beta")) == s["g_beta"]
    stated = algebra.stated(formula("g_zhat/sqrt(var + eps) + g_var*2*(z - mu)/N + g_mu/N"))
    assert stated.free_symbols >= {s["g_zhat"], s["g_var"], s["g_mu"]}
    root = sp.sqrt(s["var"] + s["eps"])
    expected = (s["N"] * s["g_zhat"] + s["g_mu"] * root + 2 * s["g_var"] * s["zhat"] * root**2) / (
        s["N"] * root
    )
    assert sp.simplify(stated - expected) == 0


def test_the_closed_forms_of_batchnorm(algebra, s):
    root = sp.sqrt(s["var"] + s["eps"])
    g_y, gamma, zhat, n = s["g_y"], s["gamma"], s["zhat"], s["N"]
    sums = BatchSum(g_y), BatchSum(g_y * zhat)
    assert algebra.gradient("gamma") == sums[1]
    assert algebra.gradient("beta") == sums[0]
    assert algebra.gradient("zhat") == g_y * gamma
    z = gamma * (n * g_y - sums[0] - zhat * sums[1]) / (n * root)
    assert sp.simplify(algebra.gradient("z") - z) == 0


def test_a_rearranged_gradient_meets_the_closed_form(algebra, formula):
    # Through g_zhat, g_var and g_mu: the chain rule written out by hand.
    text = "g_zhat/sqrt(var + eps) + g_var*2*(z - mu)/N + g_mu/N"
    assert simplify(algebra.convert(formula(text))) == algebra.gradient("z")


def test_simplify_makes_one_fraction_with_common_factors_out(s):
    z, n = s["z"], s["N"]
    assert simplify(z / n + z / (2 * n)) == 3 * z / (2 * n)
    assert simplify(2 * z + 2 * z**2) == 2 * z * (z + 1)


# --- laws of the sum over the batch, on generated formulas ---------------------------

LEAVES = st.sampled_from(["z", "zhat", "g_y", "gamma", "beta", "mu", "var", "N", "2", "1/3"])
FORMULAS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({' '.join(t)})"),
        inner.map(lambda a: f"sum({a})"),
    ),
    max_leaves=5,
)
SCALARS = st.sampled_from(["gamma", "2", "var + eps", "sum(g_y)", "N"])
LAWS = settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)


def same(algebra, formula, left: str, right: str) -> bool:
    """Whether two formulas convert to the same general-N expression.

    The canonical form does not cancel sqrt(var + eps) against var + eps (sum((var + eps)
    * z * zhat) keeps (eps*var + var^2)/sqrt(eps + var)), so equality is decided as the
    symbolic layer decides it: with r = sqrt(var + eps) a symbol, everything is rational.
    """
    s = algebra.symbols
    root = sp.Symbol("r", positive=True)
    difference = algebra.convert(formula(left)) - algebra.convert(formula(right))
    rational = difference.subs(sp.sqrt(s["var"] + s["eps"]), root).subs(
        s["eps"], root**2 - s["var"]
    )
    return sp.cancel(rational) == 0


@LAWS
@given(a=FORMULAS, b=FORMULAS)
def test_the_sum_is_linear(algebra, formula, a, b):
    assert same(algebra, formula, f"sum({a} + {b})", f"sum({a}) + sum({b})")
    assert same(algebra, formula, f"sum({a} - {b})", f"sum({a}) - sum({b})")


@LAWS
@given(a=FORMULAS, c=SCALARS)
def test_a_scalar_factor_comes_out_of_the_sum(algebra, formula, a, c):
    assert same(algebra, formula, f"sum(({c})*{a})", f"({c})*sum({a})")


@LAWS
@given(a=FORMULAS, b=FORMULAS)
def test_mean_and_dot_are_sums(algebra, formula, a, b):
    assert same(algebra, formula, f"N*mean({a})", f"sum({a})")
    assert same(algebra, formula, f"dot({a}, {b})", f"sum({a}*{b})")


# --- the closed forms hold at every batch size -----------------------------------------


def rational(q) -> sp.Rational:
    return sp.Rational(int(q.numerator), int(q.denominator))


def carried_out(expr: sp.Expr, algebra, at, sample: int) -> sp.Expr:
    """A general-N expression at one sample of an exact point, its sums carried out."""
    names = {symbol: name for name, symbol in algebra.symbols.items() if name in at}

    def element(j: int) -> dict:
        return {
            symbol: rational(at[name][j if symbol in algebra.batch else 0, 0])
            for symbol, name in names.items()
        }

    summed = expr.replace(
        lambda e: isinstance(e, BatchSum),
        lambda e: sum(e.args[0].subs(element(j)) for j in range(at.n)),
    )
    return summed.subs(element(sample))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("name", ["z", "gamma", "beta", "zhat", "var", "mu"])
def test_a_closed_form_equals_the_exact_value(truth, algebra, n, name):
    at = exact_point(truth.model, truth.definitions, n, 1, np.random.default_rng(n))
    closed = algebra.gradient(name)
    value = evaluate(truth.formula(name), at)
    for i in range(value.shape[0]):
        assert carried_out(closed, algebra, at, i) == rational(value[i, 0]), (name, n, i)
