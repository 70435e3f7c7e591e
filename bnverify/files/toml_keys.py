"""The keys a TOML table may hold, written as one table per kind of file and checked alike.

A derivation and a model file each declare their keys as a KeyTable; unknown_keys walks a
parsed document against it and returns a located problem, with a did-you-mean, for every
key that is not accepted. A mistyped key is never dropped without a word.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tomlkit.container import Container
from tomlkit.items import AoT, Array, InlineTable, Item, Key, Table

from bnverify.files.toml_source import TomlDocument, entries
from bnverify.problem import Problem


@dataclass(frozen=True)
class KeyTable:
    """The keys one kind of table accepts; a key's KeyTable, when it has one, checks its tables.

    A key mapped to None holds a value or a table of the author's own names ([nodes]).
    """

    where: str  # where such a table is, for messages: "in a [[probe]] table"
    keys: Mapping[str, KeyTable | None]

    @property
    def accepted(self) -> tuple[str, ...]:
        """The accepted keys, in the order the table declares them."""
        return tuple(self.keys)


def unknown_keys(file: TomlDocument, table: Item | Container, keys: KeyTable) -> list[Problem]:
    """A located problem for every key of `table` (and of its inner tables) not accepted."""
    problems: list[Problem] = []
    reported: set[str] = set()
    # A document lists an out-of-order table once per part: a name is reported once, at
    # its first part, and every part's own keys are checked.
    for key, item in entries(table):
        if key.key not in keys.keys:
            if key.key not in reported:
                problems.append(unknown_key(file, key, item, keys.accepted, keys.where))
            reported.add(key.key)
            continue
        inner = keys.keys[key.key]
        for part in _tables(item) if inner is not None else ():
            problems.extend(unknown_keys(file, part, inner))
    return problems


def _tables(item: Item) -> Iterator[Item]:
    """The tables a value holds: itself, an array of tables' entries, inline tables in an array."""
    if isinstance(item, Table | InlineTable):
        yield item
    elif isinstance(item, AoT):
        yield from item.body
    elif isinstance(item, Array):
        yield from (element for element in item if isinstance(element, InlineTable))


def unknown_key(
    file: TomlDocument, key: Key, item: Item, accepted: tuple[str, ...], where: str
) -> Problem:
    """A located problem for a key that is not one of `accepted`."""
    message = (
        f'unknown key "{key.key}" {where}{did_you_mean(key.key, accepted)}; '
        f"accepted keys: {', '.join(accepted)}"
    )
    return Problem(message, location=file.key_location(key, item))


def did_you_mean(word: str, accepted: tuple[str, ...]) -> str:
    """A " (did you mean ...?)" suffix when `word` looks like a typo of an accepted word."""
    close = difflib.get_close_matches(word.lower(), accepted, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
