"""The bounds a parsed formula must meet: size, nesting, the power it raises names to."""

from __future__ import annotations

from dataclasses import fields

import pytest
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.language.parser import parse
from bnverify.problem import Problem, Span
from bnverify.settings import DEFAULT_LIMITS, Limits, flag


@pytest.mark.parametrize(
    "text",
    [
        "z^1000",
        "(z*z)^500",
        "(z+z^2)^500",  # a sum is as high as its highest term
        "sqrt(z)^1000",
        "(1e999*z)^1000",  # 1,000 digits times 1,000: at the limit
        "z^(2*500)",
        "z^(-1000)",
        "z^1.5",
        "(z^10)^100",
        "exp(z)^1000",  # exp and log count as their argument, at least as a name
        "exp(z^1000)",
        "log(exp(2))^1000",
        "exp(z)/sum(exp(z))*g_y",
    ],
)
def test_within_the_limits(text):
    assert not isinstance(parse(text, "ascii"), Problem)


@pytest.mark.parametrize(
    ("text", "words", "span"),
    [
        ("z^1001", "exponent 1001 is too large", Span(2, 6)),
        ("(z*z)^501", "power 1,002", Span(0, 9)),
        ("(z^10)^101", "power 1,010", Span(0, 10)),
        ("z*(z^1000)", "power 1,001", Span(0, 10)),
        ("z^(2*501)", "exponent 1002 is too large", Span(2, 9)),
        (
            "z^0.1234567890123456789012345678901234567890123456789012345678901234567890123456789",
            "too many digits",
            Span(2, 83),
        ),
        ("(1e999*1e1)^1000", "about 1,002,000 digits", Span(0, 16)),
        ("(1e999*1e999*z)^999*g_y", "about 1,998,000 digits", Span(0, 19)),
        ("exp(2)^600*exp(3)^401", "power 1,001", Span(0, 21)),  # an exp counts as a name
        ("z*exp(z^1000)", "power 1,001", Span(0, 13)),
        ("log(z^2)^501", "power 1,002", Span(0, 12)),
    ],
)
def test_past_the_limits(text, words, span):
    problem = parse(text, "ascii")
    assert isinstance(problem, Problem)
    assert words in problem.message
    assert problem.span == span


def test_latex_powers_are_bounded_too():
    problem = parse(r"\left(\hat{z}^{2}\right)^{600}", "latex")
    assert isinstance(problem, Problem) and "power 1,200" in problem.message


def test_raised_limits_accept_more():
    raised = Limits(max_exponent=2000, max_expression_size=10_000)
    assert not isinstance(parse("(z*z)^1000", "ascii", raised), Problem)
    assert isinstance(parse("(z*z)^1000", "ascii"), Problem)


def test_size_is_counted_in_nodes():
    small = Limits(max_expression_size=3)
    assert not isinstance(parse("z*g_y", "ascii", small), Problem)
    problem = parse("z*g_y+z", "ascii", small)
    assert problem.message == (
        "formula too large: 5 nodes; the limit is 3 (raise it with --max-expression-size)"
    )


def test_every_limit_has_a_flag_with_its_default():
    help_text = CliRunner().invoke(main, ["check", "--help"], terminal_width=200).output
    for item in fields(Limits):
        assert flag(item.name) in help_text
        assert f"default: {getattr(DEFAULT_LIMITS, item.name)}" in help_text


def test_a_text_too_long_for_its_node_limit_is_not_parsed():
    small = Limits(max_expression_size=10)
    assert not isinstance(parse("z" + " " * 600 + "+ g_y", "ascii", small), Problem)
    problem = parse("z+" * 400 + "z", "ascii", small)
    assert problem.message == (
        "formula too long: 801 characters; at most 640 are read "
        "(64 per node of --max-expression-size, which raises it)"
    )
    assert problem.span == Span(0, 801)
