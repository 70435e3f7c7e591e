"""Deciding a claim: `holds` only with a proof, `fails` only with an exact counterexample.

The two sides (judge/claim_sides.py) are values of the every-size field (engine/general.py),
so a claim whose sides are the same value holds for every size wherever both are defined.
An inequality holds when the difference of its sides, factored, is a product of squares
and of factors positive by construction (sizes, declared or assumed positive names,
sqrt(var + eps) with eps > 0 written back), which is a proof. Otherwise the claim is
searched for an exact rational point where it is false: small and large sizes, values
near zero (so sigma < 1) and large steps, random downstream Hessians of both signs. Found,
it fails with that point; not found, it is undecided, and the verdict says what was tried.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from bnverify.engine.arithmetic import Inexact, Undefined
from bnverify.engine.evaluate import Hessian, Point, evaluate
from bnverify.engine.field import Value
from bnverify.engine.general import General, Unsupported, general_point
from bnverify.engine.sampling import GRID, WIDE, Space, exact_point, sizes_of, with_hessian
from bnverify.engine.truth import Truth, truth_of
from bnverify.files.derivation import Candidate, NotationEntry
from bnverify.judge import budget, corrections, proof
from bnverify.judge.claim_sides import Sides, claim_sides
from bnverify.judge.evidence import column, shown
from bnverify.judge.records import Correction, Counterexample, Layer, Verdict
from bnverify.language.names import hessian_name
from bnverify.language.tree import Formula
from bnverify.model.graph import Model
from bnverify.problem import Problem
from bnverify.settings import Settings

# Where the search looks, as a person would: sizes from one sample up, values near zero
# (a small variance: sigma < 1), the usual grid, and wide values; free numbers such as a
# step size small, one and large. Every point is exact; none of this ever proves a claim.
SEARCH_SIZES = (1, 2, 3, 4)
TINY = Space(1, 20)
SPACES = (GRID, TINY, WIDE)
SCALES = (Fraction(1), Fraction(1, 100), Fraction(100))
DRAWS = 3
# The relation as the difference that must be >= 0 (or > 0, or = 0): left minus right.
SIGN = {"=": 1, ">": 1, ">=": 1, "<": -1, "<=": -1}
WORDS = {"=": "=", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass(frozen=True)
class Proof:
    """What the every-size field found about a claim's sides."""

    holds: bool
    detail: str


def judge_claim(
    candidate: Candidate,
    parsed: Formula,
    notation: tuple[NotationEntry, ...],
    model: Model,
    settings: Settings,
) -> Verdict | Problem:
    """Decide a parsed claim: holds (proved), fails (exact counterexample) or undecided."""
    assert candidate.claim is not None
    sides = claim_sides(parsed, candidate.claim, notation, model, candidate.syntax)
    if isinstance(sides, Problem):
        return sides
    truth = truth_of(sides.model, sides.freeze)
    proved = _proof(sides, truth)
    layer = Layer("proof", "equal" if proved.holds else "unavailable", proved.detail)
    if proved.holds:
        return Verdict(candidate, "holds", proved.detail, evidence=(layer,))
    found = _search(sides, truth)
    if found is not None:
        where, counter = found
        exact = Layer("search", "different", where)
        fix = _correction(sides, truth, candidate.text)
        return Verdict(
            candidate,
            "fails",
            where,
            evidence=(layer, exact),
            counterexample=counter,
            correction=fix,
        )
    tried = f"not proved ({proved.detail}), and no exact counterexample among {_searched(sides)}"
    return Verdict(candidate, "undecided", tried, evidence=(layer,))


# --- The proof -------------------------------------------------------------------------


@budget.layer("proof")
def _proof(sides: Sides, truth: Truth) -> Proof:
    point = _general(sides, truth)
    try:
        difference = point.evaluate(sides.lhs) - point.evaluate(sides.rhs)
    except (Unsupported, ArithmeticError) as why:
        return Proof(False, f"the sides have no every-size form here: {why}")
    difference = difference if SIGN[sides.relation] > 0 else -difference
    scope = _scope(sides)
    if difference.is_zero():
        said = "the two sides are identical" if sides.relation == "=" else "equality holds"
        return Proof(sides.relation != ">" and sides.relation != "<", f"{said} {scope}")
    if sides.relation == "=":
        return Proof(False, "the two sides differ as formulas")
    strict = sides.relation in (">", "<")
    if _signed(point, difference, strict):
        kind = "positive" if strict else "never negative"
        said = f"their difference is {kind}: a product of squares and positive factors"
        return Proof(True, f"{said}, {scope}")
    return Proof(False, "the difference of the sides is not a product of squares and positives")


def _general(sides: Sides, truth: Truth) -> General:
    """The every-size point of the claim, with its `set` names fixed."""
    point = general_point(sides.model, truth.gradients)
    for name, value in sides.settings:
        point = proof.with_constant(point, name, value)
    return point


def _scope(sides: Sides) -> str:
    sizes = sides.model.size_list
    values = f" and every value of {', '.join(sides.free)}" if sides.free else ""
    fixed = "".join(f" with {name} = {value}" for name, value in sides.settings)
    return f"for every {sizes}{values}{fixed} where both sides are defined"


def _signed(point: General, value: Value, strict: bool) -> bool:
    """Whether a value is >= 0 (> 0 when strict) by construction, factor by factor."""
    field = point.field
    for poly in (field.lift(value.num), field.lift(value.den)):
        content, factors = poly.factor()
        if content < 0:
            return False
        for factor, power in factors:
            if power % 2 == 0 and not strict:
                continue
            part = Value(field, factor)
            if strict and not proof._positive(point, part):
                return False
            if not strict and not (proof._never_negative(point, part) or _termwise(point, factor)):
                return False
    return True


def _termwise(point: General, poly: Any) -> bool:
    """Whether every term of a polynomial is >= 0: a positive coefficient times generators
    each positive, raised to an even power, or a sum of squares (sum(g_y^2))."""
    field = point.field
    names = field.lift(poly).context().names()
    for exponents, coeff in field.lift(poly).to_dict().items():
        if coeff <= 0:
            return False
        for name, power in zip(names, exponents, strict=True):
            if power and power % 2 and name not in field.positive and not _squares(point, name):
                return False
    return True


def _squares(point: General, name: str) -> bool:
    """Whether a generator is a sum, over some axes, of a monomial of even powers."""
    atom = point.atoms.sums.get(name)
    return (
        atom is not None
        and atom.monomial is not None
        and all(power % 2 == 0 for _, power in atom.monomial)
    )


@budget.layer("diagnosis")
def _correction(sides: Sides, truth: Truth, text: str) -> Correction | None:
    point = _general(sides, truth)
    try:
        return corrections.correction(sides, truth, point, text)
    except (Unsupported, ArithmeticError):
        return None


# --- The search ------------------------------------------------------------------------


@budget.layer("search")
def _search(sides: Sides, truth: Truth) -> tuple[str, Counterexample] | None:
    for at in _points(sides, truth):
        found = _violated(sides, truth, at)
        if found is not None:
            return found
    return None


def _points(sides: Sides, truth: Truth) -> Iterator[Point]:
    model = sides.model
    scalars = [n for n in sides.free if not model.shape_of[n]]
    for n, space in itertools.product(SEARCH_SIZES, SPACES):
        for draw in range(DRAWS):
            rng = np.random.default_rng(1000 * n + draw)
            for scales in itertools.islice(itertools.product(SCALES, repeat=len(scalars)), 9):
                fixed = dict(sides.settings)
                at = exact_point(model, truth.definitions, n, 1, rng, fixed, space)
                if scalars:
                    changed = {
                        name: at.leaves[name] * scale
                        for name, scale in zip(scalars, scales, strict=True)
                    }
                    at = at.with_leaves(**changed)
                if sides.second_order:
                    at = with_hessian(model, at, rng, space)
                yield at


def _violated(sides: Sides, truth: Truth, at: Point) -> tuple[str, Counterexample] | None:
    try:
        lhs = np.asarray(evaluate(sides.lhs, at), dtype=object)
        rhs = np.asarray(evaluate(sides.rhs, at), dtype=object)
    except (Undefined, Inexact):
        return None  # undefined there, or irrational: another point may do
    lhs, rhs = np.broadcast_arrays(lhs, rhs)
    pairs = enumerate(zip(lhs.flat, rhs.flat, strict=True))
    broken = [i for i, (a, b) in pairs if not _holds(a, b, sides.relation)]
    if not broken:
        return None
    model = sides.model
    leaves = shown(truth, at)
    counter = Counterexample(
        sizes=tuple((at.size_names[axis], n) for axis, n in at.sizes.items()),
        inputs=(
            *((leaf, column(at.leaves[leaf])) for leaf in leaves),
            *_hessian_entries(model, at),
        ),
        truth=column(lhs),
        candidate=column(rhs),
        shapes=(),
        labels=("left side", "right side"),
    )
    first = broken[0]
    a, b = lhs.flat[first], rhs.flat[first]
    where = model.at_sizes(sizes_of(model, at.sizes).items())
    said = f"at {where} the left side is {_text(a)} and the right side {_text(b)}"
    return said, counter


def _hessian_entries(model: Model, at: Point) -> list[tuple[str, tuple[str, ...]]]:
    """The downstream Hessian's entries on and above its diagonal, one number each:
    H_y[1,2] (the matrix is symmetric), numbered over the output's elements."""
    leaf = at.leaves.get(hessian_name(model.output))
    if not isinstance(leaf, Hessian):
        return []
    name = hessian_name(model.output)
    count = leaf.matrix.shape[-1]
    return [
        (f"{name}[{i + 1},{j + 1}]", column(leaf.matrix[..., i, j]))
        for i in range(count)
        for j in range(i, count)
    ]


def _holds(a: Any, b: Any, relation: str) -> bool:
    return {
        "=": a == b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[relation]


def _text(value: Any) -> str:
    return column(value)[0]


def _searched(sides: Sides) -> str:
    sizes = ", ".join(map(str, SEARCH_SIZES))
    free = ", the claim's numbers scaled by 1/100 and 100" if sides.free else ""
    hessian = ", random downstream Hessians of both signs" if sides.second_order else ""
    return f"{sides.model.size_list} = {sizes} with small, usual and wide values{free}{hessian}"
