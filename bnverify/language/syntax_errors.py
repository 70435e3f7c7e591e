"""Formula text the grammar refuses, explained to students as located Problems.

Lark reports what token it met and which terminals it would have accepted; here that
becomes "unexpected ')': no bracket is open" or a list of the accepted commands. The
commands are read from the LaTeX grammar itself, so the lists cannot drift from it.
The parser is passed in, because bnverify.language.parser builds it and imports this module.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from bnverify.problem import Problem, Span

BRACKET_PAIRS = {"(": ")", "[": "]", "{": "}"}
# Regex terminals have no literal text to quote in "expected ..." messages.
_TERMINAL_WORDS = {
    "$END": "the end of the formula",
    "OPEN": "an opening bracket",
    "CLOSE": "a closing bracket",
    "CMD": "a command",
    "NTH_ROOT": "\\sqrt",
    "TEXT_NOTE": "a label such as \\text{through } \\hat{z}",
}


@cache
def _latex_commands(parser: Lark) -> tuple[frozenset[str], frozenset[str]]:
    """(letters, others): every \\word that appears in a terminal of the LaTeX grammar."""
    words = {
        terminal.name: {
            "\\" + w for w in re.findall(r"\\\\([A-Za-z]+)", terminal.pattern.to_regexp())
        }
        for terminal in parser.terminals
    }
    letter_terminals = {
        s.name for r in parser.rules if r.origin.name == "letter_command" for s in r.expansion
    }
    letters = frozenset().union(*(words[name] for name in letter_terminals))
    return letters, frozenset().union(*words.values()) - letters


def latex_letters(parser: Lark) -> frozenset[str]:
    """The letters the LaTeX parser knows as commands, without the backslash (gamma, ell)."""
    return frozenset(command[1:] for command in _latex_commands(parser)[0])


def command_message(command: str, parser: Lark) -> str:
    """Why a \\word is refused: misplaced if the LaTeX parser knows it, else unknown."""
    letters, others = _latex_commands(parser)
    if command in letters | others:
        return f"{command} cannot be used here"
    if command == "\\infty":
        return "\\infty is not a number bnverify accepts: every number in a formula is finite"
    listed = ", ".join(sorted(others, key=lambda c: (c.lower(), c)))
    greek = ", ".join(sorted(letters, key=lambda c: (c.lower(), c)))
    return f"unknown command {command}; accepted commands are {listed}, and the letters {greek}"


def _open_brackets(text: str, end: int) -> list[int]:
    """Offsets of the brackets opened before `end` and not closed before it."""
    stack: list[int] = []
    for offset, char in enumerate(text[:end]):
        if char in BRACKET_PAIRS:
            stack.append(offset)
        elif char in BRACKET_PAIRS.values() and stack:
            stack.pop()
    return stack


def too_deep(text: str, limit: int) -> Problem | None:
    """A Problem at the first bracket nested deeper than `limit`, else None."""
    if sum(map(text.count, BRACKET_PAIRS)) <= limit:  # the common case, fast
        return None
    level = 0
    for offset, char in enumerate(text):
        level += (char in BRACKET_PAIRS) - (char in BRACKET_PAIRS.values())
        if level > limit:
            return Problem(f"formula nested deeper than {limit} levels", Span(offset, offset + 1))
    return None


def _expected(expected: Collection[str], parser: Lark) -> str:
    names = set(expected)
    if "LBRACE" in names and "OPEN" not in names:  # a LaTeX command's argument
        return "an argument in braces, such as {x}"
    if names & {"NUMBER", "NAME", "LETTER"}:
        return "an operand"
    if "PLUS" in names:
        return "an operator"
    words = set()
    for name in names:
        pattern = None if name in _TERMINAL_WORDS else parser.get_terminal(name).pattern
        words.add(
            f"'{pattern.value}'"
            if isinstance(pattern, PatternStr)
            else _TERMINAL_WORDS.get(name, name)
        )
    return " or ".join(sorted(words))


def unexpected(text: str, error: UnexpectedInput, syntax: str, parser: Lark) -> Problem:
    """A lark error as a Problem that says what was found and what would be accepted."""
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        found, start = str(error.token), error.token.start_pos
        if error.token.type == "CMD":
            return Problem(command_message(found, parser), Span(start, error.token.end_pos))
    elif isinstance(error, UnexpectedCharacters):
        found, start = text[error.pos_in_stream], error.pos_in_stream
        if found == "\\" and syntax == "latex" and start + 1 < len(text):
            command = text[start : start + 2]
            return Problem(command_message(command, parser), Span(start, start + 2))
    else:  # the end of the formula came too early
        return _unexpected_end(text, error, parser)
    span = Span(start, start + len(found))
    allowed = error.expected if isinstance(error, UnexpectedToken) else error.allowed
    message = f"unexpected '{found}': expected {_expected(allowed, parser)}"
    if found in ".," and not text[start + 1 :].strip():
        message = f"unexpected '{found}' after the formula: remove it, it is not part of a formula"
    elif found in BRACKET_PAIRS.values() and not _open_brackets(text, start):
        message = f"unexpected '{found}': no bracket is open"
    elif found == "=" and not _open_brackets(text, start):
        message = "unexpected '=': a formula has at most one '='"
    elif not found.isascii():
        spelled = "\\sigma" if syntax == "latex" else "sigma"
        message += f" (spell Greek letters and symbols in ASCII, such as {spelled})"
    elif syntax == "ascii" and "STAR" in allowed and (found[0].isalnum() or found in "(."):
        message += " (multiplication needs *)"  # STAR is expected only after an operand
    elif syntax == "ascii" and found == "\\":
        message += " (LaTeX commands need the LaTeX syntax)"
    return Problem(message, span)


def _unexpected_end(text: str, error: UnexpectedInput, parser: Lark) -> Problem:
    still_open = _open_brackets(text, len(text))
    if still_open:
        at = still_open[-1]
        message = (
            f"unexpected end of formula: a '{text[at]}' opened at column {at + 1} is not closed"
        )
        return Problem(message, Span(at, at + 1))
    expected = _expected(error.expected, parser)
    return Problem(f"unexpected end of formula: expected {expected}", Span(len(text), len(text)))
