"""Tests for bnverify.files.toml_strings: each decoded character located, and the escape trap."""

from __future__ import annotations

import tomllib
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tomlkit.items import String

from bnverify.files.toml_source import TomlDocument, parse_toml
from bnverify.files.toml_strings import TextOrigin, control_character_problem, is_control
from bnverify.problem import Location, Problem, Span

# What each TOML basic-string escape decodes to, written independently of the module.
ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b", '"': '"', "\\": "\\"}


def parse(text: str) -> TomlDocument:
    document = parse_toml(dedent(text).lstrip(), "d.toml")
    assert isinstance(document, TomlDocument), document
    return document


def string_on_line_4(written: str, key: str = "latex") -> tuple[TomlDocument, String]:
    """A document laid out like a derivation, and the string value written on its line 4."""
    document = parse(f"model = \"batchnorm\"\n[[candidate]]\nname = 'a'\n{key} = {written}\n")
    return document, document.data["candidate"][0][key.strip()]


def pointed_at(location: Location) -> str:
    """The file text under a location's caret."""
    return location.source[location.column - 1 : location.column - 1 + location.width]


def decoded_from(raw: str, basic: bool) -> str:
    """What the file text starting at a decoded character decodes to (first character)."""
    if not basic or raw[0] != "\\":
        return raw[0]
    digits = {"x": 2, "u": 4, "U": 8}.get(raw[1])
    return chr(int(raw[2 : 2 + digits], 16)) if digits else ESCAPES[raw[1]]


def assert_every_character_located(text: str, origin: TextOrigin, basic: bool) -> None:
    for k, char in enumerate(text):
        location = origin.locate(Span(k, k + 1))
        if char == "\n" and location.column == len(location.source) + 1:
            continue  # a raw newline ends its line
        assert decoded_from(pointed_at(location), basic) == char, (k, char, location)


# --- Decoding string tokens -------------------------------------------------------------------

STRING_KINDS = [
    # (value as written after `latex = `, decoded text, basic?)
    pytest.param("'\\frac{a}{b} \"q\"'", '\\frac{a}{b} "q"', False, id="literal"),
    pytest.param(
        "'''\n\\frac{a}\n  {b} 'x'' '''", "\\frac{a}\n  {b} 'x'' ", False, id="multi-line literal"
    ),
    pytest.param("'''a''''", "a'", False, id="multi-line literal, quote before the end"),
    pytest.param(
        '"a\\\\b \\"q\\" \\u00e9\\U0001F600 \\x41 é"',
        'a\\b "q" é😀 A é',
        True,
        id="basic with escapes",
    ),
    pytest.param(
        '"""\nab \\\n    cd\n  \\\\e \\"""\\u00e9 ""x"""',
        'ab cd\n  \\e """é ""x',
        True,
        id="multi-line basic, trimmed newline and line-ending backslash",
    ),
    pytest.param('"""a"""""', 'a""', True, id="multi-line basic, quotes before the end"),
]


@pytest.mark.parametrize(("written", "decoded", "basic"), STRING_KINDS)
def test_each_string_kind_maps_every_character_to_the_file(written, decoded, basic):
    document, value = string_on_line_4(written)
    text, origin = str(value), document.origin(value)
    assert text == decoded
    assert_every_character_located(text, origin, basic)
    assert origin.locate(Span(0, 0)).line == 4 + (
        written[:4] in ('"""\n', "'''\n")
    )  # trimmed newline
    end = origin.locate(Span(len(text), len(text)))
    assert pointed_at(end) in ("'", '"')  # the closing delimiter


def test_string_kinds_decode_like_tomllib():
    for param in STRING_KINDS:
        written, decoded, _ = param.values
        if "\\e" not in written and "\\x" not in written:  # TOML 1.1, unknown to tomllib
            assert tomllib.loads(f"v = {written}")["v"] == decoded


PIECES = {  # (as written in a basic string, decoded)
    "basic": [
        *[("a", "a"), (" ", " "), ("é", "é"), ("{", "{"), ("'", "'")],
        *[("\\\\", "\\"), ('\\"', '"'), ("\\u00e9", "é"), ("\\U0001F600", "😀"), ("\\x41", "A")],
    ],
    "literal": [("a", "a"), (" ", " "), ("é", "é"), ("\\", "\\"), ('"', '"'), ("{", "{")],
}


@pytest.mark.parametrize("kind", ["basic", "literal"])
@given(data=st.data())
def test_any_string_maps_every_character_to_the_file(kind, data):
    pieces = data.draw(st.lists(st.sampled_from(PIECES[kind]), min_size=1, max_size=12))
    quote = '"' if kind == "basic" else "'"
    written = quote + "".join(raw for raw, _ in pieces) + quote
    document, value = string_on_line_4(written, key="  expr  ")
    text, origin = str(value), document.origin(value)
    assert text == "".join(char for _, char in pieces)
    starts = [
        len("  expr   = " + quote + "".join(raw for raw, _ in pieces[:i])) + 1
        for i in range(len(pieces))
    ]
    assert [origin.locate(Span(k, k + 1)).column for k in range(len(text))] == starts
    assert_every_character_located(text, origin, kind == "basic")


def test_origin_locates_a_span_across_its_characters():
    document, value = string_on_line_4("'\\frac{a}{b}'")
    location = document.origin(value).locate(Span(0, 5))
    assert (location.line, location.column, pointed_at(location)) == (4, 10, "\\frac")


# --- The TOML basic-string trap --------------------------------------------------------------


def formula_problem(written: str, key: str = "latex") -> Problem | None:
    document, value = string_on_line_4(written, key)
    return control_character_problem(str(value), document.origin(value), key)


@pytest.mark.parametrize(
    ("command", "read_as"),
    [
        ("\\frac", "a form feed"),
        ("\\tau", "a tab"),
        ("\\beta", "a backspace"),
        ("\\nabla", "a newline"),
        ("\\right", "a carriage return"),
    ],
)
@pytest.mark.parametrize("quotes", ['"', '"""'])
def test_latex_in_double_quotes_is_rejected_at_the_backslash(command, read_as, quotes):
    problem = formula_problem(f"{quotes}x + {command}{{a}}{quotes}")
    assert problem is not None
    assert read_as in problem.message
    assert "single quotes" in problem.message
    assert f"latex = '{command}" in problem.message
    location = problem.location
    assert (location.line, location.column, location.width) == (4, 13 + len(quotes), 2)
    assert pointed_at(location) == command[:2]


def test_the_fix_names_the_left_hand_side_as_written():
    document, value = string_on_line_4('"\\\\hat \\beta"')
    problem = control_character_problem(str(value), document.origin(value), "x", lhs="'y'")
    assert "('y' = '\\beta...')" in problem.message
    assert '"\\beta" was read as a backspace followed by "eta"' in problem.message


def test_a_raw_tab_is_rejected_plainly():
    problem = formula_problem("'a\tb'")
    assert problem is not None
    assert problem.message.startswith("latex contains a tab")
    assert "escape" not in problem.message
    assert (problem.location.line, problem.location.column) == (4, 11)


def test_raw_newlines_in_multi_line_strings_are_allowed():
    document, value = string_on_line_4("'''\na +\n  b'''")
    assert str(value) == "a +\n  b"
    assert control_character_problem(str(value), document.origin(value), "latex") is None


def test_other_control_characters_are_named_by_code_point():
    problem = formula_problem('"a \\u0007"', key="expr")
    assert problem.message.startswith('"\\u0007" was read as control character U+0007: ')
    assert "(expr = '\\u0007...')" in problem.message


@pytest.mark.parametrize(("char", "control"), [("\t", True), ("\x0c", True), ("a", False)])
def test_is_control(char, control):
    assert is_control(char) is control
