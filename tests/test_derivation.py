"""Tests for bnverify.files.derivation: what a derivation file holds, and its located problems."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bnverify.files import derivation
from bnverify.files.derivation import (
    Candidate,
    TextOrigin,
    inline_candidate,
    load_derivation,
    parse_derivation,
)
from bnverify.files.toml_source import parse_toml
from bnverify.problem import Location, Span
from bnverify.settings import DEFAULT_LIMITS

EXAMPLE = dedent(
    r"""
    title = "Batch norm backward"
    source = "Ioffe & Szegedy (2015), eq. 3"
    model = "batchnorm"
    [notation]
    x = "z"
    m = "N"
    "\\hat{x}" = "zhat"
    [[candidate]]
    name = "g_z"
    wrt = "z"
    latex = '\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y'
    expect = "match"
    note = "forgets the mean and variance paths"
    [[candidate]]
    name = "g_z ascii"
    expr = "gamma/sqrt(var+eps)*g_y"
    expect = "diverge"
    """
).lstrip()

# Interleaved [[candidate]] and [notation] tables, which tomlkit regroups.
INTERLEAVED = Path(__file__).parent / "data" / "interleaved.toml"
MAX_FILE_BYTES = DEFAULT_LIMITS.max_file_bytes


def parse(text: str) -> derivation.Derivation:
    return parse_derivation(dedent(text).lstrip(), "d.toml")


def messages(d: derivation.Derivation) -> list[str]:
    return [p.message for p in d.problems]


def pointed_at(location: Location) -> str:
    """The file text under a location's caret."""
    return location.source[location.column - 1 : location.column - 1 + location.width]


def assert_every_character_located(text: str, origin: TextOrigin) -> None:
    """Each character of a literal (single-quoted) string is itself at its location."""
    for k, char in enumerate(text):
        location = origin.locate(Span(k, k + 1))
        if char == "\n" and location.column == len(location.source) + 1:
            continue  # a raw newline ends its line
        assert pointed_at(location)[0] == char, (k, char, location)


# --- The example, and positions --------------------------------------------------------------


def test_example_reads_every_field():
    d = parse_derivation(EXAMPLE, "derivations/bn.toml")
    assert d.problems == ()
    assert (d.title, d.source, d.model) == (
        "Batch norm backward",
        "Ioffe & Szegedy (2015), eq. 3",
        "batchnorm",
    )
    assert d.model_location == Location("derivations/bn.toml", 3, 9, 'model = "batchnorm"', 11)
    assert [(n.key, n.value) for n in d.notation] == [("x", "z"), ("m", "N"), ("\\hat{x}", "zhat")]
    first, second = d.candidates
    assert first == Candidate(
        path="derivations/bn.toml",
        location=Location("derivations/bn.toml", 8, 1, "[[candidate]]", 13),
        name="g_z",
        wrt="z",
        syntax="latex",
        text=r"\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y",
        origin=first.origin,
        expect="match",
        note="forgets the mean and variance paths",
        problem=None,
    )
    assert (second.name, second.syntax, second.text) == (
        "g_z ascii",
        "ascii",
        "gamma/sqrt(var+eps)*g_y",
    )
    assert (second.wrt, second.expect, second.note, second.problem) == (None, "diverge", "", None)


def test_example_notation_positions():
    d = parse_derivation(EXAMPLE, "bn.toml")
    hat = d.notation[2]
    assert (hat.key_location.line, hat.key_location.column) == (7, 1)
    assert pointed_at(hat.key_location) == '"\\\\hat{x}"'
    located = hat.value_origin.locate(Span(0, 4))
    assert (located.line, located.column, pointed_at(located)) == (7, 15, "zhat")


def test_example_formula_positions():
    first = parse_derivation(EXAMPLE, "bn.toml").candidates[0]
    assert_every_character_located(first.text, first.origin)
    whole = first.origin.locate(Span(0, len(first.text)))
    assert (whole.line, whole.column, pointed_at(whole)) == (11, 10, first.text)


def test_interleaved_tables_are_read_in_file_order():
    # tomlkit regroups interleaved [[candidate]] tables (see test_position_hook_still_works
    # in test_toml_source.py); candidates keep file order and their own positions.
    text = INTERLEAVED.read_text(encoding="utf-8")
    d = parse_derivation(text, "d.toml")
    assert [c.name for c in d.candidates] == ["a", "b", "c"]
    assert [c.location.line for c in d.candidates] == [2, 7, 11]
    starts = [c.origin.locate(Span(0, 1)) for c in d.candidates]
    assert [(s.line, s.column) for s in starts] == [(4, 10), (9, 9), (13, 12)]
    assert d.notation[0].value_origin.locate(Span(0, 1)).line == 6
    assert messages(d) == [
        'unknown key "notation2" at the top level (did you mean "notation"?); '
        "accepted keys: title, source, model, notation, candidate, claim"
    ]
    assert d.problems[0].location.line == 14


def test_crlf_files_give_the_same_positions():
    lf = parse_derivation(EXAMPLE, "bn.toml")
    crlf = parse_derivation(EXAMPLE.replace("\n", "\r\n"), "bn.toml")
    assert crlf.problems == ()
    assert [c.location for c in crlf.candidates] == [c.location for c in lf.candidates]
    assert crlf.candidates[0].origin.offsets == lf.candidates[0].origin.offsets


# --- Control characters in notation keys and values ----------------------------------------


def test_a_control_character_in_notation_is_a_file_problem():
    d = parse(
        """
        model = "batchnorm"
        [notation]
        "\\beta" = "b"
        y = "\\tau"
        [[candidate]]
        name = "g"
        latex = 'x'
        """
    )
    assert d.notation == ()
    key_problem, value_problem = d.problems
    assert "single quotes" in key_problem.message and key_problem.location.line == 3
    assert "a tab" in value_problem.message
    assert (value_problem.location.line, value_problem.location.column) == (4, 6)


# --- Files that are not TOML -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'model = "batchnorm"\n[[candidate]]\nname = "g"\nlatex = "a + \\sqrt{x}"\n',
        'model = "batchnorm"\n[[candidate]]\nname =\nlatex = "x"\n',
        'model = "m"\n[[candidate]]\nname = "a"\nname = "b"\n',
    ],
)
def test_a_toml_error_is_the_only_problem(text):
    # Where TOML errors point, and what they say, is tested in test_toml_source.py.
    d = parse(text)
    assert (d.candidates, d.notation, d.model) == ((), (), "")
    assert d.problems == (parse_toml(text, "d.toml"),)


@given(st.text(alphabet="[]{}=\"'\\\n #.,abfx1é\t\r\x0c", max_size=60))
def test_parsing_never_raises(text):
    d = parse_derivation(text, "d.toml")
    assert all(p.location is not None for p in d.problems)
    for c in d.candidates:
        c.origin.locate(Span(0, len(c.text)))


# --- Validation ------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_accepted_one():
    d = parse('model = "m"\ncandidates = 1\n[[candidate]]\nname = "a"\nlatex = "x"\n')
    (problem,) = d.problems
    assert 'unknown key "candidates"' in problem.message
    assert '(did you mean "candidate"?)' in problem.message
    assert "accepted keys: title, source, model, notation, candidate, claim" in problem.message
    assert (problem.location.line, problem.location.column, problem.location.width) == (2, 1, 10)


def test_unknown_top_level_key_without_a_close_match_lists_the_accepted_keys():
    (problem,) = parse('model = "m"\nzzz = 1\n[[candidate]]\nname = "a"\nlatex = "x"\n').problems
    assert "did you mean" not in problem.message and "accepted keys" in problem.message


def test_model_is_required():
    d = parse('[[candidate]]\nname = "a"\nlatex = "x"\n')
    assert (d.model, d.model_location) == ("", None)
    assert messages(d) == [
        'missing model: add model = "batchnorm" (a built-in model) or model = "path/to/model.toml"'
    ]
    assert len(d.candidates) == 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("model = 3", "model must be a string, not an integer"),
        ("model = ['a']", "model must be a string, not an array"),
        ('model = ""', "model is empty"),
        ('model = "m"\ntitle = true', "title must be a string, not a boolean"),
        ('model = "m"\nsource = 1.5', "source must be a string, not a float"),
        ('model = "m"\nnotation = "x"', "notation must be a table, not a string"),
        ('model = "m"\n[notation]\nx = 1', 'notation "x" must be a string, not an integer'),
        ('model = "m"\n[notation]\nx = ""', 'notation "x" is empty'),
    ],
)
def test_top_level_types_are_checked(line, expected):
    d = parse(line + '\n[[candidate]]\nname = "a"\nlatex = "x"\n')
    assert len(d.problems) == 1 and d.problems[0].message.startswith(expected), messages(d)
    assert d.problems[0].location.line == line.count("\n") + 1
    assert len(d.candidates) == 1


def test_title_defaults_to_the_file_stem():
    d = parse_derivation('model = "m"\n[[candidate]]\nname = "a"\nlatex = "x"\n', "x/bn_1.toml")
    assert (d.title, d.source, d.notation) == ("bn_1", "", ())


def test_notation_may_be_an_inline_table():
    d = parse(
        'model = "m"\nnotation = {x = "z", m = "N"}\n[[candidate]]\nname = "a"\nlatex = "x"\n'
    )
    assert [(n.key, n.value) for n in d.notation] == [("x", "z"), ("m", "N")]
    assert [n.key_location.column for n in d.notation] == [13, 22]


# --- Reading files ---------------------------------------------------------------------------


def test_load_reads_the_file_and_leaves_it_alone(tmp_path):
    path = tmp_path / "bn.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    d = load_derivation(path)
    assert d == parse_derivation(EXAMPLE, str(path))
    assert d.title == "Batch norm backward" and len(d.candidates) == 2
    assert path.read_text(encoding="utf-8") == EXAMPLE


def test_load_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "bn.toml"
    path.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.encode())
    assert load_derivation(path).problems == ()


def unreadable(path) -> derivation.Derivation:
    d = load_derivation(path)
    assert (d.candidates, d.notation, d.model) == ((), (), "")
    assert len(d.problems) == 1 and d.problems[0].location is not None
    return d


def test_missing_file(tmp_path):
    (problem,) = unreadable(tmp_path / "nope.toml").problems
    assert problem.message == (
        "cannot read derivation: no such file; give the path of a derivation TOML file"
    )
    assert problem.location == Location(str(tmp_path / "nope.toml"), 1, 1)


def test_directory(tmp_path):
    (problem,) = unreadable(tmp_path).problems
    assert "is a directory; give the path of a derivation TOML file" in problem.message


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('model = "m"\ntitle = "é sûr"\n'.encode("latin-1"))
    (problem,) = unreadable(path).problems
    assert (
        "byte 0xe9 is not UTF-8" in problem.message and "save the file as UTF-8" in problem.message
    )
    assert (problem.location.line, problem.location.column) == (2, 10)


def test_oversized_file(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    (problem,) = unreadable(path).problems
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in problem.message


def test_a_file_at_the_size_limit_is_read(tmp_path):
    path = tmp_path / "edge.toml"
    text = 'model = "m"\n[[candidate]]\nname = "a"\nlatex = "x"\n'
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text)))
    assert load_derivation(path).problems == ()


# --- Command-line candidates ---------------------------------------------------------------------


def test_inline_candidate_maps_offsets_to_columns_on_line_one():
    c = inline_candidate("\\frac{a}{b}", "latex", "z", name="mine")
    assert (c.path, c.name, c.wrt, c.syntax, c.text) == (
        "<command line>",
        "mine",
        "z",
        "latex",
        "\\frac{a}{b}",
    )
    assert (c.expect, c.note, c.problem) == ("match", "", None)
    assert c.location == Location("<command line>", 1, 1, "\\frac{a}{b}", 11)
    assert c.origin.locate(Span(6, 7)) == Location("<command line>", 1, 7, "\\frac{a}{b}", 1)
    assert c.origin.locate(Span(11, 11)).column == 12


def test_inline_candidate_stays_on_line_one_across_newlines():
    c = inline_candidate("a +\n b", "ascii", None)
    assert (c.name, c.problem) == ("<command line>", None)
    assert c.origin.locate(Span(5, 6)) == Location("<command line>", 1, 6, "a +  b", 1)


@pytest.mark.parametrize(
    ("text", "wrt", "expected"),
    [
        ("  ", "z", "--expr is empty"),
        ("a\x0cb", "z", "--expr contains a form feed"),
        ("a", " ", "--wrt is empty"),
    ],
)
def test_inline_candidate_problems(text, wrt, expected):
    c = inline_candidate(text, "ascii", wrt)
    assert c.problem is not None and c.problem.message.startswith(expected)
    assert c.problem.location.line == 1
