"""Verdict records in a Jupyter notebook: HTML with MathML, and Markdown.

Jupyter shows an object through its `_repr_html_` and `_repr_markdown_`. The judge's
records (Verdict, FileResult) have both, and they call the printers this module
registers in judge.records.NOTEBOOK when the library loads it (bnverify.check does), so
the judge never imports a report. Free text is escaped and formulas are printed from
bnverify's own trees, as in the printable reports.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bnverify.judge.records import NOTEBOOK, FileResult, Verdict
from bnverify.language import tree_printing
from bnverify.report.printable import markdown
from bnverify.report.text import outcome

COLOUR = {
    "match": "#1a7f37",
    "diverge": "#cf222e",
    "error": "#8250df",
    "holds": "#1a7f37",
    "fails": "#cf222e",
    "undecided": "#9a6700",
}


def _lines(v: Verdict) -> list[tuple[str, str, bool]]:
    """What a verdict shows after its head: (label, text, whether the text is LaTeX)."""
    lines = []
    if v.parsed is not None:
        lines.append(("formula", tree_printing.latex(v.parsed, {}), True))
    if v.residual is not None:
        lines.append(("missing terms (truth - candidate)", v.residual.latex, True))
    if v.correction is not None:
        lines.append((v.correction.said, v.correction.latex, True))
    if v.conditions:
        lines.append(("matches when", "; ".join(v.conditions), False))
    return lines


def _math(latex: str) -> str:
    # MathML Core (printable.mathml) renders in JupyterLab and the classic notebook alike.
    from bnverify.report.printable.mathml import MathMLError, mathml

    try:
        return mathml(latex)
    except MathMLError:
        return f"<code>{html.escape(latex)}</code>"


@dataclass(frozen=True)
class _Spelling:
    """How one notebook format writes free text, maths, a verdict word and a new line."""

    text: Callable[[str], str]
    math: Callable[[str], str]
    kind: Callable[[str], str]
    newline: str
    whole: Callable[[str], str]


_HTML = _Spelling(
    text=html.escape,
    math=_math,
    kind=lambda kind: f'<strong style="color:{COLOUR[kind]}">{kind}</strong>',
    newline="<br/>",
    whole=lambda body: f"<div>{body}</div>",
)
_MARKDOWN = _Spelling(
    text=markdown.text,
    math=lambda latex: f"${latex}$",
    kind=lambda kind: f"**{kind}**",
    newline="\n\n",
    whole=lambda body: body + "\n",
)


def _verdict(v: Verdict, spell: _Spelling) -> str:
    c = v.candidate
    head = (
        f"{spell.text(c.name)} (gradient of {spell.text(v.wrt or c.wrt or '?')}): "
        f"{spell.kind(v.kind)}, expected {c.expect} ({outcome(v)})"
    )
    lines = [head, spell.text(v.message)] + [
        f"{spell.text(label)}: {spell.math(text) if is_latex else spell.text(text)}"
        for label, text, is_latex in _lines(v)
    ]
    return spell.whole(spell.newline.join(lines))


def verdict_html(v: Verdict) -> str:
    """One verdict as an HTML fragment: name, verdict, message, formula and diagnosis."""
    return _verdict(v, _HTML)


def verdict_markdown(v: Verdict) -> str:
    """One verdict as Markdown, formulas in $...$ as Jupyter's Markdown renders them."""
    return _verdict(v, _MARKDOWN)


def file_html(result: FileResult) -> str:
    """A file's verdicts, one after another, under its title."""
    title = html.escape(result.title or result.path)
    problems = "".join(f"<p>{html.escape(p.message)}</p>" for p in result.problems)
    verdicts = "".join(f"<li>{verdict_html(v)}</li>" for v in result.verdicts)
    return f"<div><h4>{title}</h4>{problems}<ul>{verdicts}</ul></div>"


def file_markdown(result: FileResult) -> str:
    """A file's verdicts as Markdown, under its title."""
    parts = [f"#### {markdown.text(result.title or result.path)}"]
    parts += [markdown.text(p.message) for p in result.problems]
    parts += [verdict_markdown(v) for v in result.verdicts]
    return "\n\n".join(parts) + "\n"


PRINTERS: dict[tuple[type, str], Callable[[Any], str]] = {
    (Verdict, "html"): verdict_html,
    (Verdict, "markdown"): verdict_markdown,
    (FileResult, "html"): file_html,
    (FileResult, "markdown"): file_markdown,
}
NOTEBOOK.update(PRINTERS)
