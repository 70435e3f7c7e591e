"""Formula text to expression tree, in LaTeX or ASCII syntax, with located Problems.

The grammars are data (grammar/latex.lark, grammar/ascii.lark). Here each grammar rule
has one transformer method, run by the LALR parser as it reduces, so no parse tree is
built and nothing recurses however deep the formula. Bad input never raises: our own
rejections, and lark's exceptions (explained in bnverify.syntax_errors), become a Problem
that points at the offending text.
The text is untrusted: nothing here evaluates it, and numbers become exact Fractions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Literal

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedInput

from bnverify import syntax_errors
from bnverify.problem import Problem
from bnverify.syntax_errors import BRACKET_PAIRS
from bnverify.tree import OPERATORS, Apply, Equation, Expr, Formula, IndexedSum, Num, Span, Sym
from bnverify.tree import depth as tree_depth

Syntax = Literal["latex", "ascii"]

# Limits against hostile input: 1e999999 must not build a million-digit integer, and
# later stages compare and walk trees recursively.
MAX_DIGITS = 1000
MAX_EXPONENT = 1000
MAX_NESTING = 200

# The loss, by the name the parser gives it; \mathcal{L} is L since fonts are transparent.
LOSS_NAMES = frozenset({"L", "ell"})
# A LaTeX subscript that is one of these letters indexes elements; any other names.
INDEX_LETTERS = frozenset("ijk")
ASCII_FUNCTIONS = {name: OPERATORS[name] for name in ("sqrt", "sum", "mean", "dot")}
# \mathbf{1} is the vector of ones, not the number one in bold.
ONES_FONTS = frozenset({"\\mathbf", "\\mathbb"})

_GRAMMARS = Path(__file__).parent / "grammar"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\^\d+)?")


class _Reject(Exception):
    """Raised by a transformer method; _parse turns it into a Problem.

    A message may need the formula's text, which the parser's callbacks never see.
    """

    def __init__(self, span: Span, message: str | Callable[[str], str]) -> None:
        super().__init__(message)
        self.span, self.message = span, message

    def problem(self, text: str) -> Problem:
        message = self.message(text) if callable(self.message) else self.message
        return Problem(message, span=self.span)


@dataclass(frozen=True)
class _Script:
    """A sub- or superscript before it meets its base; value None means transpose."""

    mark: str
    value: Expr | None
    span: Span
    digits: str = ""  # an unbraced number of several digits: x^23


@dataclass(frozen=True)
class _SumFrom:
    """The `_{i=1}` under a \\sum: index letter and lower bound."""

    index: str
    lower: Expr
    span: Span


_Piece = Token | Expr | _Script | _SumFrom


def _span(first: _Piece, last: _Piece) -> Span:
    start = first.start_pos if isinstance(first, Token) else first.span.start
    end = last.end_pos if isinstance(last, Token) else last.span.end
    return Span(start, end)


def _fraction(token: Token) -> Fraction:
    """A number literal as an exact Fraction, refusing literals too big to build."""
    mantissa, _, exponent = token.lower().partition("e")
    digits = exponent.lstrip("+-").lstrip("0")
    too_long = len(mantissa) - mantissa.count(".") > MAX_DIGITS
    if too_long or len(digits) > len(str(MAX_EXPONENT)) or int(digits or 0) > MAX_EXPONENT:
        message = (
            f"number too large: at most {MAX_DIGITS} digits and an exponent "
            f"within ±{MAX_EXPONENT} are accepted"
        )
        raise _Reject(_span(token, token), message)
    return Fraction(str(token))


def _product(op: str, left: Expr, right: Expr) -> Expr:
    """`left right` as op ("mul" or "dot"), a transposed last factor of left binding first.

    In a product chain a^T binds to the factor after it before the chain folds left to
    right: 1 1^T g = 1 (1^T g), c a^T b = c (a^T b), and a^T b c = (a^T b) c.
    """
    path, last = [], left
    while isinstance(last, Apply) and _ends_with_a_factor(last):
        path.append(last)
        last = last.args[-1]
    if not (isinstance(last, Apply) and last.op == "transpose"):
        return Apply(op, (left, right), _span(left, right))
    bound: Expr = Apply("dot", (last.args[0], right), _span(last, right))
    for node in reversed(path):  # a loop: -----a^T b nests as deep as it is long
        bound = Apply(node.op, (*node.args[:-1], bound), _span(node, right))
    return bound


def _ends_with_a_factor(node: Apply) -> bool:
    """Whether node's last operand may bind to a factor written after node."""
    # Products are associative and signs commute with them, so brackets do not matter:
    # (1 1^T) g = 1 (1^T g). A quotient binds only as written, a / b^T c = a / (b^T c);
    # a bracketed one or a \frac (a span wider than its operands) is closed.
    if node.op in ("mul", "neg"):
        return True
    return node.op == "div" and node.span == _span(node.args[0], node.args[1])


def _atom_key(expr: Expr) -> tuple[str, str | None] | None:
    """The name and index of an atom (x_i, \\hat{x}, \\sigma_B^2 -> "sigma_B^2"), else None."""
    match expr:
        case Sym(name=name, index=index):
            return name, index
        case Apply(op="pow", args=(Sym(name=name, index=index), Num(value=power))) if (
            power.denominator == 1
        ):
            return f"{name}^{power.numerator}", index
    return None


def _subscript_key(expr: Expr) -> tuple[str, str | None] | None:
    """A subscript read as part of a name: an atom, a whole number, or letters (x_{in})."""
    factors = []
    while isinstance(expr, Apply) and expr.op == "mul":  # a loop: x_{abc...} may be long
        expr, right = expr.args
        factors.append(right)
    factors.append(expr)
    keys = [_atom_key(f) or _whole_number(f) for f in reversed(factors)]
    if None in keys or (len(keys) > 1 and any(index for _, index in keys)):
        return None
    return keys[0] if len(keys) == 1 else ("".join(name for name, _ in keys), None)


def _whole_number(expr: Expr) -> tuple[str, None] | None:
    match expr:
        case Num(value=value) if value.denominator == 1:
            return str(value.numerator), None
    return None


def _gradient(loss: Expr, wrt: Expr, span: Span) -> Sym:
    """dL/d(atom) as the name g_<atom>, keeping the atom's element index."""
    if not (isinstance(loss, Sym) and loss.index is None and loss.name in LOSS_NAMES):
        spellings = " or ".join(n if len(n) == 1 else "\\" + n for n in sorted(LOSS_NAMES))
        message = f"only derivatives of the loss L are supported (the loss is written {spellings})"
        raise _Reject(loss.span, message)
    key = _atom_key(wrt)
    if key is None:
        message = "differentiate with respect to a name, such as x, \\hat{x}_i or \\sigma_B^2"
        raise _Reject(wrt.span, message)
    return Sym("g_" + key[0], key[1], span)


def _differential(expr: Expr) -> Expr | None:
    """The x of `dx` (d or \\mathrm{d} times x), else None."""
    match expr:
        case Apply(op="mul", args=(Sym(name="d", index=None), rest)):
            return rest
    return None


def _script(mark: Token, item: Token | Expr) -> _Script:
    span = _span(mark, item)
    if isinstance(item, Token):  # a bare number: TeX takes only its first digit
        if len(item) > 1:
            return _Script(str(mark), None, span, digits=str(item))
        item = Num(Fraction(int(item)), _span(item, item))
    if mark == "^" and item == Sym("T"):
        return _Script("^", None, span)
    return _Script(str(mark), item, span)


def _checked(script: _Script, base: Span) -> _Script:
    """The script, unless it is a bare multi-digit number, which TeX would split."""
    if not script.digits:
        return script
    digits, mark = script.digits, script.mark

    def message(text: str) -> str:
        b = text[base.start : base.end] + mark
        return (
            f"LaTeX reads {b}{digits} as {b}{digits[0]} times {digits[1:]}; write {b}{{{digits}}}"
        )

    raise _Reject(Span(script.span.end - len(digits), script.span.end), message)


def _subscripted(base: Expr, sub: _Script, span: Span) -> Sym:
    if not isinstance(base, Sym) or base.index is not None or sub.value is None:
        raise _Reject(sub.span, "a subscript must follow a name, as in x_i or \\mu_B")
    value = sub.value
    if isinstance(value, Sym) and value.index is None and value.name in INDEX_LETTERS:
        return Sym(base.name, value.name, span)
    key = _subscript_key(value)
    if key is None:
        message = "a subscript must be an index (i, j, k) or a name, as in \\mu_B or x_{in}"
        raise _Reject(value.span, message)
    return Sym(f"{base.name}_{key[0]}", key[1], span)


@v_args(inline=True)
class _Arithmetic(Transformer):
    """Rules both syntaxes share; each method builds one node with its span."""

    def equation(self, lhs: Expr, _eq: Token, rhs: Expr) -> Equation:
        return Equation(lhs, rhs, _span(lhs, rhs))

    def add(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply("add", (left, right), _span(left, right))

    def sub(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply("sub", (left, right), _span(left, right))

    def mul(self, left: Expr, *rest: Token | Expr) -> Expr:
        return _product("mul", left, rest[-1])

    def div(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply("div", (left, right), _span(left, right))

    def matmul(self, left: Expr, _op: Token, right: Expr) -> Expr:
        # a^T @ b and a @ b both mean the dot product of a and b.
        return _product("dot", left, right)

    def neg(self, op: Token, arg: Expr) -> Apply:
        return Apply("neg", (arg,), _span(op, arg))

    def pos(self, op: Token, arg: Expr) -> Expr:
        return replace(arg, span=_span(op, arg))

    def group(self, open_: Token, inner: Expr, close: Token) -> Expr:
        # The tokens may carry \left / \right; the bracket is their last character.
        if BRACKET_PAIRS[open_[-1]] != close[-1]:
            message = f"'{open_}' at column {open_.start_pos + 1} is closed by '{close}'"
            raise _Reject(_span(close, close), message)
        return replace(inner, span=_span(open_, close))

    def number(self, token: Token) -> Num:
        return Num(_fraction(token), _span(token, token))


@v_args(inline=True)
class _AsciiTree(_Arithmetic):
    """The ASCII rules: names, calls, ^ and ** powers, ^T."""

    def name(self, token: Token) -> Sym:
        return Sym(str(token), span=_span(token, token))

    def pow(self, base: Expr, _op: Token, exponent: Expr) -> Apply:
        return Apply("pow", (base, exponent), _span(base, exponent))

    def transpose(self, base: Expr, _op: Token, mark: Token) -> Apply:
        return Apply("transpose", (base,), _span(base, mark))

    def call(self, name: Token, _open: Token, *rest: Token | Expr) -> Apply:
        args = tuple(arg for arg in rest[:-1] if not isinstance(arg, Token))
        arity = ASCII_FUNCTIONS.get(str(name))
        if arity is None:
            accepted = ", ".join(ASCII_FUNCTIONS)
            message = f"unknown function {name}; accepted: {accepted} (did you mean {name}*(...)?)"
            raise _Reject(_span(name, name), message)
        if len(args) != arity:
            message = f"{name} takes {arity} argument{'s' * (arity != 1)}, found {len(args)}"
            raise _Reject(_span(name, rest[-1]), message)
        return Apply(str(name), args, _span(name, rest[-1]))


@v_args(inline=True)
class _LatexTree(_Arithmetic):
    """The LaTeX rules: letters, commands, scripts, fractions, sums and derivatives."""

    def letter(self, token: Token) -> Sym:
        return Sym(str(token), span=_span(token, token))

    def letter_command(self, token: Token) -> Sym:
        return Sym(token[1:], span=_span(token, token))

    def bare_number(self, token: Token) -> Num:
        if len(token) > 1:
            message = f"LaTeX takes only the first digit of {token} here; write {{{token}}}"
            raise _Reject(_span(token, token), message)
        return Num(Fraction(int(token)), _span(token, token))

    def unknown_command(self, token: Token) -> Expr:
        message = syntax_errors.command_message(str(token), _parser("latex"))
        raise _Reject(_span(token, token), message)

    def brace(self, open_: Token, inner: Expr, close: Token) -> Expr:
        return replace(inner, span=_span(open_, close))

    def hat(self, command: Token, arg: Expr) -> Sym:
        if not isinstance(arg, Sym):
            raise _Reject(arg.span, f"{command} must decorate a name, as in {command}{{x}}")
        return Sym(arg.name + "hat", arg.index, _span(command, arg))

    def font(self, command: Token, arg: Expr) -> Expr:
        if command in ONES_FONTS and isinstance(arg, Num) and arg.value == 1:
            return Apply("ones", (), _span(command, arg))
        return replace(arg, span=_span(command, arg))

    def frac(self, command: Token, num: Expr, den: Expr) -> Expr:
        span, wrt = _span(command, den), _differential(den)
        if wrt is not None and num == Sym("d"):
            raise _Reject(span, "write a derivative of the loss as \\frac{dL}{dx}")
        loss = _differential(num)
        if wrt is not None and loss is not None:  # \frac{dL}{dx}, \frac{\mathrm{d}L}{\mathrm{d}x}
            return _gradient(loss, wrt, span)
        return Apply("div", (num, den), span)

    def frac_digits(self, token: Token) -> Apply:
        num, den = (
            Num(Fraction(int(char)), Span(token.start_pos + at, token.start_pos + at + 1))
            for at, char in enumerate(token)
            if char.isdigit()
        )
        return Apply("div", (num, den), _span(token, token))

    def derivative(self, command: Token, *rest: Token | Expr) -> Sym:
        # _frac { \partial loss } { \partial wrt }
        return _gradient(rest[2], rest[6], _span(command, rest[-1]))

    def nabla(self, command: Token, mark: Token, item: Token | Expr, loss: Expr) -> Sym:
        wrt = _checked(_script(mark, item), _span(command, command))
        return _gradient(loss, wrt.value, _span(command, loss))

    def sqrt(self, command: Token, arg: Expr) -> Apply:
        return Apply("sqrt", (arg,), _span(command, arg))

    def nth_root(self, token: Token) -> Expr:
        message = "only square roots are supported: write \\sqrt{...}, or a power such as ^{1/3}"
        raise _Reject(_span(token, token), message)

    def subscript(self, mark: Token, item: Token | Expr) -> _Script:
        return _script(mark, item)

    def superscript(self, mark: Token, *rest: Token | Expr) -> _Script:
        if len(rest) == 3 or rest[0] in ("\\top", "\\intercal"):
            return _Script("^", None, _span(mark, rest[-1]))
        return _script(mark, rest[0])

    def scripted(self, base: Expr, *scripts: _Script) -> Expr:
        span = _span(base, scripts[-1])
        checked = [_checked(script, base.span) for script in scripts]
        sup = next((s for s in checked if s.mark == "^"), None)
        sub = next((s for s in checked if s.mark == "_"), None)
        if sub is not None:
            base = _subscripted(base, sub, _span(base, sub))
        if sup is None:
            return base
        if sup.value is None:
            return Apply("transpose", (base,), span)
        return Apply("pow", (base, sup.value), span)

    def sum_from(self, mark: Token, _open: Token, index: Token, *rest: Token | Expr) -> _SumFrom:
        return _SumFrom(str(index), rest[1], _span(mark, rest[-1]))

    def indexed_sum(self, command: Token, *rest: _Piece) -> IndexedSum:
        body, index, lower, upper = rest[-1], None, None, None
        for bound in rest[:-1]:
            if isinstance(bound, _SumFrom):
                index, lower = bound.index, bound.lower
            elif isinstance(bound, _Script) and bound.mark == "_":
                index = _sum_index(_checked(bound, _span(command, command)))
            elif isinstance(bound, _Script):
                upper = _checked(bound, _span(command, command)).value
                if upper is None:
                    raise _Reject(bound.span, "the upper bound of \\sum cannot be a transpose")
        return IndexedSum(index, body, lower, upper, _span(command, body))


def _sum_index(sub: _Script) -> str:
    if isinstance(sub.value, Sym) and sub.value.index is None and len(sub.value.name) == 1:
        return sub.value.name
    raise _Reject(
        sub.span, "the index of \\sum must be one letter, as in \\sum_i or \\sum_{i=1}^{m}"
    )


@cache
def _parser(syntax: Syntax) -> Lark:
    """The LALR parser for one syntax, built once per process."""
    transformer = _LatexTree() if syntax == "latex" else _AsciiTree()
    return Lark.open(
        str(_GRAMMARS / f"{syntax}.lark"),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        transformer=transformer,
    )


def _parse(text: str, syntax: Syntax) -> Formula | Problem:
    if not text.strip():
        return Problem("empty formula: write an expression such as x - \\mu_B", Span(0, len(text)))
    deep = syntax_errors.too_deep(text, MAX_NESTING)
    if deep is not None:
        return deep
    try:
        formula = _parser(syntax).parse(text)
    except _Reject as reject:
        return reject.problem(text)
    except UnexpectedInput as error:
        return syntax_errors.unexpected(text, error, syntax, _parser(syntax))
    # A tree of depth d needs at least d characters, so short formulas skip the walk.
    sides = (formula.lhs, formula.rhs) if isinstance(formula, Equation) else (formula,)
    if len(text) > MAX_NESTING and max(map(tree_depth, sides)) > MAX_NESTING:
        message = f"formula nested deeper than {MAX_NESTING} levels of operations"
        return Problem(message, Span(0, len(text)))
    return formula


def latex_letters() -> frozenset[str]:
    """The letters the LaTeX syntax knows as commands, without the backslash (gamma, ell)."""
    return syntax_errors.latex_letters(_parser("latex"))


def parse(text: str, syntax: Syntax) -> Formula | Problem:
    """Parse a formula in the given syntax ("latex" or "ascii") into a tree, or a Problem."""
    if syntax not in ("latex", "ascii"):
        message = f"unknown formula syntax {syntax!r}; accepted: latex, ascii"
        return Problem(message, Span(0, len(text)))
    return _parse(text, syntax)


def parse_latex(text: str) -> Formula | Problem:
    """Parse a LaTeX formula into a tree, or a Problem located in the text."""
    return _parse(text, "latex")


def parse_ascii(text: str) -> Formula | Problem:
    """Parse an ASCII formula into a tree, or a Problem located in the text."""
    return _parse(text, "ascii")


def name_key(text: str) -> str | Problem:
    """The name the parser gives a notation key: `\\hat{x}` -> "xhat", `\\mu_B` -> "mu_B"."""
    if _IDENTIFIER.fullmatch(text.strip()):
        return text.strip()
    formula = parse_latex(text)
    if isinstance(formula, Problem):
        return formula
    key = None if isinstance(formula, Equation) else _atom_key(formula)
    if key is None or key[1] is not None:
        example = "x, \\hat{x} or \\sigma_B^2"
        message = f"a notation key must be a single name such as {example}, not {text.strip()}"
        return Problem(message, Span(0, len(text)))
    return key[0]
