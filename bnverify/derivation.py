"""Derivation files: the formulas an author wants checked, each character tied to its place.

A derivation is a small TOML file written by hand, often by students, so nothing in it is
trusted: every mistake becomes a located Problem, and one bad candidate never hides the
others. toml_source reads the TOML with positions; this module checks that it is a
derivation: its keys, their types, the candidates and the notation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Literal

from tomlkit.items import AoT, Array, InlineTable, Item, Key, String, Table

from bnverify.problem import Location, Problem, location_in_text
from bnverify.settings import DEFAULT_LIMITS, Limits, flag
from bnverify.toml_source import TomlDocument, entries, parse_toml, read_toml, type_name
from bnverify.toml_strings import (  # TextOrigin is part of a Candidate, so importable here
    TextOrigin,
    control_character_problem,
    is_control,
)
from bnverify.tree import Span

COMMAND_LINE = "<command line>"
TOP_LEVEL_KEYS = ("title", "source", "model", "notation", "candidate")
CANDIDATE_KEYS = ("name", "wrt", "latex", "expr", "expect", "note")
FORMULA_KEYS: dict[str, Literal["latex", "ascii"]] = {"latex": "latex", "expr": "ascii"}
EXPECTATIONS = ("match", "diverge")


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


def load_derivation(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Derivation:
    """Read and parse a derivation file; an unreadable file gives a Derivation with a problem."""
    size = limits.max_file_bytes
    document = read_toml(path, "derivation", size, flag("max_file_bytes"))
    if isinstance(document, Problem):
        return _unreadable(str(path), document)
    return _read_document(document, limits)


def parse_derivation(text: str, path: str, limits: Limits = DEFAULT_LIMITS) -> Derivation:
    """Parse derivation TOML text into a Derivation; never raises on bad input."""
    document = parse_toml(text, path)
    if isinstance(document, Problem):
        return _unreadable(path, document)
    return _read_document(document, limits)


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


def _unreadable(path: str, problem: Problem) -> Derivation:
    """The Derivation of a file that could not be read or parsed at all."""
    return Derivation(path, PurePath(path).stem, "", "", None, (), (), (problem,))


def _formula_problem(
    text: str, origin: TextOrigin, label: str, lhs: str | None = None
) -> Problem | None:
    """Why a formula cannot be read (empty, or a control character), else None."""
    if not text.strip():
        return Problem(f"{label} is empty", location=origin.locate(Span(0, 0)))
    return control_character_problem(text, origin, label, lhs)


def _did_you_mean(word: str, accepted: tuple[str, ...]) -> str:
    """A " (did you mean ...?)" suffix when `word` looks like a typo of an accepted word."""
    close = difflib.get_close_matches(word.lower(), accepted, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _first(problems: list[Problem]) -> Problem | None:
    """The problem that comes first in the file."""
    located = [p for p in problems if p.location is not None]
    return min(located, key=lambda p: (p.location.line, p.location.column), default=None)


# --- Validation ----------------------------------------------------------------------------

Fields = dict[str, tuple[Key, Item]]


def _string(file: TomlDocument, name: str, item: Item) -> str | Problem:
    """The text of a string value, or a problem naming the expected type."""
    if isinstance(item, String):
        return str(item)
    message = f"{name} must be a string, not {type_name(item)}"
    return Problem(message, location=file.value_location(item))


def _unknown_key(
    file: TomlDocument, key: Key, item: Item, accepted: tuple[str, ...], where: str
) -> Problem:
    """A problem for a key that is not one of `accepted`."""
    message = (
        f'unknown key "{key.key}" {where}{_did_you_mean(key.key, accepted)}; '
        f"accepted keys: {', '.join(accepted)}"
    )
    return Problem(message, location=file.key_location(key, item))


def _read_document(file: TomlDocument, limits: Limits) -> Derivation:
    """Validate the top level of a parsed derivation."""
    groups: dict[str, list[Item]] = {}
    keys: dict[str, Key] = {}
    for key, item in entries(file.data):  # an out-of-order table shows up once per part
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
    candidates, candidate_problems = _candidates(file, groups.get("candidate", []), limits)
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
    file: TomlDocument, groups: dict[str, list[Item]], name: str, default: str
) -> tuple[str, tuple[Problem, ...]]:
    """An optional top-level string such as the title."""
    if name not in groups:
        return default, ()
    value = _string(file, name, groups[name][0])
    return (default, (value,)) if isinstance(value, Problem) else (value, ())


def _model(
    file: TomlDocument, parts: list[Item]
) -> tuple[str, Location | None, tuple[Problem, ...]]:
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
    value = _string(file, label, item)
    if isinstance(value, Problem):
        return value
    origin = file.origin(item)
    problem = _formula_problem(value, origin, label, lhs=key.as_string().strip())
    return problem or NotationEntry(key.key, value, key_location, origin)


def _candidates(
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
    return _read_candidates(file, tables, limits), tuple(problems)


def _read_candidates(
    file: TomlDocument, tables: list[Item], limits: Limits
) -> tuple[Candidate, ...]:
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


def _fields(table: Item) -> Fields:
    """A table's keys, each with its Key (for its position) and value."""
    return {key.key: (key, value) for key, value in entries(table)}


def _candidate(file: TomlDocument, table: Item, index: int) -> Candidate:
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


def _field(file: TomlDocument, fields: Fields, name: str) -> tuple[str | None, Problem | None]:
    """An optional string field: its text, or None (and a problem when it is no string)."""
    if name not in fields:
        return None, None
    value = _string(file, name, fields[name][1])
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
            f"{_did_you_mean(expect, EXPECTATIONS)}"
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
    text = _string(file, given[0], item)
    if isinstance(text, Problem):
        origin = TextOrigin(file.path, file.text, (file.offset(item) or 0,))
        return syntax, "", origin, text
    origin = file.origin(item)
    if len(given) > 1:
        message = "give either latex or expr, not both"
        return syntax, text, origin, Problem(message, location=file.key_location(*fields[given[1]]))
    return syntax, text, origin, _formula_problem(text, origin, given[0])
