"""Tests for bnverify.judge.proof: match only when proved for every N, diverge only with an
exactly checked counterexample, and undecided otherwise.

The formulas here were written to fool a verifier that samples batch sizes, draws inputs
from a small grid or counts overlapping intervals as equal (the issue "Verdicts that are
proofs"); each must get the verdict its mathematics gives.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnverify import check_formula
from bnverify.judge import proof
from bnverify.judge.records import DIFFERENT, EQUAL, UNAVAILABLE, Case
from bnverify.model.graph import parse_model
from bnverify.model.sections import Probe
from bnverify.settings import Settings

T = "gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
SETTINGS = Settings()


@pytest.fixture(scope="module")
def decide(truth, formula):
    def decided(text: str, wrt: str = "z") -> proof.Decision:
        return proof.decide(Case(truth, formula(text, wrt=wrt), wrt, SETTINGS))

    return decided


def test_the_truth_is_proved_equal_for_every_n(decide):
    found = decide(T)
    assert (found.outcome, found.detail) == (EQUAL, "proved equal for every N ≥ 1")
    assert decide("sum(g_y*zhat)", wrt="gamma").outcome == EQUAL
    assert decide("sum(g_y)", wrt="beta").outcome == EQUAL


@pytest.mark.parametrize(
    ("sizes", "first_other"),
    [
        ((1, 2, 3, 4, 5, 6, 7, 8, 16, 256), 9),  # the issue's: every size sampled before
        ((2, 3, 5), 4),  # N = 1 is searched last: degenerate there, and less telling
        ((1, 2), 3),
    ],
)
def test_a_polynomial_in_n_vanishing_at_chosen_sizes_diverges_elsewhere(decide, sizes, first_other):
    factor = "*".join(f"(N-{n})" for n in sizes)
    found = decide(f"{T} + {factor}*g_y")
    assert found.outcome == DIFFERENT
    assert found.counterexample is not None and found.counterexample.n == first_other
    assert found.counterexample.n not in sizes


def test_a_symmetric_function_zero_for_small_n_diverges_at_the_first_n_it_is_not(decide):
    # 6 e3 = p1^3 - 3 p1 p2 + 2 p3 (Newton): zero for every input when N <= 2.
    e3 = "(sum(z)^3 - 3*sum(z)*sum(z^2) + 2*sum(z^3))"
    found = decide(f"{T} + {e3}*g_y")
    assert found.outcome == DIFFERENT and found.counterexample.n == 3


def test_a_cancellation_of_huge_numbers_hides_no_difference(decide):
    found = decide(f"{T} + g_y*((1e100 + sqrt(2)) - 1e100)/sqrt(2)")
    assert found.outcome == DIFFERENT
    # The sqrt(2) atoms cancel exactly in the field, with no interval involved.
    assert decide(f"{T} * (sqrt(2)*sqrt(2))/2").outcome == EQUAL
    assert decide(f"{T} + g_y*(sqrt(8) - 2*sqrt(2))").outcome == EQUAL


def test_a_candidate_undefined_at_n_1_is_not_a_match_however_it_is_written(decide):
    for text in (f"{T}*var/var", f"var*{T}/var", f"{T}*(z - mu)/(z - mu)"):
        found = decide(text)
        assert found.outcome == DIFFERENT, text
        assert found.undefined_at == (("N", 1),), text


def test_a_divisor_zero_only_at_a_large_n_is_found_by_its_content(decide):
    found = decide(f"{T}*(N - 1000000)/(N - 1000000)")
    assert found.outcome == DIFFERENT and found.undefined_at == (("N", 1000000),)


def test_a_candidate_undefined_everywhere_is_different(decide):
    assert decide("g_y/(z - z)").outcome == DIFFERENT


def test_what_cannot_be_proved_is_undecided_never_a_match(decide):
    # sum(z^2) - N*mu^2 >= 0 is true, but neither its build nor its coefficients show it.
    found = decide(f"{T} + sqrt(sum(z^2) - N*mu^2) - sqrt(sum(z^2) - N*mu^2)")
    assert found.outcome == UNAVAILABLE and "square root" in found.detail
    # var is a mean of squares: its root is defined by how it is built.
    assert decide(f"{T} + sqrt(var) - sqrt(var)").outcome == EQUAL


def test_a_negative_square_root_where_the_truth_is_defined_is_a_counterexample(decide):
    found = decide(f"{T} + sqrt(-var - 1) - sqrt(-var - 1)")
    assert found.outcome == DIFFERENT
    assert found.counterexample.candidate[0].startswith("undefined")


def test_a_truth_undefined_at_n_1_starts_its_proof_at_n_2(tmp_path):
    text = (
        'name = "unbiased"\noutput = "y"\nsquare = { expr = "var + eps", solve = "eps" }\n'
        '[inputs]\nz = "batch"\ngamma = "scalar"\nbeta = "scalar"\n[constants]\neps = 1e-5\n'
        '[nodes]\nmu = "mean(z)"\nvar = "sum((z - mu)^2)/(N - 1)"\n'
        'zhat = "(z - mu)/sqrt(var + eps)"\ny = "gamma*zhat + beta"\n'
    )
    model = parse_model(text, "unbiased.toml")
    verdict = check_formula("sum(g_y*zhat)", "gamma", model=model)
    assert (verdict.kind, verdict.message) == ("match", "proved equal for every N ≥ 2")


def test_conditions_are_proved_not_sampled(truth, formula):
    case = Case(truth, formula(f"{T} + (N-1)*(N-2)*(N-3)*(N-6)*g_y"), "z", SETTINGS)
    assert proof.equal_under(case, Probe("N = 1", sizes=(("n", 1),)))
    # The probes once sampled N = 2, 3, 6, where this residual vanishes: eps = 0 is false.
    assert not proof.equal_under(case, Probe("eps = 0", set=(("eps", Fraction(0)),)))
    eps = Case(truth, formula(f"{T}*(1 + eps)"), "z", SETTINGS)
    assert proof.equal_under(eps, Probe("eps = 0", set=(("eps", Fraction(0)),)))
    frozen = Case(truth, formula("gamma/sqrt(var + eps)*g_y"), "z", SETTINGS)
    assert proof.equal_under(frozen, Probe("frozen", freeze=("mu", "var")))


def test_content_roots_are_the_sizes_where_a_value_vanishes_for_every_input(truth, formula):
    point = proof.every_n(truth)
    value = point.evaluate(formula("(N-3)*(N-7)*(2*N-1)*g_y"))
    assert proof.content_roots(point, value, "n") == [3, 7]


@settings(max_examples=15, deadline=None)
@given(st.sets(st.integers(1, 40), min_size=1, max_size=6))
def test_any_finite_set_of_sizes_hides_nothing(truth, formula, sizes):
    # Truth plus a polynomial in N that vanishes exactly at the chosen sizes.
    factor = "*".join(f"(N-{n})" for n in sorted(sizes))
    found = proof.decide(Case(truth, formula(f"{T} + {factor}*g_y"), "z", SETTINGS))
    assert found.outcome == DIFFERENT
    assert found.counterexample.n not in sizes


def test_a_root_of_eps_is_defined_because_eps_is_positive(decide):
    # eps is a positive constant, and var a mean of squares: both roots are defined.
    assert decide(f"{T}*sqrt(eps)/sqrt(eps)").outcome == EQUAL
    assert decide(f"{T}*sqrt(var + 2*eps)/sqrt(var + 2*eps)").outcome == EQUAL
    # N*var written out is never negative too, but neither its build nor its
    # coefficients show it: undecided, never a match.
    spelled = "sum(z^2) - N*mu^2"
    undecided = decide(f"{T}*sqrt({spelled} + eps)/sqrt({spelled} + eps)")
    assert undecided.outcome == UNAVAILABLE
    assert "under a square root" in undecided.detail


def test_a_root_of_a_square_is_defined_whatever_its_sign(decide):
    assert decide(f"{T}*sqrt(z^2)/sqrt(z^2)").outcome == EQUAL
    # (z - mu)^2 is 0 for every input at N = 1: undefined there, equal elsewhere.
    assert decide(f"{T}*sqrt((z - mu)^2)/sqrt((z - mu)^2)").undefined_at == (("N", 1),)
