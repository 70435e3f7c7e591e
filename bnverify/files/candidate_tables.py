"""The [[candidate]] tables of a derivation file, read into Candidate records.

Each table becomes a Candidate even when it cannot be checked: the problem that comes
first in the file says why, and the other candidates are read as if it were not there.

The Candidate record is defined here, where candidates are made, not in derivation.py:
derivation.py reads the rest of the file and calls read_candidates, so this module
cannot import it. derivation.py re-exports Candidate beside its other records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from tomlkit.items import AoT, Array, InlineTable, Item, Key, String

from bnverify.files.claim_records import Claim
from bnverify.files.toml_keys import KeyTable, did_you_mean, unknown_keys
from bnverify.files.toml_source import TomlDocument, entries, string_value, type_name
from bnverify.files.toml_strings import TextOrigin, formula_string_problem
from bnverify.problem import Location, Problem
from bnverify.settings import Limits

CANDIDATE_KEYS = ("name", "wrt", "latex", "expr", "expect", "note")
CANDIDATE_TABLE = KeyTable("in a candidate", dict.fromkeys(CANDIDATE_KEYS))
FORMULA_KEYS: dict[str, Literal["latex", "ascii"]] = {"latex": "latex", "expr": "ascii"}
EXPECTATIONS = ("match", "diverge")
# What a candidate (match, diverge) or a claim (holds, fails, undecided) is expected to get.
Expectation = Literal["match", "diverge", "holds", "fails", "undecided"]


@dataclass(frozen=True)
class Candidate:
    """A formula to check; `problem` is set when it cannot be checked at all.

    A [[claim]] is a candidate too, with `claim` set: a relation between two sides to
    decide (holds, fails), not a gradient to compare with the truth.
    """

    path: str
    location: Location  # the [[candidate]] header
    name: str
    wrt: str | None
    syntax: Literal["latex", "ascii"]
    text: str
    origin: TextOrigin
    expect: Expectation
    note: str
    problem: Problem | None
    claim: Claim | None = None


Fields = dict[str, tuple[Key, Item]]


def read_candidates(
    file: TomlDocument, parts: list[Item], limits: Limits, required: bool = True
) -> tuple[tuple[Candidate, ...], tuple[Problem, ...]]:
    """Every [[candidate]] table, each checked on its own (none is a problem if `required`)."""
    tables, problems = array_of_tables(file, parts, "candidate")
    if not tables and not problems and required:
        message = (
            'no candidates: add a [[candidate]] table with name = "..." '
            "and latex = '...' (or expr = \"...\")"
        )
        problems.append(Problem(message, location=file.at(0)))
    return tables_read(file, tables, limits, _candidate), tuple(problems)


def array_of_tables(
    file: TomlDocument, parts: list[Item], what: str
) -> tuple[list[Item], list[Problem]]:
    """The tables of [[what]] headers (or an inline array of tables), and any other value."""
    tables: list[Item] = []
    problems: list[Problem] = []
    for item in parts:
        if isinstance(item, AoT):
            tables.extend(item.body)
        elif isinstance(item, Array) and all(isinstance(e, InlineTable) for e in item):
            tables.extend(item)  # candidate = [{...}, ...] is the same array, written inline
        else:
            message = (
                f"{what} must be an array of tables, not {type_name(item)}: "
                f"start each {what} with a [[{what}]] header"
            )
            problems.append(Problem(message, location=file.value_location(item)))
    return tables, problems


def tables_read(
    file: TomlDocument,
    tables: list[Item],
    limits: Limits,
    make: Callable[[TomlDocument, Item, int], Candidate],
    what: str = "candidate",
) -> tuple[Candidate, ...]:
    """Each table made a candidate (or claim), with a problem on any that reuses an
    earlier one's name.

    Those past the limit are kept, each with a problem, so none is silently dropped.
    """
    candidates: list[Candidate] = []
    first_lines: dict[str, int] = {}
    for index, table in enumerate(tables, 1):
        candidate = make(file, table, index)
        if index > limits.max_candidates:
            too_many = f"{what} #{index} is not checked: the file has {len(tables):,} {what}s"
            problem = Problem(
                limits.exceeded("max_candidates", too_many), location=candidate.location
            )
            candidates.append(replace(candidate, problem=problem))
            continue
        named = table_fields(table).get("name", (None, None))[1]
        if isinstance(named, String) and str(named) == candidate.name:
            if candidate.name in first_lines and candidate.problem is None:
                message = (
                    f'duplicate {what} name "{candidate.name}" (first used on line '
                    f"{first_lines[candidate.name]}): give each {what} its own name"
                )
                problem = Problem(message, location=file.value_location(named))
                candidate = replace(candidate, problem=problem)
            first_lines.setdefault(candidate.name, candidate.location.line)
        candidates.append(candidate)
    return tuple(candidates)


def first_problem(problems: list[Problem]) -> Problem | None:
    """The problem that comes first in the file."""
    located = [p for p in problems if p.location is not None]
    return min(located, key=lambda p: (p.location.line, p.location.column), default=None)


def table_fields(table: Item) -> Fields:
    """A table's keys, each with its Key (for its position) and value."""
    return {key.key: (key, value) for key, value in entries(table)}


def _candidate(file: TomlDocument, table: Item, index: int) -> Candidate:
    """One candidate, whose first problem says why it cannot be checked."""
    fields = table_fields(table)
    wrt, wrt_problem = _wrt(file, fields)
    return made(
        file, table, index, CANDIDATE_TABLE, "candidate", EXPECTATIONS, [wrt_problem], wrt=wrt
    )


def made(
    file: TomlDocument,
    table: Item,
    index: int,
    keys: KeyTable,
    what: str,
    accepted: tuple[str, ...],
    problems: list[Problem | None],
    **extra: Any,
) -> Candidate:
    """A candidate (or claim) of the fields every such table has, and `extra` fields,
    whose first problem (of those and `problems`) says why it cannot be checked."""
    fields = table_fields(table)
    location = file.value_location(table)
    unknown = unknown_keys(file, table, keys)
    name, name_problem = table_name(file, fields, index, location, what)
    syntax, text, origin, formula_problem = table_formula(file, fields, table, name, what)
    expect, expect_problem = expectation(file, fields, accepted)
    note, note_problem = string_field(file, fields, "note")
    # A mistyped key explains a missing field better than "missing" does, so it goes first.
    found = [name_problem, formula_problem, expect_problem, note_problem, *problems]
    return Candidate(
        path=file.path,
        location=location,
        name=name,
        syntax=syntax,
        text=text,
        origin=origin,
        expect=expect,
        note=note or "",
        problem=first_problem(unknown) or first_problem([p for p in found if p is not None]),
        **{"wrt": None, **extra},
    )


def string_field(
    file: TomlDocument, fields: Fields, name: str
) -> tuple[str | None, Problem | None]:
    """An optional string field: its text, or None (and a problem when it is no string)."""
    if name not in fields:
        return None, None
    value = string_value(file, name, fields[name][1])
    return (None, value) if isinstance(value, Problem) else (value, None)


def value_location(file: TomlDocument, fields: Fields, name: str) -> Location:
    return file.value_location(fields[name][1])


def _wrt(file: TomlDocument, fields: Fields) -> tuple[str | None, Problem | None]:
    """The input the candidate differentiates by, when the formula does not say."""
    wrt, problem = string_field(file, fields, "wrt")
    if wrt is not None and not wrt.strip():
        message = 'wrt is empty: name an input, e.g. wrt = "z"'
        problem = Problem(message, location=value_location(file, fields, "wrt"))
    return wrt, problem


def expectation(
    file: TomlDocument, fields: Fields, accepted: tuple[str, ...] = EXPECTATIONS
) -> tuple[Expectation, Problem | None]:
    """What the author expects (the first accepted value when unsaid): a candidate to
    match or diverge, a claim to hold, fail or stay undecided."""
    # An unrecognised value is a problem, never a silent default: a typo must not pass.
    expect, problem = string_field(file, fields, "expect")
    if expect is not None and expect not in accepted:
        listed = " or ".join(f'"{a}"' for a in accepted)
        message = f'expect must be {listed}, not "{expect}"{did_you_mean(expect, accepted)}'
        problem = Problem(message, location=value_location(file, fields, "expect"))
    return (expect if expect in accepted else accepted[0]), problem  # type: ignore[return-value]


def table_name(
    file: TomlDocument, fields: Fields, index: int, header: Location, what: str = "candidate"
) -> tuple[str, Problem | None]:
    """The candidate's (or claim's) name; a stand-in "#index" when it has none."""
    stand_in = f"#{index}"
    if "name" not in fields:
        message = f'{what} {stand_in} has no name: add name = "..." under its header'
        return stand_in, Problem(message, location=header)
    name, problem = string_field(file, fields, "name")
    if name is not None and not name.strip():
        message = f'name is empty: give the {what} a name, e.g. name = "g_z"'
        problem = Problem(message, location=value_location(file, fields, "name"))
    return (name, None) if problem is None else (stand_in, problem)


def table_formula(
    file: TomlDocument, fields: Fields, table: Item, name: str, what: str = "candidate"
) -> tuple[Literal["latex", "ascii"], str, TextOrigin, Problem | None]:
    """The candidate's (or claim's) formula from exactly one of latex= and expr=."""
    given = [key for key in FORMULA_KEYS if key in fields]
    if not given:
        origin = TextOrigin(file.path, file.text, (file.offset(table) or 0,))
        message = f'{what} "{name}" has no formula: add latex = \'...\' or expr = "..."'
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
