"""Make the math font that HTML reports embed: a WOFF2 subset of Latin Modern Math.

Run from the repository root after installing fonttools and brotli (`pip install
fonttools brotli`) and Debian's fonts-lmodern:

    python tools/subset_font.py [path/to/latinmodern-math.otf]

It writes bnverify/report/printable/fonts/bnverify-math.woff2. The subset keeps what MathML in a
report can show: text and Greek, operators, arrows, delimiters, and the whole
Mathematical Alphanumeric Symbols block (U+1D400-U+1D7FF), because browsers draw a
single-letter <mi> as its math italic code point there (x -> U+1D465); without the block
every variable would fall back to another font. It keeps the MATH table and every layout
feature, which stretchy delimiters, radicals, fraction rules, big operators and script
glyphs (ssty) need.

The GUST Font License asks that a derived font carry a new name, so the subset's family
is "bnverify Math" and the file is named after it; README-bnverify-math.txt beside it
says what was changed and where the original comes from.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

SOURCE = Path("/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf")
FONTS = Path(__file__).resolve().parent.parent / "bnverify/report/printable/fonts"
TARGET = FONTS / "bnverify-math.woff2"
FAMILY = "bnverify Math"

# Unicode ranges the subset keeps, inclusive.
RANGES = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x00FF),  # Latin-1 Supplement: times, middle dot, plus-minus, not
    (0x0131, 0x0131),  # dotless i
    (0x0237, 0x0237),  # dotless j
    (0x02C6, 0x02DC),  # spacing accents: circumflex, caron, tilde, breve, dot
    (0x0300, 0x036F),  # combining accents (hat, bar, tilde over a letter)
    (0x0391, 0x03F6),  # Greek, with the variant forms: lunate epsilon, theta, phi
    (0x2000, 0x206F),  # General Punctuation: primes, spaces, invisible operators
    (0x20D0, 0x20EF),  # combining marks for symbols: vector arrows
    (0x2100, 0x214F),  # Letterlike: the italic h (U+210E) fills a hole in U+1D400
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical Operators
    (0x2300, 0x23FF),  # Miscellaneous Technical: ceilings, floors, braces over/under
    (0x25A0, 0x25FF),  # Geometric Shapes: squares and triangles used as operators
    (0x27C0, 0x27FF),  # Misc Math Symbols-A and long arrows: angle brackets
    (0x2980, 0x2AFF),  # Misc Math Symbols-B and Supplemental Math Operators
    (0x1D400, 0x1D7FF),  # Mathematical Alphanumeric Symbols
)


def subset_font(source: Path, target: Path) -> None:
    """Write the WOFF2 subset of source to target, renamed and with its MATH table."""
    options = subset.Options()
    options.layout_features = ["*"]  # ssty, and whatever stretchy glyph lookups use
    options.flavor = "woff2"
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    options.hinting = False  # browsers ignore CFF hints at print resolutions
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for low, high in RANGES for c in range(low, high + 1)])
    subsetter.subset(font)
    assert "MATH" in font, "the MATH table did not survive subsetting"
    _rename(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, str(target), options)


def _rename(font: TTFont) -> None:
    # The GUST Font License requests a new name for a derived font (see module docstring).
    table = font["name"]
    postscript = FAMILY.replace(" ", "")
    for record in list(table.names):
        if record.nameID in (1, 4, 16, 21):
            table.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID in (6, 20):
            table.setName(postscript, record.nameID, record.platformID, record.platEncID, 0x409)
        elif record.nameID == 3:
            table.setName(f"{postscript}-subset", 3, record.platformID, record.platEncID, 0x409)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [postscript]
        cff.topDictIndex[0].FullName = FAMILY
        cff.topDictIndex[0].FamilyName = FAMILY


def main(argv: list[str]) -> int:
    """Subset the font named on the command line, or Debian's Latin Modern Math."""
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    if not source.is_file():
        print(f"{source}: not found; install Debian's fonts-lmodern", file=sys.stderr)
        return 1
    subset_font(source, TARGET)
    print(f"{TARGET}: {TARGET.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
