"""The truth: a model's derived gradients, each proved for every N before it is trusted."""

from __future__ import annotations

import sympy as sp

from bnverify.engine.algebra import BatchSum
from bnverify.engine.truth import Truth, truth_of
from bnverify.judge.evidence import _truth_proof
from bnverify.language.shapes import BATCH, SCALAR
from bnverify.model.graph import load_model

NODES = {"mu", "var", "zhat", "y"}
GRADIENTS = {"g_z", "g_gamma", "g_beta", "g_eps", "g_mu", "g_var", "g_zhat"}


def test_the_truth_is_computed_once_per_model(model):
    assert truth_of(model) is truth_of(model)
    assert truth_of(load_model("batchnorm")) is truth_of(model)


def test_definitions_are_the_nodes_then_the_gradients(model, truth):
    # The upstream gradient g_y is given, not derived; N is given by the point.
    assert list(truth.definitions)[: len(NODES)] == ["mu", "var", "zhat", "y"]
    assert set(truth.definitions) == NODES | GRADIENTS
    assert {name: truth.definitions[name] for name in NODES} == dict(model.nodes)


def test_formula_is_the_gradient_of_a_name(truth, formula):
    assert truth.formula("gamma") == formula("sum(g_y*zhat)")
    assert truth.formula("beta") == formula("sum(g_y)")
    assert truth.formula("z") is truth.definitions["g_z"]


def test_a_gradient_has_the_shape_of_its_name(truth):
    assert truth.shape("z") == truth.shape("zhat") == BATCH
    assert truth.shape("gamma") == truth.shape("mu") == truth.shape("eps") == SCALAR


def test_every_gradient_is_proved_for_every_n(truth):
    for name in ("z", "gamma", "beta", "mu", "var", "zhat"):
        assert _truth_proof(truth, name) == "equal", name


def test_the_eliminated_constant_says_its_proof_is_unavailable(truth):
    # eps is solved for to keep sqrt(var + eps) a symbol: nothing to differentiate by.
    assert _truth_proof(truth, "eps") == "eps is eliminated for the square root"


def test_wrong_gradients_fail_their_proof(model):
    # The eval-mode gradients (statistics held constant) are not those of training mode.
    wrong = Truth(model, truth_of(model, ("mu", "var")).gradients)
    assert _truth_proof(wrong, "z") == "different"


def test_freezing_nodes_gives_the_eval_mode_truth(model, truth):
    frozen = truth.frozen(("mu", "var"))
    assert frozen is truth_of(model, ("mu", "var"))
    s = frozen.algebra.symbols
    assert frozen.algebra.gradient("z") == s["g_y"] * s["gamma"] / sp.sqrt(s["eps"] + s["var"])
    # The truth itself is unchanged: its g_z still has the batch terms.
    assert truth.algebra.gradient("z").has(BatchSum)


def test_the_algebra_states_the_same_gradients(truth):
    assert truth.algebra is truth.algebra
    assert truth.algebra.gradients is truth.gradients
    assert truth.algebra.gradient("beta") == BatchSum(truth.algebra.symbols["g_y"])
