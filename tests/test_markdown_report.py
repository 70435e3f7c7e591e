"""Markdown reports: every shipped derivation, GitHub maths, and free text that stays text."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bnverify.check import check_file, report_of
from bnverify.report.printable import markdown, prose
from bnverify.settings import Settings

DERIVATIONS = Path(__file__).parent.parent / "derivations"
HOSTILE = Path(__file__).parent / "data" / "hostile.toml"
SCRIPT = "<script>alert(1)</script>"
INPUT = r"\input{/etc/passwd}"


def render(path: Path, figures: dict[str, str] | None = None) -> str:
    settings = Settings()
    document = report_of(path, settings, "bnverify report x -o r.md")[0]
    return markdown.render(document, figures or {})


def as_html(text: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(text)


@pytest.mark.parametrize("path", sorted(DERIVATIONS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_derivation(path):
    report = render(path)
    result = check_file(path, Settings())
    for verdict in result.verdicts:
        assert f"### {markdown.text(verdict.candidate.name)} (line " in report
        assert f"**{markdown.BADGE[verdict.kind]}**" in report
    assert report.count("$$") % 2 == 0
    assert "## The true backward pass" in report and "\\underbrace" in report
    assert report.endswith("Made by ` bnverify report x -o r.md `\n")


def test_forum_post_figures_are_linked_and_captioned():
    report = render(DERIVATIONS / "forum-post.toml", {"g_z": "post-figure-3.svg"})
    assert "](<post-figure-3.svg>)" in report
    assert "Relative error of g\\_z against batch size N" in report
    # g_beta has a curve but no figure file here: the report says how to get one.
    assert markdown.text(prose.NO_FIGURE) in report


def test_forum_post_g_z_counterexample_table():
    report = render(DERIVATIONS / "forum-post.toml")
    assert "| $i$ | $z$ | $g_{y}$ | $\\text{truth}$ | $\\text{candidate}$ |" in report
    assert "| 2 | 2 | 0 | \\-18/125 | 0 |" in report
    assert "Matches when: batch statistics held constant" in report


def test_hostile_text_shows_as_text_and_never_as_markup():
    report = render(HOSTILE)
    rendered = as_html(report)
    assert "<script" not in rendered and "<b>" not in rendered
    assert html.escape(SCRIPT, quote=False) in rendered
    assert INPUT in rendered
    assert "$x$" in html.unescape(rendered)  # the note's dollars are not maths


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("*not bold* _nor this_", r"\*not bold\* \_nor this\_"),
        ("1. not a list", r"1\. not a list"),
        ("- not an item", r"\- not an item"),
        ("a <b> & c", "a &lt;b&gt; &amp; c"),
        ("[link](x) `code` $m$ | ~", r"\[link\](x) \`code\` \$m\$ \| \~"),
        ("two\nlines", "two lines"),
    ],
)
def test_text_escapes_markdown(raw, shown):
    assert markdown.text(raw) == shown


def test_code_and_block_fences_outgrow_the_text():
    assert markdown.code("a ` b") == "`` a ` b ``"
    assert markdown.block("x\n```\ny").startswith("````text\n")
