"""TOML strings character by character: where each character of a value was written.

tomlkit decodes a string value but forgets where its characters came from, so the raw
token is decoded again here, noting the file offset of every character it yields: a
problem inside a formula then points at the column where it was typed. The same escapes
explain the trap of a double-quoted TOML string, where "\\frac" silently becomes a form
feed and "rac": a control character in a formula is reported at the escape that made it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from bnverify.problem import Location, Problem, Span, location_in_file

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
# The letters of a LaTeX command after its backslash, as in "\\frac".
COMMAND_LETTERS = re.compile("[A-Za-z]*")
_CONTROL_NAMES = {
    "\b": "a backspace",
    "\t": "a tab",
    "\n": "a newline",
    "\f": "a form feed",
    "\r": "a carriage return",
    "\x1b": "an escape character",
}


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
        return location_in_file(self.path, self.file_text, start, end - start)


def decode_string_token(file_text: str, start: int) -> tuple[str, tuple[int, ...]]:
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


def is_control(char: str) -> bool:
    """Whether a character is a control character (tab, form feed, escape, ...)."""
    return unicodedata.category(char) == "Cc"


def formula_string_problem(
    text: str, origin: TextOrigin, label: str, lhs: str | None = None
) -> Problem | None:
    """Why a formula string cannot be read (empty, or a control character), else None."""
    if not text.strip():
        return Problem(f"{label} is empty", location=origin.locate(Span(0, 0)))
    return control_character_problem(text, origin, label, lhs)


def control_character_problem(
    text: str, origin: TextOrigin, label: str, lhs: str | None = None
) -> Problem | None:
    """Why a formula string holds a control character, located at it; else None.

    `label` names the field in messages; `lhs` is what the fix puts before `= '...'`.
    A raw newline is allowed (a multi-line string); an escaped one is the trap below.
    """
    for k, char in enumerate(text):
        start = origin.offsets[k]
        from_escape = origin.file_text[start] == "\\"
        if is_control(char) and (char != "\n" or from_escape):
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
    word = escape + COMMAND_LETTERS.match(file_text, start + len(escape)).group()
    read_as = f'{what} followed by "{word[len(escape) :]}"' if word != escape else what
    return (
        f'"{word}" was read as {read_as}: in a double-quoted TOML string, {escape} is an '
        f"escape. Write it in single quotes, which keep backslashes as written "
        f"({lhs} = '{word}...'), or double each backslash."
    )
