"""Writing a printable report: choosing its format, naming its figures, writing the files.

The report goes to one file (or standard output); a Markdown or LaTeX report's figures go
beside it, named after the report and the candidate's place in the file
(`post-figure-3.svg`), never after text from the derivation file, so a name is always
safe in a Markdown link and in LaTeX's \\includegraphics. HTML embeds its figures.
The report and its figures are written as one set through bnverify.report.output.
"""

from __future__ import annotations

import re
from pathlib import Path

from bnverify.problem import Problem
from bnverify.report.output import STDOUT, emit, write_set
from bnverify.report.printable.records import Document

FORMATS = ("html", "md", "tex")
EXTENSIONS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".tex": "tex"}
STDOUT_FORMAT = "md"  # text a terminal can show, and a pipe can paste into an issue
# Figure file type per format: SVG beside Markdown, PDF beside LaTeX (for pdflatex); each
# is also the name of the bnverify.report.printable.figures function that draws it.
FIGURES = {"md": "svg", "tex": "pdf"}


def request(path: str, output: str, chosen: str | None, to_pdf: bool) -> str | Problem:
    """The report format for these options, or what is wrong with them."""
    if Path(path).is_dir():
        return Problem(f"{path} is a directory: a report covers one derivation file")
    if not Path(path).is_file():
        return Problem(f"no such file: {path}")
    fmt = report_format(output, chosen)
    if to_pdf and (fmt != "html" or output == STDOUT):
        return Problem("--pdf prints an HTML report written to a file: -o report.html")
    return fmt


def report_format(output: str, chosen: str | None) -> str | Problem:
    """The format asked for, else the one the output's extension names."""
    if chosen is not None:
        return chosen
    if output == STDOUT:
        return STDOUT_FORMAT
    found = EXTENSIONS.get(Path(output).suffix.lower())
    if found is None:
        return Problem(
            f"cannot tell the report format from {output!r}: name the output "
            "*.html, *.md or *.tex, or give --format html|md|tex"
        )
    return found


def figure_names(document: Document, output: str, fmt: str) -> dict[str, str]:
    """Candidate name -> file name of its figure, relative to the report."""
    if fmt not in FIGURES or output == STDOUT:
        return {}
    stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(output).stem).strip("-") or "report"
    extension = FIGURES[fmt]
    return {
        c.name: f"{stem}-figure-{k}.{extension}"
        for k, c in enumerate(document.candidates, start=1)
        if c.curve is not None
    }


def write_report(document: Document, output: str, fmt: str) -> list[str]:
    """Write the report and its figures as one set; the paths of the figures written.

    Everything is drawn and rendered before anything is written, and the report is
    renamed into place last: a report that cannot be written leaves the old figures too.
    """
    names = figure_names(document, output, fmt)
    folder = Path(output).parent
    figures = []
    for c in document.candidates:
        if c.name in names and c.curve is not None:
            # matplotlib takes a third of a second to import: only reports with figures pay.
            from bnverify.report.printable import figures as draw

            figures.append((str(folder / names[c.name]), getattr(draw, FIGURES[fmt])(c.curve)))
    report = render(document, fmt, names)
    if output == STDOUT:
        emit(output, report)
    else:
        write_set([*figures, (output, report)])
    return [path for path, _ in figures]


def render(document: Document, fmt: str, names: dict[str, str]) -> str:
    """The report's text in one format."""
    # Each printer is imported when asked for, so `bnverify check` never loads them (nor
    # Jinja2 and the embedded font, for HTML).
    if fmt == "html":
        from bnverify.report.printable import html

        return html.render(document)
    if fmt == "tex":
        from bnverify.report.printable import latex

        return latex.render(document, names)
    from bnverify.report.printable import markdown

    return markdown.render(document, names)


def pdf_name(output: str) -> Path:
    """Where --pdf prints an HTML report: post.html -> post.html.pdf, beside it.

    Not post.pdf, which is what `pdflatex post.tex` writes for the LaTeX report.
    """
    return Path(output).with_suffix(".html.pdf")


def print_pdf(output: str, paper: str) -> tuple[str, Problem | None]:
    """Print a written HTML report to a PDF beside it (see pdf_name)."""
    from bnverify.report.printable import pdf

    target = pdf_name(output)
    return str(target), pdf.print_pdf(Path(output), target, pdf.PAPERS[paper])
