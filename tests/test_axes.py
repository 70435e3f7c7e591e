"""Named axes: shapes over axes, reductions that name them, and proofs for every size.

The built-in models with several axes (LayerNorm, GroupNorm, ...) are checked the way a
user relies on them: the engine's gradients equal PyTorch-free numeric derivatives at
random float64 points, they are proved to be the derivative of L for every size of every
axis, a right candidate matches with that proof, and a reduction over the wrong axis
diverges with an exact counterexample.
"""

from __future__ import annotations

import numpy as np
import pytest

from bnverify.check import check_formula
from bnverify.engine.closed_form import derive, proof_statement
from bnverify.engine.general import general_point, loss, total_derivative
from bnverify.engine.sampling import float_point
from bnverify.engine.truth import truth_of
from bnverify.language import parser, shapes
from bnverify.language.tree import Apply, Sym
from bnverify.model.graph import Model, load_model, parse_model
from bnverify.problem import Problem

MULTI_AXIS = ("layernorm", "rmsnorm", "groupnorm", "instancenorm", "batchnorm2d")
ONE_AXIS = ("batchnorm", "batchnorm-eval")


def builtin(name: str) -> Model:
    loaded = load_model(name)
    assert isinstance(loaded, Model), loaded
    return loaded


# -- the language ------------------------------------------------------------------------


def test_a_reduction_names_the_axes_it_removes():
    tree = parser.parse_ascii("mean((x - mu)^2, d)")
    assert isinstance(tree, Apply) and tree.axes == ("d",)
    known = {"x": frozenset({"b", "d"}), "mu": frozenset({"b"})}
    assert shapes.infer(tree, known) == frozenset({"b"})


def test_a_reduction_without_an_axis_is_read_only_when_there_is_one_choice():
    known = {"x": frozenset({"b", "d"}), "gamma": frozenset({"d"})}
    only = shapes.reduction_axes(parser.parse_ascii("sum(gamma)"), known, ("b", "d"))
    assert isinstance(only, Apply) and only.axes == ("d",)
    ambiguous = shapes.reduction_axes(parser.parse_ascii("1 + sum(x)"), known, ("b", "d"))
    assert isinstance(ambiguous, Problem)
    assert "over which axis" in ambiguous.message and "b, d" in ambiguous.message
    assert ambiguous.span is not None and ambiguous.span.start == 4  # at the sum
    unknown = shapes.reduction_axes(parser.parse_ascii("sum(x, k)"), known, ("b", "d"))
    assert isinstance(unknown, Problem) and "not an axis" in unknown.message


def test_a_one_axis_model_writes_its_reductions_without_an_axis():
    model = builtin("batchnorm")
    written = shapes.reduction_axes(parser.parse_ascii("sum(z, n)"), model.shape_of, model.order)
    assert written == shapes.reduction_axes(parser.parse_ascii("sum(z)"), model.shape_of, ("n",))
    assert isinstance(written, Apply) and written.axes == ()


def test_shapes_are_described_in_the_models_own_words():
    layernorm, batchnorm = builtin("layernorm"), builtin("batchnorm")
    assert layernorm.describe(frozenset({"b", "d"})) == "one number per sample and feature"
    assert layernorm.describe(frozenset()) == "one number"
    assert batchnorm.describe(frozenset()) == "one number per channel"  # it says so: per


# -- the engine ----------------------------------------------------------------------


@pytest.mark.parametrize("name", MULTI_AXIS)
def test_gradients_are_the_derivatives_of_the_loss_at_a_float_point(name):
    model = builtin(name)
    truth = truth_of(model)
    sizes = dict.fromkeys(model.order, 2) | {model.order[-1]: 3}
    point = float_point(model, truth.definitions, sizes, 1, np.random.default_rng(1))

    def loss_at(**leaves: np.ndarray) -> float:
        moved = point.with_leaves(**leaves)
        return float(np.sum(moved[model.upstream] * moved[model.output]))

    for leaf, _ in model.inputs:
        base = np.array(point.leaves[leaf], dtype=float)
        gradient = point.full(point[f"g_{leaf}"])
        for index in [(0,) * base.ndim, tuple(s - 1 for s in base.shape)]:
            step = np.zeros_like(base)
            step[index] = 1e-6
            numeric = (loss_at(**{leaf: base + step}) - loss_at(**{leaf: base - step})) / 2e-6
            assert numeric == pytest.approx(float(gradient[index]), rel=1e-5, abs=1e-7), leaf


@pytest.mark.parametrize("name", (*MULTI_AXIS, *ONE_AXIS))
def test_every_gradient_is_proved_for_every_size_of_every_axis(name):
    model = builtin(name)
    for leaf in model.primal_names():
        if leaf in model.size_names or leaf == model.output:
            continue
        said = proof_statement(model, leaf)
        assert said.startswith("proved equal to"), (leaf, said)
        assert all(f"{size} ≥" in said for size in model.sizes.values()), said


def test_the_chain_rule_collects_a_features_gradient_over_the_samples():
    model = builtin("layernorm")
    truth = truth_of(model)
    point = general_point(model, truth.gradients)
    # gamma is one number per feature: its flow from every sample is summed.
    assert total_derivative(point, loss(point), "gamma") == point["g_gamma"]
    wrong = point.evaluate(Apply("mul", (Sym("g_y"), Sym("xhat"))))
    assert total_derivative(point, loss(point), "gamma") != wrong


def test_a_closed_form_names_the_axes_it_sums_over():
    assert derive(builtin("groupnorm"), "gamma") == "g_gamma = sum(g_y*xhat, n, s)"
    latex = derive(builtin("layernorm"), "gamma", as_latex=True)
    assert latex == r"g_{\gamma} = \sum_{b} g_{y} \hat{x}"


# -- verdicts ------------------------------------------------------------------------

RIGHT = {
    "layernorm": (
        "x",
        "gamma*g_y/sqrt(var + eps) - mean(gamma*g_y, d)/sqrt(var + eps)"
        " - xhat*mean(gamma*g_y*xhat, d)/sqrt(var + eps)",
    ),
    "groupnorm": (
        "x",
        "(gamma*g_y - mean(gamma*g_y, c, s) - xhat*mean(gamma*g_y*xhat, c, s))/sqrt(var + eps)",
    ),
    "instancenorm": ("gamma", "sum(g_y*xhat, n, s)"),
    "batchnorm2d": ("beta", "sum(g_y, n, s)"),
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_a_right_formula_matches_for_every_size(name):
    wrt, text = RIGHT[name]
    verdict = check_formula(text, wrt, model=name)
    assert verdict.kind == "match", verdict.message
    assert verdict.message.startswith("proved equal for every")


def test_a_reduction_over_the_wrong_axis_diverges_with_an_exact_counterexample():
    text = (
        "gamma*g_y/sqrt(var + eps) - mean(gamma*g_y, b)/sqrt(var + eps)"
        " - xhat*mean(gamma*g_y*xhat, b)/sqrt(var + eps)"
    )
    verdict = check_formula(text, "x", model="layernorm")
    assert verdict.kind == "diverge"
    assert "a counterexample at B = 2, D = 2, checked exactly" in verdict.message
    ce = verdict.counterexample
    assert ce is not None and ce.sizes == (("B", 2), ("D", 2))
    labels, rows, scalars = ce.table()
    assert labels == ["1,1", "1,2", "2,1", "2,2"]  # one row per (sample, feature)
    assert [name for name, _ in scalars] == ["eps"]
    assert len(rows[0]) == len(ce.varying)


def test_a_sum_that_is_not_over_the_gradients_axes_is_the_wrong_shape():
    verdict = check_formula("g_y*xhat", "gamma", model="layernorm")
    assert verdict.kind == "diverge"
    assert verdict.headline == (
        "one number per sample and feature where the gradient is one number per feature; "
        "summing it over the samples gives the truth"
    )


def test_the_forum_posts_gradient_matches_in_eval_mode_only():
    post = r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y"
    assert check_formula(post, syntax="latex", model="batchnorm-eval").kind == "match"
    assert check_formula(post, syntax="latex", model="batchnorm").kind == "diverge"


SCALAR_OUTPUT = """
name = "meanvar"
output = "v"
[axes]
b = { size = "B", word = "sample" }
d = { size = "D", word = "feature" }
[inputs]
x = ["b", "d"]
[nodes]
mu = "mean(x, d)"
v = "sum((x - mu)^2, b, d)/(D - 1)"
"""


def test_an_unbiased_statistic_is_proved_from_the_size_where_it_is_defined():
    model = parse_model(SCALAR_OUTPUT, "meanvar.toml")
    assert isinstance(model, Model), model
    verdict = check_formula("2*g_v*(x - mu)/(D - 1)", "x", model=model)
    assert (verdict.kind, verdict.message) == ("match", "proved equal for every B ≥ 1, D ≥ 2")
    wrong = check_formula("2*g_v*(x - mu)/D", "x", model=model)
    assert wrong.kind == "diverge"
