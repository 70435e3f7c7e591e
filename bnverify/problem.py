"""Errors as values: a Problem says what is wrong and where, and travels to the edge.

A problem found inside a formula first knows only its span in the formula's text; the
derivation file that holds the formula later gives it a file location. Nothing here
prints: the reporters turn problems into `file:line:column: error: message` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bnverify.tree import Span


@dataclass(frozen=True)
class Location:
    """A place in a file: 1-based line and column, the line's text, and a caret width."""

    path: str
    line: int
    column: int
    source: str = ""
    width: int = 1


@dataclass(frozen=True)
class Problem:
    """Something that stops a candidate (or a file) from being checked."""

    message: str
    span: Span | None = None
    location: Location | None = None

    def at(self, location: Location) -> Problem:
        """The same problem, placed in a file."""
        return replace(self, location=location)


def location_in_text(path: str, text: str, offset: int, width: int = 1) -> Location:
    """The Location of a character offset in a whole file's text."""
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    line = text.count("\n", 0, offset) + 1
    return Location(path, line, offset - line_start + 1, text[line_start:line_end], max(1, width))
