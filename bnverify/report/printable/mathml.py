"""LaTeX printed by bnverify -> MathML Core, the subset browsers render without scripts.

latex2mathml writes MathML 3. Chromium, Firefox and Safari implement MathML Core, which
drops `mathvariant` other than "normal" (so `\\mathbf{1}` would print as a plain 1) and
treats a run of one-letter upright identifiers as separate identifiers. This module turns
those into Core spellings: styled letters become their Mathematical Alphanumeric code
points (the embedded font keeps that block), `\\mathrm{mean}` one identifier, and a sum's
index goes under the sign in display style. The result is checked against a list of Core
elements and attributes, so whatever the LaTeX held, only MathML layout comes out.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

NAMESPACE = "http://www.w3.org/1998/Math/MathML"
_NS = f"{{{NAMESPACE}}}"

# MathML Core's elements and the attributes bnverify's output may carry; anything else
# (an event handler, an href, a foreign element) means the conversion went wrong.
ELEMENTS = frozenset(
    """math mrow mi mn mo ms mtext mspace mfrac msqrt mroot msub msup msubsup munder mover
    munderover mmultiscripts mprescripts none mtable mtr mtd mstyle mpadded mphantom merror
    semantics annotation""".split()  # noqa: SIM905 (a word list reads better than 29 lines)
)
ATTRIBUTES = frozenset(
    """display displaystyle scriptlevel mathvariant stretchy fence form separator accent
    accentunder largeop movablelimits symmetric lspace rspace minsize maxsize width height
    depth linethickness voffset columnspan rowspan""".split()  # noqa: SIM905
)

# mathvariant -> the word Unicode uses in the names of Mathematical Alphanumeric Symbols.
_VARIANTS = {
    "bold": "BOLD",
    "italic": "ITALIC",
    "bold-italic": "BOLD ITALIC",
    "double-struck": "DOUBLE-STRUCK",
    "script": "SCRIPT",
    "bold-script": "BOLD SCRIPT",
    "fraktur": "FRAKTUR",
    "bold-fraktur": "BOLD FRAKTUR",
    "sans-serif": "SANS-SERIF",
    "bold-sans-serif": "SANS-SERIF BOLD",
    "sans-serif-italic": "SANS-SERIF ITALIC",
    "sans-serif-bold-italic": "SANS-SERIF BOLD ITALIC",
    "monospace": "MONOSPACE",
}
_SIGNS = frozenset("+-−±∓")
_CLOSERS = frozenset(")]}|‖⟩")
_BIG_OPERATORS = frozenset("∑∏∐⋀⋁⋂⋃⨀⨁⨂⨄⨆")
_ACCENTS = {"^": "\u02c6", "~": "\u02dc"}
_TALL = frozenset({"mfrac", "msqrt", "mroot", "mtable", "mover"})
_SCRIPTED = frozenset({"msub", "msup", "msubsup", "munder", "mover", "munderover", "mroot"})
_LIMITS = {"msub": "munder", "msup": "mover", "msubsup": "munderover"}


class MathMLError(ValueError):
    """The LaTeX could not be turned into MathML Core."""


def mathml(latex: str, display: bool = False) -> str:
    """MathML Core for a LaTeX formula, as an inline or a block <math> element."""
    return ET.tostring(_core(latex, "block" if display else "inline"), encoding="unicode")


def display_pieces(latex: str) -> tuple[str, ...]:
    """A display formula as <math> pieces, one per top-level term, for lines to break between.

    Browsers do not break a <math> element across lines, so a long formula would run off
    a printed page. Cut before each + or - between top-level terms (where TeX breaks a
    long display too), each piece in display style, the page can wrap it like words.
    """
    root = _core(latex, "block")
    del root.attrib["display"]
    row = root
    while len(row) == 1 and row[0].tag == "mrow":
        row = row[0]
    groups: list[list[ET.Element]] = [[]]
    for previous, child in zip([None, *row], row, strict=False):
        if _is_binary_sign(child, previous) and groups[-1]:
            # First in its own <math>, the sign would be read as a prefix (unary) sign.
            child.set("form", "infix")
            groups.append([])
        groups[-1].append(child)
    return tuple(_piece(group) for group in groups)


def _piece(children: list[ET.Element]) -> str:
    # --width (in em) lets the stylesheet shrink a piece too wide for a line on its own.
    width = sum(map(width_em, children))
    piece = ET.Element("math", {"displaystyle": "true", "style": f"--width: {width:.1f}"})
    ET.SubElement(piece, "mrow").extend(children)
    return ET.tostring(piece, encoding="unicode")


def width_em(element: ET.Element) -> float:
    """A rough width of laid-out MathML in em, erring wide (scripts and limits at 3/4)."""
    tag, text = element.tag.removeprefix(_NS), element.text or ""
    parts = [width_em(child) for child in element]
    if tag in ("mi", "mn", "mtext", "ms"):
        return 0.6 * len(text)
    if tag == "mo":
        return 0.6 * len(text) + 0.5  # the space around an operator
    if tag in ("msub", "msup", "msubsup", "mroot"):
        return parts[0] + 0.75 * max(parts[1:], default=0) + (1.0 if tag == "mroot" else 0)
    if tag in ("munder", "mover", "munderover"):
        return max([parts[0]] + [0.75 * p for p in parts[1:]])
    if tag == "mfrac":
        return max(parts, default=0) + 0.3
    if tag == "msqrt":
        return sum(parts) + 1.0
    if tag == "mspace":
        return float(element.get("width", "0em").removesuffix("em") or 0)
    return sum(parts)


def _is_binary_sign(element: ET.Element, previous: ET.Element | None) -> bool:
    return (
        element.tag == "mo"
        and (element.text or "") in _SIGNS
        and previous is not None
        and not (previous.tag == "mo" and (previous.text or "") not in _CLOSERS)
    )


def _core(latex: str, display: str) -> ET.Element:
    try:
        root = ET.fromstring(convert(latex, display=display))
    except Exception as error:  # latex2mathml raises many types on malformed input
        raise MathMLError(f"cannot typeset {latex!r}: {error}") from error
    _to_core(root, display == "block")
    _check(root)
    return root


def styled(text: str, variant: str) -> str:
    """text in a Mathematical Alphanumeric style, e.g. ("1", "bold") -> U+1D7CF."""
    word = _VARIANTS.get(variant)
    return text if word is None else "".join(_styled_char(c, word) for c in text)


def _styled_char(char: str, word: str) -> str:
    name = unicodedata.name(char, "")
    for prefix in ("LATIN ", "GREEK ", ""):
        if name.startswith(prefix):
            name = name.removeprefix(prefix).replace("LETTER ", "")
            break
    # Letters Unicode encoded earlier (double-struck R, script B) keep their old code
    # points and leave a hole in the block; their names lack the MATHEMATICAL prefix.
    for candidate in (f"MATHEMATICAL {word} {name}", f"{word} {name}"):
        try:
            return unicodedata.lookup(candidate)
        except KeyError:
            continue
    return char


def _to_core(element: ET.Element, display: bool) -> None:
    tag = element.tag.removeprefix(_NS)
    for index, child in enumerate(element):
        # A fraction's parts and any script are set in text style, as in TeX.
        _to_core(child, display and tag != "mfrac" and (index == 0 or tag not in _SCRIPTED))
    variant = element.attrib.get("mathvariant")
    if variant and variant != "normal" and element.text:
        element.text = styled(element.text, variant)
        del element.attrib["mathvariant"]
    if tag == "mo" and element.text == "∂":
        # TeX sets \partial as a letter; as an operator it would get operator spacing.
        element.tag = f"{_NS}mi"
    if tag in _LIMITS and len(element) and _is_big_operator(element[0]):
        # TeX puts a big operator's limits under and over it in display style; Core
        # does the same with munder, and moves them to the side inline (movablelimits).
        element.tag = f"{_NS}{_LIMITS[tag]}"
    if tag == "mover" and element.get("accent") == "true" and len(element) == 2:
        # ASCII ^ and ~ are drawn wide (as \widehat); TeX's \hat is the small accent.
        accent = element[1]
        accent.text = _ACCENTS.get(accent.text or "", accent.text)
    if tag == "mrow" and _is_fenced(element) and not any(_is_tall(e, display) for e in element):
        # \left( ... \right) around one line of maths is an ordinary pair of parentheses in
        # TeX; a stretchy one gets extra space beside it in Chromium. (A sum's limits make
        # it tall only in display style; in text style they go beside the sign.)
        element[0].set("stretchy", "false")
        element[-1].set("stretchy", "false")
    if tag == "mrow" and len(element) > 1 and all(_is_upright_letter(c) for c in element):
        # \mathrm{mean} arrives as one upright <mi> per letter; a multi-letter <mi> is
        # one upright name, spaced as one.
        word = "".join(c.text or "" for c in element)
        element.clear()
        element.tag = f"{_NS}mi"
        element.text = word


def _is_fenced(row: ET.Element) -> bool:
    return (
        len(row) >= 2
        and all(e.tag == f"{_NS}mo" and e.get("fence") == "true" for e in (row[0], row[-1]))
        and row[0].get("form") == "prefix"
        and row[-1].get("form") == "postfix"
    )


def _is_tall(element: ET.Element, display: bool) -> bool:
    tag = element.tag.removeprefix(_NS)
    if tag in ("munder", "munderover"):
        return display or _is_tall(element[0], display)
    if tag == "mover" and element.get("accent") == "true":
        return _is_tall(element[0], display)
    return tag in _TALL or any(_is_tall(child, display) for child in element)


def _is_big_operator(element: ET.Element) -> bool:
    return element.tag == f"{_NS}mo" and (element.text or "") in _BIG_OPERATORS


def _is_upright_letter(element: ET.Element) -> bool:
    return (
        element.tag == f"{_NS}mi"
        and element.attrib.get("mathvariant") == "normal"
        and len(element.text or "") == 1
        and not len(element)
    )


def _check(root: ET.Element) -> None:
    # Also drops the namespace: the HTML parser puts <math> in it without an xmlns.
    for element in root.iter():
        tag = element.tag.removeprefix(_NS)
        if not element.tag.startswith(_NS) or tag not in ELEMENTS:
            raise MathMLError(f"unexpected element <{tag}> in MathML")
        unknown = set(element.attrib) - ATTRIBUTES
        if unknown:
            raise MathMLError(f"unexpected attribute {sorted(unknown)[0]} on <{tag}>")
        element.tag = tag
