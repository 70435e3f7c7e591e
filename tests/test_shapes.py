"""Shapes: scalars broadcast over the batch, reductions give scalars, problems are located."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnverify.language.parser import parse
from bnverify.language.shapes import BATCH, SCALAR, broadcast, infer
from bnverify.language.tree import Apply, Sym
from bnverify.problem import Problem, Span

SHAPE_OF = {"z": BATCH, "g_y": BATCH, "gamma": SCALAR, "N": SCALAR}


def shape(text: str):
    return infer(parse(text, "ascii"), SHAPE_OF)


@given(st.lists(st.sampled_from([SCALAR, BATCH]), min_size=1, max_size=5))
def test_broadcast_is_batch_exactly_when_an_operand_is(shapes):
    assert broadcast(*shapes) == (BATCH if BATCH in shapes else SCALAR)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", SCALAR),
        ("gamma", SCALAR),
        ("z", BATCH),
        ("gamma + 1", SCALAR),
        ("gamma*z", BATCH),  # a scalar broadcasts over the batch
        ("z - gamma/N", BATCH),
        ("-z", BATCH),
        ("sqrt(gamma)", SCALAR),
        ("z^2", BATCH),
        ("gamma^(-1/2)", SCALAR),
        ("sum(z)", SCALAR),
        ("mean(g_y*z)", SCALAR),
        ("dot(z, g_y)", SCALAR),
        ("sum(gamma)", SCALAR),  # N copies of a scalar: still one number per channel
        ("z*sum(g_y) + gamma", BATCH),
        ("sum(z)*mean(z)", SCALAR),
    ],
)
def test_shapes_of_formulas(text, expected):
    assert shape(text) == expected


def test_ones_is_a_batch():
    assert infer(Apply("ones", ()), SHAPE_OF) == BATCH
    assert infer(Apply("sum", (Apply("ones", ()),)), SHAPE_OF) == SCALAR


def test_an_unknown_name_is_a_located_problem():
    problem = shape("z + x")
    assert isinstance(problem, Problem)
    assert problem.message == "unknown name 'x'"
    assert problem.span == Span(4, 5)


def test_the_first_problem_is_the_one_reported():
    problem = shape("x + w")
    assert isinstance(problem, Problem)
    assert problem.message == "unknown name 'x'"


@pytest.mark.parametrize("exponent", ["1/3", "gamma", "0.25", "z"])
def test_an_exponent_must_be_a_constant_with_denominator_1_or_2(exponent):
    text = f"z^({exponent})"
    problem = shape(text)
    assert isinstance(problem, Problem)
    assert problem.message.startswith("an exponent must be a number with denominator 1 or 2")
    assert text[problem.span.start : problem.span.end] == f"({exponent})"


@pytest.mark.parametrize("exponent", ["2", "-1", "1/2", "-3/2", "0", "(1+1)/2"])
def test_exponents_that_keep_exact_values_exact(exponent):
    assert shape(f"z^({exponent})") == BATCH


def test_an_operator_without_a_shape_rule_cannot_be_evaluated():
    # A transpose only lives until resolution turns it into a dot product.
    problem = infer(Apply("transpose", (Sym("z"),)), SHAPE_OF)
    assert isinstance(problem, Problem)
    assert problem.message == "this cannot be evaluated as a vector expression"
