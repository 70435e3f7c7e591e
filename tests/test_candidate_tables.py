"""Tests for bnverify.files.candidate_tables: each [[candidate]] table, with located problems."""

from __future__ import annotations

from textwrap import dedent

import pytest

from bnverify.files import derivation
from bnverify.files.derivation import Candidate, parse_derivation
from bnverify.problem import Location, Span


def parse(text: str) -> derivation.Derivation:
    return parse_derivation(dedent(text).lstrip(), "d.toml")


def only_candidate(text: str) -> Candidate:
    d = parse('model = "batchnorm"\n' + dedent(text).lstrip())
    assert len(d.candidates) == 1, d
    return d.candidates[0]


def messages(d: derivation.Derivation) -> list[str]:
    return [p.message for p in d.problems]


def pointed_at(location: Location) -> str:
    """The file text under a location's caret."""
    return location.source[location.column - 1 : location.column - 1 + location.width]


# --- Control characters in formulas -------------------------------------------------------


def test_trap_in_expr_names_the_expr_field():
    c = only_candidate('[[candidate]]\nname = "g"\nexpr = "a \\t b"\n')
    assert c.problem is not None
    assert "a tab" in c.problem.message and "expr = '\\t...'" in c.problem.message


def test_trap_in_one_candidate_leaves_the_others_checkable():
    d = parse(
        """
        model = "batchnorm"
        [[candidate]]
        name = "bad"
        latex = "\\frac{a}{b}"
        [[candidate]]
        name = "good"
        latex = '\\frac{a}{b}'
        """
    )
    assert [c.problem is None for c in d.candidates] == [False, True]
    assert d.problems == ()


# --- Candidate tables ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ['model = "m"\n', 'model = "m"\ncandidate = []\n', 'model = "m"\n[notation]\nx = "z"\n'],
)
def test_a_file_without_candidates_is_a_problem(text):
    d = parse(text)
    assert d.candidates == ()
    assert messages(d) == [
        'no candidates: add a [[candidate]] table with name = "..." '
        "and latex = '...' (or expr = \"...\")"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('model = "m"\ncandidate = 3\n', "candidate must be an array of tables, not an integer"),
        (
            'model = "m"\n[candidate]\nname = "a"\n',
            "candidate must be an array of tables, not a table",
        ),
        ('model = "m"\ncandidate = [1]\n', "candidate must be an array of tables, not an array"),
    ],
)
def test_candidate_must_be_an_array_of_tables(text, expected):
    d = parse(text)
    assert d.candidates == ()
    assert messages(d)[0].startswith(expected)
    assert d.problems[0].location.line == 2


def test_candidates_may_be_written_as_inline_tables():
    d = parse('model = "m"\ncandidate = [{name = "a", latex = \'\\frac{1}{2}\'}]\n')
    (c,) = d.candidates
    assert (c.name, c.text, c.problem) == ("a", "\\frac{1}{2}", None)
    assert (c.location.line, c.location.column) == (2, 14)
    assert c.origin.locate(Span(0, 1)).column == 36


@pytest.mark.parametrize(
    ("fields", "expected", "line"),
    [
        ("latex = 'x'", 'candidate #1 has no name: add name = "..."', 1),
        ("name = ''\nlatex = 'x'", "name is empty", 2),
        ("name = 3\nlatex = 'x'", "name must be a string, not an integer", 2),
        ("name = 'a'", 'candidate "a" has no formula: add latex = \'...\' or expr = "..."', 1),
        ("name = 'a'\nlatex = 'x'\nexpr = 'x'", "give either latex or expr, not both", 4),
        ("name = 'a'\nlatex = 1", "latex must be a string, not an integer", 3),
        ("name = 'a'\nexpr = {a = 1}", "expr must be a string, not a table", 3),
        ("name = 'a'\nlatex = ''", "latex is empty", 3),
        ("name = 'a'\nlatex = '  '", "latex is empty", 3),
        ("name = 'a'\nlatex = 'x'\nwrt = 1", "wrt must be a string, not an integer", 4),
        ("name = 'a'\nlatex = 'x'\nwrt = ''", "wrt is empty", 4),
        ("name = 'a'\nlatex = 'x'\nexpect = 1", "expect must be a string, not an integer", 4),
        (
            "name = 'a'\nlatex = 'x'\nexpect = 'mach'",
            'expect must be "match" or "diverge", not "mach" (did you mean "match"?)',
            4,
        ),
        (
            "name = 'a'\nlatex = 'x'\nexpect = 'Diverge'",
            'expect must be "match" or "diverge", not "Diverge" (did you mean "diverge"?)',
            4,
        ),
        ("name = 'a'\nlatex = 'x'\nnote = []", "note must be a string, not an array", 4),
        (
            "name = 'a'\nlatex = 'x'\nexpct = 'diverge'",
            'unknown key "expct" in a candidate (did you mean "expect"?); '
            "accepted keys: name, wrt, latex, expr, expect, note",
            4,
        ),
        ("name = 'a'\nlatex = 'x'\n[candidate.more]", 'unknown key "more" in a candidate', 4),
    ],
)
def test_candidate_fields_are_checked(fields, expected, line):
    d = parse(f'model = "m"\n[[candidate]]\n{fields}\n[[candidate]]\nname = "ok"\nlatex = "y"\n')
    assert d.problems == ()
    bad, good = d.candidates
    assert bad.problem is not None and bad.problem.message.startswith(expected), bad.problem
    assert bad.problem.location.line == line + 1
    assert (good.name, good.text, good.problem) == ("ok", "y", None)


def test_a_mistyped_key_is_reported_before_what_it_leaves_missing():
    c = only_candidate("[[candidate]]\nname = 1\nlatx = 'x'\n")
    assert c.problem.message.startswith('unknown key "latx" in a candidate (did you mean "latex"?)')
    assert c.name == "#1"


def test_otherwise_the_first_problem_in_the_file_is_reported():
    c = only_candidate("[[candidate]]\nexpect = 'mach'\nname = 1\nlatex = 'x'\n")
    assert c.problem.message.startswith("expect must be")


def test_unknown_key_is_located_at_the_key():
    c = only_candidate("[[candidate]]\nname = 'a'\nlatex = 'x'\n  'exp ct' = 'match'\n")
    location = c.problem.location
    assert (location.line, location.column, pointed_at(location)) == (5, 3, "'exp ct'")


def test_duplicate_names_are_reported_on_the_later_candidate():
    d = parse(
        """
        model = "m"
        [[candidate]]
        name = "a"
        latex = 'x'
        [[candidate]]
        name = "b"
        latex = 'x'
        [[candidate]]
        name = "a"
        latex = 'y'
        """
    )
    first, second, third = d.candidates
    assert first.problem is None and second.problem is None
    assert third.problem.message.startswith('duplicate candidate name "a" (first used on line 2)')
    assert (third.problem.location.line, third.problem.location.column) == (9, 8)


def test_formulas_are_only_text():
    c = only_candidate("[[candidate]]\nname = 'a'\nexpr = \"__import__('os').system('x')\"\n")
    assert (c.text, c.problem) == ("__import__('os').system('x')", None)
