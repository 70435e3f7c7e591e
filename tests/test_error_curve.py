"""The relative error of a candidate against batch size N, over seeded random draws."""

from __future__ import annotations

from dataclasses import replace

from bnverify.judge.error_curve import error_curve
from bnverify.judge.records import Case
from bnverify.settings import Settings

FORUM_G_Z = "gamma/sqrt(var + eps)*g_y"
CLOSED_FORM = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"


def test_forum_post_g_z_is_badly_wrong_for_small_batches(truth, formula):
    curve = error_curve(Case(truth, formula(FORUM_G_Z), "z", Settings()))
    assert curve.sizes == Settings().curve_sizes
    assert curve.draws == Settings().float_channels
    by_size = dict(zip(curve.sizes, curve.median, strict=True))
    assert min(by_size[n] for n in (1, 2, 3, 4)) > 1.0  # wrong by more than the truth itself
    assert by_size[4096] < 0.5 * min(by_size[n] for n in (1, 2, 3, 4))
    for low, median, high in zip(curve.low, curve.median, curve.high, strict=True):
        assert low <= median <= high


def test_a_correct_formula_stays_at_rounding_error(truth, formula):
    curve = error_curve(Case(truth, formula(CLOSED_FORM), "z", Settings()))
    # N = 1 and 2 make the truth tiny (eps only), so rounding is relatively larger there.
    assert max(curve.high[2:]) < 1e-6


def test_same_seed_same_curve_other_seed_other_draws(truth, formula):
    expr = formula(FORUM_G_Z)
    first = error_curve(Case(truth, expr, "z", Settings(seed=3)))
    assert error_curve(Case(truth, expr, "z", Settings(seed=3))) == first
    assert error_curve(Case(truth, expr, "z", Settings(seed=4))).median != first.median


def test_sizes_come_from_settings(truth, formula):
    settings = replace(Settings(), curve_sizes=(2, 8))
    case = Case(truth, formula("g_y", wrt="beta"), "beta", settings)
    assert error_curve(case).sizes == (2, 8)
