"""The HTML report: self-contained, no script, MathML maths, free text escaped, font embedded."""

from __future__ import annotations

import base64
import re
import unicodedata
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest
from report_samples import document, section

from bnverify.check import report_of
from bnverify.report.printable import html
from bnverify.report.printable.records import CounterexampleTable, EvidenceRow, Footer
from bnverify.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = r"<script>alert(1)</script> \input{/etc/passwd} & </style>"


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <style> element."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


@pytest.fixture(scope="module")
def forum_page() -> str:
    document, _ = report_of(ROOT / "derivations/forum-post.toml", Settings(), "bnverify report")
    return html.render(document)


def test_the_page_loads_nothing_and_runs_nothing(forum_page):
    page = Elements(forum_page)
    assert not page.named("script") and not page.named("link") and not page.named("img")
    assert not page.named("iframe") and not page.named("object") and not page.named("embed")
    for _, attrs in page.tags:
        assert not {"src", "srcset", "action", "formaction"} & set(attrs)
        assert not any(name.startswith("on") for name in attrs)
        links = [value for name, value in attrs.items() if name.endswith("href")]
        assert all(value.startswith("#") for value in links)  # the SVG's own parts only
    css = "".join(page.styles)
    assert "@import" not in css
    assert re.findall(r"url\(\s*['\"]?([a-z]+):", css) == ["data"]
    # the only web addresses are the SVG namespace names, which nothing fetches
    assert set(re.findall(r"https?://[^\s\"'<>]*", forum_page)) == {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }


def test_formulas_are_mathml_and_display_formulas_are_display_style(forum_page):
    page = Elements(forum_page)
    maths = page.named("math")
    assert len(maths) > 30
    assert any(attrs.get("displaystyle") == "true" for attrs in maths)
    assert {"mfrac", "msqrt", "munder", "msub", "mover"} <= {tag for tag, _ in page.tags}


def test_the_math_font_is_embedded_and_used(forum_page):
    shipped = resources.files("bnverify.report.printable").joinpath("fonts", html.FONT).read_bytes()
    embedded = re.search(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", forum_page)
    assert embedded is not None and base64.b64decode(embedded.group(1)) == shipped
    assert re.search(r'math\s*\{[^}]*font-family:\s*"bnverify Math", math;', forum_page)


def test_every_candidate_has_its_name_and_verdict_badge(forum_page):
    for name in ("g_gamma", "g_beta", "g_z"):
        assert f'<span class="name">{name}</span>' in forum_page
    assert forum_page.count(">MATCH</span>") == 2  # the summary and the section
    assert forum_page.count(">DIVERGES</span>") == 4
    assert "NOT as expected" not in forum_page


def test_a_diverging_candidate_gets_its_figure_inline(forum_page):
    assert forum_page.count("<svg") == 2  # g_beta and g_z
    assert "<?xml" not in forum_page and "<!DOCTYPE svg" not in forum_page


def test_free_text_is_escaped_and_no_script_element_exists():
    hostile = section(
        name=HOSTILE,
        note=HOSTILE,
        message=HOSTILE,
        problem=HOSTILE,
        conditions=(HOSTILE,),
        evidence=(EvidenceRow(HOSTILE, HOSTILE, HOSTILE),),
        counterexample=CounterexampleTable(2, ("i",), ((HOSTILE,),), ((r"\gamma", HOSTILE),)),
    )
    page = html.render(
        document(
            title=HOSTILE,
            source=HOSTILE,
            path=HOSTILE,
            model=HOSTILE,
            problems=(HOSTILE,),
            candidates=(hostile,),
            footer=Footer(HOSTILE, 0, HOSTILE),
        )
    )
    parsed = Elements(page)
    assert not parsed.named("script")
    assert len(parsed.named("style")) == 1  # "</style>" in a title did not end the stylesheet
    escaped = r"&lt;script&gt;alert(1)&lt;/script&gt; \input{/etc/passwd} &amp; &lt;/style&gt;"
    assert page.count(escaped) >= 14
    assert "<script" not in page


def test_a_formula_with_markup_in_it_is_typeset_as_text_never_as_markup():
    page = html.render(document(candidates=(section(written=HOSTILE, residual=r"\frac{"),)))
    assert "<script" not in page and not Elements(page).named("script")
    # LaTeX that cannot be typeset is shown as its (escaped) source
    assert '<code class="tex">\\frac{</code>' in page


def test_verdict_badges_say_the_verdict_in_words():
    page = html.render(
        document(
            candidates=(
                section(kind="match", expect="match", ok=True),
                section(kind="diverge", expect="match", ok=False),
                section(kind="error", expect="match", ok=False, problem="f.toml:3:9: error"),
            )
        )
    )
    assert ">MATCH</span>" in page and ">DIVERGES</span>" in page and ">ERROR</span>" in page
    assert page.count(">NOT as expected</span>") == 4 and page.count(">as expected</span>") == 2


def test_long_formulas_are_cut_into_pieces_a_line_can_break_between():
    long_sum = " + ".join(rf"\frac{{a_{{{k}}}}}{{b_{{{k}}}}}" for k in range(30))
    page = html.render(document(candidates=(section(residual=long_sum),)))
    displays = [chunk.split("</div>")[0] for chunk in page.split('<div class="display">')]
    residual = [d for d in displays if "<mn>29</mn>" in d]
    assert len(residual) == 1 and residual[0].count("<wbr>") == 29


def test_rendering_is_deterministic(forum_page):
    again, _ = report_of(ROOT / "derivations/forum-post.toml", Settings(), "bnverify report")
    assert html.render(again) == forum_page


def test_the_font_subset_keeps_the_mathematical_alphanumeric_block():
    ttlib = pytest.importorskip("fontTools.ttLib")
    data = resources.files("bnverify.report.printable").joinpath("fonts", html.FONT)
    with data.open("rb") as stream:
        font = ttlib.TTFont(stream)
    assert "MATH" in font and "GSUB" in font
    cmap = font.getBestCmap()
    block = [chr(c) for c in range(0x1D400, 0x1D800)]
    missing = {c for c in block if unicodedata.name(c, None) and ord(c) not in cmap}
    # Latin Modern Math draws no lowercase script letters and no digamma; every other
    # assigned code point of the block is kept (the holes are unassigned: no name).
    lacking = ("MATHEMATICAL SCRIPT SMALL", "MATHEMATICAL BOLD SCRIPT SMALL", "DIGAMMA")
    assert all(any(word in unicodedata.name(c) for word in lacking) for c in missing)
    assert len(missing) < 60
    for text in ("∑√∂∞≤≥±×·−∈⊙ϵγσμβ", "ℎ"):  # operators, Greek, the italic h hole-filler
        assert all(ord(c) in cmap for c in text)


def test_a_hostile_derivation_file_renders_as_text():
    path = ROOT / "tests/data/hostile.toml"
    page = html.render(report_of(path, Settings(), "x")[0])
    assert not Elements(page).named("script") and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\input{/etc/passwd}" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
