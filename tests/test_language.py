"""Tests for bnverify.language.parser: LaTeX and ASCII formulas to trees, and located Problems."""

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from functools import reduce

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bnverify.language.names import LATEX_LETTERS
from bnverify.language.parser import (
    latex_letters,
    name_key,
    parse,
    parse_ascii,
    parse_latex,
)
from bnverify.language.tree import Apply, Equation, IndexedSum, Num, Sym, walk
from bnverify.problem import Problem, Span
from bnverify.settings import DEFAULT_LIMITS

MAX_NESTING = DEFAULT_LIMITS.max_nesting


def S(name, index=None):
    return Sym(name, index)


def N(value):
    return Num(Fraction(value))


def op(name, *args):
    return Apply(name, args)


def add(a, b):
    return op("add", a, b)


def sub(a, b):
    return op("sub", a, b)


def mul(a, b):
    return op("mul", a, b)


def div(a, b):
    return op("div", a, b)


def pow_(a, b):
    return op("pow", a, b)


def neg(a):
    return op("neg", a)


def sqrt(a):
    return op("sqrt", a)


def dot(a, b):
    return op("dot", a, b)


def isum(body):
    """`\\sum_{i=1}^{m} body`, the sum over the batch."""
    return IndexedSum("i", body, N(1), S("m"))


def product(*factors):
    return reduce(mul, factors)


def bare_sum(body, index="i"):
    return IndexedSum(index, body)


VAR_EPS = add(pow_(S("sigma_B"), N(2)), S("epsilon"))


# --- ASCII -----------------------------------------------------------------------------

ASCII_CASES = [
    ("x", S("x")),
    ("x_i", S("x_i")),
    ("g_sigma_B", S("g_sigma_B")),
    ("2", N(2)),
    ("0.5", N(Fraction(1, 2))),
    (".5", N(Fraction(1, 2))),
    ("1.0001", N(Fraction(10001, 10000))),
    ("1e-5", N(Fraction(1, 100000))),
    ("2.5E3", N(2500)),
    ("a + b - c", sub(add(S("a"), S("b")), S("c"))),
    ("a - b", sub(S("a"), S("b"))),
    ("a * b / c", div(mul(S("a"), S("b")), S("c"))),
    ("a + b * c", add(S("a"), mul(S("b"), S("c")))),
    ("(a + b) * c", mul(add(S("a"), S("b")), S("c"))),
    ("-x", neg(S("x"))),
    ("+x", S("x")),
    ("-x^2", neg(pow_(S("x"), N(2)))),
    ("-x**2", neg(pow_(S("x"), N(2)))),
    ("x^-2", pow_(S("x"), neg(N(2)))),
    ("x**-0.5", pow_(S("x"), neg(N(Fraction(1, 2))))),
    ("2^3^4", pow_(N(2), pow_(N(3), N(4)))),
    ("2*-x", mul(N(2), neg(S("x")))),
    ("a - -b", sub(S("a"), neg(S("b")))),
    ("sqrt(x)", sqrt(S("x"))),
    ("exp(x)", op("exp", S("x"))),
    ("log(x*y)", op("log", mul(S("x"), S("y")))),
    ("-exp(-x)^2", neg(pow_(op("exp", neg(S("x"))), N(2)))),
    ("exp(z)/sum(exp(z))", div(op("exp", S("z")), op("sum", op("exp", S("z"))))),
    ("sum(x)", op("sum", S("x"))),
    ("mean(x - mu)", op("mean", sub(S("x"), S("mu")))),
    ("dot(a, b)", dot(S("a"), S("b"))),
    ("a @ b", dot(S("a"), S("b"))),
    ("a^T @ b", dot(S("a"), S("b"))),
    ("a**T @ b", dot(S("a"), S("b"))),
    ("a^T", op("transpose", S("a"))),
    ("ones * ones^T @ g_y", mul(S("ones"), dot(S("ones"), S("g_y")))),
    ("ones * ones^T * g_y", mul(S("ones"), dot(S("ones"), S("g_y")))),
    ("c * a^T @ b", mul(S("c"), dot(S("a"), S("b")))),
    ("a^T @ b * c", mul(dot(S("a"), S("b")), S("c"))),
    ("-a^T @ b", neg(dot(S("a"), S("b")))),
    ("x / ones^T @ ones", div(S("x"), dot(S("ones"), S("ones")))),
    ("a * b^T", mul(S("a"), op("transpose", S("b")))),
    ("T + x^T", add(S("T"), op("transpose", S("x")))),
    ("x^Tau", pow_(S("x"), S("Tau"))),
    ("x^(T)", pow_(S("x"), S("T"))),
    ("g_z = x - y", Equation(S("g_z"), sub(S("x"), S("y")))),
]


@pytest.mark.parametrize(("text", "tree"), ASCII_CASES)
def test_ascii_constructs(text, tree):
    assert parse_ascii(text) == tree
    assert parse(text, "ascii") == tree


# --- LaTeX -----------------------------------------------------------------------------

LATEX_CASES = [
    ("x", S("x")),
    ("xy", mul(S("x"), S("y"))),
    ("2x", mul(N(2), S("x"))),
    ("0.5", N(Fraction(1, 2))),
    (r"\gamma", S("gamma")),
    (r"\varepsilon", S("varepsilon")),
    (r"\ell", S("ell")),
    (r"\Sigma", S("Sigma")),
    (r"\hat{x}", S("xhat")),
    (r"\hat x", S("xhat")),
    (r"\widehat{x}", S("xhat")),
    (r"\hat{\gamma}", S("gammahat")),
    (r"\hat{x}_i", S("xhat", "i")),
    (r"\hat{x_i}", S("xhat", "i")),
    (r"\mathbf{x}", S("x")),
    (r"\boldsymbol{x}", S("x")),
    (r"\bm{x}", S("x")),
    (r"\mathrm{x}", S("x")),
    (r"\mathit{x}", S("x")),
    (r"\mathcal{B}", S("B")),
    (r"\mathbf x", S("x")),
    (r"\mathbf{1}", op("ones")),
    (r"\mathbb{1}", op("ones")),
    (r"\mathrm{1}", N(1)),
    ("x_i", S("x", "i")),
    ("x_{j}", S("x", "j")),
    ("x_k", S("x", "k")),
    (r"\mu_B", S("mu_B")),
    (r"\mu_{\mathcal{B}}", S("mu_B")),
    ("g_y", S("g_y")),
    (r"g_{\gamma}", S("g_gamma")),
    (r"g_{\hat{z}}", S("g_zhat")),
    (r"g_{\sigma_B^2}", S("g_sigma_B^2")),
    (r"g_{\hat{x}_i}", S("g_xhat", "i")),
    ("x_{in}", S("x_in")),
    ("x_1", S("x_1")),
    ("x_{10}", S("x_10")),
    ("x^2", pow_(S("x"), N(2))),
    ("x^{23}", pow_(S("x"), N(23))),
    (r"\sigma_B^2", pow_(S("sigma_B"), N(2))),
    (r"\sigma^2_B", pow_(S("sigma_B"), N(2))),
    ("x_i^2", pow_(S("x", "i"), N(2))),
    ("x^{-1/2}", pow_(S("x"), div(neg(N(1)), N(2)))),
    ("x^{-3/2}", pow_(S("x"), div(neg(N(3)), N(2)))),
    (r"x^\frac{1}{2}", pow_(S("x"), div(N(1), N(2)))),
    (r"x^\frac12", pow_(S("x"), div(N(1), N(2)))),
    ("x^T", op("transpose", S("x"))),
    ("x^{T}", op("transpose", S("x"))),
    (r"x^\top", op("transpose", S("x"))),
    (r"x^{\top}", op("transpose", S("x"))),
    (r"x^\intercal", op("transpose", S("x"))),
    (r"\frac{a}{b}", div(S("a"), S("b"))),
    (r"\dfrac{a}{b}", div(S("a"), S("b"))),
    (r"\tfrac{a}{b}", div(S("a"), S("b"))),
    (r"\frac12", div(N(1), N(2))),
    (r"\frac 1 2", div(N(1), N(2))),
    (r"\frac1x", div(N(1), S("x"))),
    (r"\frac{a}2", div(S("a"), N(2))),
    (r"\frac12 x", mul(div(N(1), N(2)), S("x"))),
    (r"\frac\gamma m", div(S("gamma"), S("m"))),
    ("a/b", div(S("a"), S("b"))),
    (r"\sqrt{x}", sqrt(S("x"))),
    (r"\sqrt2", sqrt(N(2))),
    (r"\exp(x)", op("exp", S("x"))),
    (r"\exp{x}", op("exp", S("x"))),
    (r"\exp\left(-\frac{x}{2}\right)", op("exp", neg(div(S("x"), N(2))))),
    (r"\exp x", op("exp", S("x"))),
    (r"\log(x)", op("log", S("x"))),
    (r"\ln(x)", op("log", S("x"))),
    (r"\log{x}", op("log", S("x"))),
    (r"\ln x", op("log", S("x"))),
    (r"\operatorname{exp}(x)", op("exp", S("x"))),
    # A bare atom takes its scripts along; after a bracket a script is the function's.
    (r"\log x_i", op("log", S("x", "i"))),
    (r"\log \hat{x}_i", op("log", S("xhat", "i"))),
    (r"\exp x^2", op("exp", pow_(S("x"), N(2)))),
    (r"\log(x)^2", pow_(op("log", S("x")), N(2))),
    (r"\log{\left(x \right)}^{2}", pow_(op("log", S("x")), N(2))),  # as SymPy prints it
    (r"2 \log x \, y", mul(mul(N(2), op("log", S("x"))), S("y"))),
    (r"\sum_i \log x_i", bare_sum(op("log", S("x", "i")))),
    (r"-\ln \gamma + 1", add(neg(op("log", S("gamma"))), N(1))),
    # e^{x} stays a power until resolution, which knows whether e is a name.
    ("e^{x}", pow_(S("e"), S("x"))),
    ("(a)", S("a")),
    ("[a]", S("a")),
    (r"\{a\}", S("a")),
    ("{a}", S("a")),
    (r"\left(a\right)", S("a")),
    (r"\left[a\right]", S("a")),
    (r"\left\{a\right\}", S("a")),
    (r"\bigl(a\bigr)", S("a")),
    (r"\Bigl(a\Bigr)", S("a")),
    (r"\big(a\big)", S("a")),
    (r"\Big(a\Big)", S("a")),
    (r"\left( a \right)^2", pow_(S("a"), N(2))),
    (r"a \cdot b", mul(S("a"), S("b"))),
    (r"a \times b", mul(S("a"), S("b"))),
    (r"a \odot b", mul(S("a"), S("b"))),
    (r"a \circ b", mul(S("a"), S("b"))),
    ("a * b", mul(S("a"), S("b"))),
    ("a b c", mul(mul(S("a"), S("b")), S("c"))),
    ("a -b", sub(S("a"), S("b"))),
    (r"a \cdot -b", mul(S("a"), neg(S("b")))),
    (r"a \cdot -\frac{1}{2}", mul(S("a"), neg(div(N(1), N(2))))),
    ("-ab", mul(neg(S("a")), S("b"))),
    ("-x^2", neg(pow_(S("x"), N(2)))),
    ("a^T b", dot(S("a"), S("b"))),
    ("a^T @ b", dot(S("a"), S("b"))),
    (r"a^T \cdot b", dot(S("a"), S("b"))),
    ("a @ b", dot(S("a"), S("b"))),
    (r"\hat{z}^T g_y", dot(S("zhat"), S("g_y"))),
    (r"\mathbf{1}^T g_y", dot(op("ones"), S("g_y"))),
    ("a^T b c", mul(dot(S("a"), S("b")), S("c"))),
    # A transposed factor binds to the next factor before the chain folds left to right.
    ("c a^T b", mul(S("c"), dot(S("a"), S("b")))),
    (r"\mathbf{1}\mathbf{1}^T g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"\mathbf{1} \mathbf{1}^T g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"\hat{z}\hat{z}^T g_y", mul(S("zhat"), dot(S("zhat"), S("g_y")))),
    (
        r"\frac{1}{N} \hat{z}\hat{z}^T g_y",
        mul(mul(div(N(1), S("N")), S("zhat")), dot(S("zhat"), S("g_y"))),
    ),
    (r"\mathbf{1} \cdot \mathbf{1}^T \cdot g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"\mathbf{1} * \mathbf{1}^T * g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"\mathbf{1} \mathbf{1}^T @ g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"\mathbf{1}\mathbf{1}^\top g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    ("a b^T c d", mul(mul(S("a"), dot(S("b"), S("c"))), S("d"))),
    # Products are associative and a sign commutes with them, so these bind as well.
    (r"(\mathbf{1}\mathbf{1}^T) g_y", mul(op("ones"), dot(op("ones"), S("g_y")))),
    (r"-\mathbf{1}^T g_y", neg(dot(op("ones"), S("g_y")))),
    (r"a \cdot -b^T c", mul(S("a"), neg(dot(S("b"), S("c"))))),
    ("a / b^T c", div(S("a"), dot(S("b"), S("c")))),
    # A transpose with nothing after it, or closed in a quotient, is left for resolution.
    (r"\mathbf{1}\mathbf{1}^T", mul(op("ones"), op("transpose", op("ones")))),
    ("(a / b^T) c", mul(div(S("a"), op("transpose", S("b"))), S("c"))),
    (r"\frac{a}{b^T} c", mul(div(S("a"), op("transpose", S("b"))), S("c"))),
    ("a^T b^T c", mul(dot(S("a"), op("transpose", S("b"))), S("c"))),
    (r"\sum_i x_i", bare_sum(S("x", "i"))),
    (r"\sum_{i} x_i", bare_sum(S("x", "i"))),
    (r"\sum_{i=1}^{m} x_i", isum(S("x", "i"))),
    (r"\sum_{i=1}^m x_i", isum(S("x", "i"))),
    (r"\sum^{m}_{i=1} x_i", isum(S("x", "i"))),
    (r"\sum\limits_{i=1}^{m} x_i", isum(S("x", "i"))),
    (r"\sum x", bare_sum(S("x"), index=None)),
    (r"\sum_j^{N} x_j", IndexedSum("j", S("x", "j"), None, S("N"))),
    (r"\sum_i a_i b_i + c", add(bare_sum(mul(S("a", "i"), S("b", "i"))), S("c"))),
    (r"\sum_i a_i \cdot b_i - c", sub(bare_sum(mul(S("a", "i"), S("b", "i"))), S("c"))),
    (r"2\sum_i x_i", mul(N(2), bare_sum(S("x", "i")))),
    (r"\sum_i -x_i", bare_sum(neg(S("x", "i")))),
    (r"\sum_i \sum_j a_i b_j", bare_sum(bare_sum(mul(S("a", "i"), S("b", "j")), "j"))),
    (r"\frac{1}{m}\sum_{i=1}^{m} x_i", mul(div(N(1), S("m")), isum(S("x", "i")))),
    (r"\frac{\partial L}{\partial x}", S("g_x")),
    (r"\frac{\partial \ell}{\partial \hat{x}_i}", S("g_xhat", "i")),
    (r"\frac{\partial\mathcal{L}}{\partial \sigma_B^2}", S("g_sigma_B^2")),
    (r"\frac{\partial L}{\partial \gamma}", S("g_gamma")),
    (r"\dfrac{\partial L}{\partial \mathbf{x}}", S("g_x")),
    (r"\frac{dL}{dx}", S("g_x")),
    (r"\frac{d\ell}{dx_i}", S("g_x", "i")),
    (r"\frac{\mathrm{d}L}{\mathrm{d}x}", S("g_x")),
    (r"\nabla_{x} L", S("g_x")),
    (r"\nabla_x \ell", S("g_x")),
    (r"\nabla_{\hat{x}_i} \mathcal{L}", S("g_xhat", "i")),
    (r"\frac{\partial L}{\partial y} \gamma", mul(S("g_y"), S("gamma"))),
    (r"a\,b\;c\:d\!e\ f~g \quad h \qquad k", product(*map(S, "abcdefghk"))),
    (r"g_z &= x \\", Equation(S("g_z"), S("x"))),
    (r"\frac{\partial L}{\partial x} = y", Equation(S("g_x"), S("y"))),
]


@pytest.mark.parametrize(("text", "tree"), LATEX_CASES)
def test_latex_constructs(text, tree):
    assert parse_latex(text) == tree
    assert parse(text, "latex") == tree


# --- the two syntaxes agree ------------------------------------------------------------

SAME = [
    (
        r"\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y",
        "gamma/sqrt(sigma_B^2 + epsilon) * g_y",
    ),
    (r"\hat{z}^T g_y", "zhat^T @ g_y"),
    (r"\hat{z}^T g_y", "dot(zhat, g_y)"),
    (r"(x - \mu_B)^2", "(x - mu_B)**2"),
    (r"-\frac{1}{2}(\sigma_B^2 + \epsilon)^{-3/2}", "-(1/2)*(sigma_B^2 + epsilon)^(-3/2)"),
    (r"\frac{-1}{2}", "-1/2"),
    (r"g_{\hat{x}} = g_y \cdot \gamma", "g_xhat = g_y * gamma"),
    (r"\mathbf{1}^T g_y", "ones^T @ g_y"),
    (r"x^{-2}", "x^-2"),
    (r"a - b - c", "a - b - c"),
    (r"\frac{\exp(z)}{\exp(z) + 1}", "exp(z)/(exp(z) + 1)"),
    (r"\ln\left(z^2 + 1\right)", "log(z^2 + 1)"),
]


@pytest.mark.parametrize(("latex", "ascii"), SAME)
def test_latex_and_ascii_give_equal_trees(latex, ascii):
    expected = parse_ascii(ascii)
    if latex == r"\mathbf{1}^T g_y":  # ASCII has no vector of ones: `ones` is a name
        expected = dot(op("ones"), S("g_y"))
    assert parse_latex(latex) == expected


def test_batch_norm_vector_form_with_outer_products():
    text = (
        r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \left( g_y - \frac{1}{N} "
        r"\mathbf{1} \mathbf{1}^T g_y - \frac{1}{N} \hat{z} \hat{z}^T g_y \right)"
    )
    one_over_n = div(N(1), S("N"))
    ones_term = mul(mul(one_over_n, op("ones")), dot(op("ones"), S("g_y")))
    zhat_term = mul(mul(one_over_n, S("zhat")), dot(S("zhat"), S("g_y")))
    expected = Equation(
        S("g_z"),
        mul(div(S("gamma"), sqrt(VAR_EPS)), sub(sub(S("g_y"), ones_term), zhat_term)),
    )
    assert parse_latex(text) == expected


def _bind_then_fold(factors):
    """The reference reading of a chain: each a^T takes the next factor, then fold left."""
    bound, rest = [], list(factors)
    while rest:
        factor = rest.pop(0)
        if isinstance(factor, Apply) and factor.op == "transpose" and rest:
            factor = dot(factor.args[0], rest.pop(0))
        bound.append(factor)
    return reduce(mul, bound)


CHAIN_FACTORS = st.lists(
    st.tuples(st.sampled_from("abcxyz"), st.booleans()), min_size=1, max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    CHAIN_FACTORS,
    st.sampled_from([("latex", " "), ("latex", r" \cdot "), ("latex", " * "), ("ascii", " * ")]),
)
def test_a_transposed_factor_binds_to_the_next_one_first(factors, spelling):
    syntax, times = spelling
    text = times.join(name + "^T" * transposed for name, transposed in factors)
    trees = [op("transpose", S(n)) if transposed else S(n) for n, transposed in factors]
    parsed = parse(text, syntax)
    assert parsed == _bind_then_fold(trees)
    assert _spans_are_inside(text, parsed)


def test_mean_of_batch():
    tree = parse_latex(r"\frac{1}{m}\sum_{i=1}^{m} x_i")
    assert isinstance(tree.args[1], IndexedSum)
    assert tree.args[1] == IndexedSum("i", S("x", "i"), N(1), S("m"))


# --- Ioffe & Szegedy (2015), Algorithm backward pass -----------------------------------

G_XHAT = S("g_xhat", "i")
CENTRED = sub(S("x", "i"), S("mu_B"))

IOFFE_SZEGEDY = [
    (
        r"\frac{\partial \ell}{\partial \hat{x}_i} = "
        r"\frac{\partial \ell}{\partial y_i} \cdot \gamma",
        Equation(G_XHAT, mul(S("g_y", "i"), S("gamma"))),
    ),
    (
        r"\frac{\partial \ell}{\partial \sigma_B^2} = \sum_{i=1}^{m} \frac{\partial \ell}"
        r"{\partial \hat{x}_i} \cdot (x_i - \mu_B) \cdot "
        r"\frac{-1}{2}(\sigma_B^2 + \epsilon)^{-3/2}",
        Equation(
            S("g_sigma_B^2"),
            isum(
                mul(
                    mul(mul(G_XHAT, CENTRED), div(neg(N(1)), N(2))),
                    pow_(VAR_EPS, div(neg(N(3)), N(2))),
                )
            ),
        ),
    ),
    (
        r"\frac{\partial \ell}{\partial \mu_B} = \left(\sum_{i=1}^{m} \frac{\partial \ell}"
        r"{\partial \hat{x}_i} \cdot \frac{-1}{\sqrt{\sigma_B^2 + \epsilon}}\right) + "
        r"\frac{\partial \ell}{\partial \sigma_B^2} \cdot \frac{\sum_{i=1}^{m} -2(x_i - \mu_B)}{m}",
        Equation(
            S("g_mu_B"),
            add(
                isum(mul(G_XHAT, div(neg(N(1)), sqrt(VAR_EPS)))),
                mul(S("g_sigma_B^2"), div(isum(mul(neg(N(2)), CENTRED)), S("m"))),
            ),
        ),
    ),
    (
        r"\frac{\partial \ell}{\partial x_i} = \frac{\partial \ell}{\partial \hat{x}_i} \cdot "
        r"\frac{1}{\sqrt{\sigma_B^2 + \epsilon}} + \frac{\partial \ell}{\partial \sigma_B^2} "
        r"\cdot \frac{2(x_i - \mu_B)}{m} + \frac{\partial \ell}{\partial \mu_B} \cdot \frac{1}{m}",
        Equation(
            S("g_x", "i"),
            add(
                add(
                    mul(G_XHAT, div(N(1), sqrt(VAR_EPS))),
                    mul(S("g_sigma_B^2"), div(mul(N(2), CENTRED), S("m"))),
                ),
                mul(S("g_mu_B"), div(N(1), S("m"))),
            ),
        ),
    ),
    (
        r"\frac{\partial \ell}{\partial \gamma} = \sum_{i=1}^{m} \frac{\partial \ell}{\partial y_i}"
        r" \cdot \hat{x}_i",
        Equation(S("g_gamma"), isum(mul(S("g_y", "i"), S("xhat", "i")))),
    ),
    (
        r"\frac{\partial \ell}{\partial \beta} = \sum_{i=1}^{m} \frac{\partial \ell}{\partial y_i}",
        Equation(S("g_beta"), isum(S("g_y", "i"))),
    ),
]


@pytest.mark.parametrize(("text", "tree"), IOFFE_SZEGEDY)
def test_batch_norm_paper_backward_equations(text, tree):
    assert parse_latex(text) == tree


# --- spans -----------------------------------------------------------------------------


def _text_of(text, node):
    return text[node.span.start : node.span.end]


def test_spans_cover_the_source_text():
    text = r"\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot \left(g_y\right)"
    tree = parse_latex(text)
    assert _text_of(text, tree) == text
    quotient, grad = tree.args
    assert _text_of(text, quotient) == r"\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}}"
    assert _text_of(text, quotient.args[0]) == r"{\gamma}"
    assert _text_of(text, quotient.args[1]) == r"{\sqrt{\sigma_B^2 + \epsilon}}"
    assert _text_of(text, quotient.args[1].args[0]) == r"{\sigma_B^2 + \epsilon}"
    assert _text_of(text, quotient.args[1].args[0].args[0]) == r"\sigma_B^2"
    assert _text_of(text, quotient.args[1].args[0].args[0].args[0]) == r"\sigma_B"
    assert _text_of(text, grad) == r"\left(g_y\right)"


def test_spans_in_ascii_and_equations():
    text = "g_z = (a + b) * c"
    tree = parse_ascii(text)
    assert _text_of(text, tree) == text
    assert _text_of(text, tree.lhs) == "g_z"
    assert _text_of(text, tree.rhs.args[0]) == "(a + b)"
    assert tree.rhs.args[1].span == Span(16, 17)


def test_a_bound_transpose_spans_its_two_factors():
    text = r"\frac{1}{N} \hat{z} \hat{z}^T g_y"
    tree = parse_latex(text)
    assert _text_of(text, tree) == text
    assert _text_of(text, tree.args[1]) == r"\hat{z}^T g_y"
    assert _text_of(text, tree.args[1].args[0]) == r"\hat{z}"


def test_derivative_span_is_the_whole_fraction():
    text = r"y = \frac{\partial L}{\partial \hat{x}_i}"
    assert _text_of(text, parse_latex(text).rhs) == text[4:]


# --- problems --------------------------------------------------------------------------

PROBLEMS = [
    ("latex", r"\foo", "unknown command \\foo; accepted commands are", (0, 4)),
    ("latex", r"x + \fracx", "unknown command \\fracx", (4, 10)),
    ("latex", r"\alphabet", "unknown command \\alphabet", (0, 9)),
    ("latex", r"\mathbf\foo", "unknown command \\foo", (7, 11)),
    ("latex", r"a \% b", "unknown command \\%", (2, 4)),
    ("latex", r"\frac\sum", "\\sum cannot be used here", (5, 9)),
    ("latex", r"\left x", "\\left cannot be used here", (0, 5)),
    (
        "latex",
        "(a + b",
        "unexpected end of formula: a '(' opened at column 1 is not closed",
        (0, 1),
    ),
    ("latex", r"x \cdot (a + \frac{b}{c}", "a '(' opened at column 9 is not closed", (8, 9)),
    ("latex", "a + )", "unexpected ')': no bracket is open", (4, 5)),
    ("latex", "(a + )", "unexpected ')': expected an operand", (5, 6)),
    ("latex", r"\left[ a \right)", "is closed by '\\right)'", (9, 16)),
    ("latex", "a +", "unexpected end of formula: expected an operand", (3, 3)),
    ("latex", "", "empty formula", (0, 0)),
    ("latex", "   ", "empty formula", (0, 3)),
    ("latex", "x^23", "LaTeX reads x^23 as x^2 times 3; write x^{23}", (2, 4)),
    ("latex", r"\sigma^23", "LaTeX reads \\sigma^23 as \\sigma^2 times 3", (7, 9)),
    ("latex", "x_12", "LaTeX reads x_12 as x_1 times 2; write x_{12}", (2, 4)),
    ("latex", "x^2.5", "write x^{2.5}", (2, 5)),
    ("latex", r"\sum_{i=1}^10 x_i", "write \\sum^{10}", (11, 13)),
    ("latex", r"\frac{a}23", "LaTeX takes only the first digit of 23 here; write {23}", (8, 10)),
    ("latex", r"\sqrt[3]{x}", "only square roots", (0, 6)),
    ("latex", r"\sqrt(x)", "unexpected '(': expected an argument in braces", (5, 6)),
    (
        "latex",
        r"\frac{\partial y}{\partial x}",
        "only derivatives of the loss L are supported",
        (15, 16),
    ),
    ("latex", r"\nabla_x y", "only derivatives of the loss L are supported", (9, 10)),
    (
        "latex",
        r"\frac{\partial L}{\partial (x+y)}",
        "differentiate with respect to a name",
        (27, 32),
    ),
    ("latex", r"\frac{d}{dx} L", "write a derivative of the loss as \\frac{dL}{dx}", (0, 12)),
    ("latex", r"\hat{x + 1}", "\\hat must decorate a name", (4, 11)),
    ("latex", r"(a+b)_i", "a subscript must follow a name", (5, 7)),
    ("latex", r"x_{i+1}", "a subscript must be an index (i, j, k) or a name", (2, 7)),
    ("latex", r"\sum_{ij} x", "the index of \\sum must be one letter", (4, 9)),
    ("latex", "x = y.", "unexpected '.' after the formula: remove it", (5, 6)),
    ("latex", "x = y ,", "unexpected ',' after the formula", (6, 7)),
    ("latex", "x = y = z", "a formula has at most one '='", (6, 7)),
    ("latex", "1" * 1001, "number too large", (0, 1001)),
    ("ascii", "foo(x)", "unknown function foo; accepted: sqrt, exp, log, sum, mean, dot", (0, 3)),
    ("ascii", "gamma(z - mu)", "did you mean gamma*(...)?", (0, 5)),
    ("ascii", "dot(a)", "dot takes 2 arguments, found 1", (0, 6)),
    ("ascii", "sqrt(a, b)", "sqrt takes 1 argument, found 2", (0, 10)),
    ("ascii", "sqrt()", "unexpected ')': expected an operand", (5, 6)),
    ("ascii", "a b", "multiplication needs *", (2, 3)),
    ("ascii", "(a + b", "a '(' opened at column 1 is not closed", (0, 1)),
    ("ascii", "a)", "unexpected ')': no bracket is open", (1, 2)),
    ("ascii", "a *", "unexpected end of formula: expected an operand", (3, 3)),
    ("ascii", "a * / b", "unexpected '/': expected an operand", (4, 5)),
    ("ascii", "", "empty formula", (0, 0)),
    ("ascii", "x,", "unexpected ',' after the formula", (1, 2)),
    ("ascii", "x $ y", "unexpected '$'", (2, 3)),
    ("ascii", r"\frac{a}{b}", "LaTeX commands need the LaTeX syntax", (0, 1)),
    ("ascii", "a = b = c", "a formula has at most one '='", (6, 7)),
    ("ascii", "1e999999", "number too large", (0, 8)),
    ("ascii", "1e-1001", "number too large", (0, 7)),
    ("ascii", "9" * 1001 + ".5", "number too large", (0, 1003)),
    ("ascii", "2(x + 1)", "unexpected '(': expected an operator (multiplication needs *)", (1, 2)),
    ("ascii", "x σ", "such as sigma", (2, 3)),
    ("latex", "σ + 1", "such as \\sigma", (0, 1)),
    ("latex", "x \\", "unexpected '\\'", (2, 3)),
]


@pytest.mark.parametrize(("syntax", "text", "message", "span"), PROBLEMS)
def test_problems_say_what_and_where(syntax, text, message, span):
    problem = parse(text, syntax)
    assert isinstance(problem, Problem)
    assert message in problem.message
    assert problem.span == Span(*span)


def test_unknown_command_lists_the_grammar_commands():
    message = parse_latex(r"\foo").message
    for command in (r"\frac", r"\sqrt", r"\sum", r"\cdot", r"\hat", r"\mathbf", r"\left"):
        assert command + "," in message or message.endswith(command)
    assert r"\gamma" in message and r"\varepsilon" in message


def test_literals_at_the_limits_are_exact():
    assert parse_ascii("1e1000") == N(10**1000)
    assert parse_ascii("1e-1000") == N(Fraction(1, 10**1000))
    assert parse_ascii("9" * 1000) == N(int("9" * 1000))


def test_huge_exponent_is_refused():
    # The limit is checked before the literal is built, so no giant integer is made.
    assert isinstance(parse_ascii("1e" + "9" * 5000), Problem)
    assert isinstance(parse_ascii("2 * 1e999999999"), Problem)


def test_unknown_syntax_is_a_problem():
    assert isinstance(parse("x", "python"), Problem)


def test_text_is_never_run_as_code():
    for text in ("__import__('os').system('true')", "eval('1')", "exec('x = 1')"):
        assert isinstance(parse_ascii(text), Problem)


LATEX_PIECES = [
    *[r"\frac", r"\sqrt", r"\sqrt[", r"\sum", r"\limits", r"\partial", r"\nabla", r"\hat"],
    *[r"\mathbf", r"\mathrm", r"\left(", r"\right)", r"\left", r"\top", r"\cdot", r"\alpha"],
    *[r"\ell", r"\foo", r"\,", r"\quad", r"\\", r"\Big", r"\bigl", r"\{", r"\}", "\\"],
    *["^", "_", "{", "}", "(", ")", "[", "]", "x", "L", "d", "T", "i", "1", "23", "2.5"],
    *[".", ",", "=", "+", "-", "@", "*", "/", "&", "σ", "$", " "],
]
ASCII_PIECES = [
    *["x", "T", "^", "**", "*", "-", "+", "(", ")", ",", "sqrt", "dot", "foo", "=", "@"],
    *["1", "1e5", ".5", "e", "/", "_", "2.", "\\", "σ", " "],
]


def _is_tree(result):
    return isinstance(result, Equation) or all(
        isinstance(node, (Num, Sym, Apply, IndexedSum)) for node in walk(result)
    )


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["latex", "ascii"]),
    st.lists(st.sampled_from(LATEX_PIECES), max_size=12),
    st.lists(st.sampled_from(ASCII_PIECES), max_size=12),
)
def test_any_input_gives_a_tree_or_a_located_problem(syntax, latex_pieces, ascii_pieces):
    text = "".join(latex_pieces if syntax == "latex" else ascii_pieces)
    result = parse(text, syntax)
    if isinstance(result, Problem):
        assert 0 <= result.span.start <= result.span.end <= len(text)
    else:
        assert _is_tree(result)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LATEX_PIECES), max_size=6))
def test_name_key_gives_a_name_or_a_problem(pieces):
    assert isinstance(name_key("".join(pieces)), (str, Problem))


# --- nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("syntax", ["latex", "ascii"])
def test_nesting_at_the_limit_parses(syntax):
    text = "(" * MAX_NESTING + "x" + ")" * MAX_NESTING
    assert parse(text, syntax) == S("x")


@pytest.mark.parametrize(
    ("syntax", "text"),
    [
        ("latex", "(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1)),
        ("ascii", "(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1)),
        ("ascii", "sqrt(" * 5000 + "x" + ")" * 5000),
        ("latex", r"\frac{1}{" * (MAX_NESTING + 1) + "x" + "}" * (MAX_NESTING + 1)),
        ("latex", "{" * 100_000),
    ],
)
def test_deep_nesting_is_a_problem(syntax, text):
    problem = parse(text, syntax)
    assert isinstance(problem, Problem)
    assert f"nested deeper than {MAX_NESTING} levels" in problem.message
    assert text[problem.span.start] in "({"
    before = text[: problem.span.start]
    opened = sum(map(before.count, "({")) - sum(map(before.count, ")}"))
    assert opened == MAX_NESTING  # the caret points at the first bracket too many


@pytest.mark.parametrize(
    ("syntax", "text"),
    [
        ("ascii", "-" * 5000 + "x"),
        ("ascii", "+".join(["x"] * 5000)),
        ("ascii", "^".join(["x"] * 5000)),
        ("latex", " ".join(["x"] * 5000)),
        ("latex", "-" * 5000 + "x"),
    ],
)
def test_long_chains_are_a_problem_not_a_recursion_error(syntax, text):
    problem = parse(text, syntax)
    assert isinstance(problem, Problem)
    assert "nested deeper than" in problem.message


def test_latex_letters_are_the_grammar_letter_commands():
    letters = latex_letters()
    assert letters == frozenset(LATEX_LETTERS)  # the grammar's rule is built from the table
    assert {"gamma", "varepsilon", "ell", "Sigma"} <= letters
    assert not letters & {"frac", "sqrt", "sum", "hat", "mathbf"}
    for letter in letters:
        assert parse_latex("\\" + letter) == S(letter)


# --- name keys -------------------------------------------------------------------------

NAME_KEYS = [
    ("x", "x"),
    ("m", "m"),
    ("xhat", "xhat"),
    ("g_xhat", "g_xhat"),
    ("sigma_B^2", "sigma_B^2"),
    (r"\hat{x}", "xhat"),
    (r"\hat x", "xhat"),
    (r"\widehat{\gamma}", "gammahat"),
    (r"\sigma_B^2", "sigma_B^2"),
    (r"\sigma^2_B", "sigma_B^2"),
    (r"\mu_B", "mu_B"),
    (r"\mu_{\mathcal{B}}", "mu_B"),
    (r"g_{\hat z}", "g_zhat"),
    (r"g_{\sigma_B^2}", "g_sigma_B^2"),
    (r"\gamma", "gamma"),
    (r"\mathbf{x}", "x"),
    (r" \epsilon ", "epsilon"),
]


@pytest.mark.parametrize(("key", "name"), NAME_KEYS)
def test_name_key(key, name):
    assert name_key(key) == name


@pytest.mark.parametrize("key", [r"\hat{x}_i", "x y", r"\frac{a}{b}", r"x^T", "", r"\foo", "a = b"])
def test_name_key_of_something_else_is_a_problem(key):
    assert isinstance(name_key(key), Problem)


def test_name_key_agrees_with_the_parser():
    for text in (r"\hat{z}", r"\sigma_B^2", r"\mu_{\mathcal{B}}", r"g_{\hat{z}}"):
        tree = parse_latex(rf"\frac{{\partial L}}{{\partial {text}}}")
        assert tree == S("g_" + name_key(text))


# --- round trips through test-local printers -------------------------------------------

# After ^ a lone T is the transpose, so x ^ T cannot be a power of a name T.
IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,4}", fullmatch=True).filter(
    lambda name: name != "T"
)
DECIMALS = st.decimals(
    min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False
)
NUMBERS = DECIMALS.map(lambda d: Num(Fraction(d)))
# LaTeX spellings of names; d and T are left out: \frac{d ...}{d ...} and ^{T} mean more.
LATEX_NAMES = {
    "x": "x",
    "m": "m",
    "gamma": r"\gamma",
    "epsilon": r"\epsilon",
    "mu_B": r"\mu_B",
    "sigma_B": r"\sigma_{\mathcal{B}}",
    "xhat": r"\hat{x}",
    "g_y": "g_y",
}


def trees(leaves, unary, binary):
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda o, a: Apply(o, (a,)), st.sampled_from(unary), inner),
            st.builds(lambda o, a, b: Apply(o, (a, b)), st.sampled_from(binary), inner, inner),
        ),
        max_leaves=12,
    )


ASCII_TREES = trees(
    st.one_of(NUMBERS, IDENTIFIERS.map(Sym)),
    ["neg", "sqrt", "exp", "log", "sum", "mean"],
    ["add", "sub", "mul", "div", "pow", "dot"],
)
LATEX_TREES = trees(
    st.one_of(NUMBERS, st.sampled_from(sorted(LATEX_NAMES)).map(Sym)),
    ["neg", "sqrt", "exp", "log"],
    ["add", "sub", "mul", "div", "pow", "dot"],
)
ASCII_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^"}
LATEX_INFIX = {"add": "+", "sub": "-", "mul": r"\cdot"}


def to_ascii(node):
    match node:
        case Num(value=value):
            return format(Decimal(value.numerator) / value.denominator, "f")
        case Sym(name=name):
            return name
        case Apply(op="neg", args=(a,)):
            return f"(-{to_ascii(a)})"
        case Apply(op="dot", args=(a, b)):
            return f"(({to_ascii(a)})^T @ {to_ascii(b)})"
        case Apply(op=name, args=(a, b)):
            return f"({to_ascii(a)} {ASCII_INFIX[name]} {to_ascii(b)})"
        case Apply(op=name, args=(a,)):
            return f"{name}({to_ascii(a)})"
    raise AssertionError(node)


def to_latex(node):
    match node:
        case Num(value=value):
            return format(Decimal(value.numerator) / value.denominator, "f")
        case Sym(name=name):
            return LATEX_NAMES[name]
        case Apply(op="neg", args=(a,)):
            return rf"\left(-{to_latex(a)}\right)"
        case Apply(op="sqrt", args=(a,)):
            return rf"\sqrt{{{to_latex(a)}}}"
        case Apply(op="exp", args=(a,)):
            return rf"\exp\left({to_latex(a)}\right)"
        case Apply(op="log", args=(a,)):
            return rf"\log{{{to_latex(a)}}}"
        case Apply(op="div", args=(a, b)):
            return rf"\frac{{{to_latex(a)}}}{{{to_latex(b)}}}"
        case Apply(op="pow", args=(a, b)):
            return rf"\left({to_latex(a)}\right)^{{{to_latex(b)}}}"
        case Apply(op="dot", args=(a, b)):
            return rf"\left(\left({to_latex(a)}\right)^T ({to_latex(b)})\right)"
        case Apply(op=name, args=(a, b)):
            return f"({to_latex(a)} {LATEX_INFIX[name]} {to_latex(b)})"
    raise AssertionError(node)


def _spans_are_inside(text, tree):
    return all(0 <= n.span.start < n.span.end <= len(text) for n in walk(tree))


# The grammar is under test here, not the limits: generated powers may exceed them.
POWERS_UNBOUNDED = replace(DEFAULT_LIMITS, max_exponent=10**40)


@settings(max_examples=300, deadline=None)
@given(ASCII_TREES)
def test_ascii_round_trip(tree):
    text = to_ascii(tree)
    parsed = parse(text, "ascii", POWERS_UNBOUNDED)
    assert parsed == tree
    assert _spans_are_inside(text, parsed)


@settings(max_examples=300, deadline=None)
@given(ASCII_TREES, ASCII_TREES)
def test_ascii_equation_round_trip(lhs, rhs):
    text = f"{to_ascii(lhs)} = {to_ascii(rhs)}"
    assert parse(text, "ascii", POWERS_UNBOUNDED) == Equation(lhs, rhs)


@settings(max_examples=300, deadline=None)
@given(LATEX_TREES)
def test_latex_round_trip(tree):
    text = to_latex(tree)
    parsed = parse(text, "latex", POWERS_UNBOUNDED)
    assert parsed == tree
    assert _spans_are_inside(text, parsed)
