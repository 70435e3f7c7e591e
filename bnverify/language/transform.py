"""The transformer rules that the LaTeX and the ASCII syntax share: arithmetic, brackets, numbers.

Each rule builds one tree node with its span, or raises a Rejected that
bnverify.language.parser turns into a Problem located in the formula.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Protocol

from lark import Token, Transformer, v_args

from bnverify.language.operators import Op
from bnverify.language.syntax_errors import BRACKET_PAIRS
from bnverify.language.tree import RELATIONS, Apply, Equation, Expr, Num
from bnverify.problem import Rejected, Span
from bnverify.settings import Limits


class Spanned(Protocol):
    """Anything that remembers its span of formula text: a tree node, a LaTeX script."""

    @property
    def span(self) -> Span: ...


def span_of(first: Token | Spanned, last: Token | Spanned) -> Span:
    """The text from the start of `first` to the end of `last`."""
    start = first.start_pos if isinstance(first, Token) else first.span.start
    end = last.end_pos if isinstance(last, Token) else last.span.end
    return Span(start, end)


def _fraction(token: Token, limits: Limits) -> Fraction:
    """A number literal as an exact Fraction, refusing literals too big to build."""
    # Checked on the text, so 1e999999 never builds a million-digit integer.
    mantissa, _, exponent = token.lower().partition("e")
    digits = len(mantissa) - mantissa.count(".")
    power = exponent.lstrip("+-").lstrip("0")
    if digits > limits.max_digits:
        what = f"number too large: {digits:,} digits"
        raise Rejected(limits.exceeded("max_digits", what), span_of(token, token))
    if len(power) > len(str(limits.max_exponent)) or int(power or 0) > limits.max_exponent:
        shown = power if len(power) <= 12 else f"of {len(power):,} digits"
        what = f"number too large: exponent {shown}"
        raise Rejected(limits.exceeded("max_exponent", what), span_of(token, token))
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
    if not (isinstance(last, Apply) and last.op == Op.TRANSPOSE):
        return Apply(op, (left, right), span_of(left, right))
    bound: Expr = Apply(Op.DOT, (last.args[0], right), span_of(last, right))
    for node in reversed(path):  # a loop: -----a^T b nests as deep as it is long
        bound = Apply(node.op, (*node.args[:-1], bound), span_of(node, right))
    return bound


def _ends_with_a_factor(node: Apply) -> bool:
    """Whether node's last operand may bind to a factor written after node."""
    # Products are associative and signs commute with them, so brackets do not matter:
    # (1 1^T) g = 1 (1^T g). A quotient binds only as written, a / b^T c = a / (b^T c);
    # a bracketed one or a \frac (a span wider than its operands) is closed.
    if node.op in (Op.MUL, Op.NEG):
        return True
    return node.op == Op.DIV and node.span == span_of(node.args[0], node.args[1])


@v_args(inline=True)
class SharedRules(Transformer):
    """Rules both syntaxes share; each method builds one node with its span."""

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        self.limits = limits  # for number literals, refused before they are built

    def equation(self, lhs: Expr, _eq: Token, rhs: Expr) -> Equation:
        return Equation(lhs, rhs, span_of(lhs, rhs))

    def relation(self, lhs: Expr, op: Token, rhs: Expr) -> Equation:
        return Equation(lhs, rhs, span_of(lhs, rhs), RELATIONS[str(op)])

    def relation_op(self, token: Token) -> Token:
        return token

    def add(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply(Op.ADD, (left, right), span_of(left, right))

    def sub(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply(Op.SUB, (left, right), span_of(left, right))

    def mul(self, left: Expr, *rest: Token | Expr) -> Expr:
        return _product("mul", left, rest[-1])

    def div(self, left: Expr, _op: Token, right: Expr) -> Apply:
        return Apply(Op.DIV, (left, right), span_of(left, right))

    def matmul(self, left: Expr, _op: Token, right: Expr) -> Expr:
        # a^T @ b and a @ b both mean the dot product of a and b.
        return _product("dot", left, right)

    def neg(self, op: Token, arg: Expr) -> Apply:
        return Apply(Op.NEG, (arg,), span_of(op, arg))

    def pos(self, op: Token, arg: Expr) -> Expr:
        return replace(arg, span=span_of(op, arg))

    def group(self, open_: Token, inner: Expr, close: Token) -> Expr:
        # The tokens may carry \left / \right; the bracket is their last character.
        if BRACKET_PAIRS[open_[-1]] != close[-1]:
            message = f"'{open_}' at column {open_.start_pos + 1} is closed by '{close}'"
            raise Rejected(message, span_of(close, close))
        return replace(inner, span=span_of(open_, close))

    def number(self, token: Token) -> Num:
        return Num(_fraction(token, self.limits), span_of(token, token))
