"""A class's handouts: one report per derivation file, and an index page with the class table.

`bnverify report submissions/ -o handouts/` writes each file's report under a name made
from its path in the folder (never from text inside the file, so a name is safe in a link
and on any file system) and an index whose table gives each file's title and source,
score, the candidates that failed and a link to its report. The index prints from the
rows the class summary prints from (report.rows), in HTML, Markdown or LaTeX.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bnverify import __version__
from bnverify.report.printable import latex, markdown
from bnverify.report.printable.write import FORMATS
from bnverify.report.rows import FileRow, Run
from bnverify.report.summary import total

INDEX = "index"
EXTENSION = {"html": ".html", "md": ".md", "tex": ".tex"}
assert set(EXTENSION) == set(FORMATS), "every report format has an extension here"


@dataclass(frozen=True)
class Handout:
    """One file's row in the class table and its report's name beside the index."""

    row: FileRow
    report: str

    @property
    def failed(self) -> str:
        """The names of the candidates whose verdict is not the expected one."""
        return ", ".join(c.name for c in self.row.candidates if not c.ok)


def report_names(paths: list[Path], folder: Path, fmt: str) -> list[str]:
    """A distinct, safe report file name per derivation file, from its path in the folder."""
    names: list[str] = []
    for path in paths:
        relative = path.relative_to(folder) if path.is_relative_to(folder) else Path(path.name)
        stem = re.sub(r"[^A-Za-z0-9]+", "-", str(relative.with_suffix(""))).strip("-")
        stem = stem or "report"
        if stem == INDEX or f"{stem}{EXTENSION[fmt]}" in names:
            stem = f"{stem}-{len(names) + 1}"
        names.append(f"{stem}{EXTENSION[fmt]}")
    return names


def index_name(fmt: str) -> str:
    """The index page's file name."""
    return f"{INDEX}{EXTENSION[fmt]}"


def render_index(handouts: list[Handout], run: Run, fmt: str) -> str:
    """The index page: the class table and the class total, in the reports' format."""
    printer = {"html": _html, "md": _markdown, "tex": _latex}[fmt]
    return printer(handouts, total(run))


def _html(handouts: list[Handout], summary: str) -> str:
    # The reports' templates and stylesheet; Jinja2 loads only for an HTML index.
    from bnverify.report.printable.html import environment

    page = {"footer": {"version": __version__}}  # what base.html reads of a report
    return (
        environment()
        .get_template("index.html")
        .render(doc=page, handouts=handouts, summary=summary)
    )


def _markdown(handouts: list[Handout], summary: str) -> str:
    lines = [
        "# Class reports",
        "",
        "| file | title | source | score | failed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for h in handouts:
        ok, out_of = h.row.score
        cells = [
            f"[{markdown.text(h.row.path)}]({h.report})",
            markdown.text(h.row.title),
            markdown.text(h.row.source),
            f"{ok}/{out_of}",
            markdown.text(h.failed),
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join([*lines, "", markdown.text(summary), ""])


def _latex(handouts: list[Handout], summary: str) -> str:
    rows = []
    for h in handouts:
        ok, out_of = h.row.score
        # No links on paper: the cell names the report's file beside the derivation's.
        where = rf"{latex.code(h.row.path)} ({latex.code(h.report)})"
        cells = [where, latex.text(h.row.title), latex.text(h.row.source)]
        cells += [f"{ok}/{out_of}", latex.text(h.failed)]
        rows.append(" & ".join(cells) + r" \\")
    table = "\n".join(rows)
    return (
        f"{latex.PREAMBLE}\\begin{{document}}\n{{\\LARGE\\bfseries Class reports\\par}}\n\n"
        "\\begin{tabular}{>{\\raggedright}p{0.24\\textwidth}>{\\raggedright}p{0.2\\textwidth}"
        ">{\\raggedright}p{0.2\\textwidth}l>{\\raggedright\\arraybackslash}p{0.16\\textwidth}}\n"
        "\\toprule\nfile & title & source & score & failed \\\\\n\\midrule\n"
        f"{table}\n\\bottomrule\n\\end{{tabular}}\n\n{latex.text(summary)}\n\\end{{document}}\n"
    )
