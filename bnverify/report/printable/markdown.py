"""A derivation report as GitHub-flavoured Markdown, maths in $...$ and $$...$$.

The same text renders on GitHub, so a report can be pasted into an issue or a pull
request. Formulas are LaTeX that bnverify printed from trees (see report.document) and
go in as they are; every piece of free text is escaped, so a title or a note can neither
start Markdown nor carry raw HTML.
"""

from __future__ import annotations

import re

from bnverify.report.inert import inert_lines
from bnverify.report.printable import outline, prose
from bnverify.report.printable.records import CounterexampleTable, Document

# Backslash escapes for CommonMark's ASCII punctuation that can start or end markup, and
# `$` for GitHub's maths; < > & become entities so no raw HTML gets through.
_ESCAPED = set("\\`*_[]#|~$")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_ORDERED_ITEM = re.compile(r"\d+(?=[.)])")
BADGE = {
    "match": "✓ match",
    "diverge": "✗ diverge",
    "error": "⚠ error",
    "holds": "✓ holds",
    "fails": "✗ fails",
    "undecided": "? undecided",
}


def text(value: str) -> str:
    """Free text as one line of Markdown that shows exactly these characters."""
    line = " ".join(value.split())
    escaped = "".join(_ENTITIES.get(c) or ("\\" + c if c in _ESCAPED else c) for c in line)
    # What would start a list or a heading underline is escaped (1. -> 1\., - -> \-).
    number = _ORDERED_ITEM.match(escaped)
    if number:
        return f"{number.group()}\\{escaped[number.end() :]}"
    # A line starting "::" would be a GitHub Actions command when printed in a CI log.
    return "\\" + escaped if escaped[:1] in ("-", "+", "=", ":") else escaped


def code(value: str) -> str:
    """Inline code, fenced by more backticks than the text holds."""
    line = " ".join(value.split())
    fence = "`" * (max(map(len, re.findall("`+", line)), default=0) + 1)
    return f"{fence} {line} {fence}"


def block(value: str) -> str:
    """A fenced code block, its fence longer than any run of backticks in the text."""
    fence = "`" * max(3, max(map(len, re.findall("`+", value)), default=0) + 1)
    return f"{fence}text\n{value}\n{fence}"


def _math(latex: str) -> str:
    # A table cell ends at |; GitHub reads \| inside maths as the bar itself.
    return "$" + latex.replace("|", r"\|") + "$"


def render(document: Document, figures: dict[str, str]) -> str:
    """The whole report; figures maps a candidate's name to its figure's relative path."""
    parts = [f"# {text(document.title or document.path)}"]
    if document.source:
        parts.append(f"**Source:** {text(document.source)}")
    parts.append(f"**Model:** {text(document.model)}. **File:** {code(document.path)}.")
    parts += [block(problem) for problem in document.problems]
    parts += [f"**Note:** {text(note)}" for note in document.notes]
    if document.forward:
        parts.append("## The model's forward pass")
        parts += [_display(f"{eq.left} = {eq.right}") for eq in document.forward]
    if document.backward:
        parts += ["## The true backward pass", text(prose.backward_intro(document.sizes))]
        for step in document.backward:
            parts.append(f"### {_math(step.symbol)}")
            parts += [_block(b, figures) for b in outline.step(step, document.sizes)]
    if document.candidates:
        parts.append("## The candidates")
        for c in document.candidates:
            parts.append(f"### {text(c.name)} (line {c.line})")
            parts += [_block(b, figures) for b in outline.candidate(c, document.sizes)]
    footer = document.footer
    parts += [
        "---",
        f"bnverify {text(footer.version)}, seed {footer.seed}. Made by {code(footer.command)}",
    ]
    # The report may go to standard output, and so into a terminal or a CI log: every
    # control character becomes a picture here, once, for the whole document.
    return inert_lines("\n\n".join(parts) + "\n")


def _block(b: outline.Block, figures: dict[str, str]) -> str:
    match b:
        case outline.Paragraph(text=said, label=label):
            return f"**{text(label)}** {text(said)}" if label else text(said)
        case outline.Display(latex=latex):
            return _display(latex)
        case outline.Badge(kind=kind, text=said):
            return f"**{BADGE[kind]}**, {text(said)}"
        case outline.Preformatted(text=said):
            return block(said)
        case outline.Evidence(rows=rows):
            lines = ["| layer | outcome | what it found |", "|---|---|---|"]
            lines += [f"| {text(r.layer)} | {text(r.outcome)} | {text(r.detail)} |" for r in rows]
            return "\n".join(lines)
        case outline.CounterexampleBlock(table=table):
            return _counterexample(table)
        case outline.Figure(candidate=name, caption=caption):
            if name not in figures:
                return f"{text(caption)} {text(prose.NO_FIGURE)}"
            return f"![{text(caption)}]({_link(figures[name])})\n\n*{text(caption)}*"
    raise TypeError(f"no Markdown for {b!r}")


def _display(latex: str) -> str:
    return f"$$\n{latex}\n$$"


def _counterexample(table: CounterexampleTable) -> str:
    lines = [
        f"Counterexample at {table.where}:",
        "",
        "| " + " | ".join(_math(h) for h in table.columns) + " |",
        "|" + "---|" * len(table.columns),
    ]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in table.rows]
    if table.scalars:
        values = ", ".join(f"{_math(name)} = {text(value)}" for name, value in table.scalars)
        lines += ["", f"with {values}"]
    return "\n".join(lines)


def _link(path: str) -> str:
    # A relative file name chosen by bnverify; angle brackets allow any character in it.
    return "<" + path.replace("<", "%3C").replace(">", "%3E") + ">"
