"""`bnverify derive`: the true gradient in closed form, for every N and at a given N.

The text is what a user copies into notes, so it is held exactly; each expected line
was checked by hand against the forward pass (at N = 2, z_1 - z_2 = d gives
zhat_1 = d/sqrt(d^2 + 4 eps)).
"""

from __future__ import annotations

import pytest

from bnverify.engine.closed_form import derive, proof_statement
from bnverify.problem import Problem

G_Z = "g_z = gamma*(g_y*N - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var + eps))"


@pytest.mark.parametrize(
    ("wrt", "text"),
    [
        ("z", G_Z),
        ("gamma", "g_gamma = sum(g_y*zhat)"),
        ("beta", "g_beta = sum(g_y)"),
        ("zhat", "g_zhat = g_y*gamma"),
        ("mu", "g_mu = -gamma*sum(g_y)/sqrt(var + eps)"),
        ("var", "g_var = -gamma*sum(g_y*zhat)/(2*(var + eps))"),
        ("eps", "g_eps = -gamma*sum(g_y*zhat)/(2*(var + eps))"),  # var + eps, so the same
        ("y", "g_y = g_y"),  # the output's gradient is the given upstream one
    ],
)
def test_the_closed_form_for_every_n(model, wrt, text):
    assert derive(model, wrt) == text


@pytest.mark.parametrize(
    ("wrt", "name"),
    [("g_z", "g_z"), ("mu_B", "g_mu"), ("sigma_B^2", "g_var"), ("g_gamma", "g_gamma")],
)
def test_a_name_may_be_spelled_as_a_candidate_would(model, wrt, name):
    # The gradient's own name, or the model's notation (\mu_B is mu).
    assert derive(model, wrt).startswith(f"{name} = ")


@pytest.mark.parametrize("wrt", ["w", "N", "g_N", "ones", ""])
def test_what_is_not_a_name_of_the_model_is_a_problem(model, wrt):
    problem = derive(model, wrt)
    assert isinstance(problem, Problem)
    assert problem.message == (
        f"{wrt!r} is not a name of the batchnorm model (z, gamma, beta, eps, mu, var, zhat, y)"
    )


def test_latex(model):
    assert derive(model, "beta", as_latex=True) == r"g_{\beta} = \sum_{j} g_{y,j}"
    assert derive(model, "z", as_latex=True) == (
        r"g_{z} = \frac{\gamma \left(g_{y,i} N - \sum_{j} g_{y,j} - \hat{z}_{i} "
        r"\sum_{j} g_{y,j} \hat{z}_{j}\right)}{N \sqrt{\sigma_B^2 + \epsilon}}"
    )


def test_at_a_batch_size_element_by_element(model):
    assert derive(model, "z", batch_size=2) == "\n".join(
        [
            G_Z,
            "",
            "at N = 2:",
            "  g_z[1] = 4*gamma*eps*(g_y_1 - g_y_2)/(z_1^2 + z_2^2 + 4*eps - 2*z_1*z_2)^(3/2)",
            "  g_z[2] = -4*gamma*eps*(g_y_1 - g_y_2)/(z_1^2 + z_2^2 + 4*eps - 2*z_1*z_2)^(3/2)",
        ]
    )


def test_a_scalar_gradient_at_a_batch_size_is_one_line(model):
    assert derive(model, "beta", batch_size=3) == (
        "g_beta = sum(g_y)\n\nat N = 3:\n  g_beta = g_y_1 + g_y_2 + g_y_3"
    )
    assert derive(model, "gamma", batch_size=2).splitlines()[-1] == (
        "  g_gamma = (g_y_1 - g_y_2)*(z_1 - z_2)/sqrt(z_1^2 + z_2^2 + 4*eps - 2*z_1*z_2)"
    )


def test_one_sample_has_no_gradient_through_the_normalisation(model):
    # With N = 1, zhat = 0 whatever z is: y = beta, so g_z and g_gamma vanish.
    assert derive(model, "z", batch_size=1).endswith("at N = 1:\n  g_z = 0")
    assert derive(model, "gamma", batch_size=1).endswith("at N = 1:\n  g_gamma = 0")
    assert derive(model, "beta", batch_size=1).endswith("at N = 1:\n  g_beta = g_y_1")


def test_latex_at_a_batch_size(model):
    lines = derive(model, "gamma", batch_size=2, as_latex=True).splitlines()
    assert lines[-2:] == [
        "at N = 2:",
        r"  g_gamma = \frac{\left(g_{y,1} - g_{y,2}\right) \left(z_{1} - z_{2}\right)}"
        r"{\sqrt{4 \epsilon + z_{1}^{2} - 2 z_{1} z_{2} + z_{2}^{2}}}",
    ]


@pytest.mark.parametrize("wrt", ["z", "gamma", "beta", "mu", "var", "zhat"])
def test_the_closed_form_is_proved_for_every_n(model, wrt):
    # The printed form (stated with sum(zhat) = 0 and friends) is the engine's gradient,
    # and that is the derivative of L, as values of the every-N field.
    assert proof_statement(model, wrt) == "proved equal to the derivative of L for every N ≥ 1"


def test_the_eliminated_constant_and_the_output_say_what_they_are(model):
    assert proof_statement(model, "eps") == "proved equal to the engine's g_eps for every N ≥ 1"
    assert proof_statement(model, "y") == "given: L = sum(g_y*y) defines it"
