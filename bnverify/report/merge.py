"""`bnverify merge`: the JSON reports of --shard runs combined into one run's rows.

Each shard's report carries its files' entries with their place in the unsplit run
(`position`), so the merge puts them back in order and the printers (summary, CSV, JUnit,
JSON) give the bytes a single run gives. The reports are read as data; a file that is
not a bnverify JSON report, or two shards holding the same file, is a Problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bnverify.problem import Problem, location_in_text
from bnverify.report import json as json_report
from bnverify.report.rows import Run, run_from_json


@dataclass(frozen=True)
class Merged:
    """The files' entries of every shard, in run order, and the run-level problems."""

    files: tuple[dict[str, Any], ...]
    problems: tuple[dict[str, Any], ...]

    def run(self) -> Run:
        """The rows the summary, CSV and JUnit printers print."""
        return run_from_json(self.files, self.problems)

    def json(self) -> str:
        """The JSON report of the whole run."""
        return json_report.assemble(self.files, self.problems)


def merge(reports: Sequence[tuple[str, str]]) -> Merged | Problem:
    """Combine (path, text) JSON reports of shards, or say why they cannot be."""
    files: dict[int, dict[str, Any]] = {}
    problems: list[dict[str, Any]] = []
    for path, text in reports:
        read = _read(path, text)
        if isinstance(read, Problem):
            return read
        for entry in read["files"]:
            if entry["position"] in files:
                message = f"{path}: {entry['file']} is also in another shard's report"
                return Problem(message + "; give each shard's report once")
            files[entry["position"]] = entry
        problems += _run_problems(read)
    return Merged(tuple(files[at] for at in sorted(files)), tuple(problems))


def _read(path: str, text: str) -> dict[str, Any] | Problem:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        message = f"not JSON ({err.msg}); merge the reports of `bnverify check --format json`"
        return Problem(message, location=location_in_text(path, text, err.pos))
    try:
        entries = document["files"]
        for entry in entries:
            run_from_json([entry], [])  # every key the printers need is there
        return document
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        return Problem(
            f"{path} is not a report of `bnverify check --format json` ({err!r}); "
            "merge the JSON reports of the shards' runs"
        )


def _run_problems(document: dict[str, Any]) -> list[dict[str, Any]]:
    # The document lists its files' problems first, then those of the run (a missing path).
    in_files = sum(len(entry["problems"]) for entry in document["files"])
    return list(document["problems"][in_files:])
