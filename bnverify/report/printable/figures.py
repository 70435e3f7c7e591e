"""A verdict's figure: SVG for HTML and Markdown, PDF for LaTeX.

A diverging candidate's error curve against N, or a failing inequality's two sides
against one of its numbers, with the region where it fails shaded.

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

from bnverify.judge.records import Curve, ErrorCurve, Sweep

# Render settings that make output bytes depend on the curve alone.
STABLE = {"svg.hashsalt": "bnverify", "svg.fonttype": "path", "pdf.compression": 6}
WIDTH, HEIGHT = 6.0, 3.0  # inches: the text width of an A4 or Letter page


def svg(curve: Curve) -> str:
    """The curve as a standalone SVG document."""
    return _render(curve, "svg", {"Date": None}).decode("utf-8")


def pdf(curve: Curve) -> bytes:
    """The curve as a one-page PDF (for \\includegraphics)."""
    return _render(curve, "pdf", {"CreationDate": None, "ModDate": None})


def _render(curve: Curve, fmt: str, metadata: dict) -> bytes:
    buffer = io.BytesIO()
    draw = _sweep_figure if isinstance(curve, Sweep) else _figure
    with matplotlib.rc_context(STABLE):
        draw(curve).savefig(buffer, format=fmt, metadata=metadata)  # type: ignore[arg-type]
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


def _sweep_figure(sweep: Sweep) -> Figure:
    """Both sides against the swept number (log axis), shaded where the claim fails."""
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    axes = figure.add_subplot()
    values = np.array(sweep.values, dtype=float)
    lhs, rhs = np.array(sweep.lhs, dtype=float), np.array(sweep.rhs, dtype=float)
    axes.fill_between(  # the full height of the axes, where the claim fails
        values,
        0,
        1,
        where=np.array(sweep.fails),
        transform=axes.get_xaxis_transform(),
        color="0.88",
        linewidth=0,
        label="where the claim fails",
    )
    axes.plot(values, lhs, color="black", linewidth=1.2, label="left side")
    axes.plot(values, rhs, color="0.35", linestyle="--", linewidth=1.2, label="right side")
    axes.axvline(sweep.at, color="0.5", linewidth=0.7, linestyle=":")
    axes.set_xscale("log")
    # Both signs and many magnitudes: linear near zero, logarithmic past the smallest
    # magnitude drawn.
    both = np.concatenate([lhs, rhs])
    magnitudes = np.abs(both[np.isfinite(both) & (both != 0)])
    if magnitudes.size and (both[np.isfinite(both)] > 0).all():
        axes.set_yscale("log")
    elif magnitudes.size:
        axes.set_yscale("symlog", linthresh=float(magnitudes.min()))
    axes.set_xlabel(sweep.variable)
    axes.grid(True, color="0.85", linewidth=0.5)
    axes.legend(frameon=False, fontsize="small")
    return figure


def _drawable(values: tuple[float, ...]) -> np.ndarray:
    # A log axis has no place for an exact zero (or for inf/nan): those points are left out.
    array = np.array(values, dtype=float)
    return np.where(np.isfinite(array) & (array > 0), array, np.nan)
