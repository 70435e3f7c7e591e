"""general_point: Batch Norm's formulas as one value for every batch size N.

A sum over the batch must expand by linearity into atoms, one per monomial however it is
written; the value for every N, read at a concrete N, must be the exact value of the
formula there; and the chain rule through the sums and roots must give back the engine's
gradients, and only them.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.field import Value
from bnverify.engine.general import (
    ROOT,
    SUM_PREFIX,
    General,
    general_point,
    loss,
    total_derivative,
)
from bnverify.engine.sampling import exact_point
from bnverify.engine.truth import Truth
from bnverify.language.names import BATCH_SIZE

T = "gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
POST = "gamma/sqrt(var + eps)*g_y"  # the forum post's g_z: misses the batch statistics
FORMULAS = (
    "mean(z)",
    "var",
    "zhat",
    "y",
    "sum(g_y*y)",  # the loss
    "sum(g_y*zhat)",
    "(z - mu)^3*sum(g_y^2)/N",
    "1/(var + eps) - gamma*sum(g_y*z^2)",
    POST,
    T,
)


@pytest.fixture(scope="module")
def point(truth: Truth) -> General:
    return general_point(truth.model, truth.gradients)


def fraction(q) -> Fraction:
    return Fraction(int(q.numerator), int(q.denominator))


def exact_root(square: Fraction) -> Fraction:
    """The rational square root of a rational square (exact points make var + eps one)."""
    num, den = math.isqrt(square.numerator), math.isqrt(square.denominator)
    assert Fraction(num, den) ** 2 == square, square
    return Fraction(num, den)


def assignment(general: General, at: Point, i: int) -> dict[str, Fraction]:
    """Every generator's value at element i of a concrete point: N, leaves, sums, r."""
    model = general.model
    column = {name: [fraction(v) for v in at[name][:, 0]] for name in at.leaves}
    batch = {name for name, shape in model.inputs if shape} | {model.upstream}
    values = {name: column[name][i if name in batch else 0] for name in column}
    values[BATCH_SIZE] = Fraction(at.n)
    for atom, monomial in general.atoms.monomials.items():
        values[atom] = sum(
            math.prod(column[name][j] ** power for name, power in monomial) for j in range(at.n)
        )
    assert model.square is not None
    values[ROOT] = exact_root(fraction(evaluate(model.square.expr, at)[0, 0]))
    return values


def at_point(value: Value, values: dict[str, Fraction]) -> Fraction:
    """A Value at the given generator values (it holds no other atom)."""

    def poly(p) -> Fraction:
        names = p.context().names()
        return sum(
            (
                Fraction(int(c.p), int(c.q))
                * math.prod(values[n] ** int(e) for n, e in zip(names, m, strict=True) if e)
                for m, c in p.to_dict().items()
            ),
            Fraction(0),
        )

    return poly(value.num) / poly(value.den)


@pytest.mark.parametrize("text", FORMULAS)
@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_the_value_for_every_n_is_the_exact_value_at_each_n(point, truth, formula, text, n):
    expr = formula(text)
    general = point.evaluate(expr)
    for seed in range(2):
        at = exact_point(truth.model, truth.definitions, n, 1, np.random.default_rng(seed))
        exact = evaluate(expr, at)
        for i in range(exact.shape[0]):
            assert at_point(general, assignment(point, at, i)) == fraction(exact[i, 0])


@pytest.mark.parametrize("name", ["g_z", "g_gamma", "g_beta", "g_mu", "g_var", "g_zhat"])
def test_the_engines_gradients_for_every_n_are_their_exact_values(point, truth, name):
    at = exact_point(truth.model, truth.definitions, 4, 1, np.random.default_rng(7))
    for i in range(at[name].shape[0]):
        assert at_point(point[name], assignment(point, at, i)) == fraction(at[name][i, 0])


# -- sums by linearity ------------------------------------------------------------------

SCALARS = ("gamma", "beta", "2", "gamma*beta - 1/3", "1/(gamma^2 + 1)", "1/N")
ELEMENTS = ("z", "g_y", "z^2*g_y", "z*g_y + 3", "(z - mu)^2", "zhat", "gamma*z^3 - g_y")


@given(st.sampled_from(SCALARS), st.sampled_from(ELEMENTS), st.sampled_from(SCALARS))
def test_a_sum_is_linear(point, formula, a, x, b):
    a, x, b = (point.evaluate(formula(text)) for text in (a, x, b))
    assert point.total(a * x + b) == a * point.total(x) + point.size * b


@given(st.sampled_from(ELEMENTS), st.sampled_from(ELEMENTS))
def test_the_sum_of_a_sum_is_the_sum_of_the_sums(point, formula, x, y):
    x, y = point.evaluate(formula(x)), point.evaluate(formula(y))
    assert point.total(x + y) == point.total(x) + point.total(y)


def test_a_monomial_written_differently_is_the_same_atom(point, formula):
    pairs = [
        ("sum(z*g_y)", "sum(g_y*z)"),
        ("sum(z^2)", "sum(z*z)"),
        ("sum(z^2*g_y)", "sum(g_y*z*z)"),
        ("sum((z + 1)^2)", "sum(z^2) + 2*sum(z) + N"),
        ("mean(z*g_y)*N", "sum(z*g_y)"),
    ]
    for left, right in pairs:
        a, b = point.evaluate(formula(left)), point.evaluate(formula(right))
        assert (a.num, a.den) == (b.num, b.den), (left, right)
    assert len(point.atoms.monomials) == len(set(point.atoms.monomials.values()))


def test_a_sum_of_a_monomial_is_one_atom(point, formula):
    value = point.evaluate(formula("sum(z^3*g_y)"))
    (atom,) = point.field.uses(value.num)
    assert atom.startswith(SUM_PREFIX)
    assert point.atoms.monomials[atom] == (("z", 3), ("g_y", 1))


def test_a_sum_of_a_scalar_is_n_times_it(point, formula):
    assert point.evaluate(formula("sum(gamma)")) == point.size * point["gamma"]


# -- the chain rule ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["z", "gamma", "beta", "mu", "var", "zhat", "y"])
def test_the_chain_rule_through_sums_and_roots_gives_the_engines_gradient(truth, name):
    point = general_point(truth.model, truth.gradients, free=name)
    assert total_derivative(point, loss(point), name) == point[f"g_{name}"]


@pytest.mark.parametrize(
    ("text", "wrt"),
    [(POST, "z"), (f"(1 + 1/10000)*{T}", "z"), ("g_y", "beta"), ("sum(g_y*z)", "gamma")],
)
def test_a_wrong_gradient_is_not_the_chain_rules(point, formula, text, wrt):
    assert total_derivative(point, loss(point), wrt) != point.evaluate(formula(text, wrt=wrt))


def test_a_sum_of_a_quotient_is_one_atom_and_the_chain_rule_goes_through_it(truth, formula):
    point = general_point(truth.model, truth.gradients)
    value = point.evaluate(formula("sum(g_y/(z^2 + 1))"))
    (atom,) = point.field.uses(value.num)
    assert atom in point.atoms.opaque
    # d/dz_i of sum_j g_j / (z_j^2 + 1) is -2 g_i z_i / (z_i^2 + 1)^2, at element i.
    expected = point.evaluate(formula("-2*g_y*z/(z^2 + 1)^2"))
    assert total_derivative(point, value, "z") == expected


def test_eps_is_eliminated_by_the_square_rule(point):
    # var + eps = r^2 with r > 0, so sqrt(var + eps) is the generator r itself.
    assert not point.field.has("eps")
    r = point.field.gen(ROOT)
    assert point["var"] + point["eps"] == r * r
    assert point.field.sqrt(point["var"] + point["eps"]) == r


def test_an_unknown_name_is_a_key_error(point):
    with pytest.raises(KeyError):
        point["nowhere"]
