"""Print bnverify's own expression trees (bnverify.language.tree) as LaTeX and as ASCII.

Reports typeset three kinds of tree: the model's forward pass, the chain-rule terms the
engine built, and a candidate as its author wrote it (parsed, before its names are
resolved). Each is printed from the tree, never from the text it came from, and every
name is spelled by the model's notation or by latex_name, which escapes it:
no text of a derivation file reaches LaTeX.

LaTeX comes in two notations:
- element-wise (a set of batch names is given), as printing.ElementLatexPrinter prints
  closed forms: a batch name carries the index i, a name inside a reduction carries j,
  and sum, mean and dot are written as sums over j;
- as written (no batch names): each name keeps the index its author gave it, and vector
  operations keep vector notation (a^T b, \\mathbf{1}, \\sum x).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

from bnverify.language.names import BATCH_SIZE, HESSIAN_KEY, ONES, latex_name, with_index
from bnverify.language.operators import Op, row, signature
from bnverify.language.shapes import ITS_AXES
from bnverify.language.tree import (
    Apply,
    Equation,
    Expr,
    Formula,
    IndexedSum,
    Num,
    Sym,
    constant_value,
)

# Binding strength of what a node prints as; an operand that binds less is bracketed.
SUM, PRODUCT, POWER, ATOM = 1, 2, 3, 4

Printed = tuple[str, int]  # the text and how strongly it binds
# A claim's relation (tree.RELATIONS' canonical spellings) as LaTeX prints it.
LATEX_RELATIONS = {"=": "=", "<": "<", "<=": r"\le", ">": ">", ">=": r"\ge"}


class LatexTreePrinter:
    """LaTeX of a tree, one `_print_<node type>` method per node type (as SymPy's printers)."""

    def __init__(
        self,
        names: Mapping[str, str],
        batch: frozenset[str] | None = None,
        sizes: Mapping[str, str] | None = None,
    ) -> None:
        self._names, self._batch, self._index = names, batch, "i"
        self._axes: tuple[str, ...] = ()
        self._sizes = sizes or {}  # axis -> the name of its size (d -> D)

    def doprint(self, formula: Formula) -> str:
        """The LaTeX of a formula (an equation prints as `left = right`)."""
        if isinstance(formula, Equation):
            relation = LATEX_RELATIONS[formula.relation]
            return f"{self.doprint(formula.lhs)} {relation} {self.doprint(formula.rhs)}"
        return self._print(formula)[0]

    def _print(self, expr: Expr) -> tuple[str, int]:
        return getattr(self, f"_print_{type(expr).__name__}")(expr)

    def _operand(self, expr: Expr, strength: int) -> str:
        text, own = self._print(expr)
        return rf"\left({text}\right)" if own < strength else text

    def _print_Num(self, expr: Num) -> tuple[str, int]:
        value = expr.value
        magnitude = str(abs(value)) if value.denominator == 1 else _frac(abs(value))
        return (f"-{magnitude}", SUM) if value < 0 else (magnitude, ATOM)

    def _print_Sym(self, expr: Sym) -> tuple[str, int]:
        spelled = self._names.get(expr.name) or latex_name(expr.name)
        if self._batch is None:
            index = expr.index and latex_name(expr.index)
        else:
            index = self._index if expr.name in self._batch else None
        return (with_index(spelled, index) if index else spelled), ATOM

    def _print_IndexedSum(self, expr: IndexedSum) -> tuple[str, int]:
        below = latex_name(expr.index) if expr.index else ""
        if expr.lower is not None:
            below += f"={self._print(expr.lower)[0]}"
        above = f"^{{{self._print(expr.upper)[0]}}}" if expr.upper is not None else ""
        return rf"\sum_{{{below}}}{above} {self._operand(expr.body, PRODUCT)}", PRODUCT

    def _print_Apply(self, expr: Apply) -> tuple[str, int]:
        outer, self._axes = self._axes, expr.axes  # a reduction's axes, for its sum sign
        try:
            return row(LATEX, expr.op, "tree_printing.LATEX")(self, *expr.args)
        finally:
            self._axes = outer

    def _right(self, expr: Expr, strength: int) -> str:
        # After an operator, a leading minus is bracketed: a - \left(-b\right).
        text, own = self._print(expr)
        return rf"\left({text}\right)" if own < strength or text[0] == "-" else text

    def _apply_add(self, a: Expr, b: Expr) -> tuple[str, int]:
        return f"{self._operand(a, SUM)} + {self._right(b, PRODUCT)}", SUM

    def _apply_sub(self, a: Expr, b: Expr) -> tuple[str, int]:
        return f"{self._operand(a, SUM)} - {self._right(b, PRODUCT)}", SUM

    def _apply_neg(self, a: Expr) -> tuple[str, int]:
        return f"-{self._operand(a, PRODUCT)}", SUM

    def _apply_mul(self, a: Expr, b: Expr) -> tuple[str, int]:
        # A reduction on the left would swallow the factor after it: (\sum_j x_j) y_i. A
        # leading minus needs no bracket: -2 (x - y) is (-2)(x - y) and -(2 (x - y)).
        left = self._operand(a, ATOM if _ends_open(a) else SUM if _negative(a) else PRODUCT)
        right = self._right(b, PRODUCT)  # a (b c) prints as a b c: products associate
        between = r" \cdot " if right[0].isdigit() else " "
        return f"{left}{between}{right}", PRODUCT

    def _apply_div(self, a: Expr, b: Expr) -> tuple[str, int]:
        return rf"\frac{{{self._print(a)[0]}}}{{{self._print(b)[0]}}}", ATOM

    def _apply_pow(self, base: Expr, exponent: Expr) -> tuple[str, int]:
        if isinstance(exponent, Num) and exponent.value.denominator != 1:
            power = f"{exponent.value.numerator}/{exponent.value.denominator}"
        else:
            power = self._print(exponent)[0]
        return f"{self._base(base)}^{{{power}}}", POWER

    def _base(self, base: Expr) -> str:
        # A root, exp, log or a power is bracketed before a superscript; a spelled name
        # that already has one (\sigma_B^2) is braced, since TeX rejects a double one.
        if isinstance(base, Apply) and base.op in (Op.SQRT, Op.EXP, Op.LOG):
            if base.op == Op.SQRT and _norm_of(base.args[0]) is not None:
                return self._print(base)[0]  # \left\| v \right\|^{2}
            return rf"\left({self._print(base)[0]}\right)"
        text = self._operand(base, ATOM)
        return f"{{{text}}}" if "^" in text and not text.startswith(r"\left(") else text

    def _apply_sqrt(self, a: Expr) -> tuple[str, int]:
        squared = _norm_of(a)
        if squared is not None:  # a claim's norm, over every axis of its argument
            return rf"\left\| {self._print(squared)[0]} \right\|", ATOM
        return rf"\sqrt{{{self._print(a)[0]}}}", ATOM

    def _apply_exp(self, a: Expr) -> tuple[str, int]:
        # \exp, not e^{...}: e may be a name of the author's, and \exp reads back alone.
        return rf"\exp\left({self._print(a)[0]}\right)", ATOM

    def _apply_log(self, a: Expr) -> tuple[str, int]:
        return rf"\log\left({self._print(a)[0]}\right)", ATOM

    def _apply_sum(self, a: Expr) -> tuple[str, int]:
        return f"{self._sum_sign()} {self._inside(a)}", PRODUCT

    def _apply_mean(self, a: Expr) -> tuple[str, int]:
        if self._axes:  # over named axes: 1/(their sizes) times the sum over them
            spelled = [
                self._names.get(self._sizes.get(x, x), self._sizes.get(x, x)) for x in self._axes
            ]
            size = " ".join(spelled)
            return rf"\frac{{1}}{{{size}}} {self._sum_sign()} {self._inside(a)}", PRODUCT
        if self._batch is None:
            return rf"\operatorname{{mean}}\left({self._print(a)[0]}\right)", ATOM
        size = self._names.get(BATCH_SIZE, BATCH_SIZE)
        return rf"\frac{{1}}{{{size}}} {self._sum_sign()} {self._inside(a)}", PRODUCT

    def _apply_dot(self, a: Expr, b: Expr) -> tuple[str, int]:
        if self._axes == ITS_AXES:  # a claim's inner product, over every axis of a and b
            return rf"\left\langle {self._print(a)[0]}, {self._print(b)[0]} \right\rangle", ATOM
        if self._batch is None:
            # a^T b c reads back as (a^T b) c: a product after the transpose is bracketed.
            return f"{self._base(a)}^{{T}} {self._right(b, POWER)}", PRODUCT
        return f"{self._sum_sign()} {self._inside(Apply(Op.MUL, (a, b)))}", PRODUCT

    def _apply_ones(self) -> tuple[str, int]:
        return ("1", ATOM) if self._batch is not None else (r"\mathbf{1}", ATOM)

    def _apply_hess(self, a: Expr, b: Expr) -> tuple[str, int]:
        # a^\top H_y b, the Hessian spelled by the names under HESSIAN_KEY (H by default).
        # Its arguments are vectors over the output's elements: element-wise, plain names.
        spelled, outer, self._batch = self._names.get(HESSIAN_KEY, "H"), self._batch, None
        try:
            return rf"{self._base(a)}^{{\top}} {spelled} {self._right(b, POWER)}", PRODUCT
        finally:
            self._batch = outer

    def _apply_transpose(self, a: Expr) -> tuple[str, int]:
        return f"{self._base(a)}^{{T}}", POWER

    def _sum_sign(self) -> str:
        if self._axes:  # a model with named axes: \sum_{d}, \sum_{n,s}
            return rf"\sum_{{{','.join(latex_name(axis) for axis in self._axes)}}}"
        return r"\sum" if self._batch is None else r"\sum_{j}"

    def _inside(self, body: Expr) -> str:
        # Inside a reduction, batch names run over j.
        outer, self._index = self._index, "j"
        try:
            return self._operand(body, PRODUCT)
        finally:
            self._index = outer


def _norm_of(expr: Expr) -> Expr | None:
    """v when expr is sum(v^2) over every axis of v (a norm's square, as LaTeX reads it)."""
    match expr:
        case Apply(op=Op.SUM, args=(Apply(op=Op.POW, args=(inner, two)),), axes=axes):
            if axes == ITS_AXES and constant_value(two) == 2:
                return inner
    return None


# Operator -> the printer's method that prints it from its arguments.
LATEX: dict[Op, Callable[..., Printed]] = {
    Op.ADD: LatexTreePrinter._apply_add,
    Op.SUB: LatexTreePrinter._apply_sub,
    Op.MUL: LatexTreePrinter._apply_mul,
    Op.DIV: LatexTreePrinter._apply_div,
    Op.POW: LatexTreePrinter._apply_pow,
    Op.NEG: LatexTreePrinter._apply_neg,
    Op.SQRT: LatexTreePrinter._apply_sqrt,
    Op.EXP: LatexTreePrinter._apply_exp,
    Op.LOG: LatexTreePrinter._apply_log,
    Op.SUM: LatexTreePrinter._apply_sum,
    Op.MEAN: LatexTreePrinter._apply_mean,
    Op.DOT: LatexTreePrinter._apply_dot,
    Op.ONES: LatexTreePrinter._apply_ones,
    Op.TRANSPOSE: LatexTreePrinter._apply_transpose,
    Op.HESS: LatexTreePrinter._apply_hess,
}


def _frac(value: Fraction) -> str:
    return rf"\frac{{{value.numerator}}}{{{value.denominator}}}"


def _negative(expr: Expr) -> bool:
    return (isinstance(expr, Num) and expr.value < 0) or (
        isinstance(expr, Apply) and expr.op == Op.NEG
    )


def _ends_open(expr: Expr) -> bool:
    """Whether the printed expression ends in a reduction that would swallow a factor
    written after it: \\sum_j x_j, -\\sum_j x_j, a \\sum_j x_j."""
    if _is_reduction(expr):
        return True
    match expr:
        case Apply(op=Op.NEG, args=(inner,)):
            return _ends_open(inner)
        case Apply(op=Op.MUL, args=(_, right)):
            return _ends_open(right)
    return False


def _is_reduction(expr: Expr) -> bool:
    return isinstance(expr, IndexedSum) or (isinstance(expr, Apply) and signature(expr.op).reduces)


def latex(
    formula: Formula,
    names: Mapping[str, str],
    batch: frozenset[str] | None = None,
    sizes: Mapping[str, str] | None = None,
) -> str:
    """A tree as LaTeX: element-wise when batch names are given, else as written; `sizes`
    names each axis's size, for a mean over named axes (1/D)."""
    return LatexTreePrinter(names, batch, sizes).doprint(formula)


def ascii(expr: Expr) -> str:
    """A resolved tree in bnverify's ASCII formula language (as a model file spells it)."""
    return _ascii(expr)[0]


def _ascii(expr: Expr) -> Printed:
    match expr:
        case Num(value=value):
            text = str(value)
            return text, ATOM if value.denominator == 1 and value >= 0 else SUM
        case Sym(name=name):
            return name, ATOM
        case Apply(op=op, args=args, axes=axes) if axes:
            # A reduction names the axes it removes after its arguments: sum(e, d).
            return f"{op}({', '.join([*(ascii(arg) for arg in args), *axes])})", ATOM
        case Apply(op=op, args=args):
            return row(ASCII, op, "tree_printing.ASCII")(op, *args)
        case IndexedSum(body=body):
            return f"sum({ascii(body)})", ATOM
    raise ValueError(f"cannot print {expr!r}")


def _ascii_operand(expr: Expr, strength: int) -> str:
    text, own = _ascii(expr)
    return f"({text})" if own < strength else text


def _infix(sign: str, strength: int, left: int, right: int) -> Callable[..., Printed]:
    """An operator written between its operands, which bind at least `left` and `right`."""

    def printed(op: Op, a: Expr, b: Expr) -> Printed:
        return f"{_ascii_operand(a, left)}{sign}{_ascii_operand(b, right)}", strength

    return printed


def _call(op: Op, *args: Expr) -> Printed:
    return f"{op}({', '.join(ascii(arg) for arg in args)})", ATOM


# Operator -> how bnverify's ASCII syntax writes it, from (operator, *arguments).
ASCII: dict[Op, Callable[..., Printed]] = {
    Op.ADD: _infix(" + ", SUM, SUM, PRODUCT),
    Op.SUB: _infix(" - ", SUM, SUM, PRODUCT),
    Op.MUL: _infix("*", PRODUCT, PRODUCT, POWER),
    Op.DIV: _infix("/", PRODUCT, PRODUCT, POWER),
    Op.POW: _infix("^", POWER, ATOM, ATOM),
    Op.NEG: lambda op, a: (f"-{_ascii_operand(a, PRODUCT)}", SUM),
    Op.SQRT: _call,
    Op.EXP: _call,
    Op.LOG: _call,
    Op.SUM: _call,
    Op.MEAN: _call,
    Op.DOT: _call,
    Op.ONES: lambda op: (ONES, ATOM),
    Op.TRANSPOSE: _call,
    Op.HESS: _call,
}
