"""The [[claim]] tables of a derivation file: statements about gradients to decide.

A claim is an equation or inequality in the notes' own notation (the gradient scales by
1/sigma, a second-order Taylor expansion, a norm bound), with what it may assume: nodes
held constant (`freeze`), signs (`assume`), the step of an iteration (`step`, so that
L(theta^{(k+1)}) is the loss one step on) and names of its own (`notation`). Each table
becomes a Candidate with its `claim` set, read as candidate tables are, so a bad claim
is a located problem that stops that claim alone.
"""

from __future__ import annotations

from dataclasses import replace

from tomlkit.items import Array, InlineTable, Item, String, Table

from bnverify.files.candidate_tables import (
    Candidate,
    Fields,
    array_of_tables,
    made,
    string_field,
    table_fields,
    tables_read,
)
from bnverify.files.claim_records import Claim, Written
from bnverify.files.notation_table import read_notation
from bnverify.files.toml_keys import KeyTable
from bnverify.files.toml_source import TomlDocument, entries, type_name
from bnverify.files.toml_strings import TextOrigin, formula_string_problem
from bnverify.problem import Problem
from bnverify.settings import Limits

CLAIM_KEYS = (
    "name",
    "latex",
    "expr",
    "expect",
    "freeze",
    "set",
    "assume",
    "step",
    "iterate",
    "notation",
    "note",
)
CLAIM_TABLE = KeyTable("in a claim", dict.fromkeys(CLAIM_KEYS))
CLAIM_EXPECTATIONS = ("holds", "fails", "undecided")


def inline_claim(freeze: tuple[str, ...], assume: tuple[str, ...]) -> Claim:
    """What `check --claim` takes as given: --freeze nodes, --assume formulas, each
    assumption located in its own flag's text."""
    written = tuple(
        Written(text, TextOrigin("--assume", text, tuple(range(len(text) + 1)))) for text in assume
    )
    return Claim(freeze=tuple(name.strip() for name in freeze), assume=written)


def read_claims(
    file: TomlDocument, parts: list[Item], limits: Limits
) -> tuple[tuple[Candidate, ...], tuple[Problem, ...]]:
    """Every [[claim]] table, each checked on its own; a file need have none."""
    tables, problems = array_of_tables(file, parts, "claim")
    return tables_read(file, tables, limits, _claim, "claim"), tuple(problems)


def _claim(file: TomlDocument, table: Item, index: int) -> Candidate:
    """One claim, whose first problem says why it cannot be decided."""
    fields = table_fields(table)
    freeze, freeze_problem = _names(file, fields, "freeze")
    assume, assume_problem = _formulas(file, fields, "assume")
    step, step_problem = _formulas(file, fields, "step", one=True)
    settings, set_problem = _settings(file, fields)
    notation, notation_problems = (
        read_notation(file, [fields["notation"][1]]) if "notation" in fields else ((), ())
    )
    notation = tuple(replace(entry, renames=True) for entry in notation)
    iterate, iterate_problem = string_field(file, fields, "iterate")
    claim = Claim(
        freeze=freeze,
        freeze_location=file.value_location(fields["freeze"][1]) if "freeze" in fields else None,
        assume=assume,
        step=step[0] if step else None,
        notation=notation,
        set=settings,
        iterate=iterate,
    )
    problems = [freeze_problem, set_problem, iterate_problem, assume_problem, step_problem]
    problems += notation_problems
    return made(file, table, index, CLAIM_TABLE, "claim", CLAIM_EXPECTATIONS, problems, claim=claim)


def _settings(
    file: TomlDocument, fields: Fields
) -> tuple[tuple[tuple[str, Written], ...], Problem | None]:
    """`set = { eps = "0" }`: names and the numbers they are set to, each located."""
    if "set" not in fields:
        return (), None
    item = fields["set"][1]
    if not isinstance(item, Table | InlineTable):
        message = f'set must be a table, e.g. set = {{ eps = "0" }}, not {type_name(item)}'
        return (), Problem(message, location=file.value_location(item))
    out = []
    for key, value in entries(item):
        if not isinstance(value, String):
            message = f'set {key.key} to a number in a string, e.g. {key.key} = "0"'
            return (), Problem(message, location=file.value_location(value))
        out.append((key.key, Written(str(value), file.origin(value))))
    return tuple(out), None


def _strings(
    file: TomlDocument, fields: Fields, key: str, one: bool = False
) -> tuple[list[String], Problem | None]:
    """A field's strings: one string, or (unless `one`) an array of strings."""
    if key not in fields:
        return [], None
    item = fields[key][1]
    if isinstance(item, String):
        return [item], None
    if not one and isinstance(item, Array) and all(isinstance(e, String) for e in item):
        return list(item), None
    wanted = "a string" if one else "a string or an array of strings"
    message = f"{key} must be {wanted}, not {type_name(item)}"
    return [], Problem(message, location=file.value_location(item))


def _names(file: TomlDocument, fields: Fields, key: str) -> tuple[tuple[str, ...], Problem | None]:
    """Node names, as `freeze = ["mu", "var"]` lists them."""
    found, problem = _strings(file, fields, key)
    for item in found:
        if not str(item).strip():
            message = f'{key} lists an empty name: name a node, e.g. {key} = ["mu", "var"]'
            return (), Problem(message, location=file.value_location(item))
    return tuple(str(item).strip() for item in found), problem


def _formulas(
    file: TomlDocument, fields: Fields, key: str, one: bool = False
) -> tuple[tuple[Written, ...], Problem | None]:
    """Formulas in a claim's field, each with the place of its text."""
    found, problem = _strings(file, fields, key, one)
    written = []
    for item in found:
        origin = file.origin(item)
        problem = problem or formula_string_problem(str(item), origin, key)
        written.append(Written(str(item), origin))
    return tuple(written), problem
