"""bnverify as a pytest plugin: derivation files are test files, their candidates (and
claims) tests.

Registered through the `pytest11` entry point, so `pytest derivations/` checks every
derivation file it finds; `-p no:bnverify` turns it off. A candidate passes or fails by
the rule `bnverify check` uses (Verdict.ok: the verdict is what the file expects), and a
failure shows the diagnosis the terminal report prints. A file's own problems (bad TOML,
an unknown model or key) fail a test of their own, named after the file.

A *.toml file is a derivation file when its top level has `candidate` (other TOML files,
pyproject.toml among them, are left alone); a file that is not valid TOML counts when it
has a line starting `[[candidate`, so a broken derivation fails instead of vanishing. Only
bnverify's small file_access module is imported to look at a *.toml file, and the rest
once a derivation file is found: the plugin costs other test suites next to nothing.

Nothing a file holds may stop the host's session: pytest interrupts every test when one
collector raises, so whatever goes wrong with a file (a bug in bnverify included) is a
failing test of that file, and collection goes on.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bnverify.files.derivation import Candidate, Derivation
    from bnverify.judge.records import Verdict
    from bnverify.problem import Problem

# An unparseable file still counts when a line starts a candidate table, even a broken one.
_CANDIDATE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(candidate|claim)\b", re.MULTILINE)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect a derivation file; leave every other file to pytest."""
    if file_path.suffix != ".toml":
        return None
    try:
        found = is_derivation_file(file_path)
    except Exception:  # whatever it is, the file's test says so (see collect)
        found = True
    return DerivationFile.from_parent(parent, path=file_path) if found else None


def is_derivation_file(path: Path) -> bool:
    """Whether a TOML file holds candidates or claims (or, unparseable, such a header).

    Only a regular file is opened (a FIFO would hang the session), and only one whose
    real path stays in its own folder, as `bnverify check` reads a file it is given.
    """
    from bnverify.files.access import Refused, derivation_files, read_regular
    from bnverify.settings import DEFAULT_LIMITS

    files, _ = derivation_files([path])
    if not files:
        return False
    try:
        data = read_regular(path, DEFAULT_LIMITS.max_file_bytes)
        text = data.decode("utf-8")
    except (Refused, OSError, UnicodeDecodeError):
        return False
    try:
        return bool({"candidate", "claim"} & set(tomllib.loads(text)))
    except (tomllib.TOMLDecodeError, RecursionError):  # [[[...]]] 3,000 deep: tomllib recurses
        return _CANDIDATE_HEADER.search(text) is not None


class DerivationFile(pytest.File):
    """A derivation file: one test for its own problems (if any), one per candidate."""

    def collect(self) -> Iterator[pytest.Item]:
        """The file's problems and its candidates, as tests; never an error of the session."""
        from bnverify.report.inert import visible

        try:
            derivation, problems = self._read()
        except Exception as error:  # see the module's docstring
            from bnverify.problem import Location, Problem

            message = (
                f"internal error while reading this file: {error!r}; this is a bug in "
                "bnverify (run `bnverify check --debug` on the file for the traceback)"
            )
            where = Location(_shown_path(self.path, self.config), 1, 1)
            problem = Problem(message, location=where)
            yield FileProblems.from_parent(self, name=visible(self.path.name), problems=(problem,))
            return
        if problems:
            yield FileProblems.from_parent(self, name=visible(self.path.name), problems=problems)
        for candidate in derivation.candidates:
            # The name is printed in node ids and progress lines: shown, never obeyed.
            yield CandidateItem.from_parent(
                self, name=visible(candidate.name), candidate=candidate, derivation=derivation
            )

    def _read(self) -> tuple[Derivation, tuple[Problem, ...]]:
        """The derivation, and the file's own problems (TOML, model, notation)."""
        from bnverify.check import check_derivation
        from bnverify.files.derivation import load_derivation
        from bnverify.settings import Settings

        derivation = load_derivation(_shown_path(self.path, self.config))
        # The file's own checks without judging any candidate.
        problems = check_derivation(replace(derivation, candidates=()), Settings()).problems
        return derivation, problems


class BnverifyFailure(Exception):
    """A test's failure, carrying the text to show instead of a traceback."""


class _BnverifyItem(pytest.Item):
    """A bnverify test: its failure shows bnverify's own text."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The diagnosis, not a traceback into bnverify."""
        from bnverify.report.inert import inert_lines

        if isinstance(excinfo.value, BnverifyFailure):
            return inert_lines(str(excinfo.value))
        return super().repr_failure(excinfo, style)


class CandidateItem(_BnverifyItem):
    """One candidate: passes when its verdict is the one its file expects."""

    def __init__(self, *, candidate: Candidate, derivation: Derivation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.candidate = candidate
        self.derivation = derivation

    def runtest(self) -> None:
        """Judge the candidate as `bnverify check` would."""
        from bnverify.check import check_derivation
        from bnverify.report.text import located, verdict_text
        from bnverify.settings import Settings

        # The same path as `bnverify check` (model, notation, candidate), for this one only.
        alone = replace(self.derivation, candidates=(self.candidate,))
        result = check_derivation(alone, Settings())
        if not result.verdicts:  # the model could not be loaded: the file's test says why
            text = "\n".join(located(p) for p in result.problems)
            raise BnverifyFailure(f"{self.candidate.name}: not checked\n{text}")
        verdict = result.verdicts[0]
        if not verdict.ok:
            raise BnverifyFailure(_headline(verdict) + verdict_text(verdict))

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the candidate is: its [[candidate]] header's line (0-based for pytest)."""
        return self.path, self.candidate.location.line - 1, f"candidate {self.name}"


class FileProblems(_BnverifyItem):
    """A derivation file's own problems: fails, listing each with its place."""

    def __init__(self, *, problems: tuple[Problem, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        """Fail with every problem of the file."""
        from bnverify.report.text import located

        raise BnverifyFailure("\n".join(located(p) for p in self.problems))

    def reportinfo(self) -> tuple[Path, int, str]:
        """The file, at its first problem's line."""
        where = self.problems[0].location
        return self.path, (where.line - 1 if where else 0), f"derivation file {self.name}"


def _headline(verdict: Verdict) -> str:
    c = verdict.candidate
    if verdict.kind == "error":
        return f"{c.name}: could not be checked\n"
    return f"{c.name}: {verdict.kind}, but the file expects {c.expect}\n"


def _shown_path(path: Path, config: pytest.Config) -> str:
    """The path as messages show it: relative to where pytest was started, if inside."""
    start = config.invocation_params.dir
    return os.path.relpath(path, start) if path.is_relative_to(start) else str(path)
