"""The paper's own spellings are read, and a name that is not known is explained.

The Batch Norm paper writes x_i over a mini-batch of size m, \\mu_\\mathcal{B} without
braces, E[x] and Var[x], and \\displaystyle in displayed equations; the built-in model's
notation table reads them. An unknown name on the left side of an equation is reported
as unknown, with the [notation] line that would map it, and `--notation` maps names of
an inline formula.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bnverify.check import check_formula
from bnverify.cli import main
from bnverify.language import parser
from bnverify.language.tree import Apply, Num, Sym

PAPER_G_X = (
    r"\frac{\partial \ell}{\partial x_i} = \frac{\partial \ell}{\partial \hat{x}_i} "
    r"\cdot \frac{1}{\sqrt{\sigma_\mathcal{B}^2 + \epsilon}} + "
    r"\frac{\partial \ell}{\partial \sigma_\mathcal{B}^2} \cdot \frac{2(x_i - \mu_\mathcal{B})}{m}"
    r" + \frac{\partial \ell}{\partial \mu_\mathcal{B}} \cdot \frac{1}{m}"
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (r"g_{y,j}", Sym("g_y", "j")),
        (r"\mu_\mathcal{B}", Sym("mu_B")),
        (r"\displaystyle \frac{1}{m}", Apply("div", (Num(1), Sym("m")))),
        (r"\mathrm{Var}[x]", Sym("Var[x]")),
        (r"\mathrm{Var}", Sym("Var")),
        (r"\operatorname{mean}\left(x\right)", Apply("mean", (Sym("x"),))),
        (r"\mathrm{d}", Sym("d")),
        (r"{\sigma_B^2}_{i}", Apply("pow", (Sym("sigma_B", "i"), Num(2)))),
    ],
)
def test_spellings_parse(text, tree):
    assert parser.parse(text, "latex") == tree


def test_a_mathrm_name_is_a_notation_key():
    assert parser.name_key(r"\mathrm{Var}[x]") == "Var[x]"
    assert parser.name_key(r"\operatorname{Var}") == "Var"


@pytest.mark.parametrize(
    "text",
    [
        PAPER_G_X,
        r"\displaystyle g_x = \frac{\gamma}{\sqrt{\mathrm{Var}[x] + \epsilon}} \left(g_{y} - "
        r"\frac{1}{m}\sum_{j=1}^{m} g_{y,j} - \frac{\hat{x}}{m} \sum_{j} g_{y,j} \hat{x}_j\right)",
    ],
)
def test_the_papers_notation_needs_no_table(text):
    assert check_formula(text, syntax="latex").kind == "match"


def test_an_unknown_name_on_the_left_is_named_with_its_notation_line():
    verdict = check_formula(r"\frac{\partial L}{\partial q_i} = g_{y,i}", syntax="latex")
    assert verdict.kind == "error"
    assert "unknown name 'q' on the left side" in verdict.problem.message
    assert 'q = "z"' in verdict.problem.message


def test_m_is_the_batch_size_not_mu():
    verdict = check_formula(r"\frac{1}{m}\sum_j g_{y,j}", wrt="mu", syntax="latex")
    assert verdict.problem is None or "did you mean" not in verdict.problem.message


def test_notation_maps_an_inline_formula():
    runner = CliRunner()
    args = ["check", "--wrt", "q", "--notation", "q=z", "--notation", "s=gamma"]
    wrong = runner.invoke(main, [*args, "--expr", "s/sqrt(var+eps)*(g_y - mean(g_y))"])
    assert wrong.exit_code == 1, wrong.output  # judged, so the names were read
    right = "s/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
    result = runner.invoke(main, [*args, "--expr", right])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("flag", "message"),
    [("q", "NAME=MODEL_NAME"), ("q=nosuch", "notation")],
)
def test_a_bad_notation_flag_is_a_located_error(flag, message):
    result = CliRunner().invoke(main, ["check", "--wrt", "z", "--notation", flag, "--expr", "q"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
