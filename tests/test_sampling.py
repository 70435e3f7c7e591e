"""Points to evaluate at: small exact rationals where every gradient stays rational.

What the layers of evidence rely on: an exact point never makes a square root irrational
(the model's square rule picks eps so that var + eps is a rational square), a seed gives
the same point every time, the small points come simplest first, and a float64 point
uses the constants' typical values.
"""

from __future__ import annotations

from fractions import Fraction

import gmpy2
import numpy as np
import pytest

from bnverify.engine.arithmetic import FLOAT
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import (
    exact_point,
    float_point,
    leaf_shapes,
    small_points,
    square_base,
)

DENOMINATORS = set(range(1, 9))  # sampling.GRID
GRADIENTS = ("z", "gamma", "beta", "mu", "var", "zhat")


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def as_lists(value: np.ndarray) -> list:
    return [[Fraction(int(v.numerator), int(v.denominator)) for v in row] for row in value]


def is_rational_square(q) -> bool:
    return q >= 0 and gmpy2.is_square(gmpy2.numer(q)) and gmpy2.is_square(gmpy2.denom(q))


def test_leaf_shapes_are_inputs_and_the_upstream_gradient(model):
    assert leaf_shapes(model, 5, 3) == {
        "z": (5, 3),
        "gamma": (1, 3),
        "beta": (1, 3),
        "g_y": (5, 3),
    }


@pytest.mark.parametrize(("n", "channels"), [(1, 1), (2, 4), (5, 3), (16, 2)])
def test_an_exact_point_has_small_rationals_in_the_leaf_shapes(model, truth, n, channels):
    at = exact_point(model, truth.definitions, n, channels, rng(n))
    for name, shape in leaf_shapes(model, n, channels).items():
        value = at[name]
        assert value.shape == shape, name
        for q in value.ravel():
            assert isinstance(q, type(gmpy2.mpq(1, 2))), name
            assert abs(gmpy2.numer(q)) <= 9 and gmpy2.denom(q) in DENOMINATORS, (name, q)
    # Scalars are drawn non-zero: a zero gamma would hide every error it multiplies.
    assert all(q != 0 for name in ("gamma", "beta") for q in at[name].ravel())


@pytest.mark.parametrize("seed", range(8))
def test_an_exact_point_keeps_every_gradient_rational(model, truth, formula, seed):
    at = exact_point(model, truth.definitions, 3, 4, rng(seed))
    eps = at["eps"]
    assert eps.shape == (1, 4) and all(q > 0 for q in eps.ravel())
    assert all(is_rational_square(q) for q in (at["var"] + eps).ravel())
    for name in GRADIENTS:  # none raises Inexact
        assert evaluate(truth.formula(name), at).shape == at[name].shape
    assert evaluate(formula("sqrt(var + eps)"), at).shape == (1, 4)


def test_the_same_seed_gives_the_same_point(model, truth):
    first = exact_point(model, truth.definitions, 4, 2, rng(11))
    again = exact_point(model, truth.definitions, 4, 2, rng(11))
    other = exact_point(model, truth.definitions, 4, 2, rng(12))
    names = ("z", "gamma", "beta", "g_y", "eps")
    assert all(as_lists(first[n]) == as_lists(again[n]) for n in names)
    assert any(as_lists(first[n]) != as_lists(other[n]) for n in names)


def test_settings_fix_a_value_everywhere(model, truth):
    at = exact_point(model, truth.definitions, 3, 2, rng(0), {"gamma": Fraction(1)})
    assert as_lists(at["gamma"]) == [[1, 1]]
    at = exact_point(model, truth.definitions, 3, 2, rng(0), {"eps": Fraction(0)})
    assert as_lists(at["eps"]) == [[0, 0]]  # a given constant is not solved for


def test_square_base_is_the_square_expression_without_its_constant(model, truth):
    at = exact_point(model, truth.definitions, 4, 3, rng(5))
    assert as_lists(square_base(model, at)) == as_lists(at["var"])


def test_small_points_start_with_the_simplest(model, truth):
    points = list(small_points(model, truth.definitions, 3))
    first = points[0]
    assert as_lists(first["z"]) == [[0], [2], [1]]
    assert as_lists(first["g_y"]) == [[1], [0], [0]]  # upstream on one sample first
    assert as_lists(first["gamma"]) == as_lists(first["beta"]) == [[0]]
    # var = 2/3 at z = (0, 2, 1); the next quarter above its root is 1: eps = 1 - 2/3.
    assert as_lists(first["eps"]) == [[Fraction(1, 3)]]
    assert len(points) == 2 * 2 * 4 * 4  # z and g_y patterns, gamma and beta values


def test_small_points_are_deterministic_bounded_and_exact(model, truth):
    for n in (1, 2, 4):
        points = list(small_points(model, truth.definitions, n))
        again = list(small_points(model, truth.definitions, n))
        assert 0 < len(points) <= 200
        assert [as_lists(p["z"]) for p in points] == [as_lists(p["z"]) for p in again]
        for at in points:
            assert all(is_rational_square(q) for q in (at["var"] + at["eps"]).ravel())
            assert at["eps"][0, 0] > 0
            evaluate(truth.formula("z"), at)  # rational: no Inexact


def test_small_points_take_settings(model, truth):
    for at in small_points(model, truth.definitions, 2, {"beta": Fraction(5)}):
        assert as_lists(at["beta"]) == [[5]]


def test_a_float_point_uses_the_typical_constants(model, truth):
    at = float_point(model, truth.definitions, 16, 3, rng(0))
    assert at.arith is FLOAT
    assert at["z"].shape == at["g_y"].shape == (16, 3)
    assert at["z"].dtype == np.float64
    assert at["eps"].tolist() == [[1e-5, 1e-5, 1e-5]]
    scalars = np.abs(np.concatenate([at["gamma"], at["beta"]]))
    assert ((scalars >= 0.5) & (scalars <= 2.0)).all()
    again = float_point(model, truth.definitions, 16, 3, rng(0))
    assert (again["z"] == at["z"]).all()
