"""The deciding step: a candidate proved equal for every size, or a counterexample checked exactly.

1. Both formulas become values of one field valid for every size of every axis
   (engine/general.py). If their difference is zero there, they are equal at every size
   where both are defined.
2. Then the candidate's domain. A divisor or a root's argument that is positive by its
   construction (a size, eps, sqrt(var + eps), a mean of squares plus eps) needs no
   more. Otherwise: a divisor that is zero for every input at some size where the truth
   is defined makes the candidate undefined there. Past the number of sums over an axis
   the sums are independent, so a divisor vanishes identically only at a root of its
   content in that axis's size; below that bound each size is settled by a point where
   the candidate is defined, or by an element-level proof that it is defined nowhere.
3. A nonzero difference is not yet a verdict: a counterexample is searched for, at sizes
   where the residual is not proved zero, from a large seeded space of inputs, and
   checked exactly (rationals, or rigorous intervals that must be disjoint).
Nothing is decided by sampling alone: a search that finds nothing reports "undecided".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import flint
import sympy as sp

from bnverify.engine.arithmetic import Inexact, Undefined
from bnverify.engine.elements import element_point, first_defined
from bnverify.engine.evaluate import evaluate
from bnverify.engine.field import Value
from bnverify.engine.general import ROOT, General, Obligation, Unsupported, general_point
from bnverify.engine.sampling import WIDE, exact_point
from bnverify.engine.signs import settled
from bnverify.engine.truth import Truth
from bnverify.judge import budget
from bnverify.judge.evidence import counterexample_at, rng_for, shared_exact_point
from bnverify.judge.records import DIFFERENT, EQUAL, UNAVAILABLE, Case, Counterexample
from bnverify.language import tree_printing
from bnverify.language.operators import signature
from bnverify.language.tree import Apply, Expr, walk
from bnverify.model.graph import Model
from bnverify.model.sections import Probe

# Random points tried at each size, and how many sizes past the independence bound,
# before a search that found no counterexample gives up (undecided).
POINTS_PER_SIZE = 3
SIZES_PAST_BOUND = 4
# Sizes whose elements together pass this are not searched: exact arithmetic over tens
# of thousands of elements would take the whole budget for one point.
MOST_ELEMENTS = 4096
# A domain check at every small size of several axes at once stops past this many sizes.
MOST_DOMAIN_SIZES = 32

Sizes = dict[str, int]  # axis -> its size, in the model's order


@dataclass(frozen=True)
class Decision:
    """What the deciding step proved: EQUAL, DIFFERENT or UNAVAILABLE (undecided)."""

    outcome: str
    detail: str
    counterexample: Counterexample | None = None
    # Where the candidate is defined nowhere but the truth is: (size name, value) pairs.
    undefined_at: tuple[tuple[str, int], ...] = ()


def every_n(truth: Truth) -> General:
    """The truth's model for every size, in a field of its own.

    Each candidate gets a fresh field (the truth costs milliseconds to rebuild): a
    candidate with many sums or roots never slows the next one down, and the names of
    the atoms, and so every message, are the same whatever ran before.
    """
    return general_point(truth.model, truth.gradients)


def decide(case: Case) -> Decision:
    """Prove the candidate equal to g_<wrt> for every size, or find where it differs."""
    start = truth_start(case)
    point = every_n(case.truth)
    notes: list[Obligation] = []
    seconds = case.settings.symbolic_seconds
    # The proof may take a share of the budget; the search for a counterexample the rest.
    values = budget.within(seconds, lambda: _values(point, case, notes))
    if isinstance(values, budget.Overrun):
        values = ArithmeticError(f"not finished within {seconds:g} s")
    if isinstance(values, Undefined):
        return Decision(DIFFERENT, "the candidate is undefined for every input")
    if isinstance(values, ArithmeticError):
        # No every-size value: search past the truth's bound plus one per reduction written.
        bound = independence_bound(point, point[case.truth_name])
        bound = {axis: b + _reductions(case.expr) for axis, b in bound.items()}
        why = f"no proof for every {_sizes_word(point.model)} ({values})"
        return _search(case, None, start, why, bound)
    truth, candidate = values
    residual = truth - candidate
    bound = independence_bound(point, truth, candidate)
    if residual.is_zero():
        return _domain(case, point, notes, start, bound)
    return _search(case, residual, start, "not equal as functions of the sums", bound)


def _values(
    point: General, case: Case, notes: list[Obligation]
) -> tuple[Value, Value] | ArithmeticError:
    """The truth and the candidate for every size, or why there are none (as a value)."""
    try:
        return point[case.truth_name], point.evaluate(case.expr, notes)
    except (Undefined, Inexact, Unsupported) as err:
        return err


def _reductions(expr: Expr) -> int:
    return sum(isinstance(node, Apply) and signature(node.op).reduces for node in walk(expr))


def proved_equal(case: Case) -> bool:
    """Whether the candidate is the truth as a function for every size (domains aside)."""
    try:
        return _residual(every_n(case.truth), case).is_zero()
    except (Undefined, Inexact, Unsupported):
        return False


def equal_under(case: Case, probe: Probe) -> bool:
    """Whether the candidate is proved equal to the truth under a probe's condition.

    A constant set to a number is set in the model and the candidate alike, before
    either is evaluated: eps = 0 turns sqrt(var + eps) into sqrt(var).
    """
    truth = case.truth.frozen(probe.freeze) if probe.freeze else case.truth
    point = every_n(truth)
    try:
        for name, value in probe.set:
            point = with_constant(point, name, value)
        residual: Value | None = _residual(point, case)
        for expr, value in probe.hold:
            residual = held(point, residual, expr, value) if residual is not None else None
        for axis, size in probe.sizes:
            residual = at_size(point, residual, axis, size) if residual is not None else None
    except (Undefined, Inexact, Unsupported, ZeroDivisionError):
        return False
    return residual is not None and residual.is_zero()


def held(point: General, residual: Value, expr: Expr, value: Fraction) -> Value | None:
    """The residual with a formula held at a number: its atom replaced by the number.

    A held formula must be one generator of the field (a sum such as sum(t, k)), so
    that holding it is a substitution; anything else is not known here (None).
    """
    field = point.field
    held = point.evaluate(expr)
    used = field.uses(field.lift(held.num))
    if len(used) != 1 or not held.den.is_constant() or held != field.gen(next(iter(used))):
        return None
    return field.substitute(residual, next(iter(used)), field.constant(value))


def with_constant(point: General, name: str, value: Fraction) -> General:
    """The point with a constant (or input) fixed to a number in every formula."""
    model, field = point.model, point.field
    leaves = dict(point._values)  # the point is fresh: only leaves are known yet
    if point.square_base is not None and model.square and name == model.square.solve:
        # The constant was eliminated: r = sqrt(base + eps) becomes a root of base + value.
        leaves[ROOT] = field.sqrt(point.square_base + field.constant(value))
        leaves[name] = field.constant(value)
        fixed = General(model, point.definitions, field, point.atoms, leaves)
        fixed.square_base = point.square_base
        return _substituted(fixed, ROOT, leaves[ROOT])
    leaves[name] = field.constant(value)
    fixed = General(model, point.definitions, field, point.atoms, leaves)
    fixed.square_base = point.square_base
    return fixed


def _substituted(point: General, name: str, value: Value) -> General:
    # Leaves written in terms of the generator `name` (eps = r^2 - base) get its value.
    for leaf, current in list(point._values.items()):
        if leaf != name:
            point._values[leaf] = point.field.substitute(current, name, value)
    return point


def ratio_to_truth(case: Case) -> sp.Expr | None:
    """candidate / truth when it is a number or a function of the sizes alone, else None."""
    point = every_n(case.truth)
    try:
        truth = point[case.truth_name]
        if truth.is_zero():
            return None
        ratio = point.evaluate(case.expr) / truth
    except (Undefined, Inexact, Unsupported, ZeroDivisionError):
        return None
    field = point.field
    used = field.uses(field.lift(ratio.num)) | field.uses(field.lift(ratio.den))
    sizes = point.model.size_names
    if not used <= sizes:
        return None
    symbols = {sp.Symbol(s): sp.Symbol(s, positive=True, integer=True) for s in sizes}
    return sp.factor(ratio.as_expr()).subs(symbols)


def _residual(point: General, case: Case) -> Value:
    return point[case.truth_name] - point.evaluate(case.expr)


def at_size(point: General, value: Value, axis: str, n: int) -> Value | None:
    """The value with one axis at size n, exact: at size 1 a sum over it is its one term."""
    field = point.field
    size = point.model.sizes[axis]
    value = field.substitute(value, size, field.constant(n))
    if n != 1:
        return value if value.is_zero() else None  # zero proves it; else not known here
    for atom in reversed(point.atoms.over(axis)):
        found = point.atoms.sums[atom]
        # At size 1 the sum over this axis is its one term; over the others it stays.
        rest = tuple(a for a in point.model.order if a in found.axes - {axis})
        term = point.total(found.argument, rest) if rest else found.argument
        value = field.substitute(value, atom, term)
        value = field.substitute(value, size, field.constant(1))
    return value


def _sizes_word(model: Model) -> str:
    return model.sizes[model.order[0]] if len(model.order) == 1 else "size"


def _format(model: Model, sizes: Mapping[str, int]) -> str:
    """Sizes as a reader writes them: "N = 2", "B = 2, D = 3"."""
    return ", ".join(f"{model.sizes[axis]} = {n}" for axis, n in sizes.items())


def _every(model: Model, start: Sizes) -> str:
    """ "every N ≥ 1", "every B ≥ 1, D ≥ 2": the sizes a proof covers."""
    return "every " + ", ".join(f"{model.sizes[a]} ≥ {n}" for a, n in start.items())


def independence_bound(point: General, *values: Value) -> Sizes:
    """Per axis, the size from which the sums over it these values use are independent.

    At n >= k + 1, k sums over an axis of distinct monomials and the element itself are
    algebraically independent functions of the inputs (docs/proofs.md), so a nonzero
    value is nonzero somewhere. Counting only the sums used keeps the bound the same in
    every process.
    """
    used = _used(point, values)
    sums = point.atoms.sums
    return {
        axis: 1 + sum(1 for atom in used if atom in sums and axis in sums[atom].axes)
        for axis in point.model.order
    }


def _used(point: General, values: tuple[Value, ...]) -> set[str]:
    """The generators the values use, and those their atoms are made of, transitively."""
    field = point.field
    found: set[str] = set()
    todo = [
        g for v in values for g in field.uses(field.lift(v.num)) | field.uses(field.lift(v.den))
    ]
    while todo:
        gen = todo.pop()
        if gen in found:
            continue
        found.add(gen)
        if gen in field.roots:
            todo.extend(field.uses(field.roots[gen]))
        pair = point.atoms.pairs.get(gen)
        if pair is not None:  # hess of two monomials: made of their generators
            todo.extend(name for name, _ in (*pair.left, *pair.right))
        inside = point.atoms.sums.get(gen) or point.atoms.functions.get(gen)
        if inside is not None:
            argument = inside.argument
            todo.extend(field.uses(field.lift(argument.num)) | field.uses(field.lift(argument.den)))
    return found


def _domain(
    case: Case, point: General, notes: list[Obligation], start: Sizes, bound: Sizes
) -> Decision:
    model = point.model
    open_notes = [note for note in notes if not settled(note.kind, note.expr, model)]
    for note in open_notes:
        if note.kind == "root" and not _never_negative(point, note.value):
            written = tree_printing.ascii(note.expr)
            reason = f"bnverify cannot prove that {written}, under a square root, is never negative"
            return _search(case, None, start, reason, bound, equal_where_defined=True)
        if note.kind == "logarithm" and not _positive(point, note.value):
            written = tree_printing.ascii(note.expr)
            reason = f"bnverify cannot prove that {written}, under a logarithm, is positive"
            return _search(case, None, start, reason, bound, equal_where_defined=True)
    divisors = [note for note in open_notes if note.kind == "divisor"]
    if not divisors:
        return Decision(EQUAL, f"proved equal for {_every(model, start)}")
    undefined: set[tuple[str, int]] = set()
    # A divisor may use sums the final value cancelled (T*sum(z^3)/sum(z^3)): count them.
    more = independence_bound(point, *(note.value for note in divisors))
    bound = {axis: max(bound[axis], more[axis]) for axis in bound}
    for note in divisors:
        if not _independent(point, note.value):
            return Decision(
                UNAVAILABLE,
                "proved equal wherever both are defined, but it divides by a sum of a "
                "quotient or of a square root, so where it is defined is not decided",
            )
        for axis in model.order:
            undefined |= {
                (axis, n) for n in content_roots(point, note.value, axis) if n >= start[axis]
            }
    small = list(_small_sizes(model, start, bound, undefined))
    if len(small) > MOST_DOMAIN_SIZES:
        return Decision(
            UNAVAILABLE,
            f"proved equal where defined; where it is defined is not decided at the "
            f"{len(small)} small sizes below the sums' bound",
        )
    for sizes in small:
        found = _defined_somewhere(case, sizes)
        if found is None:
            return Decision(
                UNAVAILABLE,
                f"proved equal where defined; whether it is defined at {_format(model, sizes)} "
                "is not decided",
            )
        if not found:
            undefined |= _single(model, sizes, start)
    if undefined:
        pairs = tuple((model.sizes[axis], n) for axis, n in sorted(undefined, key=_order(model)))
        said = ", ".join(f"{name} = {n}" for name, n in pairs)
        return Decision(
            DIFFERENT,
            f"undefined for every input at {said}, where the truth is defined; equal at "
            "every other size",
            undefined_at=pairs,
        )
    return Decision(EQUAL, f"proved equal for {_every(model, start)}")


def _order(model: Model):
    return lambda pair: (model.order.index(pair[0]), pair[1])


def _single(model: Model, sizes: Sizes, start: Sizes) -> set[tuple[str, int]]:
    # The axes below their start elsewhere (at their smallest) say where it fails.
    small = {(axis, n) for axis, n in sizes.items() if n == start[axis] or len(sizes) == 1}
    return small or {next(iter(sizes.items()))}


def _small_sizes(
    model: Model, start: Sizes, bound: Sizes, known: set[tuple[str, int]]
) -> Iterator[Sizes]:
    """Every size below the bound on some axis (the others at theirs), not yet decided."""
    ranges = [
        [n for n in range(start[axis], max(bound[axis], start[axis]) + 1) if (axis, n) not in known]
        for axis in model.order
    ]
    for combo in itertools.product(*ranges):
        sizes = dict(zip(model.order, combo, strict=True))
        if all(n >= bound[axis] for axis, n in sizes.items()) and len(sizes) > 1:
            continue  # past every bound: the content decides
        yield sizes


def _independent(point: General, value: Value) -> bool:
    """Whether the value uses only sums of monomials in the inputs.

    Those are independent functions past the bound (docs/proofs.md); a sum of a quotient
    or of a root of a varying quantity may depend on the other sums, so it is not.
    """
    field = point.field
    for gen in _used(point, (value,)):
        if gen in point.atoms.functions:
            return False  # exp and log of an element: not among the independent sums
        if gen in point.atoms.pairs:
            return False  # hess(m, m'): its monomials may be dependent vectors at a size
        atom = point.atoms.sums.get(gen)
        if atom is not None and (
            atom.monomial is None or any(name in field.roots for name, _ in atom.monomial)
        ):
            return False
    return True


def _positive(point: General, value: Value) -> bool:
    """Whether a logarithm's argument is provably > 0: positive coefficients of positive
    symbols (exp atoms, sizes, constants) in its numerator and denominator."""
    field = point.field
    return field.provably_positive(value.num) and field.provably_positive(value.den)


def _never_negative(point: General, value: Value) -> bool:
    """Whether a root's argument is provably >= 0: a square, or positive coefficients of
    positive symbols once r^2 is written back as base + eps (so sqrt(eps) is defined)."""
    field = point.field
    if field.provably_positive(value.num) and field.provably_positive(value.den):
        return True
    if field.is_square(field.lift(value.num) * field.lift(value.den)):
        return True  # sqrt(z^2): a square is never negative, whatever the sign of z
    model = point.model
    if model.square is None or point.square_base is None:
        return False
    constant = field.gen(model.square.solve, positive=True)
    try:
        again = field.substitute(value, ROOT, field.sqrt(point.square_base + constant))
    except ArithmeticError:
        return False
    return field.provably_positive(again.num) and field.provably_positive(again.den)


def content_roots(point: General, value: Value, axis: str) -> list[int]:
    """Sizes n of an axis at which the value is zero for every input and other size."""
    field = value.field
    size = point.model.sizes[axis]
    num = field.lift(value.num)
    if not field.has(size):
        return []
    index = field.ctx.variable_to_index(size)
    content = None
    for part in _by_other_generators(num, index):
        content = part if content is None else content.gcd(part)
    if content is None or content.degree() < 1:
        return []
    roots = [int(r) for r, _ in content.roots() if r.q == 1 and r.p > 0]
    return sorted(roots)


def _by_other_generators(num: object, index: int) -> list[flint.fmpq_poly]:
    # num as a polynomial in the other generators, with coefficients polynomials in N.
    parts: dict[tuple[int, ...], dict[int, object]] = {}
    for exponents, coeff in num.to_dict().items():
        rest = tuple(e for i, e in enumerate(exponents) if i != index)
        parts.setdefault(rest, {})[int(exponents[index])] = coeff
    out = []
    for terms in parts.values():
        coeffs = [terms.get(k, 0) for k in range(max(terms) + 1)]
        out.append(flint.fmpq_poly(coeffs))
    return out


def _zero_at(model: Model, value: Value, sizes: Sizes) -> bool:
    """Whether the value is proved zero for every input at these sizes."""
    field = value.field
    try:
        for axis, n in sizes.items():
            value = field.substitute(value, model.sizes[axis], field.constant(n))
    except ArithmeticError:  # a size under a square root: not settled here
        return False
    return value.is_zero()


def _defined_somewhere(case: Case, sizes: Sizes) -> bool | None:
    """True at a point where the candidate is defined; False if proved defined nowhere."""
    truth, settings = case.truth, case.settings
    key = _key(sizes)
    for attempt in range(POINTS_PER_SIZE):
        if attempt == 0:
            point = shared_exact_point(truth, settings.seed, key, 1)
        else:
            rng = rng_for(settings.seed, "domain", key, attempt)
            point = exact_point(truth.model, truth.definitions, sizes, 1, rng, space=WIDE)
        try:
            evaluate(case.expr, point)
            return True
        except Inexact:
            return None if _undefined_elementwise(case, sizes) is None else True
        except Undefined:
            continue
    return _undefined_elementwise(case, sizes)


def _key(sizes: Sizes) -> int | tuple[tuple[str, int], ...]:
    # One axis keeps its old cache key and seed labels (an int N), so verdicts are stable.
    return next(iter(sizes.values())) if len(sizes) == 1 else tuple(sizes.items())


def _undefined_elementwise(case: Case, sizes: Sizes) -> bool | None:
    # False: defined nowhere at these sizes (proved); True: defined somewhere; None: not known.
    point = element_point(case.truth.model, case.truth.gradients, _key(sizes))
    try:
        evaluate(case.expr, point)
    except Undefined:
        return False
    except Inexact:
        return None
    return True


def truth_start(case: Case) -> Sizes:
    """Per axis, the smallest size at which the true gradient is defined (1 for Batch Norm)."""
    truth = case.truth
    most = max(case.settings.max_symbolic_batch, 1)
    return first_defined(truth.model, truth.gradients, truth.formula(case.wrt), most)


def _candidate_sizes(
    model: Model, start: Sizes, bound: Sizes, skip: Callable[[Sizes], bool]
) -> Iterator[Sizes]:
    """Sizes to search, smallest first but size 1 last, until enough past every bound.

    Every axis grows together from 2; past all bounds a few more sizes suffice. Then
    each axis at 1 in turn (the others at their smallest), and at last all at 1: there
    every gradient through a statistic is degenerate, and a counterexample at 2 says
    more to a reader.
    """
    past, n = 0, 2
    while past < SIZES_PAST_BOUND:
        sizes = {axis: max(n, start[axis]) for axis in model.order}
        n += 1
        if skip(sizes):
            continue
        past += all(size >= bound[axis] for axis, size in sizes.items())
        yield sizes
    last = []
    if len(model.order) > 1:
        last = [
            {a: (1 if a == axis else max(2, start[a])) for a in model.order}
            for axis in model.order
            if start[axis] == 1
        ]
    if all(n == 1 for n in start.values()):
        last.append(dict.fromkeys(model.order, 1))
    yield from (sizes for sizes in last if not skip(sizes))


def _search(
    case: Case,
    residual: Value | None,
    start: Sizes,
    why: str,
    bound: Sizes,
    *,
    equal_where_defined: bool = False,
) -> Decision:
    """A counterexample at sizes where the residual is not identically zero, or undecided."""
    model = case.truth.model
    tried: list[str] = []
    skipped: list[Sizes] = []

    def proved_zero(sizes: Sizes) -> bool:
        if residual is not None and _zero_at(model, residual, sizes):
            skipped.append(sizes)
            return True
        return False

    # Past the bound the residual is nonzero as a function at every size but its
    # content's roots, so a few such sizes suffice; below it, sizes are cheap and may
    # show small ones.
    for sizes in _candidate_sizes(model, start, bound, proved_zero):
        if _elements(sizes) > MOST_ELEMENTS:
            break
        tried.append(_format(model, sizes))
        found = counterexample_at(case, _key(sizes), POINTS_PER_SIZE)
        if found is not None:
            return Decision(
                DIFFERENT,
                f"proved different: a counterexample at {_format(model, sizes)}, checked exactly",
                counterexample=found,
            )
    where = _listed(model, tried)
    if skipped:
        shown = [
            _format(model, sizes) for sizes in sorted(skipped, key=lambda s: tuple(s.values()))
        ]
        where += f" (not at {_listed(model, shown)}, where it is proved equal)"
    if equal_where_defined:
        return Decision(UNAVAILABLE, f"proved equal where defined, but {why}")
    return Decision(UNAVAILABLE, f"undecided: {why}, and no counterexample found at {where}")


def _listed(model: Model, sizes: list[str]) -> str:
    """Sizes tried: "N = 2, 3, 4" for one axis, "B = 2, D = 2; B = 3, D = 3" for more."""
    if len(model.order) > 1:
        return "; ".join(sizes)
    return f"{model.sizes[model.order[0]]} = " + ", ".join(s.split(" = ")[1] for s in sizes)


def _elements(sizes: Sizes) -> int:
    out = 1
    for n in sizes.values():
        out *= n
    return out
