"""Tests for bnverify.problem: a located Problem writes itself as compilers write errors."""

from __future__ import annotations

from bnverify.problem import Location, Problem
from bnverify.report.inert import shown_path, visible
from bnverify.report.text import located


def test_a_problem_nowhere_is_its_message():
    assert str(Problem("no such model 'x'")) == "error: no such model 'x'"


def test_a_problem_in_a_file_without_its_line_is_one_line():
    problem = Problem("bad key", location=Location("d.toml", 3, 4))
    assert str(problem) == "d.toml:3:4: error: bad key"


def test_a_problem_with_its_line_puts_a_caret_under_the_columns():
    where = Location("d.toml", 12, 9, source='expr = "gama * g_y"', width=4)
    assert str(Problem("unknown name 'gama'", location=where)).split("\n") == [
        "d.toml:12:9: error: unknown name 'gama'",
        "    |",
        ' 12 | expr = "gama * g_y"',
        "    |         ^^^^",
    ]


def test_the_caret_is_measured_on_the_text_as_shown():
    # A bidi control before the column shows as <U+202E>: the caret moves with it.
    where = Location("d.toml", 1, 3, source="a\u202eb", width=1)
    lines = Problem("here", location=where).format(visible, shown_path).split("\n")
    assert lines[2] == " 1 | a<U+202E>b"
    assert lines[3] == "   | " + " " * len("a<U+202E>") + "^"


def test_the_terminal_shows_the_file_text_of_a_problem_and_obeys_none_of_it():
    where = Location("::warning::x.toml", 2, 1, source="::error::forged", width=2)
    text = located(Problem("##[error]forged", location=where))
    assert text.startswith("./::warning::x.toml:2:1: error: #\u200b#[error]forged")
    assert all(not line.lstrip().startswith("::") for line in text.split("\n"))


def test_a_long_line_is_shown_as_a_window_around_the_column():
    # 5,000 candidates on one 224 KB line once made each message repeat the whole line.
    from bnverify.problem import WINDOW, location_in_file

    text = "x = 1\n" + "a" * 50_000 + "BAD" + "b" * 50_000 + "\n"
    where = location_in_file("d.toml", text, 6 + 50_000, 3)
    assert (where.line, where.column) == (2, 50_001) and len(where.source) == WINDOW
    lines = str(Problem("here", location=where)).split("\n")
    assert lines[0] == "d.toml:2:50001: error: here"
    assert lines[2].startswith(" 2 | \N{HORIZONTAL ELLIPSIS}a") and lines[2].endswith(
        "b\N{HORIZONTAL ELLIPSIS}"
    )
    assert len(lines[2]) < WINDOW + 10
    assert lines[2][lines[3].index("^") : lines[3].rindex("^") + 1] == "BAD"
