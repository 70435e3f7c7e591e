"""Derivation files: the formulas an author wants checked, each character tied to its place.

A derivation is a small TOML file written by hand, often by students, so nothing in it is
trusted: every mistake becomes a located Problem, and one bad candidate never hides the
others. tomlkit reads the TOML; a subclass of its parser notes where each value starts,
and each formula's raw token is decoded again here so that every character of the
formula maps back to a line and column of the file.
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath
from typing import Literal

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

from bnverify.problem import Location, Problem, location_in_text
from bnverify.tree import Span

MAX_FILE_BYTES = 1_000_000  # derivations are a page of TOML; anything bigger is a mistake
COMMAND_LINE = "<command line>"
TOP_LEVEL_KEYS = ("title", "source", "model", "notation", "candidate")
CANDIDATE_KEYS = ("name", "wrt", "latex", "expr", "expect", "note")
FORMULA_KEYS: dict[str, Literal["latex", "ascii"]] = {"latex": "latex", "expr": "ascii"}
EXPECTATIONS = ("match", "diverge")

# TOML basic-string escapes (tomlkit also reads TOML 1.1's \e and \xHH).
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    '"': '"',
    "\\": "\\",
}
_HEX_ESCAPE_DIGITS = {"x": 2, "u": 4, "U": 8}
# Matched at a position rather than by slicing, so a 1 MB file of quotes or escapes
# is still read in linear time.
_RUNS = {"'": re.compile("'+"), '"': re.compile('"+')}
_SWALLOWED = re.compile(r"\\[ \t\n]*")
_LETTERS = re.compile("[A-Za-z]*")
_CONTROL_NAMES = {
    "\b": "a backspace",
    "\t": "a tab",
    "\n": "a newline",
    "\f": "a form feed",
    "\r": "a carriage return",
    "\x1b": "an escape character",
}
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
class TextOrigin:
    """Where each character of a decoded TOML string came from in its file."""

    path: str
    file_text: str = field(repr=False)
    offsets: tuple[int, ...]  # file offset of each decoded character, plus one past the end

    def locate(self, span: Span) -> Location:
        """The Location of the span's first character, as wide as the span on that line."""
        last = len(self.offsets) - 1
        start = self.offsets[min(max(span.start, 0), last)]
        end = self.offsets[min(max(span.end, span.start + 1, 0), last)]
        return _location(self.path, self.file_text, start, end - start)


@dataclass(frozen=True)
class NotationEntry:
    """One row of [notation]: the author's name for something, and the model's name."""

    key: str
    value: str
    key_location: Location
    value_origin: TextOrigin


@dataclass(frozen=True)
class Candidate:
    """A formula to check; `problem` is set when it cannot be checked at all."""

    path: str
    location: Location  # the [[candidate]] header
    name: str
    wrt: str | None
    syntax: Literal["latex", "ascii"]
    text: str
    origin: TextOrigin
    expect: Literal["match", "diverge"]
    note: str
    problem: Problem | None


@dataclass(frozen=True)
class Derivation:
    """A derivation file as read: its candidates and any file-level problems."""

    path: str
    title: str
    source: str
    model: str
    model_location: Location | None
    notation: tuple[NotationEntry, ...]
    candidates: tuple[Candidate, ...]
    problems: tuple[Problem, ...]


def load_derivation(path: str | Path) -> Derivation:
    """Read and parse a derivation file; an unreadable file gives a Derivation with a problem."""
    text = _read_text(Path(path))
    if isinstance(text, Problem):
        return _unreadable(str(path), text)
    return parse_derivation(text, str(path))


def parse_derivation(text: str, path: str) -> Derivation:
    """Parse derivation TOML text into a Derivation; never raises on bad input."""
    # Offsets are taken in this text, so CRLF files are read as LF ones (as Python's own
    # universal newlines would); a lone CR stays and tomlkit reports it.
    text = text.replace("\r\n", "\n")
    parser = _PositionRecorder(text)
    try:
        document = parser.parse()
    except TOMLKitError as error:
        return _unreadable(path, _syntax_problem(error, text, path, parser))
    return _read_document(document.body, _File(path, text, parser.starts))


def inline_candidate(
    text: str, syntax: Literal["latex", "ascii"], wrt: str | None, name: str | None = None
) -> Candidate:
    """A candidate given on the command line (`check --latex/--expr`), located on line 1."""
    shown = text.replace("\n", " ")  # keep every column on line 1
    origin = TextOrigin(COMMAND_LINE, shown, tuple(range(len(text) + 1)))
    problem = _formula_problem(text, origin, "--latex" if syntax == "latex" else "--expr")
    if problem is None and wrt is not None and not wrt.strip():
        problem = Problem("--wrt is empty: name the input to differentiate by, e.g. --wrt z")
        problem = problem.at(origin.locate(Span(0, len(text))))
    return Candidate(
        path=COMMAND_LINE,
        location=location_in_text(COMMAND_LINE, shown, 0, len(shown)),
        name=name or COMMAND_LINE,
        wrt=wrt,
        syntax=syntax,
        text=text,
        origin=origin,
        expect="match",
        note="",
        problem=problem,
    )


# --- Reading the file -------------------------------------------------------------------


def _read_text(path: Path) -> str | Problem:
    """The file's text, or a problem saying why it cannot be read and what would do."""
    wanted = "give the path of a derivation TOML file"
    if not path.exists():
        return _file_problem(path, f"no such file; {wanted}")
    if path.is_dir():
        return _file_problem(path, f"is a directory; {wanted}")
    if not path.is_file():
        return _file_problem(path, f"is not a regular file; {wanted}")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # never pull a huge file into memory
    except OSError as error:
        return _file_problem(path, f"cannot be read ({error.strerror}); {wanted}")
    if len(data) > MAX_FILE_BYTES:
        limit = f"{MAX_FILE_BYTES:,} bytes"
        return _file_problem(path, f"is larger than {limit}; a derivation file must fit in that")
    try:
        return data.decode("utf-8-sig")  # a BOM from a Windows editor is harmless
    except UnicodeDecodeError as error:
        return _not_utf8(str(path), data, error.start)


def _file_problem(path: Path, what: str) -> Problem:
    """A problem with the file as a whole, placed at its first line."""
    return Problem(f"cannot read derivation: {what}", location=Location(str(path), 1, 1))


def _not_utf8(path: str, data: bytes, start: int) -> Problem:
    """A problem at the first byte that is not UTF-8."""
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", start)
    line_end = len(data) if line_end < 0 else line_end
    column = len(data[line_start:start].decode("utf-8", errors="replace")) + 1
    source = data[line_start:line_end].decode("utf-8", errors="replace")
    line = data.count(b"\n", 0, start) + 1
    message = (
        f"cannot read derivation: byte 0x{data[start]:02x} is not UTF-8; "
        "save the file as UTF-8 text"
    )
    return Problem(message, location=Location(path, line, column, source))


def _unreadable(path: str, problem: Problem) -> Derivation:
    """The Derivation of a file that could not be read or parsed at all."""
    return Derivation(path, PurePath(path).stem, "", "", None, (), (), (problem,))


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
        word = "\\" + _LETTERS.match(text, offset).group()
        message = (
            f'invalid TOML: "{word}" is not an escape TOML knows in a double-quoted string. '
            f"LaTeX belongs in a single-quoted (literal) TOML string, which keeps "
            f"backslashes as written: '{word}...' (or double each backslash)"
        )
        return Problem(message, location=_location(path, text, offset - 1, 2))
    return Problem(message, location=_location(path, text, offset))


class _PositionRecorder(Parser):
    """tomlkit's parser, also noting the file offset where each table and value starts."""

    # Why: tomlkit items carry no positions, and its document regroups [[candidate]]
    # tables that are interleaved with other tables, so offsets are noted during parsing,
    # keyed by id(). Each item is kept alongside, so no id is reused by another object.
    # test_position_hook_still_works fails loudly if a tomlkit release breaks this.

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


# --- Decoding string tokens with positions -----------------------------------------------


def _decode_string_token(file_text: str, start: int) -> tuple[str, tuple[int, ...]]:
    """The value of the TOML string token at `start`, and the file offset of each character.

    The token must already be valid TOML (tomlkit has read it). An escape's character
    maps to its backslash; the last offset is that of the closing delimiter.
    """
    quote = next(q for q in ("'''", '"""', "'", '"') if file_text.startswith(q, start))
    basic, multiline = quote[0] == '"', len(quote) == 3
    i = start + len(quote)
    if multiline and file_text.startswith("\n", i):
        i += 1  # TOML trims a newline right after the opening delimiter
    chars: list[str] = []
    offsets: list[int] = []
    while i < len(file_text):
        if file_text[i] == quote[0]:
            run = _RUNS[quote[0]].match(file_text, i).end() - i
            if not multiline or run >= 3:
                # Up to two quotes may sit just inside a multi-line closing delimiter.
                extra = min(run - 3, 2) if multiline else 0
                chars.extend(quote[0] * extra)
                offsets.extend(range(i, i + extra))
                return "".join(chars), (*offsets, i + extra)
            chars.extend(quote[0] * run)
            offsets.extend(range(i, i + run))
            i += run
        elif basic and file_text[i] == "\\":
            decoded, length = _escape_at(file_text, i, multiline)
            chars.extend(decoded)
            offsets.extend([i] * len(decoded))
            i += length
        else:
            chars.append(file_text[i])
            offsets.append(i)
            i += 1
    return "".join(chars), (*offsets, i)


def _escape_at(text: str, i: int, multiline: bool) -> tuple[str, int]:
    """What the escape starting at text[i] (a backslash) decodes to, and its length."""
    letter = text[i + 1 : i + 2]
    if multiline and letter in (" ", "\t", "\n"):
        # A line-ending backslash swallows all whitespace up to the next character.
        return "", _SWALLOWED.match(text, i).end() - i
    if letter in _HEX_ESCAPE_DIGITS:
        digits = _HEX_ESCAPE_DIGITS[letter]
        return chr(int(text[i + 2 : i + 2 + digits], 16)), 2 + digits
    return _ESCAPES.get(letter, letter), 2


# --- Positions of items --------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    """A parsed derivation file: path, text and the offsets where tomlkit's items start."""

    path: str
    text: str
    starts: dict[int, tuple[int, Item]]

    def at(self, offset: int, width: int = 1) -> Location:
        """The Location of an offset in this file."""
        return _location(self.path, self.text, offset, width)

    def offset(self, item: Item) -> int | None:
        """Where an item starts; a table made by a dotted key starts at its first value."""
        if id(item) in self.starts:
            return self.starts[id(item)][0]
        children = item.body if isinstance(item, AoT) else [v for _, v in _entries(item)]
        found = (self.offset(child) for child in children)
        return next((offset for offset in found if offset is not None), None)

    def value_location(self, item: Item) -> Location:
        """Where a value is: the value's token, or a table's header."""
        offset = self.offset(item)
        if offset is None:
            return self.at(0)
        if isinstance(item, Table | AoT) and self.text.startswith("[", offset):
            close = "]]" if self.text.startswith("[[", offset) else "]"
            end = self.text.find(close, offset)
            return self.at(offset, end + len(close) - offset if end >= 0 else 1)
        return self.at(offset, len(item.as_string()))

    def key_location(self, key: Key, item: Item) -> Location:
        """Where a key is written: on its value's line, just before the `=`."""
        offset = self.offset(item)
        if offset is None or (isinstance(item, Table | AoT) and self.text.startswith("[", offset)):
            return self.value_location(item)
        raw = key.as_string().strip()
        found = self.text.rfind(raw, self.text.rfind("\n", 0, offset) + 1, offset) if raw else -1
        return self.at(found, len(raw)) if found >= 0 else self.value_location(item)

    def origin(self, item: String) -> TextOrigin:
        """Where each character of a string value came from."""
        offset = self.offset(item)
        if offset is not None and self.text.startswith(("'", '"'), offset):
            decoded, offsets = _decode_string_token(self.text, offset)
            if decoded == str(item):
                return TextOrigin(self.path, self.text, offsets)
        # Not expected: without trustworthy offsets, point every character at the value.
        return TextOrigin(self.path, self.text, (offset or 0,) * (len(str(item)) + 1))


def _location(path: str, text: str, offset: int, width: int = 1) -> Location:
    """location_in_text, with the caret kept on the offset's own line."""
    # Lines are found by bisection, not by counting newlines from the start each time:
    # a 1 MB file with thousands of candidates would otherwise take quadratic time.
    offset = max(0, min(offset, len(text)))
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, offset)
    start, end = starts[line - 1], (starts[line] - 1 if line < len(starts) else len(text))
    within = location_in_text(path, text[start:end], offset - start, min(width, end - offset))
    return replace(within, line=line)


@functools.lru_cache(maxsize=4)
def _line_starts(text: str) -> tuple[int, ...]:
    """The offset where each line of a text starts."""
    return (0, *(match.end() for match in re.finditer("\n", text)))


def _entries(item: Item) -> list[tuple[Key, Item]]:
    """The key/value pairs of a table, in file order; other items have none."""
    if not isinstance(item, Table | InlineTable):
        return []
    return [(key, value) for key, value in item.value.body if key is not None]


def _type_name(item: Item) -> str:
    """The TOML type of an item, with its article: "an integer"."""
    return next((name for kind, name in _TYPE_NAMES if isinstance(item, kind)), "a value")


def _did_you_mean(word: str, accepted: tuple[str, ...]) -> str:
    """A " (did you mean ...?)" suffix when `word` looks like a typo of an accepted word."""
    close = difflib.get_close_matches(word.lower(), accepted, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _first(problems: list[Problem]) -> Problem | None:
    """The problem that comes first in the file."""
    located = [p for p in problems if p.location is not None]
    return min(located, key=lambda p: (p.location.line, p.location.column), default=None)


# --- Formulas --------------------------------------------------------------------------


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def _formula_problem(
    text: str, origin: TextOrigin, label: str, lhs: str | None = None
) -> Problem | None:
    """Why a formula cannot be read (empty, or a control character), else None.

    `label` names the field in messages; `lhs` is what the fix puts before `= '...'`.
    """
    if not text.strip():
        return Problem(f"{label} is empty", location=origin.locate(Span(0, 0)))
    for k, char in enumerate(text):
        start = origin.offsets[k]
        from_escape = origin.file_text[start] == "\\"
        if _is_control(char) and (char != "\n" or from_escape):
            what = _CONTROL_NAMES.get(char, f"control character U+{ord(char):04X}")
            if from_escape:
                message = _trap_message(origin.file_text, start, what, lhs or label)
            else:
                message = (
                    f"{label} contains {what}, which cannot appear in a formula; "
                    "use spaces (or newlines in a multi-line string)"
                )
            return Problem(message, location=origin.locate(Span(k, k + 1)))
    return None


def _trap_message(file_text: str, start: int, what: str, lhs: str) -> str:
    """Explain the TOML basic-string trap: "\\frac" silently becomes a form feed + "rac"."""
    escape = file_text[start : start + _escape_at(file_text, start, multiline=False)[1]]
    word = escape + _LETTERS.match(file_text, start + len(escape)).group()
    read_as = f'{what} followed by "{word[len(escape) :]}"' if word != escape else what
    return (
        f'"{word}" was read as {read_as}: in a double-quoted TOML string, {escape} is an '
        f"escape. Write it in single quotes, which keep backslashes as written "
        f"({lhs} = '{word}...'), or double each backslash."
    )


# --- Validation ----------------------------------------------------------------------------

Fields = dict[str, tuple[Key, Item]]


def _string(file: _File, name: str, item: Item) -> str | Problem:
    """The text of a string value, or a problem naming the expected type."""
    if isinstance(item, String):
        return str(item)
    message = f"{name} must be a string, not {_type_name(item)}"
    return Problem(message, location=file.value_location(item))


def _unknown_key(
    file: _File, key: Key, item: Item, accepted: tuple[str, ...], where: str
) -> Problem:
    """A problem for a key that is not one of `accepted`."""
    message = (
        f'unknown key "{key.key}" {where}{_did_you_mean(key.key, accepted)}; '
        f"accepted keys: {', '.join(accepted)}"
    )
    return Problem(message, location=file.key_location(key, item))


def _read_document(body: list[tuple[Key | None, Item]], file: _File) -> Derivation:
    """Validate the top level of a parsed derivation."""
    groups: dict[str, list[Item]] = {}
    keys: dict[str, Key] = {}
    for key, item in body:
        if key is not None:  # an out-of-order table shows up once per part
            groups.setdefault(key.key, []).append(item)
            keys.setdefault(key.key, key)
    unknown = tuple(
        _unknown_key(file, keys[name], parts[0], TOP_LEVEL_KEYS, "at the top level")
        for name, parts in groups.items()
        if name not in TOP_LEVEL_KEYS
    )
    title, title_problems = _top_string(file, groups, "title", PurePath(file.path).stem)
    source, source_problems = _top_string(file, groups, "source", "")
    model, model_location, model_problems = _model(file, groups.get("model", []))
    notation, notation_problems = _notation(file, groups.get("notation", []))
    candidates, candidate_problems = _candidates(file, groups.get("candidate", []))
    problems = (
        *unknown,
        *title_problems,
        *source_problems,
        *model_problems,
        *notation_problems,
        *candidate_problems,
    )
    return Derivation(
        file.path, title, source, model, model_location, notation, candidates, problems
    )


def _top_string(
    file: _File, groups: dict[str, list[Item]], name: str, default: str
) -> tuple[str, tuple[Problem, ...]]:
    """An optional top-level string such as the title."""
    if name not in groups:
        return default, ()
    value = _string(file, name, groups[name][0])
    return (default, (value,)) if isinstance(value, Problem) else (value, ())


def _model(file: _File, parts: list[Item]) -> tuple[str, Location | None, tuple[Problem, ...]]:
    """The required model: a built-in model's name or a path to a model file."""
    hint = 'model = "batchnorm" (a built-in model) or model = "path/to/model.toml"'
    if not parts:
        return "", None, (Problem(f"missing model: add {hint}", location=file.at(0)),)
    location = file.value_location(parts[0])
    value = _string(file, "model", parts[0])
    if isinstance(value, Problem):
        return "", location, (value,)
    if not value.strip():
        return "", location, (Problem(f"model is empty: write {hint}", location=location),)
    return value, location, ()


def _notation(
    file: _File, parts: list[Item]
) -> tuple[tuple[NotationEntry, ...], tuple[Problem, ...]]:
    """The [notation] table: the author's names for the model's names."""
    entries: list[NotationEntry] = []
    problems: list[Problem] = []
    for item in parts:
        if not isinstance(item, Table | InlineTable):
            message = (
                f"notation must be a table, not {_type_name(item)}: "
                'write [notation] and then one line per name, e.g. x = "z"'
            )
            problems.append(Problem(message, location=file.value_location(item)))
        for key, value in _entries(item):
            entry = _notation_entry(file, key, value)
            (problems if isinstance(entry, Problem) else entries).append(entry)
    return tuple(entries), tuple(problems)


def _notation_entry(file: _File, key: Key, item: Item) -> NotationEntry | Problem:
    """One `author's name = model's name` row."""
    key_location = file.key_location(key, item)
    if not key.key.strip():
        return Problem(
            "notation key is empty: write a name from your formulas", location=key_location
        )
    if any(map(_is_control, key.key)):
        message = (
            "notation key contains a control character: in a double-quoted TOML key a "
            "backslash starts an escape. Write LaTeX keys in single quotes, e.g. "
            "'\\hat{x}' = \"zhat\"."
        )
        return Problem(message, location=key_location)
    label = f'notation "{key.key}"'
    value = _string(file, label, item)
    if isinstance(value, Problem):
        return value
    origin = file.origin(item)
    problem = _formula_problem(value, origin, label, lhs=key.as_string().strip())
    return problem or NotationEntry(key.key, value, key_location, origin)


def _candidates(
    file: _File, parts: list[Item]
) -> tuple[tuple[Candidate, ...], tuple[Problem, ...]]:
    """Every [[candidate]] table, each checked on its own."""
    tables: list[Item] = []
    problems: list[Problem] = []
    for item in parts:
        if isinstance(item, AoT):
            tables.extend(item.body)
        elif isinstance(item, Array) and all(isinstance(e, InlineTable) for e in item):
            tables.extend(item)  # candidate = [{...}, ...] is the same array, written inline
        else:
            message = (
                f"candidate must be an array of tables, not {_type_name(item)}: "
                "start each candidate with a [[candidate]] header"
            )
            problems.append(Problem(message, location=file.value_location(item)))
    if not tables and not problems:
        message = (
            'no candidates: add a [[candidate]] table with name = "..." '
            "and latex = '...' (or expr = \"...\")"
        )
        problems.append(Problem(message, location=file.at(0)))
    return _read_candidates(file, tables), tuple(problems)


def _read_candidates(file: _File, tables: list[Item]) -> tuple[Candidate, ...]:
    """The candidates, with a problem on any that reuses an earlier candidate's name."""
    candidates: list[Candidate] = []
    first_lines: dict[str, int] = {}
    for index, table in enumerate(tables, 1):
        candidate = _candidate(file, table, index)
        named = _fields(table).get("name", (None, None))[1]
        if isinstance(named, String) and str(named) == candidate.name:
            if candidate.name in first_lines and candidate.problem is None:
                message = (
                    f'duplicate candidate name "{candidate.name}" (first used on line '
                    f"{first_lines[candidate.name]}): give each candidate its own name"
                )
                problem = Problem(message, location=file.value_location(named))
                candidate = replace(candidate, problem=problem)
            first_lines.setdefault(candidate.name, candidate.location.line)
        candidates.append(candidate)
    return tuple(candidates)


def _fields(table: Item) -> Fields:
    """A table's keys, each with its Key (for its position) and value."""
    return {key.key: (key, value) for key, value in _entries(table)}


def _candidate(file: _File, table: Item, index: int) -> Candidate:
    """One candidate, whose first problem says why it cannot be checked."""
    fields = _fields(table)
    location = file.value_location(table)
    unknown = [
        _unknown_key(file, key, item, CANDIDATE_KEYS, "in a candidate")
        for name, (key, item) in fields.items()
        if name not in CANDIDATE_KEYS
    ]
    name, name_problem = _candidate_name(file, fields, index, location)
    syntax, text, origin, formula_problem = _formula(file, fields, table, name)
    wrt, wrt_problem = _wrt(file, fields)
    expect, expect_problem = _expect(file, fields)
    note, note_problem = _field(file, fields, "note")
    # A mistyped key explains a missing field better than "missing" does, so it goes first.
    problems = [name_problem, formula_problem, wrt_problem, expect_problem, note_problem]
    return Candidate(
        path=file.path,
        location=location,
        name=name,
        wrt=wrt,
        syntax=syntax,
        text=text,
        origin=origin,
        expect=expect,
        note=note or "",
        problem=_first(unknown) or _first([p for p in problems if p is not None]),
    )


def _field(file: _File, fields: Fields, name: str) -> tuple[str | None, Problem | None]:
    """An optional string field: its text, or None (and a problem when it is no string)."""
    if name not in fields:
        return None, None
    value = _string(file, name, fields[name][1])
    return (None, value) if isinstance(value, Problem) else (value, None)


def _at_value(file: _File, fields: Fields, name: str) -> Location:
    return file.value_location(fields[name][1])


def _wrt(file: _File, fields: Fields) -> tuple[str | None, Problem | None]:
    """The input the candidate differentiates by, when the formula does not say."""
    wrt, problem = _field(file, fields, "wrt")
    if wrt is not None and not wrt.strip():
        message = 'wrt is empty: name an input, e.g. wrt = "z"'
        problem = Problem(message, location=_at_value(file, fields, "wrt"))
    return wrt, problem


def _expect(file: _File, fields: Fields) -> tuple[Literal["match", "diverge"], Problem | None]:
    """Whether the formula should match the truth (the default) or is known to be wrong."""
    # An unrecognised value is a problem, never a silent "match": a typo must not pass.
    expect, problem = _field(file, fields, "expect")
    if expect is not None and expect not in EXPECTATIONS:
        message = (
            f'expect must be "match" or "diverge", not "{expect}"'
            f"{_did_you_mean(expect, EXPECTATIONS)}"
        )
        problem = Problem(message, location=_at_value(file, fields, "expect"))
    return ("diverge" if expect == "diverge" else "match"), problem


def _candidate_name(
    file: _File, fields: Fields, index: int, header: Location
) -> tuple[str, Problem | None]:
    """The candidate's name; a stand-in "#index" when it has none."""
    stand_in = f"#{index}"
    if "name" not in fields:
        message = f'candidate {stand_in} has no name: add name = "..." under its header'
        return stand_in, Problem(message, location=header)
    name, problem = _field(file, fields, "name")
    if name is not None and not name.strip():
        message = 'name is empty: give the candidate a name, e.g. name = "g_z"'
        problem = Problem(message, location=_at_value(file, fields, "name"))
    return (name, None) if problem is None else (stand_in, problem)


def _formula(
    file: _File, fields: Fields, table: Item, name: str
) -> tuple[Literal["latex", "ascii"], str, TextOrigin, Problem | None]:
    """The candidate's formula from exactly one of latex= and expr=."""
    given = [key for key in FORMULA_KEYS if key in fields]
    if not given:
        origin = TextOrigin(file.path, file.text, (file.offset(table) or 0,))
        message = f'candidate "{name}" has no formula: add latex = \'...\' or expr = "..."'
        return "latex", "", origin, Problem(message, location=file.value_location(table))
    item = fields[given[0]][1]
    syntax = FORMULA_KEYS[given[0]]
    text = _string(file, given[0], item)
    if isinstance(text, Problem):
        origin = TextOrigin(file.path, file.text, (file.offset(item) or 0,))
        return syntax, "", origin, text
    origin = file.origin(item)
    if len(given) > 1:
        message = "give either latex or expr, not both"
        return syntax, text, origin, Problem(message, location=file.key_location(*fields[given[1]]))
    return syntax, text, origin, _formula_problem(text, origin, given[0])
