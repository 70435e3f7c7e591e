"""The expression tree: equality without spans, exact constants, and the walks over it."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnverify.language.parser import parse
from bnverify.language.tree import (
    Apply,
    IndexedSum,
    Num,
    Sym,
    children,
    constant_value,
    depth,
    names,
    size,
    walk,
)
from bnverify.problem import Span

Z, GAMMA, MU = Sym("z"), Sym("gamma"), Sym("mu")


def num(value: int | str) -> Num:
    return Num(Fraction(value))


def test_spans_take_no_part_in_equality():
    assert Sym("z", span=Span(0, 1)) == Sym("z", span=Span(7, 8))
    assert Num(Fraction(1, 2), Span(0, 3)) == Num(Fraction(1, 2))
    assert Apply("add", (Z, GAMMA), Span(0, 9)) == Apply("add", (Z, GAMMA))
    assert hash(Sym("z", span=Span(3, 4))) == hash(Z)


def test_what_does_take_part_in_equality():
    assert Sym("z") != Sym("z", index="i")
    assert Apply("add", (Z, GAMMA)) != Apply("add", (GAMMA, Z))
    assert Apply("add", (Z, GAMMA)) != Apply("sub", (Z, GAMMA))
    assert num(1) != Num(Fraction(1, 2))


def test_the_latex_and_the_ascii_spelling_give_one_tree():
    latex = parse(r"\frac{\gamma}{\sqrt{z}}", "latex")
    ascii_ = parse("gamma/sqrt(z)", "ascii")
    assert latex == ascii_ == Apply("div", (GAMMA, Apply("sqrt", (Z,))))
    assert latex.span != ascii_.span  # each keeps its own place in its own text


def test_nodes_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Z.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        num(1).value = Fraction(2)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        (num(3), Fraction(3)),
        (Apply("neg", (num(3),)), Fraction(-3)),
        (Apply("add", (num(1), Num(Fraction(1, 2)))), Fraction(3, 2)),
        (Apply("sub", (num(1), num(3))), Fraction(-2)),
        (Apply("mul", (num(2), Num(Fraction(3, 4)))), Fraction(3, 2)),
        (Apply("div", (num(1), num(3))), Fraction(1, 3)),
        (Apply("neg", (Apply("div", (num(-3), num(2))),)), Fraction(3, 2)),
    ],
)
def test_constant_value_of_number_trees(expr, value):
    assert constant_value(expr) == value


@pytest.mark.parametrize(
    "expr",
    [
        Z,
        Apply("div", (num(1), num(0))),  # no value: never a ZeroDivisionError
        Apply("add", (num(1), Z)),
        Apply("sqrt", (num(4),)),  # only add, sub, mul, div and neg are folded
        Apply("pow", (num(2), num(2))),
        Apply("sum", (num(1),)),  # a sum of a constant is N times it: not a constant
    ],
)
def test_constant_value_is_none_for_anything_else(expr):
    assert constant_value(expr) is None


OPERATIONS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}
FRACTIONS = st.fractions(min_value=-100, max_value=100, max_denominator=50)


def _number_tree(leaves: st.SearchStrategy) -> st.SearchStrategy:
    def grow(inner):
        return st.one_of(
            st.tuples(st.sampled_from(sorted(OPERATIONS)), inner, inner),
            st.tuples(st.just("neg"), inner),
        )

    return st.recursive(leaves, grow, max_leaves=12)


def _build(shape) -> tuple:
    """(tree, its value by Fraction arithmetic or None where it divides by zero)."""
    if isinstance(shape, Fraction):
        return Num(shape), shape
    op, *args = shape
    built = [_build(arg) for arg in args]
    tree = Apply(op, tuple(t for t, _ in built))
    values = [v for _, v in built]
    if any(v is None for v in values):
        return tree, None
    if op == "neg":
        return tree, -values[0]
    if op == "div" and values[1] == 0:
        return tree, None
    return tree, OPERATIONS[op](*values)


@given(_number_tree(FRACTIONS))
def test_constant_value_agrees_with_fraction_arithmetic(shape):
    tree, value = _build(shape)
    assert constant_value(tree) == value


FORMULA = Apply(
    "div",
    (Apply("sub", (Z, MU)), Apply("sqrt", (Apply("add", (Sym("var"), Sym("eps"))),))),
)


def test_walk_visits_parents_before_children_left_to_right():
    assert walk(FORMULA) == [
        FORMULA,
        Apply("sub", (Z, MU)),
        Z,
        MU,
        Apply("sqrt", (Apply("add", (Sym("var"), Sym("eps"))),)),
        Apply("add", (Sym("var"), Sym("eps"))),
        Sym("var"),
        Sym("eps"),
    ]


def test_size_depth_and_names():
    assert size(FORMULA) == 8
    assert depth(FORMULA) == 4  # div, sqrt, add, var
    assert names(FORMULA) == {"z", "mu", "var", "eps"}
    assert size(Z) == depth(Z) == 1
    assert names(num(2)) == frozenset()


def test_children_of_each_node_type():
    assert children(FORMULA) == FORMULA.args
    assert children(Z) == children(num(1)) == ()
    body, upper = Sym("z", "i"), Sym("N")
    assert children(IndexedSum("i", body, num(1), upper)) == (body, num(1), upper)
    assert children(IndexedSum("i", body)) == (body,)  # absent bounds are no children


def test_a_deep_tree_is_walked_without_recursion():
    tree = Z
    for _ in range(5_000):  # far past Python's recursion limit
        tree = Apply("neg", (tree,))
    assert size(tree) == depth(tree) == 5_001
    assert names(tree) == {"z"}


@given(_number_tree(st.sampled_from([Fraction(1), Fraction(-2)])))
def test_size_counts_the_walk_and_bounds_the_depth(shape):
    tree, _ = _build(shape)
    assert size(tree) == len(walk(tree)) >= depth(tree) >= 1
    assert walk(tree)[0] is tree
