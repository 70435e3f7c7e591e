"""The CSV table (`check --format csv`): one row per candidate, for a spreadsheet.

Columns: file, title, source (where students put their names), name, verdict, expect,
ok, headline. A file with problems (one that
cannot be read, an unknown model) gets a row of its own with an empty name and the
verdict error, so every student appears. Printed from the rows (report.rows), so
`bnverify merge` prints the same bytes from shards' JSON.
"""

from __future__ import annotations

import csv
import io

from bnverify.report.inert import visible
from bnverify.report.rows import Run

COLUMNS = ("file", "title", "source", "name", "verdict", "expect", "ok", "headline")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection);
# free text from a file gets a leading apostrophe, as OWASP recommends.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render(run: Run) -> str:
    """The table as CSV text with a header row (RFC 4180, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for f in run.files:
        who = [_cell(f.path), _cell(f.title), _cell(f.source)]
        for p in f.problems:
            writer.writerow([*who, "", "error", "", "false", _cell(p.message)])
        for c in f.candidates:
            ok = "true" if c.ok else "false"
            writer.writerow([*who, _cell(c.name), c.verdict, c.expect, ok, _cell(c.headline)])
    for p in run.problems:
        writer.writerow([p.file or "", "", "", "", "error", "", "false", _cell(p.message)])
    return out.getvalue()


def _cell(text: str) -> str:
    # Control characters are shown as their pictures, as in the text report, so a table
    # printed on a terminal cannot move its cursor or recolour it.
    shown = visible(text)
    return "'" + shown if shown.startswith(_FORMULA_STARTS) else shown
