"""Tests for bnverify.judge.evidence: what each layer (truth, symbolic, exact, float64) finds.

A layer proves equality, proves a difference, or says why it could not: each is tried
on a right formula and a wrong one. The float64 layer only measures, never decides.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bnverify.judge import evidence
from bnverify.judge.records import (
    DIFFERENT,
    EQUAL,
    MEASURED,
    UNAVAILABLE,
    Case,
    FloatError,
)
from bnverify.language.tree import Sym
from bnverify.settings import Settings

FAST = Settings(max_symbolic_batch=3)
RIGHT = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
WRONG = "gamma/sqrt(var + eps)*g_y"  # the forum post's g_z: the batch statistics forgotten
# eps dropped from one term: SymPy gives way, the exact layer proves it wrong in intervals.
NO_EPS = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - (z - mu)/sqrt(var)*sum(g_y*zhat))"


@pytest.fixture(scope="module")
def case(truth, formula):
    def made(text: str, wrt: str = "z", settings: Settings = FAST) -> Case:
        return Case(truth, formula(text, wrt=wrt), wrt, settings)

    return made


def test_a_case_names_the_true_gradient_and_tries_other_formulas(case):
    c = case(WRONG)
    assert c.truth_name == "g_z"
    other = c.trying(Sym("g_y"))
    assert (other.expr, other.wrt, other.truth, other.settings) == (
        Sym("g_y"),
        c.wrt,
        c.truth,
        c.settings,
    )


def test_the_truth_layer_proves_every_gradient_the_candidate_uses(case):
    layer = evidence.truth_layer(case("g_zhat*gamma + g_mu/N", wrt="z"))
    assert layer.outcome == EQUAL
    # The upstream gradient g_y is given, not derived: it needs no proof.
    assert layer.detail == (
        "the engine's g_z, g_mu, g_zhat equal SymPy's direct differentiation of L at N = 1..3"
    )


def test_gradients_used_lists_wrt_first_and_never_the_upstream_one(case):
    assert evidence.gradients_used(case("g_zhat + g_y + g_mu")) == ["z", "mu", "zhat"]
    assert evidence.gradients_used(case("g_y", wrt="beta")) == ["beta"]


def test_the_truth_layer_is_unavailable_without_a_symbolic_batch(case):
    layer = evidence.truth_layer(case(RIGHT, settings=Settings(max_symbolic_batch=0)))
    assert layer.outcome == UNAVAILABLE and "--max-symbolic-batch 0" in layer.detail


def test_the_symbolic_layer_proves_a_right_formula_equal_for_every_n(case):
    layer = evidence.symbolic_layer(case(RIGHT))
    assert (layer.outcome, layer.detail) == (EQUAL, "proved equal for all inputs at N = 1..3")


def test_the_symbolic_layer_proves_a_wrong_formula_different_at_the_first_n(case):
    layer = evidence.symbolic_layer(case(WRONG))
    assert layer.outcome == DIFFERENT and layer.detail.startswith("proved different at N = 1")


def test_the_symbolic_layer_can_be_skipped(case):
    layer = evidence.symbolic_layer(case(RIGHT, settings=Settings(max_symbolic_batch=0)))
    assert (layer.outcome, layer.detail) == (UNAVAILABLE, "skipped (--max-symbolic-batch 0)")


def test_the_exact_layer_finds_a_right_formula_exactly_equal(case):
    layer = evidence.exact_layer(case(RIGHT))
    assert layer.outcome == EQUAL
    assert layer.detail.startswith("exactly equal at random rational points (N = 2, 3, 5, 16, 256")


def test_the_exact_layer_proves_a_wrong_formula_different(case):
    layer = evidence.exact_layer(case(WRONG))
    assert layer.outcome == DIFFERENT
    assert layer.detail == "different at a random rational point with N = 2"


def test_an_irrational_root_moves_the_exact_layer_to_intervals(case):
    # sqrt(2) is irrational: each point is evaluated in intervals, which overlap for a
    # right formula (consistent, not proved) and are disjoint for a wrong one (proved).
    right = evidence.exact_layer(case(f"sqrt(2)/sqrt(2) * ({RIGHT})"))
    assert right.outcome == EQUAL
    assert "5 evaluated in 256-bit intervals because of an irrational square root" in right.detail
    assert not right.detail.startswith("exactly equal")
    assert evidence.exact_layer(case(NO_EPS)).outcome == DIFFERENT


def test_the_exact_layer_says_when_the_candidate_is_undefined_everywhere(case):
    layer = evidence.exact_layer(case("1/(z - z)"))
    assert (layer.outcome, layer.detail) == (UNAVAILABLE, "undefined at every random point")


def test_compare_at_sets_shapes_apart_unless_asked_for_values(truth, formula):
    point = evidence.shared_exact_point(truth, 0, 3, 2)
    g_beta = point["g_beta"]  # one number per channel
    per_sample = np.broadcast_to(g_beta, (3, 2))
    assert evidence.values_differ(g_beta, per_sample, point)
    assert not evidence.values_differ(g_beta, per_sample, point, by_value=True)
    assert evidence.compare_at(point, formula(RIGHT), "g_z") == EQUAL
    assert evidence.compare_at(point, formula(WRONG), "g_z") == DIFFERENT
    assert evidence.compare_at(point, formula("1/(z - z)"), "g_z") == UNAVAILABLE


def test_float_errors_measure_rounding_on_a_right_formula_and_size_a_wrong_one(case):
    right = evidence.float_errors(case(RIGHT))
    assert [e.n for e in right] == list(FAST.float_sizes)
    assert max(e.largest for e in right) < 1e-6
    wrong = evidence.float_errors(case(WRONG))
    assert min(e.median for e in wrong) > 1e-3


def test_the_float64_layer_never_decides(case):
    for text in (RIGHT, WRONG):
        layer = evidence.float_layer(evidence.float_errors(case(text)))
        assert layer.outcome == MEASURED
        assert "float64 alone cannot tell rounding from a small error" in layer.detail
    assert evidence.float_layer(()).outcome == UNAVAILABLE
    infinite = (FloatError(2, float("inf"), float("inf")),)
    assert evidence.float_layer(infinite).outcome == UNAVAILABLE


def test_points_are_shared_and_seeded(truth):
    assert evidence.shared_float_point(truth, 0, 16, 4) is evidence.shared_float_point(
        truth, 0, 16, 4
    )
    first = evidence.rng_for(7, "exact", 2).integers(0, 1 << 30, 4)
    assert list(evidence.rng_for(7, "exact", 2).integers(0, 1 << 30, 4)) == list(first)
    assert list(evidence.rng_for(8, "exact", 2).integers(0, 1 << 30, 4)) != list(first)


def test_the_seed_changes_the_points_but_not_the_outcome(case):
    other = case(WRONG, settings=replace(FAST, seed=5))
    assert evidence.exact_layer(other).outcome == DIFFERENT
    assert evidence.exact_layer(case(RIGHT, settings=replace(FAST, seed=5))).outcome == EQUAL
