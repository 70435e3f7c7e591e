"""Tests for bnverify.language.syntax_errors, driven by a bare LaTeX parser built from the grammar.

The messages as students see them, through parse(), are tested in tests/test_language.py.
"""

import pytest
from lark import Lark
from lark.exceptions import UnexpectedInput

from bnverify.language.parser import grammar_text
from bnverify.language.syntax_errors import command_message, latex_letters, too_deep, unexpected
from bnverify.problem import Problem, Span


@pytest.fixture(scope="module")
def parser():
    return Lark(grammar_text("latex"), parser="lalr", lexer="contextual", keep_all_tokens=True)


def _error(parser, text):
    with pytest.raises(UnexpectedInput) as caught:
        parser.parse(text)
    return caught.value


def test_latex_letters_come_from_the_letter_rule(parser):
    letters = latex_letters(parser)
    assert {"alpha", "gamma", "varepsilon", "ell", "Omega"} <= letters
    assert not letters & {"frac", "sqrt", "sum", "cdot", "left", "top"}


def test_a_known_command_is_misplaced_and_an_unknown_one_lists_the_rest(parser):
    assert command_message(r"\sum", parser) == r"\sum cannot be used here"
    assert command_message(r"\gamma", parser) == r"\gamma cannot be used here"
    message = command_message(r"\foo", parser)
    commands, letters = message.split(", and the letters ")
    assert commands.startswith(r"unknown command \foo; accepted commands are \Big, \big, ")
    assert r"\frac" in commands and r"\gamma" not in commands
    assert r"\gamma" in letters and r"\frac" not in letters


@pytest.mark.parametrize(
    ("text", "at"),
    [("([{(x)}])", 3), ("(x) ((((x))))", 7), ("{{{{", 3)],
)
def test_too_deep_points_at_the_first_bracket_past_the_limit(text, at):
    assert too_deep(text, 3) == Problem("formula nested deeper than 3 levels", Span(at, at + 1))


@pytest.mark.parametrize("text", ["x", "((x))", "(x)(x)(x)(x)", "[{(x)}] + [{(y)}]"])
def test_too_deep_accepts_nesting_within_the_limit(text):
    assert too_deep(text, 3) is None


@pytest.mark.parametrize(
    ("text", "message", "span"),
    [
        ("(a + b", "unexpected end of formula: a '(' opened at column 1 is not closed", (0, 1)),
        ("a +", "unexpected end of formula: expected an operand", (3, 3)),
        ("a + )", "unexpected ')': no bracket is open", (4, 5)),
        (r"\sqrt(x)", "unexpected '(': expected an argument in braces, such as {x}", (5, 6)),
        (r"a \% b", "unknown command \\%; accepted commands are", (2, 4)),
    ],
)
def test_unexpected_says_what_was_found_and_where(parser, text, message, span):
    problem = unexpected(text, _error(parser, text), "latex", parser)
    assert problem.message.startswith(message)
    assert problem.span == Span(*span)
