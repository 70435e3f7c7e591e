"""Errors as values: a Problem says what is wrong and where, and travels to the edge.

A problem found inside a formula first knows only its span in the formula's text; the
derivation file that holds the formula later gives it a file location. A problem writes
itself as `file:line:column: error: message` with its line and a caret (as pyflakes'
messages do); nothing here prints, and the reporters only choose how file text is shown.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Span:
    """Half-open range [start, end) of character offsets in a formula's text."""

    start: int
    end: int


# Characters of a source line shown under a message. A 224 KB file with 5,000 candidates
# on one line once gave a 1.66 GB JUnit file, each message repeating the whole line; a
# window keeps every message, and so a run's output, in proportion to its input.
WINDOW = 100


@dataclass(frozen=True)
class Location:
    """A place in a file: 1-based line and column, the line's text, and a caret width.

    `source` is the line, or for a long line a window of it around the column:
    `source_from` is where the window starts in the line, and `more` says the line goes on.
    """

    path: str
    line: int
    column: int
    source: str = ""
    width: int = 1
    source_from: int = 0
    more: bool = False


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class Problem:
    """Something that stops a candidate (or a file) from being checked."""

    message: str
    span: Span | None = None
    location: Location | None = None

    def at(self, location: Location) -> Problem:
        """The same problem, placed in a file."""
        return replace(self, location=location)

    def __str__(self) -> str:
        """The problem as `format` writes it, with file text as it stands."""
        return self.format()

    def format(
        self, shown: Callable[[str], str] = _as_is, path: Callable[[str], str] = _as_is
    ) -> str:
        """`file:line:column: error: message`, then the source line and a caret under a gutter.

        `shown` turns text from a file (the message, the line) into text that may be
        printed, and `path` does the same for the file's name; the caret is measured on
        the shown text, so it stays under the column. The gutter (`  12 | ...`) keeps a
        line of the file from starting a printed line.
        """
        where = self.location
        if where is None:
            return f"error: {shown(self.message)}"
        head = f"{path(where.path)}:{where.line}:{where.column}: error: {shown(self.message)}"
        if not where.source:
            return head
        start = where.column - 1 - where.source_from
        cut = "\N{HORIZONTAL ELLIPSIS}" if where.source_from else ""
        before = cut + shown(where.source[:start])
        marked = shown(where.source[start : start + where.width])
        caret = " " * len(before) + "^" * max(1, len(marked))
        number = str(where.line)
        gutter = " " * len(number)
        rest = "\N{HORIZONTAL ELLIPSIS}" if where.more else ""
        source = f" {number} | {cut}{shown(where.source)}{rest}"
        return "\n".join((head, f" {gutter} |", source, f" {gutter} | {caret}"))


def location_in_text(path: str, text: str, offset: int, width: int = 1) -> Location:
    """The Location of a character offset in a whole file's text."""
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    line = text.count("\n", 0, offset) + 1
    return _on_line(path, text, line, (line_start, line_end), offset, width)


def location_in_file(path: str, text: str, offset: int, width: int = 1) -> Location:
    """location_in_text for a file located many times, with the caret kept on the offset's line."""
    # Lines are found by bisection, not by counting newlines from the start each time:
    # a 1 MB file with thousands of values would otherwise take quadratic time.
    offset = max(0, min(offset, len(text)))
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, offset)
    start, end = starts[line - 1], (starts[line] - 1 if line < len(starts) else len(text))
    return _on_line(path, text, line, (start, end), offset, min(width, end - offset))


def _on_line(
    path: str, text: str, line: int, bounds: tuple[int, int], offset: int, width: int
) -> Location:
    """The Location of an offset on the line text[start:end], keeping a WINDOW of the line."""
    start, end = bounds
    shown_from = start
    if end - start > WINDOW:  # a third of the window before the column, the rest after
        shown_from = max(start, min(offset - WINDOW // 3, end - WINDOW))
    shown_to = min(end, shown_from + WINDOW)
    return Location(
        path,
        line,
        offset - start + 1,
        text[shown_from:shown_to],
        max(1, width),
        shown_from - start,
        shown_to < end,
    )


@functools.lru_cache(maxsize=4)
def _line_starts(text: str) -> tuple[int, ...]:
    """The offset where each line of a text starts."""
    return (0, *(match.end() for match in re.finditer("\n", text)))


class Rejected(Exception):
    """The one exception bnverify raises inside a step; the step's entry point returns its Problem.

    Deep inside a parser callback or a model reader the text and the file are not at
    hand, so a rejection carries what it knows (a message, or a message that needs the
    formula's text; a span; `where`, the value it was found in) and `problem` builds the
    Problem where they are known.
    """

    def __init__(
        self, message: str | Callable[[str], str], span: Span | None = None, where: object = None
    ) -> None:
        super().__init__(message if isinstance(message, str) else "")
        self.message, self.span, self.where = message, span, where

    def problem(
        self, text: str = "", place: Callable[[object, Span | None], Location] | None = None
    ) -> Problem:
        """The Problem this rejection makes: in the formula `text`, or in a file by `place`.

        `place` knows the file `where` is in (a TOML document's `place`), so the Problem
        gets its location there and this module needs to know nothing of files.
        """
        message = self.message(text) if callable(self.message) else self.message
        if place is None:
            return Problem(message, span=self.span)
        return Problem(message, location=place(self.where, self.span))
