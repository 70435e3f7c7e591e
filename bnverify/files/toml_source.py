"""TOML read with positions: every value, key and string character tied to a file location.

tomlkit reads the TOML; a subclass of its parser notes where each table and value starts,
and toml_strings decodes a string's raw token again so that each character of its value
maps back to a line and column. Reading never raises: a file that cannot be read or parsed
gives a located Problem. string_value checks a value's type the same way for every
reader (toml_keys checks a table's keys). Nothing here knows what a derivation or a model is.

Values reached through `TomlDocument.data` (by key, by index, or with `entries`) keep
their identity, so they can be passed to the document's `*_location` and `origin`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from tomlkit import TOMLDocument
from tomlkit.container import Container
from tomlkit.exceptions import (
    InvalidCharInStringError,
    InvalidUnicodeValueError,
    ParseError,
    TOMLKitError,
)
from tomlkit.items import (
    AoT,
    Array,
    Bool,
    Date,
    DateTime,
    Float,
    InlineTable,
    Integer,
    Item,
    Key,
    String,
    Table,
    Time,
)
from tomlkit.parser import Parser

from bnverify.files.access import Refused, read_regular
from bnverify.files.toml_strings import COMMAND_LETTERS, TextOrigin, decode_string_token
from bnverify.problem import Location, Problem, Span, location_in_file, location_in_text

# tomlkit rebuilds a table's view of its dotted keys (k.a = 1) on each new one, so time
# grows with their square: 6,000 lines of `k.kN = 1` under [[candidate]] took 77 s before
# any budget (bench/bench_toml.py). No bnverify file needs more than a few, so a file with
# more than MAX_DOTTED_KEYS is refused before tomlkit reads it; the count is linear.
MAX_DOTTED_KEYS = 100
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|'[^'\n]*')"""
_DOTTED_KEY = re.compile(rf"^[ \t]*{_KEY_PART}(?:[ \t]*\.[ \t]*{_KEY_PART})+[ \t]*=", re.MULTILINE)

_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (String, "a string"),
    (Bool, "a boolean"),
    (Integer, "an integer"),
    (Float, "a float"),
    (DateTime, "a date-time"),
    (Date, "a date"),
    (Time, "a time"),
    (AoT, "an array of tables"),
    (Array, "an array"),
    (Table, "a table"),
    (InlineTable, "a table"),
)


@dataclass(frozen=True)
class TomlDocument:
    """A parsed TOML file: its path, its text (LF newlines), tomlkit's data, and positions."""

    path: str
    text: str = field(repr=False)
    data: TOMLDocument = field(repr=False)
    # id(item) -> (offset, item); the item is kept so that no id is reused meanwhile.
    _starts: dict[int, tuple[int, Item]] = field(repr=False, compare=False)

    def at(self, offset: int, width: int = 1) -> Location:
        """The Location of an offset in this file."""
        return location_in_file(self.path, self.text, offset, width)

    def offset(self, item: Item) -> int | None:
        """Where an item starts; a table made by a dotted key starts at its first value."""
        if id(item) in self._starts:
            return self._starts[id(item)][0]
        children = item.body if isinstance(item, AoT) else [v for _, v in entries(item)]
        found = (self.offset(child) for child in children)
        return next((offset for offset in found if offset is not None), None)

    def value_location(self, item: Item) -> Location:
        """Where a value is: the value's token, or a table's header (else line 1)."""
        offset = self.offset(item)
        if offset is None:
            return self.at(0)
        if isinstance(item, Table | AoT) and self.text.startswith("[", offset):
            close = "]]" if self.text.startswith("[[", offset) else "]"
            end = self.text.find(close, offset)
            return self.at(offset, end + len(close) - offset if end >= 0 else 1)
        return self.at(offset, len(item.as_string()))

    def key_location(self, key: Key, item: Item) -> Location:
        """Where the key of a key/value pair (as from `entries`) is written."""
        # Keys carry no positions either: the key is found on its value's line, before
        # the `=`. A [header] table has no such line, so its header stands in.
        offset = self.offset(item)
        if offset is None or (isinstance(item, Table | AoT) and self.text.startswith("[", offset)):
            return self.value_location(item)
        raw = key.as_string().strip()
        found = self.text.rfind(raw, self.text.rfind("\n", 0, offset) + 1, offset) if raw else -1
        return self.at(found, len(raw)) if found >= 0 else self.value_location(item)

    def place(self, where: object, span: Span | None = None) -> Location:
        """Where a rejected value is: the span's characters in a string, the value, else 1:1.

        Its signature is the `place` a Rejected takes, so a step reading this document
        turns a rejection into a Problem located in the file.
        """
        if isinstance(where, String) and span is not None:
            return self.origin(where).locate(span)
        if isinstance(where, Item):
            return self.value_location(where)
        return Location(self.path, 1, 1)

    def origin(self, item: String) -> TextOrigin:
        """Where each character of a string value came from."""
        offset = self.offset(item)
        if offset is not None and self.text.startswith(("'", '"'), offset):
            decoded, offsets = decode_string_token(self.text, offset)
            if decoded == str(item):
                return TextOrigin(self.path, self.text, offsets)
        # Not expected: without trustworthy offsets, point every character at the value.
        return TextOrigin(self.path, self.text, (offset or 0,) * (len(str(item)) + 1))


def read_toml(
    path: str | Path, what: str, max_bytes: int, flag: str = ""
) -> TomlDocument | Problem:
    """Read and parse a TOML file; `what` names the kind of file in messages ("model").

    A file larger than max_bytes is not read; `flag` names the option that raises that.
    """
    text = _read_text(Path(path), what, max_bytes, flag)
    return text if isinstance(text, Problem) else parse_toml(text, str(path))


def parse_toml(text: str, path: str) -> TomlDocument | Problem:
    """Parse TOML text, keeping positions; a syntax error gives a located Problem."""
    # Offsets are taken in this text, so CRLF files are read as LF ones (as Python's own
    # universal newlines would); a lone CR stays and tomlkit reports it.
    text = text.replace("\r\n", "\n")
    too_many = _dotted_keys_problem(text, path)
    if too_many is not None:
        return too_many
    parser = _PositionRecorder(text)
    try:
        data = parser.parse()
    except TOMLKitError as error:
        return _syntax_problem(error, text, path, parser)
    return TomlDocument(path, text, data, parser.starts)


def entries(item: Item | Container) -> list[tuple[Key, Item]]:
    """The key/value pairs of a table or document, in file order; other items have none."""
    # A document lists an out-of-order table once per part, and dotted keys (a.x, a.y)
    # once per line, so a key may repeat here where a mapping would merge it.
    if isinstance(item, Container):
        return [(key, value) for key, value in item.body if key is not None]
    if not isinstance(item, Table | InlineTable):
        return []
    return [(key, value) for key, value in item.value.body if key is not None]


def type_name(item: Item) -> str:
    """The TOML type of an item, with its article: "an integer"."""
    return next((name for kind, name in _TYPE_NAMES if isinstance(item, kind)), "a value")


def string_value(file: TomlDocument, name: str, item: Item) -> str | Problem:
    """The text of a string value, or a located problem naming the expected type."""
    if isinstance(item, String):
        return str(item)
    message = f"{name} must be a string, not {type_name(item)}"
    return Problem(message, location=file.value_location(item))


# --- Reading the file -------------------------------------------------------------------


def _read_text(path: Path, what: str, max_bytes: int, flag: str) -> str | Problem:
    """The file's text, or a problem saying why it cannot be read and what would do."""
    wanted = f"give the path of a {what} TOML file"
    if not os.path.lexists(path):
        return _file_problem(path, what, f"no such file; {wanted}")
    try:
        data = read_regular(path, max_bytes)
    except Refused as refused:
        return _file_problem(path, what, f"{refused}; {wanted}")
    if len(data) > max_bytes:
        limit = f"{max_bytes:,} bytes"
        raise_it = f" (raise it with {flag})" if flag else ""
        why = f"is larger than {limit}; a {what} file must fit in that{raise_it}"
        return _file_problem(path, what, why)
    try:
        return data.decode("utf-8-sig")  # a BOM from a Windows editor is harmless
    except UnicodeDecodeError as error:
        return _not_utf8(str(path), what, data, error.start)


def _file_problem(path: Path, what: str, why: str) -> Problem:
    """A problem with the file as a whole, placed at its first line."""
    return Problem(f"cannot read {what}: {why}", location=Location(str(path), 1, 1))


def _not_utf8(path: str, what: str, data: bytes, start: int) -> Problem:
    """A problem at the first byte that is not UTF-8."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    line_end = len(data) if line_end < 0 else line_end
    column = len(data[line_start:start].decode("utf-8", errors="replace"))
    source = data[line_start:line_end].decode("utf-8", errors="replace")
    line = data.count(b"\n", 0, start) + 1
    message = (
        f"cannot read {what}: byte 0x{data[start]:02x} is not UTF-8; save the file as UTF-8 text"
    )
    return Problem(message, location=replace(location_in_text(path, source, column), line=line))


def _dotted_keys_problem(text: str, path: str) -> Problem | None:
    """Why a text has too many dotted keys for tomlkit to read in good time, else None."""
    # Lines of a multi-line string that look like dotted keys count too: that only
    # errs towards refusing a file no derivation resembles.
    for count, match in enumerate(_DOTTED_KEY.finditer(text), start=1):
        if count > MAX_DOTTED_KEYS:
            start = len(match.group()) - len(match.group().lstrip())
            message = (
                f"more than {MAX_DOTTED_KEYS} dotted keys (such as a.b = 1) in one file; "
                "bnverify reads at most that many: write each key in its own [table]"
            )
            key = match.group().rstrip("= \t")
            return Problem(
                message,
                location=location_in_file(path, text, match.start() + start, len(key) - start),
            )
    return None


def _syntax_problem(error: TOMLKitError, text: str, path: str, parser: Parser) -> Problem:
    """A TOML syntax error as a located problem, with a hint for LaTeX in double quotes."""
    if isinstance(error, ParseError):
        # tomlkit counts lines with str.splitlines (which also breaks at \f, \v, ...)
        # and columns from 0, so its position is turned back into an offset first.
        lines = text.splitlines(keepends=True)
        offset = min(sum(map(len, lines[: error.line - 1])) + error.col, len(text))
    else:
        # KeyAlreadyPresent and kin carry no position: point at the end of what was read.
        offset = max(len(text[: parser._idx].rstrip()) - 1, 0)
    message = "invalid TOML: " + re.sub(r" at line \d+ col \d+$", "", str(error))
    escape = isinstance(error, InvalidCharInStringError | InvalidUnicodeValueError)
    if escape and offset > 0 and text[offset - 1] == "\\":
        word = "\\" + COMMAND_LETTERS.match(text, offset).group()
        message = (
            f'invalid TOML: "{word}" is not an escape TOML knows in a double-quoted string. '
            f"LaTeX belongs in a single-quoted (literal) TOML string, which keeps "
            f"backslashes as written: '{word}...' (or double each backslash)"
        )
        return Problem(message, location=location_in_file(path, text, offset - 1, 2))
    return Problem(message, location=location_in_file(path, text, offset))


class _PositionRecorder(Parser):
    """tomlkit's parser, also noting the file offset where each table and value starts."""

    # Why: tomlkit items carry no positions, and its document regroups array-of-tables
    # entries that are interleaved with other tables, so offsets are noted during
    # parsing, keyed by id(). Each item is kept alongside, so no id is reused by another
    # object. test_position_hook_still_works fails loudly if a tomlkit release breaks this.

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.starts: dict[int, tuple[int, Item]] = {}

    def _parse_table(
        self, parent_name: Key | None = None, parent: Table | None = None
    ) -> tuple[Key, Table | AoT]:
        start = self._idx
        key, table = super()._parse_table(parent_name, parent)
        first = table.body[0] if isinstance(table, AoT) else table
        self.starts[id(first)] = (start, first)
        return key, table

    def _parse_value(self) -> Item:
        start = self._idx
        value = super()._parse_value()
        self.starts[id(value)] = (start, value)
        return value
