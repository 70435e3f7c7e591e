"""Trees printed as LaTeX and ASCII: faithful to the tree, element-wise or as written, safe."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnverify.engine import printing as printing
from bnverify.files.derivation import load_derivation
from bnverify.language import parser, tree_printing
from bnverify.language.names import latex_name
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Apply, Equation, IndexedSum, Num, Sym

DERIVATIONS = Path(__file__).parent.parent / "derivations"
CANDIDATES = [
    c for path in sorted(DERIVATIONS.glob("*.toml")) for c in load_derivation(path).candidates
]


def element_wise(model, expr):
    batch = frozenset(n for n, s in model.shape_of.items() if s == BATCH)
    return tree_printing.latex(expr, printing.latex_names(model), batch)


def test_forum_post_g_z_as_written():
    parsed = parser.parse(r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y", "latex")
    assert tree_printing.latex(parsed, {}) == (
        r"g_{z} = \frac{\gamma}{\sqrt{\sigma_{B}^{2} + \epsilon}} g_{y}"
    )


def test_model_nodes_element_wise(model):
    nodes = dict(model.nodes)
    assert element_wise(model, nodes["mu"]) == r"\frac{1}{N} \sum_{j} z_{j}"
    assert element_wise(model, nodes["zhat"]) == (
        r"\frac{z_{i} - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}"
    )
    dot = Apply("dot", (Sym("zhat"), Sym("g_y")))
    assert element_wise(model, dot) == r"\sum_{j} \hat{z}_{j} g_{y,j}"


@pytest.mark.parametrize("c", [c for c in CANDIDATES if c.syntax == "ascii"], ids=lambda c: c.name)
def test_ascii_round_trip(c):
    parsed = parser.parse(c.text, "ascii")
    assert parser.parse(tree_printing.ascii(parsed), "ascii") == parsed


def test_ascii_round_trip_of_the_model(model):
    for _, expr in model.nodes:
        assert parser.parse(tree_printing.ascii(expr), "ascii") == expr


@pytest.mark.parametrize(
    "text",
    [
        r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y",
        r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \left( g_y - \frac{1}{N} "
        r"\mathbf{1} \mathbf{1}^T g_y - \frac{1}{N} \hat{z} \hat{z}^T g_y \right)",
        r"a - (b - c) - (-d) \cdot e^{-3/2} + (x_i - \mu_B)^2",
        r"\sum_{i=1}^{m} -2 (x_i - \mu_B) + a (-b) - -c d",
        r"\sum_{i=1}^{m} (x_i - \mu_B) \cdot \frac{-1}{2} (\sigma_B^2 + \epsilon)^{-3/2}",
        r"\frac{e^{z_i}}{\sum_j e^{z_j}} - \exp(-x) \ln(x)^2 + \log x_i \cdot \exp{2}",
    ],
)
def test_latex_as_written_parses_back_to_the_same_tree(text):
    parsed = parser.parse(text, "latex")
    assert parser.parse(tree_printing.latex(parsed, {}), "latex") == parsed


def test_brackets_follow_the_tree():
    a, b, c = Sym("a"), Sym("b"), Sym("c")
    assert tree_printing.latex(Apply("sub", (a, Apply("sub", (b, c)))), {}) == (
        r"a - \left(b - c\right)"
    )
    assert tree_printing.latex(Apply("mul", (Apply("neg", (a,)), b)), {}) == "-a b"
    assert tree_printing.latex(Apply("mul", (b, Apply("neg", (a,)))), {}) == r"b \left(-a\right)"
    assert tree_printing.latex(Apply("add", (b, Apply("mul", (Num(-2), a)))), {}) == (
        r"b + \left(-2 a\right)"
    )
    assert tree_printing.latex(Apply("mul", (Num(2), Num(3))), {}) == r"2 \cdot 3"


def test_exp_and_log_print_as_functions():
    softmax = Apply("div", (Apply("exp", (Sym("z"),)), Apply("sum", (Apply("exp", (Sym("z"),)),))))
    assert tree_printing.ascii(softmax) == "exp(z)/sum(exp(z))"
    assert tree_printing.latex(softmax, {}, frozenset({"z"})) == (
        r"\frac{\exp\left(z_{i}\right)}{\sum_{j} \exp\left(z_{j}\right)}"
    )
    squared = Apply("pow", (Apply("log", (Sym("x"),)), Num(2)))
    assert tree_printing.ascii(squared) == "log(x)^2"
    assert tree_printing.latex(squared, {}) == r"\left(\log\left(x\right)\right)^{2}"


def test_a_name_with_a_superscript_is_braced_before_a_power():
    power = Apply("pow", (Sym("var"), Num(2)))
    assert tree_printing.latex(power, {"var": r"\sigma_B^2"}) == r"{\sigma_B^2}^{2}"


def test_indexed_sum_keeps_index_and_bounds():
    total = IndexedSum("i", Sym("x", "i"), Num(1), Sym("m"))
    assert tree_printing.latex(total, {}) == r"\sum_{i=1}^{m} x_{i}"


@pytest.mark.parametrize("name", [r"\input{/etc/passwd}", "a b", "x%y", "$x$", "é", "#&~^_"])
def test_a_hostile_name_never_becomes_a_command(name):
    printed = tree_printing.latex(Equation(Sym(name), Sym("g_" + name)), {})
    assert r"\input" not in printed
    assert "%" not in printed.replace(r"\%", "")
    groups = printed.replace(r"\{", "").replace(r"\}", "")
    assert groups.count("{") == groups.count("}")  # the name cannot close a group
    assert r"\mathrm{" in printed


def test_names_from_the_parser_are_spelled():
    assert latex_name("sigma_B^2") == r"\sigma_{B}^{2}"
    assert latex_name("xhat") == r"\hat{x}"
    assert latex_name("g_mu_B") == r"g_{\mu_{B}}"
    assert latex_name("x_in") == r"x_{\mathrm{in}}"
