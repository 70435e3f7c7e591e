"""The sentences a printable report says around its formulas, in one place for every format.

Each function returns plain text; the Markdown, LaTeX and HTML printers escape it.
"""

from __future__ import annotations

from bnverify.judge.records import ErrorCurve
from bnverify.language.names import gradient_of
from bnverify.report.printable.records import BackwardStep, CandidateSection

BACKWARD_INTRO = (
    "Derived by bnverify's engine from the forward pass above, node by node in reverse "
    "order. For each gradient: what flows back through each node that uses it (the chain "
    "rule), that sum simplified, and its closed form for every batch size N."
)
SIMPLIFIED = "The sum, simplified for every N:"
CLOSED_FORM = "In closed form, for every N:"
RESIDUAL = "Missing terms (truth minus candidate), for every N:"
NO_FIGURE = "The figure is written beside the report when the report goes to a file (-o report.md)."
TERMS = "The chain rule: what flows back into it through each node that uses it."


def upstream(step: BackwardStep) -> str:
    """What the report says of the given upstream gradient."""
    output = gradient_of(step.name) or step.name
    return f"Given: the upstream gradient, which defines the loss L = sum({step.name} * {output})."


def expectation(section: CandidateSection) -> str:
    """Whether the verdict is what the derivation file expected."""
    if section.ok:
        return f"as expected ({section.expect})"
    return f"not as expected: the file expects {section.expect}"


def conditions(section: CandidateSection) -> str:
    """When a diverging candidate would still hold."""
    if not section.conditions:
        return "Matches under none of the model's probes."
    return "Matches when: " + "; ".join(section.conditions) + "."


def shape_fix(section: CandidateSection) -> str | None:
    """The reduction that fixes a candidate's shape, when one does."""
    if section.shape_fix is None:
        return None
    fix = section.shape_fix
    return f"Shape: its {fix} over the batch ({fix}) gives the truth."


def caption(section: CandidateSection, curve: ErrorCurve) -> str:
    """The caption of a candidate's error figure."""
    return (
        f"Relative error of {section.name} against batch size N: |candidate - truth| / "
        f"max|truth| in float64, median and range over {curve.draws} random draws per N "
        "(log axes; an exact zero is not drawn)."
    )
