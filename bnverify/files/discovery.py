"""The files a run is given: the derivations to check, and the model files among them.

A project may keep the model file its derivations share among them, so `check DIR` tells
one from the other by content, without being told: a model file is skipped (and listed
as one), never reported as a broken derivation. A model path a derivation names must
lead to a model file too, so that no line of another file (a `credentials.toml`) is ever
quoted in a message.

The rule: a file with a `[[candidate]]` is a derivation; one without, whose top level
has a key that only a model file has and every model file needs (inputs, nodes,
output), is a model file. One of the three is enough, so a model with a mistyped
`[nodez]` is still a model file, and its reader says where the typo is. Anything else
is read as a derivation, which then says what it lacks.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bnverify.files.access import Refused, derivation_files, read_regular
from bnverify.problem import Problem

# Keys every model file has and no derivation may; a test holds them to both key tables.
MODEL_MARKS = ("inputs", "nodes", "output")
DERIVATION_MARK = "candidate"


@dataclass(frozen=True)
class Found:
    """The .toml files a run was given: derivations, model files, and those not read."""

    derivations: list[Path]
    models: list[Path]
    problems: list[Problem]


def discover(paths: Iterable[str | Path], max_bytes: int) -> Found:
    """The files named by paths (folders searched for *.toml), model files set apart.

    Which files may be read at all is access.derivation_files' rule; a file that is
    read is a model file or else a derivation (see the module's docstring).
    """
    files, problems = derivation_files(paths)
    kinds = [(path, is_model_file(path, max_bytes)) for path in files]
    derivations = [path for path, model in kinds if not model]
    return Found(derivations, [path for path, model in kinds if model], problems)


def is_model(keys: Iterable[str]) -> bool:
    """Whether a TOML file with these top-level keys is a model file."""
    keys = set(keys)
    return DERIVATION_MARK not in keys and not keys.isdisjoint(MODEL_MARKS)


def is_model_file(path: Path, max_bytes: int) -> bool:
    """Whether the file at path is a model file; a file that cannot be read or parsed is not.

    Only a regular file within max_bytes is read (read_regular refuses the rest); the
    derivation reader then reports whatever is wrong with a file that is not.
    """
    try:
        data = read_regular(path, max_bytes)
        if len(data) > max_bytes:
            return False
        return is_model(tomllib.loads(data.decode("utf-8")))
    except (Refused, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return False  # RecursionError: [[[...]]] 3,000 deep makes tomllib recurse
