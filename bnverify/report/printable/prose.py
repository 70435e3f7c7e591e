"""The sentences a printable report says around its formulas, in one place for every format.

Each function returns plain text; the Markdown, LaTeX and HTML printers escape it.
"""

from __future__ import annotations

from bnverify.judge.records import Curve, Sweep
from bnverify.language.names import gradient_of
from bnverify.report.printable.records import BackwardStep, CandidateSection

ONE_AXIS = "N"  # the size of Batch Norm's one axis, which the sentences call the batch size


def forward_intro(sizes: str) -> str:
    """What the forward pass's equations are of; `sizes` as Model.size_list says them."""
    if sizes == ONE_AXIS:
        return "For each sample i of a batch of N:"
    return f"For each element, over every {sizes}:"


def backward_intro(sizes: str) -> str:
    """What the backward pass shows, and for which sizes."""
    every = "every batch size N" if sizes == ONE_AXIS else f"every {sizes}"
    return (
        "Derived by bnverify's engine from the forward pass above, node by node in reverse "
        "order. For each gradient: what flows back through each node that uses it (the chain "
        f"rule), that sum simplified, and its closed form for {every}."
    )


def simplified(sizes: str) -> str:
    """The label of a backward step's simplified sum."""
    return f"The sum, simplified for every {sizes}:"


def closed_form(sizes: str) -> str:
    """The label of a backward step's closed form."""
    return f"In closed form, for every {sizes}:"


def residual(sizes: str) -> str:
    """The label of a diverging candidate's missing terms."""
    return f"Missing terms (truth minus candidate), for every {sizes}:"


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
    """When a diverging candidate would still match, or a failing claim hold."""
    verb = "Holds" if section.kind == "fails" else "Matches"
    if not section.conditions:
        return f"{verb} under none of the model's probes."
    return f"{verb} when: " + "; ".join(section.conditions) + "."


def shape_fix(section: CandidateSection) -> str | None:
    """The reduction that fixes a candidate's shape, when one does."""
    if section.shape_fix is None:
        return None
    fix = section.shape_fix
    return f"Shape: its {fix} over the batch ({fix}) gives the truth."


def correction(said: str) -> str:
    """The sentence before a failing claim's correction."""
    return f"The correction: {said}."


def caption(section: CandidateSection, curve: Curve, sizes: str = ONE_AXIS) -> str:
    """The caption of a candidate's error figure, or of a claim's sweep."""
    if isinstance(curve, Sweep):
        return (
            f"The two sides of {section.name} against {curve.variable}, every other value "
            "as in the counterexample (the dotted line), shaded where the claim fails; "
            "float64, for the eye: the verdict rests on the exact counterexample."
        )
    if sizes == ONE_AXIS:
        against, per = "batch size N", "N"
    else:  # evidence.sweep_sizes: about n elements, every axis of the same size
        against, per = f"the number of elements n ({sizes} alike, about n in all)", "n"
    return (
        f"Relative error of {section.name} against {against}: |candidate - truth| / "
        f"max|truth| in float64, median and range over {curve.draws} random draws per {per} "
        "(log axes; an exact zero is not drawn)."
    )
