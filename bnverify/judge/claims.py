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
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from bnverify.engine import arithmetic, second_check, signs
from bnverify.engine.arithmetic import FLOAT, Inexact, Undefined
from bnverify.engine.evaluate import Hessian, Point, evaluate
from bnverify.engine.field import Value
from bnverify.engine.general import ROOT, General, Unsupported, general_point
from bnverify.engine.sampling import (
    GRID,
    WIDE,
    Space,
    exact_point,
    fixes_square,
    sizes_of,
    square_base,
    with_hessian,
)
from bnverify.engine.truth import Truth, truth_of
from bnverify.files.derivation import Candidate, NotationEntry
from bnverify.judge import budget, corrections, evidence, proof
from bnverify.judge.claim_sides import Sides, claim_sides
from bnverify.judge.evidence import column
from bnverify.judge.evidence import shown as shown_leaves
from bnverify.judge.records import (
    EQUAL,
    FAILED,
    Case,
    Correction,
    Counterexample,
    Layer,
    Sweep,
    Verdict,
)
from bnverify.language import tree
from bnverify.language.names import gradient_of, hessian_name
from bnverify.language.operators import Op
from bnverify.language.tree import COMPARISONS, Apply, Expr, Formula, Num, Sym
from bnverify.model.graph import Model, Probe
from bnverify.problem import Problem
from bnverify.settings import Settings

# Where the search looks, as a person would: sizes from one sample up, small values (a
# small variance: sigma < 1), the usual grid, wide values and values near zero (sigma
# down to 1e-6); free numbers such as a step size small, one and large. Every point is
# exact; none of this ever proves a claim.
SEARCH_SIZES = (1, 2, 3, 4)
TINY = Space(1, 20)
EXTREME = Space(1, 10**6)  # values and sigma down to 1e-6: a claim false only near 0
SPACES = (GRID, TINY, WIDE, EXTREME)
SCALES = (Fraction(1), Fraction(1, 100), Fraction(100))
DRAWS = 3
# The relation as the difference that must be >= 0 (or > 0, or = 0): left minus right.
SIGN = {"=": 1, ">": 1, ">=": 1, "<": -1, "<=": -1}


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
    truth_proof = _truth_layer(sides, truth, settings)
    if truth_proof is not None and truth_proof.outcome == FAILED:
        return Problem(truth_proof.detail)
    relied = (truth_proof,) if truth_proof is not None else ()
    proved = _proof(sides, truth)
    layer = Layer("proof", "equal" if proved.holds else "unavailable", proved.detail)
    if proved.holds:
        return Verdict(candidate, "holds", proved.detail, evidence=(*relied, layer))
    found = _search(sides, truth)
    if found is not None:
        where, counter, at = found
        where += _free_note(sides)
        exact = Layer("search", "different", where)
        fix = _correction(sides, truth, candidate.text)
        return Verdict(
            candidate,
            "fails",
            where,
            evidence=(*relied, layer, exact),
            counterexample=counter,
            correction=fix,
            curve=_sweep(sides, at),
            conditions=_conditions(sides),
        )
    tried = f"not proved ({proved.detail}), and no exact counterexample among {_searched(sides)}"
    return Verdict(candidate, "undecided", tried, evidence=(*relied, layer))


@cache
def _second_order_checked(model: Model, wrt: str, freeze: tuple[str, ...]) -> Any:
    """The engine's Hessian in wrt against SymPy's, once per model in a worker (1 s for
    Batch Norm in training mode): a claim's own names take no part in it."""
    return second_check.check_second_order(model, wrt, freeze)


def _held_as_inputs(model: Model, freeze: tuple[str, ...]) -> Model:
    """The model with the held nodes as inputs of their own: its gradients are the held
    truth's formulas, and it has a loss whose derivative they are (so they are proved)."""
    shapes = dict(model.node_shapes)
    inputs = (*model.inputs, *((name, shapes[name]) for name in freeze))
    nodes = tuple((name, expr) for name, expr in model.nodes if name not in freeze)
    node_shapes = tuple((n, s) for n, s in model.node_shapes if n not in freeze)
    return replace(model, inputs=inputs, nodes=nodes, node_shapes=node_shapes)


@budget.layer("truth")
def _truth_layer(sides: Sides, truth: Truth, settings: Settings) -> Layer | None:
    """The proof of the truth the claim relies on, as a candidate's: each engine gradient it
    names, for every size; each Hessian it takes, against SymPy's at every size with at
    most 4 elements (engine/second_check.py). None when it names neither."""
    model = sides.model
    named = tree.names(sides.lhs) | tree.names(sides.rhs)
    used = sorted(
        target
        for name in named
        if name != model.upstream and (target := gradient_of(name)) is not None
    )
    first = None
    if used:
        both = Apply(Op.ADD, (sides.lhs, sides.rhs))  # only its names are read
        held = truth_of(_held_as_inputs(model, sides.freeze)) if sides.freeze else truth
        first = evidence.truth_layer(Case(held, both, used[0], settings))
        if first.outcome == FAILED:
            return first
    for wrt in sides.hessians:
        checked = _second_order_checked(sides.base or model, wrt, sides.freeze)
        if checked.differs_at is not None:
            at = model.at_sizes(checked.differs_at.items())
            message = f"the engine's Hessian of L in {wrt} differs from SymPy's at {at}: a bug"
            return Layer("truth", FAILED, message)
    if sides.hessians:
        said = ", ".join(sides.hessians)
        detail = f"the Hessian of L in {said} is SymPy's element-wise one wherever N <= 4"
        return Layer("truth", EQUAL, f"{first.detail}; {detail}" if first else detail)
    return first


# --- The proof -------------------------------------------------------------------------


@budget.layer("proof")
def _proof(sides: Sides, truth: Truth) -> Proof:
    point = _general(sides, truth)
    try:
        lhs, rhs = point.evaluate(sides.lhs), point.evaluate(sides.rhs)
    except (Unsupported, ArithmeticError) as why:
        return Proof(False, f"the sides have no every-size form here: {why}")
    found = _decided(sides, point, lhs - rhs, _scope(sides))
    if found.holds or sides.relation == "=" or not _never_negative(sides):
        return found
    # Two sides never negative (norms, |gamma|/sigma) compare as their squares do.
    squared = _decided(sides, point, lhs * lhs - rhs * rhs, _scope(sides))
    if squared.holds:
        return Proof(True, f"both sides are never negative, and of their squares {squared.detail}")
    return found


def _never_negative(sides: Sides) -> bool:
    """Whether both sides are >= 0 by construction (signs of the model's names)."""
    model = sides.model
    return all(signs.sign(side, model) >= signs.Sign.NONNEGATIVE for side in (sides.lhs, sides.rhs))


def _free_note(sides: Sides) -> str:
    """A reminder that the claim's own names are free numbers, not the model's."""
    own = [name for name in sides.free if name not in sides.model.positive]
    if not own:
        return ""
    listed = ", ".join(own)
    return (
        f" ({listed}: no name of the model, so a free number of the claim; map it in "
        "[notation] if the model has it)"
    )


def _decided(sides: Sides, point: General, difference: Value, scope: str) -> Proof:
    """What the difference of the two sides (left minus right) proves of the relation."""
    difference = difference if SIGN[sides.relation] > 0 else -difference
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


@budget.layer("diagnosis")
def _conditions(sides: Sides) -> tuple[str, ...]:
    """The model's probes (batch statistics held, eps = 0, ...) under which a failing claim
    is proved to hold, as a diverging candidate's `matches when`."""
    return tuple(p.condition for p in sides.model.probes if _holds_under(sides, p))


def _holds_under(sides: Sides, probe: Probe) -> bool:
    freeze = tuple(dict.fromkeys((*sides.freeze, *probe.freeze)))
    probed = replace(sides, settings=(*sides.settings, *probe.set))
    try:
        point = _general(probed, truth_of(sides.model, freeze))
        difference: Value | None = point.evaluate(sides.lhs) - point.evaluate(sides.rhs)
        for expr, value in probe.hold:
            held = proof.held(point, difference, expr, value) if difference is not None else None
            difference = held
        for axis, size in probe.sizes:
            if difference is not None:
                difference = proof.at_size(point, difference, axis, size)
    except (Unsupported, ArithmeticError):
        return False
    return difference is not None and _decided(sides, point, difference, "").holds


def _general(sides: Sides, truth: Truth) -> General:
    """The every-size point of the claim, with its `set` names fixed."""
    point = general_point(sides.model, truth.gradients)
    for name, value in sides.settings:
        point = proof.with_constant(point, name, value)
    return point


def _scope(sides: Sides) -> str:
    sizes = sides.model.size_list
    values = f" and every value of {', '.join(sides.free)}" if sides.free else ""
    values += "".join(f" and every direction {name}" for name in sides.directions)
    fixed = "".join(f" with {name} = {value}" for name, value in sides.settings)
    return f"for every {sizes}{values}{fixed} where both sides are defined"


def _signed(point: General, value: Value, strict: bool) -> bool:
    """Whether a value is >= 0 (> 0 when strict) by construction, factor by factor; a
    non-strict one also with the variance as a generator of its own."""
    if _factors_signed(point, value, strict):
        return True
    again = None if strict else _statistic_as_generator(point, value)
    return again is not None and _factors_signed(point, again, strict)


def _factors_signed(point: General, value: Value, strict: bool) -> bool:
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


def _statistic_as_generator(point: General, value: Value) -> Value | None:
    """The value with the square rule's base (Batch Norm's var), nonnegative by its
    construction, as a generator V of its own, and r^2 = var + eps as V + E, E > 0.

    var = sum(z^2)/N - sum(z)^2/N^2 is linear in one of its sums, which is solved for: the
    substitution is an identity, and a value provably never negative for every V >= 0,
    E > 0 and r > 0 (where an odd power of r is left) is never negative at the model's
    own var and eps. Only for a non-strict
    inequality: V may be 0. None when the model has no such base or it cannot be solved.
    """
    model, field = point.model, point.field
    square, base = model.square, point.square_base
    if square is None or base is None or not _nonnegative_base(model):
        return None
    variance = field.gen(f"{square.solve}#base", positive=True)
    constant = field.gen(f"{square.solve}#positive", positive=True)
    for gen in sorted(field.uses(field.lift(base.num))):
        slope = field.partial(base, gen)
        if slope.is_zero() or not field.partial(slope, gen).is_zero():
            continue  # base is not linear in this sum
        if not (field.provably_positive(slope.num) and field.provably_positive(slope.den)):
            continue  # solving would divide by what may be zero
        rest = base - slope * field.gen(gen)
        solved = (variance - rest) / slope
        try:
            again = field.substitute(value, gen, solved)
            # r^2 = var + eps with eps > 0; r stays where it is an odd power, positive.
            again = field.substitute_square(again, ROOT, variance + constant)
            return _centered(point, again)
        except ArithmeticError:
            return None
    return None


def _centered(point: General, value: Value) -> Value:
    """The value in centered sums: each sum(m z) over some axes, z an input whose plain
    sum sum(z) is an atom there, as (C + sum(z) sum(m)) / n with C = n sum(m (z - mean z))
    a generator of its own. An identity (Batch Norm's <g_y, zhat> is such a C over the
    root), under which a sum of squares in the centered quantities shows term by term."""
    field, atoms = point.field, point.atoms
    plain = {
        (found.axes, found.monomial[0][0]): atom
        for atom, found in atoms.sums.items()
        if found.monomial is not None and len(found.monomial) == 1 and found.monomial[0][1] == 1
    }
    for atom, found in list(atoms.sums.items()):
        if found.monomial is None or len(found.monomial) < 2:
            continue
        for name, power in found.monomial:
            total = plain.get((found.axes, name))
            rest = tuple((n, p) for n, p in found.monomial if n != name)
            other = atoms.sum_of(found.axes, rest)
            if power != 1 or total is None or other is None:
                continue
            count = point.count(tuple(a for a in point.model.order if a in found.axes))
            centered = field.gen(f"{atom}#centered")
            value = field.substitute(
                value, atom, (centered + field.gen(total) * field.gen(other)) / count
            )
            break
    return value


def _nonnegative_base(model: Model) -> bool:
    """Whether the square rule's expression with its constant at 0 is >= 0 by construction."""
    assert model.square is not None
    base = _zeroed(model.square.expr, model.square.solve)
    return signs.sign(base, model) >= signs.Sign.NONNEGATIVE


def _zeroed(expr: Expr, name: str) -> Expr:
    """The tree with a name replaced by 0."""
    match expr:
        case Sym(name=found) if found == name:
            return Num(Fraction(0))
        case Apply(args=args):
            return replace(expr, args=tuple(_zeroed(arg, name) for arg in args))
    return expr


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


# --- The figure: a failing inequality's sides as sigma varies -----------------------

SWEEP_POINTS = 121
# The sweep runs from the counterexample's sigma / reach to sigma * reach, the first reach
# that shows both where the claim fails and where it holds (else the widest).
SWEEP_REACHES = (1e2, 1e3, 1e4, 1e5, 1e6)


@budget.layer("diagnosis")
def _sweep(sides: Sides, at: Point) -> Sweep | None:
    """Both sides in float64 as sqrt(var + eps) varies through eps, the counterexample's
    other values held, over a range wide enough to show where the claim starts to hold
    (when it does); None for an equation, or a model with no such root."""
    model = sides.model
    square = model.square
    if sides.relation == "=" or square is None or not fixes_square(model):
        return None
    if any(name == square.solve for name, _ in sides.settings):
        return None  # the claim fixes eps itself
    leaves = {name: _floats(value) for name, value in at.leaves.items()}
    floats = at.in_arithmetic(FLOAT, leaves)
    base = max(float(np.asarray(square_base(model, floats)).reshape(-1)[0]), 0.0)
    now = float(np.sqrt(base + float(np.asarray(leaves[square.solve]).reshape(-1)[0])))
    name = corrections.root_name(sides) if sides.names else "sigma"
    try:
        for reach in SWEEP_REACHES:
            low = max(np.sqrt(base) * 1.001, now / reach)
            values = np.geomspace(low, max(now * reach, 10 * low), SWEEP_POINTS)
            lhs, rhs = _swept(sides, floats, square.solve, base, values)
            sweep = Sweep(name, tuple(values), lhs, rhs, sides.relation, now)
            if any(sweep.fails) and not all(sweep.fails):
                break  # the boundary is in sight
    except ArithmeticError:
        return None
    return sweep


def _swept(
    sides: Sides, floats: Point, constant: str, base: float, values: np.ndarray
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    lhs, rhs = [], []
    for sigma in values:
        eps = np.full_like(floats.leaves[constant], sigma * sigma - base, dtype=float)
        left, right = _sides_at(sides, floats.with_leaves(**{constant: eps}))
        lhs.append(float(left.reshape(-1)[0]))
        rhs.append(float(right.reshape(-1)[0]))
    return tuple(lhs), tuple(rhs)


def _floats(value: Any) -> Any:
    if isinstance(value, Hessian):
        return Hessian(value.axes, np.frompyfunc(float, 1, 1)(value.matrix).astype(float))
    return np.frompyfunc(float, 1, 1)(np.asarray(value, dtype=object)).astype(float)


# --- The search ------------------------------------------------------------------------


@budget.layer("search")
def _search(sides: Sides, truth: Truth) -> tuple[str, Counterexample, Point] | None:
    for at in _points(sides, truth):
        found = _violated(sides, truth, at)
        if found is not None:
            return (*found, at)
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
    """The point as a counterexample when the claim is false there, proved so: exactly, or
    where a side is irrational (a root of a per-sample variance, sqrt(m)) by intervals
    that leave no doubt (only a strict separation of the two sides counts)."""
    try:
        lhs, rhs = _sides_at(sides, at)
        broken = [i for i, (a, b) in _pairs(lhs, rhs) if not COMPARISONS[sides.relation](a, b)]
        shown: tuple[tuple[str, ...], tuple[str, ...]] = (column(lhs), column(rhs))
    except Undefined:
        return None  # undefined there: another point may do
    except Inexact:
        found = _in_intervals(sides, at)
        if found is None:
            return None
        lhs, rhs = found
        broken = [i for i, (a, b) in _pairs(lhs, rhs) if _surely_broken(a, b, sides.relation)]
        shown = (_approximate(lhs), _approximate(rhs))
    if not broken:
        return None
    model = sides.model
    leaves = shown_leaves(truth, at)
    axes = {
        leaf: model.shape_of[model.output if leaf == model.upstream else leaf] for leaf in leaves
    }
    axes |= {"left side": sides.shape, "right side": sides.shape}
    entries = _hessian_entries(model, at)
    counter = Counterexample(
        sizes=tuple((at.size_names[axis], n) for axis, n in at.sizes.items()),
        inputs=(*((leaf, column(at.leaves[leaf])) for leaf in leaves), *entries),
        truth=shown[0],
        candidate=shown[1],
        shapes=tuple(
            (name, tuple(n if axis in varies else 1 for axis, n in at.sizes.items()))
            for name, varies in (*axes.items(), *((e, frozenset()) for e, _ in entries))
        ),
        labels=("left side", "right side"),
    )
    first = broken[0]
    where = model.at_sizes(sizes_of(model, at.sizes).items())
    said = f"at {where} the left side is {shown[0][first]} and the right side {shown[1][first]}"
    return said, counter


def _sides_at(sides: Sides, at: Point) -> tuple[np.ndarray, np.ndarray]:
    lhs = np.asarray(evaluate(sides.lhs, at), dtype=object)
    rhs = np.asarray(evaluate(sides.rhs, at), dtype=object)
    return tuple(np.broadcast_arrays(lhs, rhs))  # type: ignore[return-value]


def _pairs(lhs: np.ndarray, rhs: np.ndarray) -> Iterator[tuple[int, tuple[Any, Any]]]:
    return enumerate(zip(lhs.flat, rhs.flat, strict=True))


def _in_intervals(sides: Sides, at: Point) -> tuple[np.ndarray, np.ndarray] | None:
    """Both sides at the point in rigorous intervals, or None where they are undefined."""
    arith = arithmetic.interval(arithmetic.INTERVAL_PRECISIONS[-1])

    def convert(q: Any) -> Any:
        return arith.scalar(Fraction(int(q.numerator), int(q.denominator)))

    leaves = {
        name: value.converted(convert)
        if isinstance(value, Hessian)
        else arithmetic.to_interval(value, arith)
        for name, value in at.leaves.items()
    }
    try:
        with arith.context():
            return _sides_at(sides, at.in_arithmetic(arith, leaves))
    except ArithmeticError:
        return None


def _surely_broken(a: Any, b: Any, relation: str) -> bool:
    """Whether intervals a and b prove `a relation b` false."""
    return {
        "=": arithmetic.disjoint(a, b),
        "<": a.a >= b.b,
        "<=": a.a > b.b,
        ">": a.b <= b.a,
        ">=": a.b < b.a,
    }[relation]


def _approximate(values: np.ndarray) -> tuple[str, ...]:
    return tuple(f"≈ {arithmetic.midpoint(v):.6g}" for v in values.flat)


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


def _text(value: Any) -> str:
    return column(value)[0]


def _searched(sides: Sides) -> str:
    sizes = ", ".join(map(str, SEARCH_SIZES))
    free = ", the claim's numbers scaled by 1/100 and 100" if sides.free else ""
    hessian = ", random downstream Hessians of both signs" if sides.second_order else ""
    values = "small, usual, wide and near-zero values"
    return f"{sides.model.size_list} = {sizes} with {values}{free}{hessian}"
