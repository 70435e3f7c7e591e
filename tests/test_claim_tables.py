"""Tests for bnverify.files.claim_tables and the claim notation of the formula language.

A [[claim]] is read as a candidate is, every mistake a located problem stopping that claim
alone; the LaTeX syntax reads the relations and the paper notation claims are written in.
"""

from __future__ import annotations

from fractions import Fraction
from textwrap import dedent

import pytest

from bnverify.check import check_formula
from bnverify.files.derivation import Candidate, parse_derivation
from bnverify.language import parser
from bnverify.language.shapes import ITS_AXES
from bnverify.language.tree import Apply, Equation, Num, Sym
from bnverify.problem import Problem


def claims(text: str) -> list[Candidate]:
    d = parse_derivation('model = "batchnorm"\n' + dedent(text).lstrip(), "d.toml")
    assert not d.problems, d.problems
    return [c for c in d.candidates if c.claim is not None]


def only_claim(text: str) -> Candidate:
    (claim,) = claims(text)
    return claim


def test_a_claim_reads_its_relation_freeze_assumptions_step_and_own_notation():
    claim = only_claim(
        r"""
        [[claim]]
        name = "descent"
        latex = 'L(\theta^{(k+1)}) \le L(\theta^{(k)})'
        freeze = ["mu", "var"]
        assume = ['\alpha > 0']
        step = '-\alpha \nabla_\theta L'
        notation = { theta = "z" }
        expect = "fails"
        """
    )
    assert claim.problem is None and claim.expect == "fails" and claim.wrt is None
    assert claim.claim.freeze == ("mu", "var")
    assert [a.text for a in claim.claim.assume] == [r"\alpha > 0"]
    assert claim.claim.step.text == r"-\alpha \nabla_\theta L"
    assert [(e.key, e.value) for e in claim.claim.notation] == [("theta", "z")]


def test_a_file_of_claims_alone_needs_no_candidate():
    d = parse_derivation(
        "model = 'batchnorm'\n[[claim]]\nname = 'c'\nexpr = 'g_y = g_y'\n", "d.toml"
    )
    assert not d.problems
    assert [c.name for c in d.candidates] == ["c"]


@pytest.mark.parametrize(
    ("body", "message", "under"),
    [
        (
            'expect = "match"',
            'expect must be "holds" or "fails" or "undecided", not "match"',
            '"match"',
        ),
        ("freeze = 3", "freeze must be a string or an array of strings, not an integer", "3"),
        ('freeze = [""]', "freeze lists an empty name", '""'),
        ("step = ['a', 'b']", "step must be a string, not an array", "['a', 'b']"),
        ("wrt = 'z'", 'unknown key "wrt" in a claim', "wrt"),
    ],
)
def test_a_bad_field_stops_that_claim_at_its_place(body, message, under):
    good = "[[claim]]\nname = 'd'\nexpr = 'N > 0'\n"
    text = f"[[claim]]\nname = 'c'\nexpr = 'g_y = g_y'\n{body}\n{good}"
    bad, fine = claims(text)
    assert bad.problem is not None and bad.problem.message.startswith(message), bad.problem
    where = bad.problem.location
    assert where.source[where.column - 1 :].startswith(under)
    assert fine.problem is None


def test_two_claims_of_one_name_are_a_problem_on_the_second():
    first, second = claims(
        "[[claim]]\nname = 'c'\nexpr = 'N > 0'\n[[claim]]\nname = 'c'\nexpr = 'N > 0'\n"
    )
    assert first.problem is None
    assert second.problem.message.startswith('duplicate claim name "c" (first used on line 2)')


@pytest.mark.parametrize(
    ("text", "relation"),
    [
        (r"a \le b", "<="),
        (r"a \leq b", "<="),
        (r"a \leqslant b", "<="),
        (r"a < b", "<"),
        (r"a \ge b", ">="),
        (r"a \geq b", ">="),
        (r"a > b", ">"),
        ("a = b", "="),
    ],
)
def test_latex_relations(text, relation):
    parsed = parser.parse_latex(text)
    assert parsed == Equation(Sym("a"), Sym("b"), relation=relation)


@pytest.mark.parametrize(("text", "relation"), [("a <= b", "<="), ("a >= b", ">="), ("a < b", "<")])
def test_ascii_relations(text, relation):
    assert parser.parse_ascii(text) == Equation(Sym("a"), Sym("b"), relation=relation)


SQUARES = Apply("sum", (Apply("pow", (Sym("v"), Num(Fraction(2)))),), axes=ITS_AXES)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (r"\|v\|", Apply("sqrt", (SQUARES,))),
        (r"||v||_2", Apply("sqrt", (SQUARES,))),
        (r"\left\| v \right\|_{2}", Apply("sqrt", (SQUARES,))),
        (r"\lVert v \rVert^2", Apply("pow", (Apply("sqrt", (SQUARES,)), Num(2)))),
        (
            r"\|a\| + \|v\|",
            Apply(
                "add",
                (
                    Apply(
                        "sqrt", (Apply("sum", (Apply("pow", (Sym("a"), Num(2))),), axes=ITS_AXES),)
                    ),
                    Apply("sqrt", (SQUARES,)),
                ),
            ),
        ),
        (r"\langle a, b \rangle", Apply("dot", (Sym("a"), Sym("b")), axes=ITS_AXES)),
        (r"\left\langle a, b \right\rangle", Apply("dot", (Sym("a"), Sym("b")), axes=ITS_AXES)),
        (r"|\gamma|", Apply("sqrt", (Apply("pow", (Sym("gamma"), Num(2))),))),
        (r"\left| x \right|", Apply("sqrt", (Apply("pow", (Sym("x"), Num(2))),))),
        (r"\lvert x \rvert", Apply("sqrt", (Apply("pow", (Sym("x"), Num(2))),))),
        (r"\nabla^2_z L", Sym("H_z")),
        (r"\nabla_{z}^2 L", Sym("H_z")),
        (r"\frac{\partial^2 L}{\partial z^2}", Sym("H_z")),
        (r"\nabla^2_{\hat z} \ell", Sym("H_zhat")),
    ],
)
def test_paper_notation_of_claims(text, tree):
    assert parser.parse_latex(text) == tree


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"\|v\|_1", "only the Euclidean norm is supported"),
        (r"\nabla^3_z L", "only second derivatives are supported"),
        (r"\frac{\partial^2 L}{\partial z}", "write a second derivative as"),
    ],
)
def test_what_claims_cannot_say_is_said(text, message):
    parsed = parser.parse_latex(text)
    assert isinstance(parsed, Problem) and parsed.message.startswith(message), parsed


def test_a_candidate_may_not_be_an_inequality():
    verdict = check_formula("g_z <= g_y", model="batchnorm")
    assert verdict.kind == "error"
    assert verdict.message.startswith("a candidate states a gradient; an inequality is a claim")
