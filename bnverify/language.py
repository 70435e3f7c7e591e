"""Formula text becomes an expression tree, in LaTeX or ASCII syntax, or a located Problem.

This module is the public entry point and the parser cache; the rules of each syntax live
in bnverify.latex_syntax and bnverify.ascii_syntax, and the rules they share in
bnverify.formula_transform.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Literal

from lark import Lark
from lark.exceptions import UnexpectedInput

from bnverify import syntax_errors
from bnverify.ascii_syntax import AsciiTree
from bnverify.formula_transform import MAX_DIGITS, MAX_EXPONENT, Reject
from bnverify.latex_syntax import LatexTree, atom_key
from bnverify.problem import Problem
from bnverify.tree import Equation, Formula, Span
from bnverify.tree import depth as tree_depth

__all__ = [
    "MAX_DIGITS",
    "MAX_EXPONENT",
    "MAX_NESTING",
    "Syntax",
    "latex_letters",
    "name_key",
    "parse",
    "parse_ascii",
    "parse_latex",
]

Syntax = Literal["latex", "ascii"]

# A limit against hostile input, next to the number limits of bnverify.formula_transform:
# later stages compare and walk trees recursively.
MAX_NESTING = 200

_GRAMMARS = Path(__file__).parent / "grammar"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\^\d+)?")


@cache
def _parser(syntax: Syntax) -> Lark:
    """The LALR parser for one syntax, built once per process."""
    # The parser runs the transformer's methods as it reduces, so no parse tree is built
    # and nothing recurses however deep the formula.
    transformer = LatexTree(lambda: _parser("latex")) if syntax == "latex" else AsciiTree()
    return Lark.open(
        str(_GRAMMARS / f"{syntax}.lark"),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        transformer=transformer,
    )


def _parse(text: str, syntax: Syntax) -> Formula | Problem:
    """The tree of a formula, or a Problem; bad input never raises.

    The text is untrusted: nothing here evaluates it, and numbers become exact Fractions.
    Our own rejections, and lark's exceptions (explained in bnverify.syntax_errors), become
    a Problem that points at the offending text.
    """
    if not text.strip():
        return Problem("empty formula: write an expression such as x - \\mu_B", Span(0, len(text)))
    deep = syntax_errors.too_deep(text, MAX_NESTING)
    if deep is not None:
        return deep
    try:
        formula = _parser(syntax).parse(text)
    except Reject as reject:
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
    key = None if isinstance(formula, Equation) else atom_key(formula)
    if key is None or key[1] is not None:
        example = "x, \\hat{x} or \\sigma_B^2"
        message = f"a notation key must be a single name such as {example}, not {text.strip()}"
        return Problem(message, Span(0, len(text)))
    return key[0]
