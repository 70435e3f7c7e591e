"""Why a candidate diverges: shape, missing terms, a small counterexample, conditions.

- shape: a per-sample formula for a per-channel gradient is tried with the reductions
  (sum, mean) that would fix it;
- residual: truth minus candidate, simplified for every N (the missing terms);
- counterexample: the simplest small exact point where the two differ;
- conditions: the model's probes (eps = 0, statistics held constant, N = 1, ...) under
  which the candidate would be right.
Each takes one Case: the candidate's formula, the truth and the settings, bound once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from bnverify.engine import printing as printing
from bnverify.engine.sampling import small_points
from bnverify.judge import budget, proof
from bnverify.judge.evidence import counterexample_from
from bnverify.judge.records import Case, Counterexample, Residual
from bnverify.language.operators import Op
from bnverify.language.shapes import SCALAR, Shape
from bnverify.language.tree import Apply
from bnverify.model.graph import Model, Probe

# The reductions that may fix a candidate's shape, tried in order, and how each is said.
REDUCTIONS = {Op.SUM: "summing it over {axes}", Op.MEAN: "averaging it over {axes}"}


def over(model: Model, axes: tuple[str, ...]) -> str:
    """Axes in the model's words: "the features", "the samples and positions"; a model
    of one axis of samples says "the batch"."""
    if len(model.axes) == 1 and model.axes[0].word == "sample":
        return "the batch"
    words = {axis.name: _plural(axis.word) for axis in model.axes}
    return "the " + " and ".join(words[axis] for axis in axes)


def _plural(word: str) -> str:
    return word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


@dataclass(frozen=True)
class ShapeFinding:
    """A shape mismatch, the reduction that fixes it (if any), and it in plain words."""

    message: str
    fix: str | None
    headline: str


@budget.layer("shape")
def shape_finding(case: Case, shape: Shape) -> ShapeFinding | None:
    """None when shapes agree; else what is wrong and which reduction (if any) fixes it."""
    wrt, model = case.wrt, case.truth.model
    want = case.truth.shape(wrt)
    if shape == want:
        return None
    it, truth = model.describe(shape), model.describe(want)
    said = f"it is {it}, but the gradient with respect to {wrt} is {truth}"
    plain = f"{it} where the gradient is {truth}"
    extra = model.in_order(shape - want)
    if shape == SCALAR or not want <= shape:
        return ShapeFinding(said, None, plain)
    written = extra if len(model.axes) > 1 else ()
    for reduction, how in REDUCTIONS.items():
        how = how.format(axes=over(model, extra))
        if agrees(case.trying(Apply(reduction, (case.expr,), axes=written))):
            fixed = f"{said}; {how} ({reduction}) gives the truth"
            return ShapeFinding(fixed, reduction, f"{plain}; {how} gives the truth")
    return ShapeFinding(
        f"{said}, and neither its sum nor its mean over {over(model, extra)} matches", None, plain
    )


def agrees(case: Case) -> bool:
    """Whether the case's formula is proved equal to g_<wrt> for every N."""
    return proof.proved_equal(case)


@budget.layer("diagnosis")
def residual(case: Case) -> Residual | None:
    """Truth minus candidate, simplified, valid for every batch size (None if undefined)."""
    truth = case.truth
    algebra = truth.algebra
    difference = sp.expand(algebra.convert(truth.formula(case.wrt)) - algebra.convert(case.expr))
    if difference.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return None  # the candidate divides by zero for every input
    # Factored, so a common factor shows: (N - 1)*(...) for a formula N times the truth.
    simplified = _factored(sp.together(difference))
    try:
        return Residual(
            printing.ascii(simplified), printing.latex(simplified, truth.model, algebra)
        )
    except ValueError:  # Python will not print an integer of more than 4,300 digits
        return None


def _factored(expr: sp.Expr) -> sp.Expr:
    """The residual with its numerator factored over the rationals (collected, if not)."""
    num, den = sp.fraction(expr)
    try:
        num = sp.factor(num)
    except (sp.PolynomialError, NotImplementedError):
        num = sp.factor_terms(num)
    return sp.factor_terms(num / den)


@budget.layer("diagnosis")
def counterexample(case: Case) -> Counterexample | None:
    """The first small exact point, smallest batch first, where the two differ."""
    truth = case.truth
    for n in case.settings.counterexample_sizes:
        for point in small_points(truth.model, truth.definitions, n):
            # Compare numbers, not shapes: a shape mismatch is reported on its own, and a
            # counterexample should show values that differ.
            found = counterexample_from(point, case, by_value=True)
            if found is not None:
                return found
    return None


def defined_sizes(undefined_at: tuple[tuple[str, int], ...]) -> str:
    """The condition "N >= k" (or "N is not ...") for a candidate undefined at some sizes."""
    said = []
    for name in dict.fromkeys(size for size, _ in undefined_at):
        sizes = sorted(n for size, n in undefined_at if size == name)
        if sizes == list(range(1, max(sizes) + 1)):
            said.append(f"{name} ≥ {max(sizes) + 1}")
        else:
            said.append(f"{name} is not " + ", ".join(str(n) for n in sizes))
    return " and ".join(said)


# How a constant ratio candidate / truth is said in a headline; others as "c times".
RATIO_WORDS: dict[sp.Expr, str] = {
    sp.Integer(2): "twice the truth",
    sp.Integer(3): "three times the truth",
    sp.Rational(1, 2): "half the truth",
    sp.Integer(-1): "the truth with the sign flipped",
    sp.Integer(0): "zero where the truth is not",
}


@budget.layer("diagnosis")
def ratio_headline(case: Case) -> str | None:
    """'N times the truth', 'twice the truth', ...: when the ratio is a number or of N."""
    ratio = proof.ratio_to_truth(case)
    if ratio is None:
        return None
    size = next(iter(ratio.free_symbols), None)
    if ratio in RATIO_WORDS:
        return RATIO_WORDS[ratio]
    if size is not None and ratio == size:
        return f"{size} times the truth"
    if size is not None and ratio == 1 / size:
        return f"the truth divided by {size}"
    if ratio.is_number:
        return f"{sp.sstr(ratio)} times the truth"
    return f"the truth times {sp.sstr(ratio)}"


def headline(
    case: Case,
    shape: str | None,
    holding: tuple[Probe, ...],
    undefined_at: tuple[tuple[str, int], ...],
) -> str:
    """The first line of a diverging verdict in plain words, from its strongest finding."""
    if shape is not None:
        return shape
    if undefined_at:
        sizes = ", ".join(f"{name} = {n}" for name, n in undefined_at)
        return f"right wherever it is defined, but it is undefined at {sizes}"
    said = ratio_headline(case)
    if said is not None:
        return said
    # A condition on the inputs, not on the batch size: at N = 1 every formula through a
    # batch statistic collapses, which says little.
    telling = [probe.condition for probe in holding if not probe.sized]
    if telling:
        return f"right only when {telling[0]}"
    return "misses these terms"


@budget.layer("diagnosis")
def holding(case: Case) -> tuple[Probe, ...]:
    """The model's probes under which the candidate is proved equal to the truth."""
    return tuple(p for p in case.truth.model.probes if _holds(case, p))


def conditions(case: Case) -> tuple[str, ...]:
    """The conditions (as the model words them) under which the candidate matches."""
    return tuple(p.condition for p in holding(case))


def _holds(case: Case, probe: Probe) -> bool:
    return proof.equal_under(case, probe)
