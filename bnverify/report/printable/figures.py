"""The error curve of a diverging candidate as a figure: SVG for HTML and Markdown, PDF for LaTeX.

Drawn with matplotlib on a Figure of its own (no pyplot state). The same curve always
gives the same bytes: SVG ids come from a fixed hash salt, and neither format records a
date. The plot is readable in black and white: the median is a solid line with markers,
the spread between the smallest and largest draw a grey band with dashed edges. No text
of a derivation file is drawn: the reporters print the caption.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from bnverify.judge.records import ErrorCurve

# Render settings that make output bytes depend on the curve alone.
STABLE = {"svg.hashsalt": "bnverify", "svg.fonttype": "path", "pdf.compression": 6}
WIDTH, HEIGHT = 6.0, 3.0  # inches: the text width of an A4 or Letter page


def svg(curve: ErrorCurve) -> str:
    """The curve as a standalone SVG document."""
    return _render(curve, "svg", {"Date": None}).decode("utf-8")


def pdf(curve: ErrorCurve) -> bytes:
    """The curve as a one-page PDF (for \\includegraphics)."""
    return _render(curve, "pdf", {"CreationDate": None, "ModDate": None})


def _render(curve: ErrorCurve, fmt: str, metadata: dict) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context(STABLE):
        _figure(curve).savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()


def _figure(curve: ErrorCurve) -> Figure:
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    axes = figure.add_subplot()
    sizes = np.array(curve.sizes, dtype=float)
    low, median, high = (_drawable(values) for values in (curve.low, curve.median, curve.high))
    axes.fill_between(sizes, low, high, color="0.88", linewidth=0)
    axes.plot(sizes, low, color="0.35", linestyle="--", linewidth=0.9)
    axes.plot(
        sizes,
        high,
        color="0.35",
        linestyle="--",
        linewidth=0.9,
        label=f"smallest and largest of {curve.draws} random draws",
    )
    axes.plot(sizes, median, color="black", marker="o", markersize=3.5, label="median")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    ticks = [n for n in curve.sizes if n & (n - 1) == 0 and n.bit_length() % 2 == 1]
    axes.set_xticks(ticks, [str(n) for n in ticks])
    axes.minorticks_off()
    if not np.isfinite(median).any() and not np.isfinite(high).any():
        axes.set_ylim(1e-17, 1.0)  # nothing measurable to draw: keep a sensible empty axis
    axes.set_xlabel("batch size N")
    axes.set_ylabel("relative error")
    axes.grid(True, color="0.85", linewidth=0.5)
    axes.legend(frameon=False, fontsize="small")
    return figure


def _drawable(values: tuple[float, ...]) -> np.ndarray:
    # A log axis has no place for an exact zero (or for inf/nan): those points are left out.
    array = np.array(values, dtype=float)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)
