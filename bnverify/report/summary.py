"""The class summary (`check --summary`): one line per file and a class total.

A TA reads it at a glance: each file's score (candidates whose verdict is the expected
one, out of all), who wrote it (its title, else its source), its path, and the names of
the candidates that failed. Printed from the rows (report.rows), so `bnverify merge`
prints the same bytes from shards' JSON.
"""

from __future__ import annotations

from bnverify.report.inert import no_commands, shown_path, visible
from bnverify.report.rows import FileRow, Run

WHO_WIDTH = 60  # a title longer than this is cut, so each file stays one line


def render(run: Run) -> str:
    """The summary: one line per file, then the class total (ends with a newline)."""
    score_width = max((len(_score(f)) for f in run.files), default=3)
    lines = [_line(f, score_width) for f in run.files]
    lines += [f"problem with the input: {p.message}" for p in run.problems]
    lines.append(total(run))
    return no_commands("".join(f"{line}\n" for line in lines))


def _score(row: FileRow) -> str:
    ok, total = row.score
    return f"{ok}/{total}"


def _who(row: FileRow) -> str:
    who = visible(" ".join(row.who.split()))
    return who if len(who) <= WHO_WIDTH else who[: WHO_WIDTH - 1] + "…"


def _line(row: FileRow, score_width: int) -> str:
    parts = [f"{_score(row).rjust(score_width)}  {_who(row)}  ({shown_path(row.path)})"]
    failed = [visible(c.name) for c in row.candidates if not c.ok]
    if failed:
        parts.append("failed: " + ", ".join(failed))
    if row.problems:
        count = len(row.problems)
        parts.append(f"{count} problem{'s' if count > 1 else ''} with the file")
    return "; ".join(parts)


def total(run: Run) -> str:
    """The class total: files, candidates as expected, and files not fully right."""
    rows = run.candidates
    ok = sum(c.ok for c in rows)
    share = f" ({100 * ok / len(rows):.0f}%)" if rows else ""
    full = sum(f.score[0] == f.score[1] and not f.problems for f in run.files)
    files = len(run.files)
    return (
        f"class: {files} file{'s' if files != 1 else ''}, {ok}/{len(rows)} candidates as "
        f"expected{share}; {full} of {files} files fully as expected"
    )
