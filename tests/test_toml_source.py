"""Tests for bnverify.files.toml_source: TOML read with positions, and located errors."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tomlkit.items import String

from bnverify.files.toml_source import (
    TomlDocument,
    entries,
    parse_toml,
    read_toml,
    type_name,
)
from bnverify.problem import Location, Problem, Rejected, Span

SAMPLE = dedent(
    r"""
    model = "batchnorm"
    [notation]
    "\\hat{x}" = "zhat"
    [[candidate]]
    name = "g_z"
    latex = '\frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y'
    [[candidate]]
    name = "g_z ascii"
    expr = "gamma/sqrt(var+eps)*g_y"
    """
).lstrip()

# Interleaved [[candidate]] and [notation] tables, which tomlkit regroups.
INTERLEAVED = Path(__file__).parent / "data" / "interleaved.toml"


def parse(text: str) -> TomlDocument:
    document = parse_toml(dedent(text).lstrip(), "d.toml")
    assert isinstance(document, TomlDocument), document
    return document


def parse_error(text: str) -> Problem:
    problem = parse_toml(dedent(text).lstrip(), "d.toml")
    assert isinstance(problem, Problem), problem
    return problem


def pointed_at(location: Location) -> str:
    """The file text under a location's caret."""
    return location.source[location.column - 1 : location.column - 1 + location.width]


def candidate_tables(document: TomlDocument) -> list:
    """Every [[candidate]] table, in file order, across the parts tomlkit regroups."""
    parts = [item for key, item in entries(document.data) if key.key == "candidate"]
    return [table for part in parts for table in part.body]


# --- Positions of tables, values and keys ------------------------------------------------------


def test_position_hook_still_works():
    # Interleaved [[candidate]] tables are regrouped by tomlkit; header lines and value
    # offsets come from _PositionRecorder. If this fails, a tomlkit release changed
    # Parser._parse_table / Parser._parse_value and the hook must be updated.
    document = parse(INTERLEAVED.read_text(encoding="utf-8"))
    tables = candidate_tables(document)
    assert [str(t["name"]) for t in tables] == ["a", "b", "c"]
    headers = [document.value_location(t).line for t in tables]
    assert headers == [2, 7, 11], "tomlkit hook broken"
    formulas = [t.get("latex", t.get("expr")) for t in tables]
    starts = [document.origin(f).locate(Span(0, 1)) for f in formulas]
    assert [(s.line, s.column) for s in starts] == [(4, 10), (9, 9), (13, 12)], (
        "tomlkit hook broken"
    )
    assert document.origin(document.data["notation"]["x"]).locate(Span(0, 1)).line == 6
    (notation2,) = [item for key, item in entries(document.data) if key.key == "notation2"]
    assert document.value_location(notation2).line == 14


def test_header_location_is_the_header_line():
    document = parse(
        """
        model = "batchnorm"
        # a comment

          [[candidate]]  # indented
        name = "a"
        latex = 'x'
        """
    )
    location = document.value_location(candidate_tables(document)[0])
    assert (location.line, location.column, location.width) == (4, 3, 13)


def test_values_keep_their_identity_through_data():
    document = parse_toml(SAMPLE, "bn.toml")
    model = document.data["model"]
    assert document.value_location(model) == Location("bn.toml", 1, 9, 'model = "batchnorm"', 11)
    (hat_key, hat) = entries(document.data["notation"])[0]
    assert pointed_at(document.key_location(hat_key, hat)) == '"\\\\hat{x}"'
    located = document.origin(hat).locate(Span(0, 4))
    assert (located.line, located.column, pointed_at(located)) == (3, 15, "zhat")


def test_a_rejection_is_placed_at_its_value_or_the_characters_in_it():
    document = parse_toml(SAMPLE, "bn.toml")
    hat = entries(document.data["notation"])[0][1]
    in_string = Rejected("no such name", Span(0, 4), hat).problem(place=document.place)
    at_value = Rejected("wrong model", where=document.data["model"]).problem(place=document.place)
    nowhere = Rejected("missing").problem(place=document.place)
    assert (in_string.location.line, in_string.location.column) == (3, 15)
    assert pointed_at(in_string.location) == "zhat" and in_string.span is None
    assert pointed_at(at_value.location) == '"batchnorm"'
    assert nowhere.location == Location("bn.toml", 1, 1)


def test_key_location_is_the_key_as_written():
    document = parse("[t]\nname = 'a'\n  'exp ct' = 'match'\nx = {a = 1, 'b c' = 2}\n")
    keys = {key.key: document.key_location(key, item) for key, item in entries(document.data["t"])}
    assert (keys["exp ct"].line, keys["exp ct"].column, pointed_at(keys["exp ct"])) == (
        3,
        3,
        "'exp ct'",
    )
    inline = {k.key: document.key_location(k, v) for k, v in entries(document.data["t"]["x"])}
    assert [(loc.column, pointed_at(loc)) for loc in inline.values()] == [(6, "a"), (13, "'b c'")]
    (_, table) = entries(document.data)[0]
    assert document.value_location(table) == Location("d.toml", 1, 1, "[t]", 3)


def test_a_table_made_by_a_dotted_key_starts_at_its_first_value():
    document = parse('model = "m"\n[t]\nmore.x = 1\n')
    (key, table) = entries(document.data["t"])[0]
    assert type_name(table) == "a table"
    assert document.value_location(table).line == 3
    assert pointed_at(document.key_location(key, table)) == "more"


def test_entries_keep_each_part_of_an_out_of_order_table():
    document = parse("[a]\nx = 1\n[b]\n[a.c]\ny = 2\n")
    assert [key.key for key, _ in entries(document.data)] == ["a", "b", "a"]
    assert entries(document.data["b"]) == []
    assert entries(document.data["a"]["x"]) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'x'", "a string"),
        ("true", "a boolean"),
        ("1", "an integer"),
        ("1.5", "a float"),
        ("1979-05-27T07:32:00Z", "a date-time"),
        ("1979-05-27", "a date"),
        ("07:32:00", "a time"),
        ("[1]", "an array"),
        ("{a = 1}", "a table"),
    ],
)
def test_type_names(value, expected):
    document = parse(f"v = {value}\n")
    (_, item) = entries(document.data)[0]
    assert type_name(item) == expected


def test_type_names_of_tables():
    document = parse("[t]\n[[a]]\n")
    assert [type_name(item) for _, item in entries(document.data)] == [
        "a table",
        "an array of tables",
    ]


def test_crlf_files_give_the_same_positions():
    lf = parse_toml(SAMPLE, "bn.toml")
    crlf = parse_toml(SAMPLE.replace("\n", "\r\n"), "bn.toml")
    assert isinstance(crlf, TomlDocument) and crlf.text == lf.text
    headers = [crlf.value_location(t) for t in candidate_tables(crlf)]
    assert headers == [lf.value_location(t) for t in candidate_tables(lf)]
    formulas = [candidate_tables(d)[0]["latex"] for d in (lf, crlf)]
    assert crlf.origin(formulas[1]).offsets == lf.origin(formulas[0]).offsets


# --- TOML syntax errors ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["\\sqrt", "\\underline", "\\xi", "\\mathbf"])
def test_invalid_escape_is_a_toml_error_with_the_single_quote_hint(command):
    problem = parse_error(
        f'model = "batchnorm"\n[[candidate]]\nname = "g"\nlatex = "a + {command}{{x}}"\n'
    )
    assert "single-quoted" in problem.message and f"'{command}...'" in problem.message
    assert (problem.location.line, problem.location.column, problem.location.width) == (4, 14, 2)
    assert problem.location.source == f'latex = "a + {command}{{x}}"'


def test_other_toml_errors_are_located():
    problem = parse_error('model = "batchnorm"\n[[candidate]]\nname =\nlatex = "x"\n')
    assert problem.message.startswith("invalid TOML: ")
    assert " at line " not in problem.message
    assert (problem.location.line, problem.location.source) == (3, "name =")


def test_duplicate_keys_in_a_table_are_located():
    problem = parse_error('model = "m"\n[[candidate]]\nname = "a"\nname = "b"\n')
    assert "already exists" in problem.message
    assert problem.location.line == 4


@given(st.text(alphabet="[]{}=\"'\\\n #.,abfx1é\t\r\x0c", max_size=60))
def test_parsing_never_raises(text):
    document = parse_toml(text, "d.toml")
    if isinstance(document, Problem):
        assert document.location is not None
        return
    for _, item in entries(document.data):
        document.value_location(item)
        if isinstance(item, String):
            document.origin(item).locate(Span(0, len(str(item))))


# --- Reading files -----------------------------------------------------------------------------


def test_read_toml_reads_the_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SAMPLE.replace("\n", "\r\n").encode())
    document = read_toml(path, "model", 1000)
    assert isinstance(document, TomlDocument)
    assert (document.path, document.text) == (str(path), SAMPLE)
    assert str(document.data["model"]) == "batchnorm"


def test_missing_file_names_the_kind_of_file(tmp_path):
    problem = read_toml(tmp_path / "nope.toml", "model", 1000)
    assert problem == Problem(
        "cannot read model: no such file; give the path of a model TOML file",
        location=Location(str(tmp_path / "nope.toml"), 1, 1),
    )


def test_directory(tmp_path):
    problem = read_toml(tmp_path, "model", 1000)
    assert (
        problem.message == "cannot read model: is a directory; give the path of a model TOML file"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_special_files_are_not_opened(tmp_path):
    path = tmp_path / "pipe.toml"
    os.mkfifo(path)  # opening it would block
    problem = read_toml(path, "model", 1000)
    assert problem.message.startswith("cannot read model: is a FIFO (named pipe), not a regular")


def test_size_limit(tmp_path):
    path = tmp_path / "m.toml"
    path.write_bytes(b"#" * 1000)
    assert isinstance(read_toml(path, "model", 1000), TomlDocument)
    path.write_bytes(b"#" * 1001)
    problem = read_toml(path, "model", 1000)
    assert problem.message == (
        "cannot read model: is larger than 1,000 bytes; a model file must fit in that"
    )


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "m"\ntitle = "é sûr"\n'.encode("latin-1"))
    problem = read_toml(path, "model", 1000)
    assert problem.message == (
        "cannot read model: byte 0xe9 is not UTF-8; save the file as UTF-8 text"
    )
    assert (problem.location.line, problem.location.column) == (2, 10)


def test_syntax_errors_in_a_file_are_located_in_it(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('name = "m"\n[nodes]\nx =\n', encoding="utf-8")
    problem = read_toml(path, "model", 1000)
    assert problem.message.startswith("invalid TOML: ")
    assert (problem.location.path, problem.location.line) == (str(path), 3)


def test_too_many_dotted_keys_are_refused_before_tomlkit_reads_them():
    # tomlkit's time grows with the square of a table's dotted keys (77 s at 6,000).
    from bnverify.files.toml_source import MAX_DOTTED_KEYS

    head = '[[candidate]]\nname = "a"\n'
    within = parse_toml(head + "".join(f"k.k{i} = 1\n" for i in range(MAX_DOTTED_KEYS)), "d")
    assert not isinstance(within, Problem)
    text = head + "".join(f"k . 'k{i}' = 1\n" for i in range(6000))
    problem = parse_toml(text, "d.toml")
    assert isinstance(problem, Problem) and "more than 100 dotted keys" in problem.message
    where = problem.location
    assert (where.line, where.column, where.width) == (2 + MAX_DOTTED_KEYS + 1, 1, 10)
    # A dot in a quoted key, or in a value, is no dotted key.
    quoted = head + "".join(f'"k.k{i}" = "a.b = 1"\n' for i in range(500))
    assert not isinstance(parse_toml(quoted, "d"), Problem)
