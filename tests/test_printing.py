"""Closed forms (SymPy) printed as bnverify's ASCII and element-wise LaTeX, which read back."""

from __future__ import annotations

import pytest
import sympy as sp

from bnverify.engine import printing
from bnverify.language import parser
from bnverify.language.tree import Apply, Num, Sym

x = sp.Symbol("x")


@pytest.mark.parametrize(
    ("expr", "latex", "ascii"),
    [
        (sp.exp(x), r"\exp\left(x\right)", "exp(x)"),
        (sp.log(x) ** 2, r"\log{\left(x \right)}^{2}", "log(x)^2"),
        (sp.E * x, r"\exp\left(1\right) x", "exp(1)*x"),  # SymPy's own E and e are no names
    ],
)
def test_exp_and_log_print_as_the_parser_reads_them(expr, latex, ascii):
    assert printing.FunctionLatexPrinter().doprint(expr) == latex
    assert printing.ascii(expr) == ascii
    assert parser.parse(latex, "latex") == parser.parse(ascii, "ascii")


def test_an_exponential_never_prints_as_a_power_of_e():
    # e^{x} would read back as a power of e in a model that names exp(z) e.
    printed = printing.FunctionLatexPrinter().doprint(sp.exp(2 * x) / (1 + sp.exp(x)))
    assert "e^" not in printed
    assert parser.parse(printed, "latex") == Apply(
        "div",
        (
            Apply("exp", (Apply("mul", (Num(2), Sym("x"))),)),
            Apply("add", (Apply("exp", (Sym("x"),)), Num(1))),
        ),
    )
