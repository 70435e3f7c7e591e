"""Tests for bnverify.judge.diagnosis: why a candidate diverges.

The shape and the reduction that fixes it, the missing terms (truth minus candidate),
a counterexample checked again here by hand in exact arithmetic, and the model's probes
under which a wrong formula would still hold.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy as sp

from bnverify.judge import diagnosis
from bnverify.judge.records import Case, Counterexample
from bnverify.language.shapes import BATCH, SCALAR
from bnverify.settings import Settings

SETTINGS = Settings(max_symbolic_batch=3)
RIGHT = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
FORUM_G_Z = "gamma/sqrt(var + eps)*g_y"
FROZEN = "batch statistics held constant (mu and var treated as constants, as in eval mode)"


@pytest.fixture(scope="module")
def case(truth, formula):
    def made(text: str, wrt: str = "z") -> Case:
        return Case(truth, formula(text, wrt=wrt), wrt, SETTINGS)

    return made


def test_a_candidate_of_the_right_shape_has_no_shape_finding(case):
    assert diagnosis.shape_finding(case(FORUM_G_Z), BATCH) is None
    assert diagnosis.shape_finding(case("sum(g_y)", wrt="beta"), SCALAR) is None


def test_summing_over_the_batch_fixes_a_per_sample_g_beta(case):
    found = diagnosis.shape_finding(case("g_y", wrt="beta"), BATCH)
    assert found.fix == "sum"
    assert found.message == (
        "it is one number per sample, but the gradient with respect to beta is one number "
        "per channel; summing it over the batch (sum) gives the truth"
    )


def test_averaging_over_the_batch_fixes_n_times_the_per_sample_value(case):
    found = diagnosis.shape_finding(case("N*g_y", wrt="beta"), BATCH)
    assert found.fix == "mean" and "averaging it over the batch (mean)" in found.message


def test_no_reduction_fixes_a_wrong_per_sample_formula(case):
    found = diagnosis.shape_finding(case("2*g_y", wrt="beta"), BATCH)
    assert found.fix is None
    assert found.message.endswith("and neither its sum nor its mean over the batch matches")


def test_a_per_channel_formula_for_a_per_sample_gradient_has_no_fix(case):
    found = diagnosis.shape_finding(case("sum(g_y)"), SCALAR)
    assert found.fix is None
    assert found.message == (
        "it is one number per channel, but the gradient with respect to z is one number per sample"
    )


def test_agrees_screens_a_formula_at_random_exact_points(case):
    assert diagnosis.agrees(case(RIGHT))
    assert not diagnosis.agrees(case(FORUM_G_Z))


def test_the_residual_is_the_missing_terms_for_every_n(case):
    found = diagnosis.residual(case(FORUM_G_Z))
    assert found.ascii == "-gamma*(zhat*sum(g_y*zhat) + sum(g_y))/(N*sqrt(var + eps))"
    assert r"\sum_{j} g_{y,j}" in found.latex


def test_the_residual_of_a_term_too_many_is_that_term_negated(case):
    assert diagnosis.residual(case(f"{RIGHT} + g_y")).ascii == "-g_y"
    assert diagnosis.residual(case(RIGHT)).ascii == "0"


def test_a_candidate_undefined_for_every_input_has_no_residual(case):
    assert diagnosis.residual(case("1/(z - z)")) is None


def test_the_counterexample_is_the_smallest_point_and_checks_out_by_hand(case):
    ce = diagnosis.counterexample(case(FORUM_G_Z))
    assert ce.n == 2
    inputs = {name: [Fraction(v) for v in values] for name, values in ce.inputs}
    assert set(inputs) == {"z", "gamma", "beta", "eps", "g_y"}
    truth, candidate = _by_hand(inputs, ce.n)
    assert [Fraction(v) for v in ce.truth] == truth
    assert [Fraction(v) for v in ce.candidate] == candidate
    assert truth != candidate


def _by_hand(inputs: dict[str, list[Fraction]], n: int) -> tuple[list, list]:
    """Batch Norm's g_z and the forum post's formula, from the paper, in exact rationals."""
    z, g_y = inputs["z"], inputs["g_y"]
    (gamma,), (eps,) = inputs["gamma"], inputs["eps"]
    mu = sum(z) / n
    var = sum((x - mu) ** 2 for x in z) / n
    root = sp.sqrt(sp.Rational(var + eps))
    assert root.is_rational  # eps is drawn to make var + eps a square
    root = Fraction(int(root.p), int(root.q))
    zhat = [(x - mu) / root for x in z]
    total, dot = sum(g_y), sum(g * h for g, h in zip(g_y, zhat, strict=True))
    truth = [gamma / (n * root) * (n * g - total - h * dot) for g, h in zip(g_y, zhat, strict=True)]
    return truth, [gamma / root * g for g in g_y]


def test_a_right_formula_has_no_counterexample(case):
    assert diagnosis.counterexample(case(RIGHT)) is None


def test_a_shape_counterexample_shows_different_numbers(case):
    ce = diagnosis.counterexample(case("0"))
    assert ce is not None and set(ce.truth) != set(ce.candidate)
    # Per-sample, but equal to the truth everywhere: no point shows different numbers.
    assert diagnosis.counterexample(case("sum(g_y*zhat) + 0*z", wrt="gamma")) is None


def test_a_per_channel_value_serves_every_sample_of_a_counterexample():
    ce = Counterexample((("N", 3),), (("z", ("1", "2", "3")), ("gamma", ("5",))), ("5",), ("6",))
    labels, rows, scalars = ce.table()
    assert labels == ["1", "2", "3"] and scalars == [("gamma", "5")]
    assert rows == [("1", "5", "6"), ("2", "5", "6"), ("3", "5", "6")]


def test_the_forum_post_matches_only_with_the_statistics_held_constant(case):
    assert diagnosis.conditions(case(FORUM_G_Z)) == (FROZEN,)


def test_dropping_eps_matches_when_eps_is_zero(case):
    no_eps = "gamma/(N*sqrt(var)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
    assert "eps = 0" in diagnosis.conditions(case(no_eps))


def test_a_per_sample_g_beta_matches_at_n_1(case):
    assert diagnosis.conditions(case("g_y", wrt="beta")) == ("N = 1",)


def test_a_right_formula_matches_under_every_probe_that_keeps_the_truth(case, model):
    # Setting a value or the batch size keeps a right formula right; holding the
    # statistics constant changes the truth itself, so the training-mode formula fails it.
    kept = tuple(p.condition for p in model.probes if not p.freeze)
    assert diagnosis.conditions(case(RIGHT)) == kept


def test_no_condition_holds_where_the_candidate_is_undefined(case):
    assert diagnosis.conditions(case("1/(z - z)")) == ()
