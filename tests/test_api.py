"""The library API: `bnverify.__all__`, and checking a formula from Python in one call."""

from __future__ import annotations

import subprocess
import sys

import pytest

import bnverify

RIGHT = "gamma/(N*sqrt(var+eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"


@pytest.mark.parametrize("name", bnverify.__all__)
def test_every_public_name_resolves_and_is_listed_by_dir(name):
    assert getattr(bnverify, name) is not None
    assert name in dir(bnverify)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'check_everything'"):
        bnverify.check_everything  # noqa: B018


def test_importing_the_package_loads_no_algebra():
    # The pytest plugin imports bnverify in every pytest run of a project that installs it.
    code = "import sys, bnverify; print([m for m in ('sympy', 'numpy') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_right_formula_is_one_call_and_a_match():
    verdict = bnverify.check_formula(RIGHT, wrt="z")
    assert isinstance(verdict, bnverify.Verdict)
    assert (verdict.kind, verdict.wrt, verdict.ok) == ("match", "z", True)


def test_a_wrong_formula_diverges_with_a_counterexample():
    verdict = bnverify.check_formula("gamma/sqrt(var + eps) * g_zhat", wrt="z")
    assert verdict.kind == "diverge"
    assert verdict.counterexample is not None and verdict.residual is not None


def test_latex_names_its_own_gradient():
    text = r"\frac{\partial L}{\partial \beta} = \sum_i \frac{\partial L}{\partial y_i}"
    assert bnverify.check_formula(text, syntax="latex").kind == "match"


def test_a_model_that_cannot_be_used_is_an_error_verdict_not_an_exception(tmp_path):
    verdict = bnverify.check_formula("g_y", wrt="z", model="resnet")
    assert verdict.kind == "error" and "no model 'resnet'" in verdict.problem.message
    broken = tmp_path / "m.toml"
    broken.write_text('nodez = "x"\n', encoding="utf-8")
    verdict = bnverify.check_formula("g_y", wrt="z", model=str(broken))
    assert verdict.kind == "error" and verdict.problem.location.path == str(broken)


def test_a_loaded_model_and_settings_may_be_passed():
    model = bnverify.load_model("batchnorm")
    settings = bnverify.Settings(seed=7)
    assert bnverify.check_formula(RIGHT, wrt="z", model=model, settings=settings).kind == "match"
