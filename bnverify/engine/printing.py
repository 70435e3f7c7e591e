"""Print general-N formulas (SymPy expressions from `algebra`) as ASCII and as LaTeX.

ASCII output is bnverify's own formula language, so a printed result can be pasted back
into a derivation file. LaTeX output is element-wise, as in papers: a batch name carries
the index i, and a sum over the batch runs over j (`\\sum_j g_{y,j} \\hat{z}_j`). The LaTeX
spelling of each name comes from the model's notation table, and exp is written \\exp, as
bnverify's own trees print it.
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from bnverify.engine.algebra import Algebra, BatchSum, Hess
from bnverify.language.names import (
    HESSIAN_KEY,
    gradient_of,
    hessian_name,
    latex_gradient,
    latex_name,
    with_index,
)
from bnverify.model.graph import Model


def _sums_in(term: sp.Expr) -> int:
    return sum(1 for node in sp.preorder_traversal(term) if isinstance(node, BatchSum))


class ReadingOrder:
    """A SymPy printer mixin: the terms of a sum in the order a person reads them."""

    def _as_ordered_terms(self, expr: sp.Expr, order: str | None = None) -> list[sp.Expr]:
        # The order a person writes a gradient in: the upstream term first, then terms
        # through one sum (the mean), then through more (the variance); otherwise as
        # SymPy keeps them (var + eps).
        if isinstance(expr, sp.Add):
            return sorted(expr.args, key=_sums_in)  # a stable sort keeps ties in place
        return super()._as_ordered_terms(expr, order=order)  # type: ignore[misc]


class AsciiPrinter(ReadingOrder, StrPrinter):
    """SymPy's str printer, with sums over the batch written sum(...)."""

    def _print_BatchSum(self, expr: BatchSum) -> str:
        axes = "".join(f", {axis}" for axis in expr.args[1:])
        return f"sum({self._print(expr.args[0])}{axes})"

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "exp(1)"  # SymPy's E is no name of the formula language

    def _print_Hess(self, expr: Hess) -> str:
        return f"hess({self._print(expr.args[0])}, {self._print(expr.args[1])})"


def ascii(expr: sp.Expr) -> str:
    """A general-N expression in bnverify's ASCII formula language."""
    return AsciiPrinter({"order": "none"}).doprint(expr)


class FunctionLatexPrinter(LatexPrinter):
    """SymPy's LaTeX with exp(x) as \\exp(x) and e as \\exp(1), as the parser reads them.

    SymPy writes e^{x}, which reads back as a power of the name e in a model that has one
    (softmax code names exp(z) e).
    """

    def _print(self, expr: object, **kwargs: object) -> str:
        # E prints itself through its own _latex method, before any _print_Exp1 is asked.
        if expr is sp.E:
            return r"\exp\left(1\right)"
        return super()._print(expr, **kwargs)

    def _print_ExpBase(self, expr: sp.Expr, exp: str | None = None) -> str:
        return self._do_exponent(rf"\exp\left({self._print(expr.args[0])}\right)", exp)


class ElementLatexPrinter(ReadingOrder, FunctionLatexPrinter):
    """LaTeX with element indices: batch names get i, names inside a batch sum get j."""

    def __init__(self, names: dict[str, str], batch: frozenset[sp.Symbol]) -> None:
        super().__init__({"order": "none"})
        self._names, self._batch = names, batch
        self._index: str | None = "i"

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        base = self._names.get(expr.name) or latex_name(expr.name)
        if expr not in self._batch or self._index is None:
            return base
        return with_index(base, self._index)

    def _print_Hess(self, expr: Hess, exp: str | None = None) -> str:
        # a^T H_y b: its arguments are vectors over the output's elements, so plain names.
        outer, self._index = self._index, None
        try:
            a, b = (self._print(arg) for arg in expr.args)
        finally:
            self._index = outer
        a = a if expr.args[0].is_Symbol or expr.args[0].is_Number else rf"\left({a}\right)"
        b = b if expr.args[1].is_Symbol or expr.args[1].is_Number else rf"\left({b}\right)"
        text = rf"{a}^{{\top}} {self._names.get(HESSIAN_KEY, 'H')} {b}"
        return rf"\left({text}\right)^{{{exp}}}" if exp is not None else text

    def _print_BatchSum(self, expr: BatchSum, exp: str | None = None) -> str:
        # SymPy's printer passes `exp` for a power of a function: (sum_j x_j)^2.
        if exp is not None:
            return rf"\left({self._print_BatchSum(expr)}\right)^{{{exp}}}"
        if len(expr.args) > 1:  # named axes: plain names, and the sum names its axis
            body = self._print(expr.args[0])
            if isinstance(expr.args[0], sp.Add):
                body = rf"\left({body}\right)"
            axes = ",".join(latex_name(str(axis)) for axis in expr.args[1:])
            return rf"\sum_{{{axes}}} {body}"
        outer, self._index = self._index, "j"
        try:
            body = self._print(expr.args[0])
        finally:
            self._index = outer
        if isinstance(expr.args[0], sp.Add):
            body = rf"\left({body}\right)"
        return rf"\sum_{{j}} {body}"


def latex(expr: sp.Expr, model: Model, algebra: Algebra) -> str:
    """A general-N expression in element-wise LaTeX, in the model's notation."""
    printer = ElementLatexPrinter(latex_names(model), algebra.batch)
    if len(model.order) > 1:
        printer._index = None  # with named axes a name is printed plain, x for x_{b,d}
    return printer.doprint(expr)


def concrete_latex(expr: sp.Expr, model: Model) -> str:
    """LaTeX of a formula at a fixed batch size, whose symbols are z_1, g_y_2, gamma, eps."""
    names = latex_names(model)
    symbol_names = {}
    for symbol in expr.free_symbols:
        base, _, index = symbol.name.rpartition("_")
        if base in model.shape_of and index.isdigit():
            spelled = names.get(base) or latex_name(base)
            symbol_names[symbol] = with_index(spelled, index)
        else:
            symbol_names[symbol] = names.get(symbol.name) or latex_name(symbol.name)
    return FunctionLatexPrinter({"symbol_names": symbol_names}).doprint(expr)


def latex_names(model: Model) -> dict[str, str]:
    """Model name -> its first LaTeX spelling in the model's notation table."""
    out: dict[str, str] = {}
    for alias in model.notation:
        out.setdefault(alias.name, alias.spelling)
    for name in list(model.shape_of):
        target = gradient_of(name)
        if target is not None:
            out.setdefault(name, latex_gradient(out.get(target) or latex_name(target)))
    out[HESSIAN_KEY] = latex_name(hessian_name(model.output))  # H_{y}, as hess(a, b) prints
    return out
