"""One row per candidate and per file: the records the class-level printers share.

The summary, the CSV table and the JUnit file of a run print from these rows, and the
JSON report carries every field of them, so `bnverify merge` rebuilds the rows of
several shards from their JSON and prints the same bytes a single run prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from bnverify.judge.records import FileResult, Verdict
from bnverify.problem import Problem
from bnverify.report.text import located, verdict_text


def headline(verdict: Verdict) -> str:
    """The one line that says what is wrong (or right) with a candidate.

    The one place a headline is chosen: summary, CSV and JUnit all print this. A
    divergence says what is wrong in plain words ("N times the truth") when its diagnosis
    found it; otherwise, and for a match or an error, the verdict's message.
    """
    return verdict.headline or verdict.message


@dataclass(frozen=True)
class ProblemRow:
    """A problem with a file or a path: where, what, and how the terminal shows it."""

    file: str | None
    line: int | None
    column: int | None
    message: str
    shown: str  # file:line:col: error: ..., the line and a caret

    @classmethod
    def of(cls, problem: Problem) -> ProblemRow:
        """The row of a located (or unlocated) Problem."""
        where = problem.location
        return cls(
            where.path if where else None,
            where.line if where else None,
            where.column if where else None,
            problem.message,
            located(problem),
        )


@dataclass(frozen=True)
class CandidateRow:
    """One candidate's verdict, as the class-level printers show it."""

    file: str
    line: int
    name: str
    verdict: str
    expect: str
    ok: bool
    headline: str
    message: str
    details: str  # the full diagnosis, as the terminal prints it

    @classmethod
    def of(cls, v: Verdict) -> CandidateRow:
        """The row of a Verdict."""
        c = v.candidate
        return cls(
            c.path,
            c.location.line,
            c.name,
            v.kind,
            c.expect,
            v.ok,
            headline(v),
            v.message,
            verdict_text(v),
        )


@dataclass(frozen=True)
class FileRow:
    """One derivation file: who wrote it (title, source), its problems and candidates."""

    path: str
    title: str
    source: str
    position: int  # its place among the run's files, before any --shard split
    problems: tuple[ProblemRow, ...]
    candidates: tuple[CandidateRow, ...]

    @property
    def score(self) -> tuple[int, int]:
        """Candidates whose verdict is the expected one, out of all."""
        return sum(c.ok for c in self.candidates), len(self.candidates)

    @property
    def who(self) -> str:
        """The title and the source (where students put their names), else the path."""
        return " - ".join(part for part in (self.title, self.source) if part) or self.path


@dataclass(frozen=True)
class Run:
    """A run's files in order and the problems that belong to no file."""

    files: tuple[FileRow, ...]
    problems: tuple[ProblemRow, ...] = ()

    @property
    def candidates(self) -> list[CandidateRow]:
        """Every candidate row, file by file."""
        return [c for f in self.files for c in f.candidates]

    @property
    def status(self) -> int:
        """The exit status of `bnverify check`: see judge.records.exit_status."""
        rows = self.candidates
        if self.problems or any(f.problems for f in self.files):
            return 2
        if any(c.verdict == "error" for c in rows):
            return 2
        return 0 if all(c.ok for c in rows) else 1


def run_of(
    results: Sequence[FileResult],
    problems: Sequence[Problem] = (),
    positions: Sequence[int] | None = None,
) -> Run:
    """The rows of a check's results; positions place each file in the unsplit run."""
    places = positions if positions is not None else range(len(results))
    files = tuple(_file_row(r, at) for r, at in zip(results, places, strict=True))
    return Run(files, tuple(ProblemRow.of(p) for p in problems))


def _file_row(result: FileResult, position: int) -> FileRow:
    return FileRow(
        result.path,
        result.title,
        result.source,
        position,
        tuple(ProblemRow.of(p) for p in result.problems),
        tuple(CandidateRow.of(v) for v in result.verdicts),
    )


def run_from_json(files: Sequence[Mapping[str, Any]], problems: Sequence[Mapping]) -> Run:
    """The rows a JSON report's "files" and run-level "problems" carry."""
    return Run(
        tuple(_file_from_json(f) for f in files), tuple(_problem_from_json(p) for p in problems)
    )


def _file_from_json(data: Mapping[str, Any]) -> FileRow:
    return FileRow(
        data["file"],
        data["title"],
        data["source"],
        data["position"],
        tuple(_problem_from_json(p) for p in data["problems"]),
        tuple(_candidate_from_json(c) for c in data["results"]),
    )


def _candidate_from_json(data: Mapping[str, Any]) -> CandidateRow:
    # The JSON report names each key as the row's field (report.json writes them).
    return CandidateRow(**{f.name: data[f.name] for f in fields(CandidateRow)})


def _problem_from_json(data: Mapping[str, Any]) -> ProblemRow:
    return ProblemRow(**{f.name: data[f.name] for f in fields(ProblemRow)})
