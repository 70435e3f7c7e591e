"""Error figures: SVG and PDF, the same bytes for the same curve, in this and another process."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from bnverify.judge.error_curve import ErrorCurve
from bnverify.report.printable import figures

CURVE = ErrorCurve(
    sizes=(1, 2, 4, 16, 256, 4096),
    median=(400.0, 3.0, 2.0, 0.5, 0.2, 0.1),
    low=(100.0, 1.0, 0.1, 0.2, 0.04, 0.01),
    high=(1200.0, 8.0, 5.0, 2.4, 0.7, 0.4),
    draws=16,
)
SVG_IN_ANOTHER_PROCESS = """
import json, sys
from bnverify.judge.error_curve import ErrorCurve
from bnverify.report.printable import figures
sizes, median, low, high, draws = json.loads(sys.argv[1])
curve = ErrorCurve(tuple(sizes), tuple(median), tuple(low), tuple(high), draws)
sys.stdout.write(figures.svg(curve))
"""


def test_svg_is_byte_identical_for_the_same_curve():
    assert figures.svg(CURVE) == figures.svg(CURVE)


def test_svg_is_byte_identical_in_another_process():
    fields = json.dumps([CURVE.sizes, CURVE.median, CURVE.low, CURVE.high, CURVE.draws])
    other = subprocess.run(
        [sys.executable, "-c", SVG_IN_ANOTHER_PROCESS, fields],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert other == figures.svg(CURVE)


def test_svg_is_a_dateless_svg_document_that_depends_on_the_curve():
    drawn = figures.svg(CURVE)
    root = ET.fromstring(drawn.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<dc:date>" not in drawn
    other = ErrorCurve(CURVE.sizes, (1.0,) * 6, CURVE.low, CURVE.high, 16)
    assert figures.svg(other) != drawn


def test_pdf_is_byte_identical_and_dateless():
    first = figures.pdf(CURVE)
    assert first.startswith(b"%PDF-")
    assert first == figures.pdf(CURVE)
    assert b"CreationDate" not in first and b"ModDate" not in first


def test_zero_and_infinite_errors_are_left_out_not_fatal():
    # A candidate can be exact at N = 1 (error 0) or undefined somewhere (inf, nan).
    curve = ErrorCurve((1, 2, 4), (0.0, float("inf"), 0.5), (0.0, 1.0, 0.1), (0.0, 2.0, 1.0), 4)
    assert figures.svg(curve).startswith("<?xml")
    nothing = ErrorCurve((1, 2), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0), 4)
    assert figures.pdf(nothing).startswith(b"%PDF-")
