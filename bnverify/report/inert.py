"""Text from a file, shown so that no terminal and no CI runner obeys it.

A derivation file's text (a title, a name, a line under an error) and a file's name come
from strangers. A terminal obeys control sequences (ESC [ 2 J clears the screen; ESC [ 1 A
could overwrite "UNEXPECTED" with "ok"), bidi controls reorder what a reader sees, and
the GitHub Actions runner obeys two kinds of line: one that starts `::cmd ...::` once
leading white space is trimmed, and one holding `##[cmd]` anywhere (actions/runner,
ActionCommand.TryParseV2 and TryParse). So every output that reaches a terminal or a log
shows such text through `visible`, and prints whole documents through `inert_lines`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Each C0 control and DEL is shown as its one-column picture (U+2400 + code: ␛ for ESC),
# so carets stay aligned; C1 controls have no pictures and show as U+FFFD.
_PICTURES: dict[int, int | str] = {code: 0x2400 + code for code in range(0x20)}
_PICTURES |= {0x7F: 0x2421} | {code: 0xFFFD for code in range(0x80, 0xA0)}
# Bidi controls (the "Trojan Source" characters) have no pictures: they show by code.
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_PICTURES |= {code: f"<U+{code:04X}>" for code in BIDI_CONTROLS}
# A file name that is not UTF-8 reaches Python with its bytes as lone surrogates
# (surrogateescape), which no UTF-8 stream can write: each shows as U+FFFD.
_PICTURES |= dict.fromkeys(range(0xD800, 0xE000), 0xFFFD)
_PICTURES_BUT_NEWLINE = {code: to for code, to in _PICTURES.items() if code != 0x0A}

ZERO_WIDTH_SPACE = "\u200b"
# `##[` is broken by a zero-width space: it reads the same and is no longer a command.
_OLD_COMMAND = re.compile(r"#(?=#\[)")
# A line that starts `::` after white space (Python's isspace covers .NET's TrimStart).
_NEW_COMMAND = re.compile(r"^(\s*):(?=:)", re.MULTILINE)


def visible(text: str) -> str:
    """One line of shown text: every control character a picture, `##[` broken."""
    return _OLD_COMMAND.sub("#" + ZERO_WIDTH_SPACE, text.translate(_PICTURES))


def inert_lines(text: str) -> str:
    """A whole document for a terminal or a log: as `visible`, keeping its newlines."""
    return no_commands(text.translate(_PICTURES_BUT_NEWLINE))


def no_commands(text: str) -> str:
    """A document whose text is already visible (it may carry the printer's own colour
    codes) with `##[` broken and no line starting `::` (a zero-width space goes between
    the colons)."""
    shown = _OLD_COMMAND.sub("#" + ZERO_WIDTH_SPACE, text)
    return _NEW_COMMAND.sub(r"\1:" + ZERO_WIDTH_SPACE, shown)


# In a document that has escapes of its own (JSON, XML), what a terminal or a runner would
# obey is escaped instead, which loses nothing: the C1 and bidi controls (C0 ones the
# formats escape themselves), the first "#" of "##[", and the first ":" of a line's "::".
_OBEYED = re.compile(
    "[\x80-\x9f" + "".join(map(chr, BIDI_CONTROLS)) + "]|#(?=#\\[)|^\\s*:(?=:)", re.MULTILINE
)


def escaped_document(text: str, escape: Callable[[str], str]) -> str:
    """A JSON or XML document with what would be obeyed written as the format's escape."""
    return _OBEYED.sub(lambda found: _escape_last(found.group(), escape), text)


def _escape_last(found: str, escape: Callable[[str], str]) -> str:
    return found[:-1] + escape(found[-1])


def shown_path(path: str) -> str:
    """A file's name as messages print it: visible, and never starting with a colon."""
    shown = visible(path)
    return "./" + shown if shown.lstrip().startswith(":") else shown
