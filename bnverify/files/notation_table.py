"""[notation] tables: the author's names for the model's names, each row located.

A derivation file has one at its top level, and a claim may have its own (a claim's
names, such as the answer's y and z for the model's z and zhat, hold for it alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from tomlkit.items import InlineTable, Item, Key, Table

from bnverify.files.toml_source import TomlDocument, entries, string_value, type_name
from bnverify.files.toml_strings import TextOrigin, formula_string_problem, is_control
from bnverify.problem import Location, Problem


@dataclass(frozen=True)
class NotationEntry:
    """One row of [notation]: the author's name for something, and the model's name."""

    key: str
    value: str
    key_location: Location
    value_origin: TextOrigin
    # A claim's own notation may give a model name another meaning, for that claim alone
    # (the answer's y is the model's z); a file's may not, which would change every formula.
    renames: bool = False


def read_notation(
    file: TomlDocument, parts: list[Item]
) -> tuple[tuple[NotationEntry, ...], tuple[Problem, ...]]:
    """The [notation] table: the author's names for the model's names."""
    rows: list[NotationEntry] = []
    problems: list[Problem] = []
    for item in parts:
        if not isinstance(item, Table | InlineTable):
            message = (
                f"notation must be a table, not {type_name(item)}: "
                'write [notation] and then one line per name, e.g. x = "z"'
            )
            problems.append(Problem(message, location=file.value_location(item)))
        for key, value in entries(item):
            entry = _notation_entry(file, key, value)
            (problems if isinstance(entry, Problem) else rows).append(entry)
    return tuple(rows), tuple(problems)


def _notation_entry(file: TomlDocument, key: Key, item: Item) -> NotationEntry | Problem:
    """One `author's name = model's name` row."""
    key_location = file.key_location(key, item)
    if not key.key.strip():
        return Problem(
            "notation key is empty: write a name from your formulas", location=key_location
        )
    if any(map(is_control, key.key)):
        message = (
            "notation key contains a control character: in a double-quoted TOML key a "
            "backslash starts an escape. Write LaTeX keys in single quotes, e.g. "
            "'\\hat{x}' = \"zhat\"."
        )
        return Problem(message, location=key_location)
    label = f'notation "{key.key}"'
    value = string_value(file, label, item)
    if isinstance(value, Problem):
        return value
    origin = file.origin(item)
    problem = formula_string_problem(value, origin, label, lhs=key.as_string().strip())
    return problem or NotationEntry(key.key, value, key_location, origin)
