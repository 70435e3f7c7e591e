"""Tests for bnverify.judge.evidence: the truth's proof, comparisons at points, float64.

The truth layer proves every engine gradient for every N; a comparison at a point
proves a difference or finds none (intervals prove differences only); the float64
layer only measures, never decides.
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
        "the engine's g_z, g_mu, g_zhat are the derivative of L, proved for every N"
    )


def test_the_truth_proof_finds_a_wrong_engine_gradient(truth):
    # A truth whose g_z formula is not the derivative of L is a bug, and the proof says so.
    from dataclasses import replace as swap

    from bnverify.engine.truth import Truth

    formulas = dict(truth.gradients.formulas)
    wrong_terms = tuple(
        (name, terms if name != "z" else terms[:1]) for name, terms in truth.gradients.terms
    )
    broken = Truth(truth.model, swap(truth.gradients, terms=wrong_terms))
    assert broken.gradients.formulas["g_z"] != formulas["g_z"]
    assert evidence._truth_proof(broken, "z") == DIFFERENT


def test_gradients_used_lists_wrt_first_and_never_the_upstream_one(case):
    assert evidence.gradients_used(case("g_zhat + g_y + g_mu")) == ["z", "mu", "zhat"]
    assert evidence.gradients_used(case("g_y", wrt="beta")) == ["beta"]


def test_a_wrong_formula_has_an_exact_counterexample_and_a_right_one_none(case):
    found = evidence.counterexample_at(case(WRONG), 3, 2)
    assert found is not None and found.n == 3 and found.truth != found.candidate
    assert evidence.counterexample_at(case(RIGHT), 3, 2) is None


def test_an_irrational_difference_is_proved_in_intervals_of_growing_precision(case, truth):
    # eps dropped from one term: sqrt(var) is irrational, so the values are intervals;
    # the cancellation in (1e100 + sqrt(2)) - 1e100 needs more than 256 bits to see.
    assert evidence.counterexample_at(case(NO_EPS), 2, 2) is not None
    hidden = f"{RIGHT} + g_y*((1e100 + sqrt(2)) - 1e100)/sqrt(2)"
    found = evidence.counterexample_at(case(hidden), 2, 2)
    assert found is not None and any(v.startswith("≈") for v in found.candidate)
    point = evidence.shared_exact_point(truth, 0, 2, 1)
    overlap_only = f"{RIGHT} + g_y*(sqrt(2) - sqrt(2))"
    assert evidence.compare_at(point, case(overlap_only).expr, "g_z") != DIFFERENT


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


def test_the_float64_layer_never_decides(case, truth):
    for text in (RIGHT, WRONG):
        layer = evidence.float_layer(truth, evidence.float_errors(case(text)))
        assert layer.outcome == MEASURED
        assert "float64 alone cannot tell rounding from a small error" in layer.detail
        assert "(N = 16, 256, 4096; eps at its typical value)" in layer.detail
    assert evidence.float_layer(truth, ()).outcome == UNAVAILABLE
    infinite = (FloatError(2, float("inf"), float("inf")),)
    assert evidence.float_layer(truth, infinite).outcome == UNAVAILABLE


def test_points_are_shared_and_seeded(truth):
    assert evidence.shared_float_point(truth, 0, 16, 4) is evidence.shared_float_point(
        truth, 0, 16, 4
    )
    first = evidence.rng_for(7, "exact", 2).integers(0, 1 << 30, 4)
    assert list(evidence.rng_for(7, "exact", 2).integers(0, 1 << 30, 4)) == list(first)
    assert list(evidence.rng_for(8, "exact", 2).integers(0, 1 << 30, 4)) != list(first)


def test_the_seed_changes_the_points_but_not_the_outcome(case):
    other = case(WRONG, settings=replace(FAST, seed=5))
    assert evidence.counterexample_at(other, 2, 1) is not None
    assert evidence.counterexample_at(case(RIGHT, settings=replace(FAST, seed=5)), 2, 1) is None
