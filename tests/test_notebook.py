"""Verdict records render in Jupyter: HTML with MathML, and Markdown with $...$ maths.

Jupyter calls `_repr_html_` and `_repr_markdown_`; what a notebook user relies on is
that a verdict shows its kind, its message and its formula typeset, a wrong one its
missing terms, and that nothing of the input becomes markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import bnverify

WRONG = r"\frac{\gamma}{\sqrt{\sigma^2+\epsilon}} g_y"


def test_a_verdict_renders_as_html_with_mathml():
    v = bnverify.check_formula(WRONG, wrt="z", syntax="latex")
    page = v._repr_html_()
    ET.fromstring(page.replace("&minus;", "-"))  # well-formed: the fragment is one element
    assert "diverge" in page and v.message in page
    assert page.count("<math") == 2  # the formula and its missing terms


def test_a_verdict_renders_as_markdown():
    v = bnverify.check_formula(WRONG, wrt="z", syntax="latex")
    text = v._repr_markdown_()
    assert "**diverge**" in text
    assert r"$\frac{\gamma}{\sqrt{\sigma^{2} + \epsilon}} g_{y}$" in text


def test_a_file_renders_each_verdict(tmp_path):
    result = bnverify.check_file("derivations/forum-post.toml", bnverify.Settings())
    assert result._repr_html_().count("<li>") == 3
    assert result._repr_markdown_().startswith("#### Batch Norm gradients")


def test_text_from_the_input_is_escaped(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(
        'title = "<script>alert(1)</script>"\nmodel = "batchnorm"\n'
        '[[candidate]]\nname = "<b>g</b>"\nwrt = "beta"\nexpr = "sum(g_y)"\n',
        encoding="utf-8",
    )
    result = bnverify.check_file(path, bnverify.Settings(max_symbolic_batch=2))
    page = result._repr_html_()
    assert "<script>" not in page and "<b>g</b>" not in page
    assert "&lt;script&gt;" in page
