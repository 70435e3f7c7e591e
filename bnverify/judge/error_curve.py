"""How far a candidate is from the truth as the batch grows: relative error against N.

At each batch size the candidate and the truth are evaluated in float64 at the random
point the float64 layer uses (evidence.shared_float_point), whose channels are
independent draws of the inputs; the error of each draw is |candidate - truth| over the
largest |truth| (evidence.relative_errors). This measures, it never decides a verdict:
the verdict keeps the curve of a diverging candidate for the printable report to plot.
"""

from __future__ import annotations

import numpy as np

from bnverify.judge import budget
from bnverify.judge.evidence import relative_errors, shared_float_point, sweep_sizes
from bnverify.judge.records import Case, ErrorCurve


@budget.layer("float64")
def error_curve(case: Case) -> ErrorCurve:
    """The relative error of a resolved candidate for g_<wrt> at settings.curve_sizes."""
    settings = case.settings
    draws = settings.float_channels
    errors = np.array(
        [
            relative_errors(
                shared_float_point(case.truth, settings.seed, sweep_sizes(case.truth, n), draws),
                case.expr,
                case.wrt,
            )
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
