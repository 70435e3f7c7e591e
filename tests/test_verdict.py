"""Verdicts and diagnoses: the forum post, the paper, and the edges of exactness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bnverify.check import check_candidate, check_file
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import float_point
from bnverify.files.derivation import inline_candidate
from bnverify.judge.evidence import rng_for
from bnverify.model.notation import Names
from bnverify.settings import Limits, Settings

DERIVATIONS = Path(__file__).parent.parent / "derivations"
SETTINGS = Settings()


@pytest.fixture(scope="module")
def post():
    result = check_file(DERIVATIONS / "forum-post.toml", SETTINGS)
    assert not result.problems
    return {v.candidate.name: v for v in result.verdicts}


def judge(model, text, wrt="z", syntax="ascii", settings=SETTINGS):
    candidate = inline_candidate(text, syntax, wrt)
    return check_candidate(candidate, Names(model, {}), model, settings)


def test_post_g_gamma_matches_with_proof(post):
    v = post["g_gamma"]
    assert (v.kind, v.wrt) == ("match", "gamma")
    layers = {layer.name: layer for layer in v.evidence}
    assert layers["truth"].outcome == "equal"
    assert layers["proof"].detail == "proved equal for every N ≥ 1"
    assert v.message == "proved equal for every N ≥ 1"


def test_post_g_beta_diverges_on_shape_and_sum_fixes_it(post):
    v = post["g_beta"]
    assert v.kind == "diverge" and v.ok
    assert v.shape_fix == "sum"
    assert "one number per sample" in v.message and "one number per channel" in v.message
    assert "summing it over the batch" in v.message
    # One sample per batch is the only case where the per-sample value is the sum.
    assert v.conditions == ("N = 1",)
    assert v.counterexample is not None and v.counterexample.n == 2


def test_post_g_z_diverges_with_missing_terms_and_condition(post):
    v = post["g_z"]
    assert v.kind == "diverge" and v.ok
    assert v.residual.ascii == "-gamma*(zhat*sum(g_y*zhat) + sum(g_y))/(N*sqrt(var + eps))"
    assert r"\sum_{j} g_{y,j} \hat{z}_{j}" in v.residual.latex
    assert r"\sqrt{\sigma_B^2 + \epsilon}" in v.residual.latex
    assert len(v.conditions) == 1 and v.conditions[0].startswith("batch statistics held constant")
    ce = v.counterexample
    assert ce.n in (2, 3)
    assert ce.truth != ce.candidate
    inputs = dict(ce.inputs)
    assert set(inputs) == {"z", "gamma", "beta", "eps", "g_y"}
    # The counterexample is exact and checks out by hand: N = 2, z = (0, 2),
    # g_y = (1, 0), gamma = 1, eps = 9/16, so sqrt(var + eps) = 5/4 and zhat = (-4/5, 4/5).
    assert inputs["z"] == ("0", "2") and inputs["eps"] == ("9/16",)
    assert ce.candidate == ("4/5", "0")
    assert ce.truth == ("18/125", "-18/125")


def test_paper_steps_all_match():
    result = check_file(DERIVATIONS / "ioffe-szegedy-2015.toml", SETTINGS)
    assert not result.problems
    kinds = {v.candidate.name: (v.kind, v.wrt) for v in result.verdicts}
    assert kinds == {
        "dl/dxhat": ("match", "zhat"),
        "dl/dvar": ("match", "var"),
        "dl/dmu": ("match", "mu"),
        "dl/dx": ("match", "z"),
        "dl/dgamma": ("match", "gamma"),
        "dl/dbeta": ("match", "beta"),
    }


def test_closed_forms_all_match():
    result = check_file(DERIVATIONS / "closed-form.toml", SETTINGS)
    assert not result.problems
    assert [v.kind for v in result.verdicts] == ["match"] * len(result.verdicts)


CLOSED = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"


def test_rounding_at_n2_is_not_a_divergence(model, truth, formula):
    # In float64 at N = 2 with eps = 1e-5, a correct formula written differently from
    # the engine's differs from it by relative errors far above machine epsilon...
    expr = formula("gamma/sqrt(var + eps) * (g_y - mean(g_y) - zhat*mean(g_y*zhat))")
    point = float_point(model, truth.definitions, 2, 64, rng_for(1, "rounding"))
    exact = point["g_z"]
    value = evaluate(expr, point)
    rel = np.max(np.abs(value - exact), axis=0) / np.max(np.abs(exact), axis=0)
    assert rel.max() > 1e-13
    # ... and the verdict is still an exact match.
    v = judge(model, "gamma/sqrt(var + eps) * (g_y - mean(g_y) - zhat*mean(g_y*zhat))")
    assert v.kind == "match"


@pytest.mark.parametrize(
    "perturbed",
    [
        f"1.000000001 * ({CLOSED})",
        f"{CLOSED} + 0.000000001*g_y",
        "gamma/(N*sqrt(var + 1.000000001*eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))",
    ],
)
def test_a_relative_error_of_1e9_diverges(model, perturbed):
    assert judge(model, CLOSED).kind == "match"
    assert judge(model, perturbed).kind == "diverge"


def test_dropping_eps_in_one_term_diverges_through_intervals(model):
    text = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - (z - mu)/sqrt(var)*sum(g_y*zhat))"
    v = judge(model, text)
    assert v.kind == "diverge"
    layers = {layer.name: layer for layer in v.evidence}
    assert layers["proof"].outcome == "different"
    # Proved, not sampled: with eps = 0 the two square roots are one and the same.
    assert "eps = 0" in v.conditions


def test_error_verdicts_carry_a_located_problem(model):
    v = judge(model, "gamma/sqrt(var + eps) * g_w")
    assert v.kind == "error"
    assert v.problem.location.line == 1
    assert v.problem.location.column == 25
    assert "unknown name 'g_w'" in v.message


def test_a_formula_undefined_everywhere_diverges_without_false_conditions(model):
    v = judge(model, "1/(z - z)")
    assert v.kind == "diverge"
    # Interval evaluation of 1/0 is unbounded: that is no evidence of a match under eps = 0.
    assert v.conditions == ()
    assert v.residual is None


def test_a_candidate_undefined_everywhere_is_not_the_gradient(model):
    v = judge(model, "sqrt(-1)*g_y")
    assert v.kind == "diverge"
    assert "undefined for every input" in v.message


def test_an_undecided_candidate_is_an_error_at_the_candidate(model):
    # Equal where defined, but sum(z^2) - N*mu^2 >= 0 is beyond the proof: never a match.
    v = judge(model, f"{CLOSED} + sqrt(sum(z^2) - N*mu^2) - sqrt(sum(z^2) - N*mu^2)")
    assert v.kind == "error"
    assert v.problem.location.line == 1
    assert "could not be decided" in v.message


def test_float64_objects_to_a_proved_match_it_contradicts(model, monkeypatch):
    # A safety net for a bug in the proof: made to call a wrong formula equal, float64
    # misses it by far more than its rounding bound, and the verdict is an error.
    from bnverify.judge import proof

    monkeypatch.setattr(proof, "decide", lambda case: proof.Decision("equal", "proved (bug)"))
    v = judge(model, "gamma/sqrt(var + eps)*g_y")
    assert v.kind == "error"
    assert "inconsistent: proved equal, but float64 differs" in v.message


def test_rounding_alone_never_makes_float64_object(model):
    # Unstable but equal: float64 loses T in 1e300 and sqrt(2) in 1e100, within its bound.
    for text in (f"{CLOSED} + 1e300 - 1e300", f"{CLOSED} + g_y*((1e100 + sqrt(2)) - 1e100)"):
        assert judge(model, f"{text} - g_y*sqrt(2)*0").kind in ("match", "diverge")
    assert judge(model, f"({CLOSED} + 1e300) - 1e300").kind == "match"


def test_the_verdict_is_fixed_before_the_diagnosis_runs(model, monkeypatch):
    from bnverify.judge import diagnosis

    def endless(case):
        while True:
            pass

    monkeypatch.setattr(diagnosis, "residual", endless)
    fast = Settings(limits=Limits(time_budget=0.5))
    v = judge(model, "gamma/sqrt(var + eps)*g_y", settings=fast)
    assert v.kind == "diverge"
    assert v.diagnosis_note.startswith("diagnosis cut short after 0.5 s")


def test_shape_counterexamples_show_different_numbers(model):
    v = judge(model, "0")
    assert v.kind == "diverge" and v.shape_fix is None
    ce = v.counterexample
    assert set(ce.truth) != set(ce.candidate)
    # A per-sample formula whose value is the right one everywhere has no counterexample.
    same = judge(model, "sum(g_y*zhat) + 0*z", wrt="gamma")
    assert same.kind == "diverge" and same.counterexample is None


@pytest.mark.parametrize(
    ("text", "wrt", "headline"),
    [
        # The five classic slips, each named in plain words.
        ("gamma/sqrt(var + eps)*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))", "z", "N times the truth"),
        (f"2*({CLOSED})", "z", "twice the truth"),
        (f"-({CLOSED})", "z", "the truth with the sign flipped"),
        (
            "g_y",
            "beta",
            "one number per sample where the gradient is one number per channel; "
            "summing it over the batch gives the truth",
        ),
        (
            "gamma/sqrt(var + eps)*g_y",
            "z",
            "right only when batch statistics held constant (mu and var treated as "
            "constants, as in eval mode)",
        ),
        (f"(N-1)/N*({CLOSED})", "z", "the truth times (N - 1)/N"),
        (f"{CLOSED}*var/var", "z", "right wherever it is defined, but it is undefined at N = 1"),
        (f"{CLOSED} + z*g_y", "z", "misses these terms"),
    ],
)
def test_a_divergence_is_headlined_in_plain_words(model, text, wrt, headline):
    v = judge(model, text, wrt=wrt)
    assert (v.kind, v.headline) == ("diverge", headline)
