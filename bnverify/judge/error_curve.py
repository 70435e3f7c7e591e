"""How far a candidate is from the truth as the batch grows: relative error against N.

At each batch size the candidate and the truth are evaluated in float64 at the random
point the float64 layer uses (evidence.shared_float_point), whose channels are
independent draws of the inputs; the error of each draw is |candidate - truth| over the
largest |truth| (evidence.relative_errors). This measures, it never decides a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bnverify.engine.truth import Truth
from bnverify.judge.evidence import relative_errors, shared_float_point
from bnverify.language.tree import Expr
from bnverify.settings import Settings


@dataclass(frozen=True)
class ErrorCurve:
    """Relative error of a candidate against batch size N over several random draws."""

    sizes: tuple[int, ...]
    median: tuple[float, ...]
    low: tuple[float, ...]  # smallest over the draws, per size
    high: tuple[float, ...]  # largest over the draws, per size
    draws: int


def error_curve(truth: Truth, expr: Expr, wrt: str, settings: Settings) -> ErrorCurve:
    """The relative error of a resolved candidate for g_<wrt> at settings.curve_sizes."""
    draws = settings.float_channels
    errors = np.array(
        [
            relative_errors(shared_float_point(truth, settings.seed, n, draws), expr, wrt)
            for n in settings.curve_sizes
        ]
    )
    return ErrorCurve(
        sizes=tuple(settings.curve_sizes),
        median=_floats(np.median(errors, axis=1)),
        low=_floats(np.min(errors, axis=1)),
        high=_floats(np.max(errors, axis=1)),
        draws=draws,
    )


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
