"""The HTML report: one self-contained page that reads like a worked solution and prints.

No script and no network: maths is MathML Core, typeset by the browser with a subset of
Latin Modern Math embedded in the page (fonts/README-bnverify-math.txt), and figures are
inline SVG. The page comes from Jinja2 templates with autoescaping on, so every piece of
free text (titles, sources, names, notes, messages) is escaped; only MathML and SVG that
bnverify made itself are inserted as markup.
"""

from __future__ import annotations

import base64
import functools
import re
from importlib import resources

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bnverify.judge.records import Curve
from bnverify.report.printable import figures, prose
from bnverify.report.printable.mathml import MathMLError, display_pieces, mathml
from bnverify.report.printable.records import Document

FONT = "bnverify-math.woff2"
VERDICT_LABELS = {
    "match": "match",
    "diverge": "diverges",
    "error": "error",
    "holds": "holds",
    "fails": "fails",
    "undecided": "undecided",
}
# An SVG file's XML declaration, doctype and comments before the <svg> element are not
# allowed inside an HTML document; its RDF metadata (the plotting library's name and web
# address) is not shown anyway.
_SVG_PROLOG = re.compile(r"\A.*?(?=<svg[\s>])", re.DOTALL)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def render(document: Document) -> str:
    """The whole report as one HTML document."""
    return environment().get_template("report.html").render(doc=document)


@functools.cache
def environment() -> Environment:
    """The templates, autoescaped, with the filters that typeset maths and figures."""
    templates = Environment(
        loader=PackageLoader("bnverify.report.printable", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    templates.filters.update(mathml=_inline, pieces=_pieces, figure=_figure)
    templates.globals.update(prose=prose, verdict_labels=VERDICT_LABELS, math_font=_font_base64())
    return templates


# The formulas in a Document are LaTeX that bnverify printed from expression trees, and
# the MathML made from them is checked against MathML Core's elements and attributes
# (report.mathml), so it goes into the page as markup. A formula that cannot be typeset
# gives None, and the template shows its LaTeX as escaped text instead.


def _inline(latex: str) -> Markup | None:
    try:
        return Markup(mathml(latex))
    except MathMLError:
        return None


def _pieces(latex: str) -> tuple[Markup, ...] | None:
    try:
        return tuple(Markup(piece) for piece in display_pieces(latex))
    except MathMLError:
        return None


def _figure(curve: Curve) -> Markup:
    # matplotlib draws the SVG from numbers alone (no text of the derivation file is in
    # it, see report.figures), so it is inserted as markup, without its XML prolog.
    drawing = _SVG_PROLOG.sub("", figures.svg(curve), count=1)
    return Markup(_SVG_METADATA.sub("", drawing, count=1))


@functools.cache
def _font_base64() -> str:
    data = resources.files("bnverify.report.printable").joinpath("fonts", FONT).read_bytes()
    return base64.b64encode(data).decode("ascii")
