"""Tests for bnverify.files.toml_keys: one table of keys per kind of file, checked alike."""

from __future__ import annotations

from textwrap import dedent

from bnverify.files.toml_keys import KeyTable, did_you_mean, unknown_keys
from bnverify.files.toml_source import parse_toml

ROW = KeyTable("in a row", dict.fromkeys(("name", "value")))
FILE = KeyTable("at the top level", {"title": None, "names": None, "row": ROW})


def problems(text: str) -> list[tuple[int, int, str]]:
    doc = parse_toml(dedent(text), "f.toml")
    found = unknown_keys(doc, doc.data, FILE)
    return [(p.location.line, p.location.column, p.message.split(";")[0]) for p in found]


def test_a_known_file_has_no_problem():
    assert problems('title = "t"\n[names]\nanything = 1\n[[row]]\nname = "a"\nvalue = 2\n') == []


def test_every_unknown_key_at_every_level_is_located_with_a_did_you_mean():
    text = """\
        titel = "t"
        [[row]]
        nmae = "a"
        [[rows]]
        name = "b"
        """
    assert problems(text) == [
        (1, 1, 'unknown key "titel" at the top level (did you mean "title"?)'),
        (3, 1, 'unknown key "nmae" in a row (did you mean "name"?)'),
        (4, 1, 'unknown key "rows" at the top level (did you mean "row"?)'),
    ]


def test_inline_tables_are_checked_like_tables():
    assert problems('row = [{ name = "a" }, { nam = "b" }]\n') == [
        (1, 26, 'unknown key "nam" in a row (did you mean "name"?)')
    ]


def test_a_table_written_in_parts_is_reported_once():
    text = """\
        [extra.a]
        x = 1
        [names]
        [extra.b]
        y = 2
        """
    assert problems(text) == [(1, 1, 'unknown key "extra" at the top level')]


def test_a_free_table_holds_any_name():
    assert problems("[names]\nnodez = 1\n") == []


def test_did_you_mean_only_for_a_close_word():
    assert did_you_mean("modell", ("model", "title")) == ' (did you mean "model"?)'
    assert did_you_mean("zzz", ("model", "title")) == ""
