"""The [[candidate]] tables of a derivation file, read into Candidate records.

Each table becomes a Candidate even when it cannot be checked: the problem that comes
first in the file says why, and the other candidates are read as if it were not there.

The Candidate record is defined here, where candidates are made, not in derivation.py:
derivation.py reads the rest of the file and calls read_candidates, so this module
cannot import it. derivation.py re-exports Candidate beside its other records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from tomlkit.items import AoT, Array, InlineTable, Item, Key, String

from bnverify.files.toml_keys import KeyTable, did_you_mean, unknown_keys
from bnverify.files.toml_source import TomlDocument, entries, string_value, type_name
from bnverify.files.toml_strings import TextOrigin, formula_string_problem
from bnverify.problem import Location, Problem
from bnverify.settings import Limits

CANDIDATE_KEYS = ("name", "wrt", "latex", "expr", "expect", "note")
CANDIDATE_TABLE = KeyTable("in a candidate", dict.fromkeys(CANDIDATE_KEYS))
FORMULA_KEYS: dict[str, Literal["latex", "ascii"]] = {"latex": "latex", "expr": "ascii"}
EXPECTATIONS = ("match", "diverge")


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


Fields = dict[str, tuple[Key, Item]]


def read_candidates(
    file: TomlDocument, parts: list[Item], limits: Limits
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
                f"candidate must be an array of tables, not {type_name(item)}: "
                "start each candidate with a [[candidate]] header"
            )
            problems.append(Problem(message, location=file.value_location(item)))
    if not tables and not problems:
        message = (
            'no candidates: add a [[candidate]] table with name = "..." '
            "and latex = '...' (or expr = \"...\")"
        )
        problems.append(Problem(message, location=file.at(0)))
    return _candidates_in(file, tables, limits), tuple(problems)


def _candidates_in(file: TomlDocument, tables: list[Item], limits: Limits) -> tuple[Candidate, ...]:
    """The candidates, with a problem on any that reuses an earlier candidate's name.

    Candidates past the limit are kept, each with a problem, so none is silently dropped.
    """
    candidates: list[Candidate] = []
    first_lines: dict[str, int] = {}
    for index, table in enumerate(tables, 1):
        candidate = _candidate(file, table, index)
        if index > limits.max_candidates:
            what = f"candidate #{index} is not checked: the file has {len(tables):,} candidates"
            problem = Problem(limits.exceeded("max_candidates", what), location=candidate.location)
            candidates.append(replace(candidate, problem=problem))
            continue
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


def _first(problems: list[Problem]) -> Problem | None:
    """The problem that comes first in the file."""
    located = [p for p in problems if p.location is not None]
    return min(located, key=lambda p: (p.location.line, p.location.column), default=None)


def _fields(table: Item) -> Fields:
    """A table's keys, each with its Key (for its position) and value."""
    return {key.key: (key, value) for key, value in entries(table)}


def _candidate(file: TomlDocument, table: Item, index: int) -> Candidate:
    """One candidate, whose first problem says why it cannot be checked."""
    fields = _fields(table)
    location = file.value_location(table)
    unknown = unknown_keys(file, table, CANDIDATE_TABLE)
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


def _field(file: TomlDocument, fields: Fields, name: str) -> tuple[str | None, Problem | None]:
    """An optional string field: its text, or None (and a problem when it is no string)."""
    if name not in fields:
        return None, None
    value = string_value(file, name, fields[name][1])
    return (None, value) if isinstance(value, Problem) else (value, None)


def _at_value(file: TomlDocument, fields: Fields, name: str) -> Location:
    return file.value_location(fields[name][1])


def _wrt(file: TomlDocument, fields: Fields) -> tuple[str | None, Problem | None]:
    """The input the candidate differentiates by, when the formula does not say."""
    wrt, problem = _field(file, fields, "wrt")
    if wrt is not None and not wrt.strip():
        message = 'wrt is empty: name an input, e.g. wrt = "z"'
        problem = Problem(message, location=_at_value(file, fields, "wrt"))
    return wrt, problem


def _expect(
    file: TomlDocument, fields: Fields
) -> tuple[Literal["match", "diverge"], Problem | None]:
    """Whether the formula should match the truth (the default) or is known to be wrong."""
    # An unrecognised value is a problem, never a silent "match": a typo must not pass.
    expect, problem = _field(file, fields, "expect")
    if expect is not None and expect not in EXPECTATIONS:
        message = (
            f'expect must be "match" or "diverge", not "{expect}"'
            f"{did_you_mean(expect, EXPECTATIONS)}"
        )
        problem = Problem(message, location=_at_value(file, fields, "expect"))
    return ("diverge" if expect == "diverge" else "match"), problem


def _candidate_name(
    file: TomlDocument, fields: Fields, index: int, header: Location
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
    file: TomlDocument, fields: Fields, table: Item, name: str
) -> tuple[Literal["latex", "ascii"], str, TextOrigin, Problem | None]:
    """The candidate's formula from exactly one of latex= and expr=."""
    given = [key for key in FORMULA_KEYS if key in fields]
    if not given:
        origin = TextOrigin(file.path, file.text, (file.offset(table) or 0,))
        message = f'candidate "{name}" has no formula: add latex = \'...\' or expr = "..."'
        return "latex", "", origin, Problem(message, location=file.value_location(table))
    item = fields[given[0]][1]
    syntax = FORMULA_KEYS[given[0]]
    text = string_value(file, given[0], item)
    if isinstance(text, Problem):
        origin = TextOrigin(file.path, file.text, (file.offset(item) or 0,))
        return syntax, "", origin, text
    origin = file.origin(item)
    if len(given) > 1:
        message = "give either latex or expr, not both"
        return syntax, text, origin, Problem(message, location=file.key_location(*fields[given[1]]))
    return syntax, text, origin, formula_string_problem(text, origin, given[0])
