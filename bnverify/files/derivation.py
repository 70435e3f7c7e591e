"""Derivation files: the formulas an author wants checked, each character tied to its place.

A derivation is a small TOML file written by hand, often by students, so nothing in it is
trusted: every mistake becomes a located Problem, and one bad candidate never hides the
others. toml_source reads the TOML with positions; this module checks that it is a
derivation: its top-level keys, their types and the notation, while candidate_tables
reads the [[candidate]] tables. The Candidate record is defined there, where candidates
are made, and imported from here like the other records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Literal

from tomlkit.items import Item

from bnverify.files.candidate_tables import Candidate, read_candidates
from bnverify.files.claim_tables import read_claims
from bnverify.files.notation_table import NotationEntry, read_notation
from bnverify.files.toml_keys import KeyTable, unknown_keys
from bnverify.files.toml_source import (
    TomlDocument,
    entries,
    parse_toml,
    read_toml,
    string_value,
)
from bnverify.files.toml_strings import (  # TextOrigin is part of a Candidate, so importable here
    TextOrigin,
    formula_string_problem,
)
from bnverify.problem import Location, Problem, Span, location_in_text
from bnverify.settings import DEFAULT_LIMITS, Limits, flag

COMMAND_LINE = "<command line>"
TOP_LEVEL_KEYS = ("title", "source", "model", "notation", "candidate", "claim")
# Only the top level: each [[candidate]] table is checked on its own in candidate_tables,
# so that a candidate's mistyped key stops that candidate and not the file.
DERIVATION_KEYS = KeyTable("at the top level", dict.fromkeys(TOP_LEVEL_KEYS))


@dataclass(frozen=True)
class Derivation:
    """A derivation file as read: its candidates, then its claims, and file-level problems."""

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
    problem = formula_string_problem(text, origin, "--latex" if syntax == "latex" else "--expr")
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


def _read_document(file: TomlDocument, limits: Limits) -> Derivation:
    """Validate the top level of a parsed derivation."""
    groups: dict[str, list[Item]] = {}
    for key, item in entries(file.data):  # an out-of-order table shows up once per part
        groups.setdefault(key.key, []).append(item)
    unknown = unknown_keys(file, file.data, DERIVATION_KEYS)
    title, title_problems = _top_string(file, groups, "title", PurePath(file.path).stem)
    source, source_problems = _top_string(file, groups, "source", "")
    model, model_location, model_problems = _model(file, groups.get("model", []))
    notation, notation_problems = read_notation(file, groups.get("notation", []))
    claims, claim_problems = read_claims(file, groups.get("claim", []), limits)
    candidates, candidate_problems = read_candidates(
        file, groups.get("candidate", []), limits, required=not groups.get("claim")
    )
    problems = (
        *unknown,
        *title_problems,
        *source_problems,
        *model_problems,
        *notation_problems,
        *candidate_problems,
        *claim_problems,
    )
    return Derivation(
        file.path, title, source, model, model_location, notation, candidates + claims, problems
    )


def _top_string(
    file: TomlDocument, groups: dict[str, list[Item]], name: str, default: str
) -> tuple[str, tuple[Problem, ...]]:
    """An optional top-level string such as the title."""
    if name not in groups:
        return default, ()
    value = string_value(file, name, groups[name][0])
    return (default, (value,)) if isinstance(value, Problem) else (value, ())


def _model(
    file: TomlDocument, parts: list[Item]
) -> tuple[str, Location | None, tuple[Problem, ...]]:
    """The required model: a built-in model's name or a path to a model file."""
    hint = 'model = "batchnorm" (a built-in model) or model = "path/to/model.toml"'
    if not parts:
        return "", None, (Problem(f"missing model: add {hint}", location=file.at(0)),)
    location = file.value_location(parts[0])
    value = string_value(file, "model", parts[0])
    if isinstance(value, Problem):
        return "", location, (value,)
    if not value.strip():
        return "", location, (Problem(f"model is empty: write {hint}", location=location),)
    return value, location, ()
