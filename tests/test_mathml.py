"""LaTeX -> MathML Core: what browsers draw without scripts, and nothing else."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from bnverify.report.printable.mathml import ELEMENTS, MathMLError, display_pieces, mathml, styled

# The constructions bnverify's printers write: fractions, roots, sums over j, hats,
# stretchy parentheses, two-part subscripts, scripts on Greek, \mathbf{1}, \mathrm, \cdot.
RESIDUAL = (
    r"- \frac{\gamma \left(\hat{z}_{i} \sum_{j} g_{y,j} \hat{z}_{j} + \sum_{j} g_{y,j}\right)}"
    r"{N \sqrt{\sigma_B^2 + \epsilon}}"
)


def tree(text: str) -> ET.Element:
    return ET.fromstring(text)


def test_the_residual_keeps_its_structure():
    root = tree(mathml(RESIDUAL, display=True))
    assert root.tag == "math" and root.get("display") == "block"
    tags = {e.tag for e in root.iter()}
    assert {"mfrac", "msqrt", "munder", "mover", "msubsup"} <= tags
    fences = [e for e in root.iter("mo") if e.get("fence") == "true"]
    assert [f.text for f in fences] == ["(", ")"]
    letters = {e.text for e in root.iter("mi")}
    assert {"γ", "σ", "ϵ", "N", "z", "g", "y", "j", "i", "B"} <= letters


def test_a_sum_over_j_puts_its_index_under_the_sign():
    root = tree(mathml(r"\sum_{j} g_{y,j}"))
    under = root.find(".//munder")
    assert under is not None and under[0].text == "∑"
    assert root.find(".//msub/mo") is None


def test_bold_letters_become_mathematical_bold_code_points():
    # MathML Core ignores mathvariant="bold": the letter itself must be bold.
    root = tree(mathml(r"\mathbf{1}^T g_y"))
    assert "\U0001d7cf" in {e.text for e in root.iter()}  # MATHEMATICAL BOLD DIGIT ONE
    assert all(e.get("mathvariant") in (None, "normal") for e in root.iter())
    assert styled("x", "bold") == "\U0001d431"
    assert styled("R", "double-struck") == "ℝ"  # a hole in the block, filled at U+211D


def test_an_upright_name_is_one_identifier():
    root = tree(mathml(r"\mathrm{mean}\left(z\right) \cdot x"))
    assert "mean" in [e.text for e in root.iter("mi")]
    assert "·" in [e.text for e in root.iter("mo")]


def test_partial_is_a_letter_not_an_operator():
    root = tree(mathml(r"\frac{\partial L}{\partial z_i}"))
    assert "∂" in [e.text for e in root.iter("mi")]


def test_text_that_looks_like_markup_stays_text():
    out = mathml(r"<script>alert(1)</script> \input{/etc/passwd}")
    root = tree(out)
    assert {e.tag for e in root.iter()} <= ELEMENTS
    assert "<script" not in out and "&lt;" in out


def test_malformed_latex_is_an_error_value_not_a_crash():
    with pytest.raises(MathMLError, match="cannot typeset"):
        mathml(r"\frac{")


def test_display_pieces_break_before_top_level_signs_only():
    pieces = display_pieces(r"g_z = -a \left(b + c\right) + \frac{d - e}{f} - g")
    assert len(pieces) == 3
    first, second, third = (tree(p) for p in pieces)
    assert first.get("displaystyle") == "true"
    # the unary minus after "=" and the signs inside brackets and fractions stay put
    assert [e.text for e in first.iter("mo")].count("−") == 1
    assert second.find(".//mo").get("form") == "infix" and second.find(".//mfrac") is not None
    assert third.find(".//mo").text == "−"


def test_a_short_formula_is_one_piece():
    assert len(display_pieces(r"\mu_B = \frac{1}{N} \sum_{j} z_{j}")) == 1


def test_hat_is_the_small_accent_not_the_wide_one():
    accent = tree(mathml(r"\hat{z}_{i}")).find(".//mover/mo")
    assert accent is not None and accent.text == "\u02c6"


def test_parentheses_stretch_only_around_something_tall():
    flat = tree(mathml(r"\left(z_{j} - \mu_B\right)^{2}"))
    assert {e.get("stretchy") for e in flat.iter("mo") if e.get("fence")} == {"false"}
    tall = tree(mathml(r"\left(\frac{a}{b}\right)"))
    assert {e.get("stretchy") for e in tall.iter("mo") if e.get("fence")} == {"true"}


def test_each_piece_carries_its_estimated_width_for_the_stylesheet():
    short, wide = (
        float(re.search(r"--width: ([\d.]+)", display_pieces(tex)[0]).group(1))
        for tex in (
            r"\frac{a}{N}",
            r"\frac{" + " + ".join(f"z_{{{k}}}" for k in range(20)) + "}{N}",
        )
    )
    assert 0.5 < short < 2 and 40 < wide < 80  # a fraction is as wide as its numerator


def test_a_sum_makes_parentheses_tall_only_in_display_style():
    def stretchy(mathml_text: str) -> set[str | None]:
        return {e.get("stretchy") for e in tree(mathml_text).iter("mo") if e.get("fence")}

    assert stretchy(display_pieces(r"\left(\sum_{k} x_{k}\right)")[0]) == {"true"}
    assert stretchy(mathml(r"\left(\sum_{k} x_{k}\right)")) == {"false"}
    assert stretchy(mathml(r"\frac{\left(\sum_{k} x_{k}\right)}{N}", display=True)) == {"false"}
