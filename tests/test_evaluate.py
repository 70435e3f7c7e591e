"""Evaluating a resolved tree at a point: exact values in rationals, the same in float64.

The point holds the given leaves (inputs, constants, the upstream gradient); nodes and
gradients are derived from the model's formulas on demand. Values are arrays with one
row per sample and one column per channel.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnverify.engine.arithmetic import EXACT, FLOAT, Inexact, Undefined
from bnverify.engine.evaluate import Point, evaluate
from bnverify.language.tree import Apply

F = Fraction


def array(rows, arith=EXACT) -> np.ndarray:
    """Rows of numbers (one list per sample, one entry per channel) in a number system."""
    return np.array([[arith.scalar(F(v)) for v in row] for row in rows], dtype=arith.dtype)


def column(*values, arith=EXACT) -> np.ndarray:
    return array([[v] for v in values], arith)


def fractions(value: np.ndarray) -> list[list[Fraction]]:
    return [[F(int(v.numerator), int(v.denominator)) for v in row] for row in value]


# z = (1, 3): mu = 2, var = 1, and eps = 3 makes var + eps = 4, so every value is rational.
LEAVES = {"z": (1, 3), "gamma": (2,), "beta": (1,), "eps": (3,), "g_y": (1, 0)}


def point(truth, arith=EXACT, **changes) -> Point:
    leaves = {name: column(*values, arith=arith) for name, values in (LEAVES | changes).items()}
    n = len(leaves["z"])
    return Point(arith, n, 1, leaves, truth.definitions)


def test_the_forward_pass_at_a_point(truth):
    at = point(truth)
    assert fractions(at["mu"]) == [[2]]
    assert fractions(at["var"]) == [[1]]
    assert fractions(at["zhat"]) == [[F(-1, 2)], [F(1, 2)]]
    assert fractions(at["y"]) == [[0], [2]]
    assert fractions(at["N"]) == [[2]]


def test_the_true_gradient_exactly(truth):
    # gamma/(N sqrt(var + eps)) (N g_y - sum(g_y) - zhat sum(g_y zhat)), by hand.
    assert fractions(evaluate(truth.formula("z"), point(truth))) == [[F(3, 8)], [F(-3, 8)]]
    assert fractions(evaluate(truth.formula("gamma"), point(truth))) == [[F(-1, 2)]]
    assert fractions(evaluate(truth.formula("beta"), point(truth))) == [[1]]


def test_the_true_gradient_in_float64(truth):
    value = evaluate(truth.formula("z"), point(truth, FLOAT))
    assert value.dtype == np.float64
    assert value.tolist() == [[0.375], [-0.375]]


def test_float64_goes_where_exact_arithmetic_cannot(truth):
    # var + eps = 2: no rational square root, so exact arithmetic refuses by name.
    with pytest.raises(Inexact):
        evaluate(truth.formula("z"), point(truth, eps=(1,)))
    # 4 gamma eps (g_1 - g_2) / ((z_1 - z_2)^2 + 4 eps)^(3/2) at N = 2: 8 / 8^(3/2).
    value = evaluate(truth.formula("z"), point(truth, FLOAT, eps=(1,)))
    assert value[:, 0] == pytest.approx([8**-0.5, -(8**-0.5)], rel=1e-15)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sum(z)", [[4]]),
        ("mean(z)", [[2]]),
        ("dot(z, g_y)", [[1]]),
        ("sum(gamma)", [[4]]),  # a scalar broadcast over the batch sums to N times itself
        ("mean(gamma)", [[2]]),
        ("N*gamma - 1", [[3]]),
        ("z*gamma + beta", [[3], [7]]),
        ("z^(-1)", [[1], [F(1, 3)]]),
        ("(var + eps)^(3/2)", [[8]]),
        ("(var + eps)^(-1/2)", [[F(1, 2)]]),
        ("sqrt(z^2)", [[1], [3]]),
        ("-zhat/2", [[F(1, 4)], [F(-1, 4)]]),
    ],
)
def test_operators_exactly(truth, formula, text, expected):
    assert fractions(evaluate(formula(text), point(truth))) == expected


def test_ones_is_a_batch_of_ones(truth):
    at = point(truth)
    assert fractions(evaluate(Apply("ones", ()), at)) == [[1], [1]]
    assert fractions(evaluate(Apply("sum", (Apply("ones", ()),)), at)) == [[2]]


@pytest.mark.parametrize("text", ["1/(z - mu - zhat)", "gamma/(beta - 1)", "(z - z)^(-1)"])
def test_division_by_zero_is_undefined(truth, formula, text):
    # zhat = (z - mu)/1 here, so z - mu - zhat = 0; beta = 1; z - z = 0.
    with pytest.raises(Undefined):
        evaluate(formula(text), point(truth, eps=(0,)))


def test_the_root_of_a_negative_number_is_undefined(truth, formula):
    with pytest.raises(Undefined):
        evaluate(formula("sqrt(z - 2)"), point(truth))  # z_1 - 2 = -1


def test_channels_are_independent(truth):
    two = {name: array([[v, 2 * v + 1] for v in values]) for name, values in LEAVES.items()}
    two["eps"] = array([[3, 12]])  # var is 4 in channel 2: var + eps = 16
    value = fractions(evaluate(truth.formula("z"), Point(EXACT, 2, 2, two, truth.definitions)))
    second = {name: column(*[2 * v + 1 for v in values]) for name, values in LEAVES.items()}
    second["eps"] = column(12)
    alone = fractions(evaluate(truth.formula("z"), Point(EXACT, 2, 1, second, truth.definitions)))
    assert [row[0] for row in value] == [F(3, 8), F(-3, 8)]
    assert [row[1] for row in value] == [row[0] for row in alone]


def test_a_point_is_a_mapping_of_leaves_and_derived_names(truth):
    at = point(truth)
    assert set(at) == set(LEAVES) | set(truth.definitions) | {"N"}
    assert len(at) == len(set(at))
    with pytest.raises(KeyError):
        at["w"]


def test_a_given_node_is_not_derived(truth, formula):
    at = point(truth).with_leaves(mu=column(0))
    assert fractions(at["mu"]) == [[0]]
    assert fractions(evaluate(formula("z - mu"), at)) == [[1], [3]]
    assert fractions(point(truth)["mu"]) == [[2]]  # the original point is unchanged


RATIONALS = st.fractions(min_value=-20, max_value=20, max_denominator=12)


@given(
    zs=st.lists(RATIONALS, min_size=1, max_size=6),
    upstream=st.lists(RATIONALS, min_size=6, max_size=6),
    gamma=RATIONALS,
)
def test_the_true_gradient_agrees_with_fraction_arithmetic(truth, zs, upstream, gamma):
    n, gs = len(zs), upstream[: len(zs)]
    mu = sum(zs, F(0)) / n
    var = sum(((z - mu) ** 2 for z in zs), F(0)) / n
    root = var + 1  # var + eps = root^2, with eps = root^2 - var > 0
    eps = root * root - var
    zhat = [(z - mu) / root for z in zs]
    sum_g, sum_gz = sum(gs, F(0)), sum((g * h for g, h in zip(gs, zhat, strict=True)), F(0))
    expected = [
        gamma / (n * root) * (n * g - sum_g - h * sum_gz) for g, h in zip(gs, zhat, strict=True)
    ]
    leaves = {"z": zs, "g_y": gs, "gamma": [gamma], "beta": [F(0)], "eps": [eps]}
    at = Point(EXACT, n, 1, {k: column(*v) for k, v in leaves.items()}, truth.definitions)
    assert [row[0] for row in fractions(evaluate(truth.formula("z"), at))] == expected
    in_float = Point(
        FLOAT, n, 1, {k: column(*v, arith=FLOAT) for k, v in leaves.items()}, truth.definitions
    )
    assert evaluate(truth.formula("z"), in_float)[:, 0] == pytest.approx(
        [float(e) for e in expected], rel=1e-9, abs=1e-9
    )
