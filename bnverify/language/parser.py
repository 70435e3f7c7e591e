"""Formula text becomes an expression tree, in LaTeX or ASCII syntax, or a located Problem.

This module is the public entry point and the parser cache; the rules of each syntax live
in bnverify.language.latex_syntax and bnverify.language.ascii_syntax, and the rules they share in
bnverify.language.transform.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Literal

from lark import Lark
from lark.exceptions import UnexpectedInput

from bnverify.language import syntax_errors
from bnverify.language.ascii_syntax import AsciiTree
from bnverify.language.latex_syntax import LatexTree, atom_key
from bnverify.language.limits import formula_problem, text_problem
from bnverify.language.names import LATEX_LETTERS
from bnverify.language.tree import Equation, Formula
from bnverify.problem import Problem, Rejected, Span
from bnverify.settings import DEFAULT_LIMITS, Limits

__all__ = [
    "Syntax",
    "grammar_text",
    "latex_letters",
    "name_key",
    "parse",
    "parse_ascii",
    "parse_latex",
]

Syntax = Literal["latex", "ascii"]

_GRAMMARS = Path(__file__).parent / "grammar"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\^\d+)?")
# A norm's bar, which opens and closes alike: \| and || (\Vert is one word, not \V...);
# then, apart from those, an absolute value's single |.
_BAR = re.compile(r"\\\||\|\||\\Vert(?![A-Za-z])")
_ABS = re.compile(r"(?<![\\|])\|(?!\|)")


def paired_bars(text: str) -> str:
    """The text with each pair of bars told apart: every second bar closes.

    No LALR grammar can pair bars that open and close alike, so the lexer is told which
    is which: an absolute value's closing | becomes ¦, then a norm's closing \\| (or ||)
    becomes |\\. Each bar keeps its length, so every span still points into the text.
    """
    return _paired(_paired(text, _ABS, "|", "¦"), _BAR, "\\|", "|\\")


def _paired(text: str, bars: re.Pattern[str], opening: str, closing: str) -> str:
    out, at = [], 0
    for count, bar in enumerate(bars.finditer(text)):
        mark = closing if count % 2 == 1 else opening
        out += [text[at : bar.start()], mark.ljust(len(bar.group()))]
        at = bar.end()
    return "".join([*out, text[at:]])


def _parser(syntax: Syntax, limits: Limits = DEFAULT_LIMITS) -> Lark:
    """The LALR parser for one syntax whose number literals obey these limits."""
    numbers = Limits(max_digits=limits.max_digits, max_exponent=limits.max_exponent)
    return _numbers_parser(syntax, numbers)


@cache
def _numbers_parser(syntax: Syntax, numbers: Limits) -> Lark:
    """The parser for one syntax and one pair of number limits, built once per process."""
    # The parser runs the transformer's methods as it reduces, so no parse tree is built
    # and nothing recurses however deep the formula.
    transformer = (
        LatexTree(lambda: _parser("latex", numbers), numbers)
        if syntax == "latex"
        else AsciiTree(numbers)
    )
    return Lark(
        grammar_text(syntax),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        transformer=transformer,
    )


def _parse(text: str, syntax: Syntax, limits: Limits = DEFAULT_LIMITS) -> Formula | Problem:
    """The tree of a formula, or a Problem; bad input never raises.

    The text is untrusted: nothing here evaluates it, and numbers become exact Fractions.
    Our own rejections, and lark's exceptions (explained in bnverify.language.syntax_errors), become
    a Problem that points at the offending text.
    """
    if not text.strip():
        return Problem("empty formula: write an expression such as x - \\mu_B", Span(0, len(text)))
    too_long = text_problem(text, limits)
    if too_long is not None:
        return too_long
    deep = syntax_errors.too_deep(text, limits.max_nesting)
    if deep is not None:
        return replace(deep, message=limits.exceeded("max_nesting", deep.message))
    try:
        formula = _parser(syntax, limits).parse(paired_bars(text) if syntax == "latex" else text)
    except Rejected as rejected:
        return rejected.problem(text)
    except UnexpectedInput as error:
        return syntax_errors.unexpected(text, error, syntax, _parser(syntax, limits))
    return formula_problem(formula, text, limits) or formula


def grammar_text(syntax: Syntax) -> str:
    """A grammar file's text; the LaTeX one with its letter rule, from the names table."""
    text = (_GRAMMARS / f"{syntax}.lark").read_text(encoding="utf-8")
    if syntax != "latex":
        return text
    letters = " | ".join(f'"\\\\{letter}"' for letter in LATEX_LETTERS)
    return f"{text}\nletter_command: {letters}\n"


def latex_letters() -> frozenset[str]:
    """The letters the LaTeX syntax knows as commands, without the backslash (gamma, ell)."""
    return syntax_errors.latex_letters(_parser("latex"))


def parse(text: str, syntax: Syntax, limits: Limits = DEFAULT_LIMITS) -> Formula | Problem:
    """Parse a formula in the given syntax ("latex" or "ascii") into a tree, or a Problem.

    The tree is within `limits` (size, nesting, numbers and powers) or a Problem says which
    limit it passes.
    """
    if syntax not in ("latex", "ascii"):
        message = f"unknown formula syntax {syntax!r}; accepted: latex, ascii"
        return Problem(message, Span(0, len(text)))
    return _parse(text, syntax, limits)


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
