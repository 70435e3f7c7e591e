"""Reverse accumulation at the level of the vector language."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from bnverify.engine.arithmetic import EXACT
from bnverify.engine.backprop import backprop
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.printing import ascii
from bnverify.engine.truth import truth_of
from bnverify.model.graph import Model, parse_model


def test_batchnorm_gradients_sum_over_consumers(truth, formula):
    terms = dict(truth.gradients.terms)
    # mu feeds var and zhat; z feeds mu, var and zhat.
    assert [t.consumer for t in terms["mu"]] == ["zhat", "var"]
    assert sorted(t.consumer for t in terms["z"]) == ["mu", "var", "zhat"]
    assert truth.formula("beta") == formula("sum(g_y)")
    assert truth.formula("gamma") == formula("sum(g_y*zhat)")
    assert truth.formula("zhat") == formula("g_y*gamma")


@pytest.mark.parametrize(
    ("name", "closed"),
    [
        ("z", "gamma*(g_y*N - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var + eps))"),
        ("gamma", "sum(g_y*zhat)"),
        ("beta", "sum(g_y)"),
        ("zhat", "g_y*gamma"),
        ("var", "-gamma*sum(g_y*zhat)/(2*(var + eps))"),
        ("mu", "-gamma*sum(g_y)/sqrt(var + eps)"),
    ],
)
def test_closed_forms_of_batchnorm(truth, name, closed):
    assert ascii(truth.algebra.gradient(name)) == closed


def test_freezing_the_statistics_leaves_only_the_direct_path(model):
    frozen = truth_of(model, ("mu", "var"))
    assert ascii(frozen.algebra.gradient("z")) == "g_y*gamma/sqrt(var + eps)"


TOY = """
name = "toy"
output = "y"
[inputs]
x = "batch"
a = "scalar"
[nodes]
s = "sum(x*x)"
y = "a*x + s + mean(a)"
"""


def test_a_broadcast_scalar_receives_the_sum_of_its_flows():
    toy = parse_model(TOY, "toy.toml")
    assert isinstance(toy, Model), toy
    grads = backprop(toy)
    # dL/da = sum(g_y*x) + sum(g_y) (mean of a broadcast scalar is the scalar itself).
    x = np.array([[Fraction(1)], [Fraction(2)], [Fraction(-3)]], dtype=object)
    g = np.array([[Fraction(5)], [Fraction(7)], [Fraction(11)]], dtype=object)
    leaves = {"x": x, "a": np.array([[Fraction(2)]], dtype=object), "g_y": g}
    point = Point(EXACT, 3, 1, leaves, dict(toy.nodes) | grads.formulas)
    assert evaluate(grads.formula("a"), point)[0, 0] == 5 * 1 + 7 * 2 - 11 * 3 + 23
    # dL/dx_k = a*g_k + sum(g) * 2*x_k
    expected = [2 * 5 + 23 * 2 * 1, 2 * 7 + 23 * 2 * 2, 2 * 11 + 23 * 2 * -3]
    assert list(evaluate(grads.formula("x"), point).reshape(-1)) == expected
