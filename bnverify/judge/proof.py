"""The deciding step: a candidate proved equal for every N, or a counterexample checked exactly.

1. Both formulas become values of one field valid for every N (engine/general.py). If
   their difference is zero there, they are equal at every N where both are defined.
2. Then the candidate's domain: a divisor that is zero for every input at some N where
   the truth is defined makes it undefined there. For N above the number of sums the
   sums are independent, so a divisor vanishes identically only at a root of its content
   in N; below that bound each N is settled by a point where the candidate is defined,
   or by an element-level proof that it is defined nowhere.
3. A nonzero difference is not yet a verdict: a counterexample is searched for, at sizes
   N that are not roots of the residual's content, from a large seeded space of inputs,
   and checked exactly (rationals, or rigorous intervals that must be disjoint).
Nothing is decided by sampling alone: a search that finds nothing reports "undecided".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import flint
import sympy as sp

from bnverify.engine.arithmetic import Inexact, Undefined
from bnverify.engine.elements import element_point, first_defined
from bnverify.engine.evaluate import evaluate
from bnverify.engine.field import Value
from bnverify.engine.general import (
    ROOT,
    SUM_PREFIX,
    General,
    Obligation,
    Unsupported,
    general_point,
)
from bnverify.engine.sampling import WIDE, exact_point
from bnverify.engine.truth import Truth
from bnverify.judge import budget
from bnverify.judge.evidence import counterexample_at, rng_for, shared_exact_point
from bnverify.judge.records import DIFFERENT, EQUAL, UNAVAILABLE, Case, Counterexample
from bnverify.language import tree_printing
from bnverify.language.names import BATCH_SIZE
from bnverify.language.operators import signature
from bnverify.language.tree import Apply, Expr, walk
from bnverify.model.sections import Probe

# Random points tried at each batch size, and how many sizes past the independence
# bound, before a search that found no counterexample gives up (undecided).
POINTS_PER_SIZE = 3
SIZES_PAST_BOUND = 4


@dataclass(frozen=True)
class Decision:
    """What the deciding step proved: EQUAL, DIFFERENT or UNAVAILABLE (undecided)."""

    outcome: str
    detail: str
    counterexample: Counterexample | None = None
    undefined_at: tuple[int, ...] = ()  # sizes where the candidate is defined nowhere
    start: int = 1  # the smallest N where the truth is defined


def every_n(truth: Truth) -> General:
    """The truth's model for every N, in a field of its own.

    Each candidate gets a fresh field (the truth costs milliseconds to rebuild): a
    candidate with many sums or roots never slows the next one down, and the names of
    the atoms, and so every message, are the same whatever ran before.
    """
    return general_point(truth.model, truth.gradients)


def decide(case: Case) -> Decision:
    """Prove the candidate equal to g_<wrt> for every N, or find where it differs."""
    start = truth_start(case)
    point = every_n(case.truth)
    notes: list[Obligation] = []
    seconds = case.settings.symbolic_seconds
    # The proof may take a share of the budget; the search for a counterexample the rest.
    values = budget.within(seconds, lambda: _values(point, case, notes))
    if isinstance(values, budget.Overrun):
        values = ArithmeticError(f"not finished within {seconds:g} s")
    if isinstance(values, Undefined):
        return Decision(DIFFERENT, "the candidate is undefined for every input", start=start)
    if isinstance(values, ArithmeticError):
        # No every-N value: search past the truth's bound plus one per reduction written.
        bound = independence_bound(point, point[case.truth_name]) + _reductions(case.expr)
        return _search(case, None, start, f"no proof for every N ({values})", bound)
    truth, candidate = values
    residual = truth - candidate
    bound = independence_bound(point, truth, candidate)
    if residual.is_zero():
        return _domain(case, point, notes, start, bound)
    return _search(case, residual, start, "not equal as functions of the sums", bound)


def _values(
    point: General, case: Case, notes: list[Obligation]
) -> tuple[Value, Value] | ArithmeticError:
    """The truth and the candidate for every N, or why there are none (as a value)."""
    try:
        return point[case.truth_name], point.evaluate(case.expr, notes)
    except (Undefined, Inexact, Unsupported) as err:
        return err


def _reductions(expr: Expr) -> int:
    return sum(isinstance(node, Apply) and signature(node.op).reduces for node in walk(expr))


def proved_equal(case: Case) -> bool:
    """Whether the candidate is the truth as a function for every N (domains aside)."""
    try:
        return _residual(every_n(case.truth), case).is_zero()
    except (Undefined, Inexact, Unsupported):
        return False


def equal_under(case: Case, probe: Probe) -> bool:
    """Whether the candidate is proved equal to the truth under a probe's condition."""
    truth = case.truth.frozen(probe.freeze) if probe.freeze else case.truth
    point = every_n(truth)
    try:
        residual = _residual(point, case)
        for name, value in probe.set:
            residual = _set(point, residual, name, value)
        if probe.batch is not None:
            residual = at_size(point, residual, probe.batch)
    except (Undefined, Inexact, Unsupported, ZeroDivisionError):
        return False
    return residual is not None and residual.is_zero()


def ratio_to_truth(case: Case) -> sp.Expr | None:
    """candidate / truth when it is a number or a function of N alone, else None."""
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
    if not used <= {BATCH_SIZE}:
        return None
    return sp.factor(ratio.as_expr()).subs(sp.Symbol(BATCH_SIZE), _SIZE)


_SIZE = sp.Symbol(BATCH_SIZE, positive=True, integer=True)


def _residual(point: General, case: Case) -> Value:
    return point[case.truth_name] - point.evaluate(case.expr)


def _set(point: General, value: Value, name: str, to: Fraction) -> Value:
    field, model = point.field, point.model
    if model.square and name == model.square.solve:
        # The constant is eliminated: r = sqrt(base + constant) becomes a root of base + to.
        assert point.square_base is not None
        return field.substitute(value, ROOT, field.sqrt(point.square_base + to))
    return field.substitute(value, name, field.constant(to))


def at_size(point: General, value: Value, n: int) -> Value | None:
    """The value at batch size n, exact: at N = 1 every sum is its one element's term."""
    field = point.field
    value = field.substitute(value, BATCH_SIZE, field.constant(n))
    if n != 1:
        return value if value.is_zero() else None  # zero proves it; else not known here
    if point.atoms.opaque:
        return None
    for atom, monomial in point.atoms.monomials.items():
        term = field.constant(1)
        for name, power in monomial:
            term = term * field.gen(name) ** power
        value = field.substitute(value, atom, term)
    return value


def _format_sizes(sizes: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in sizes)


def independence_bound(point: General, *values: Value) -> int:
    """N from which the sums these values use are independent: their count plus one.

    At N >= k + 1, k sums of distinct monomials and the element itself are algebraically
    independent functions of the inputs (docs/proofs.md), so a nonzero value is nonzero
    somewhere. Counting only the sums used keeps the bound the same in every process.
    """
    field = point.field
    used: set[str] = set()
    for value in values:
        used |= field.uses(field.lift(value.num)) | field.uses(field.lift(value.den))
    for atom in used & set(field.roots):
        used |= field.uses(field.roots[atom])
    return len({name for name in used if name.startswith(SUM_PREFIX)}) + 1


def _domain(
    case: Case, point: General, notes: list[Obligation], start: int, bound: int
) -> Decision:
    for note in notes:
        if note.kind == "root" and not _never_negative(point, note.value):
            written = tree_printing.ascii(note.expr)
            reason = f"bnverify cannot prove that {written}, under a square root, is never negative"
            return _search(case, None, start, reason, bound, equal_where_defined=True)
    undefined: set[int] = set()
    # A divisor may use sums the final value cancelled (T*sum(z^3)/sum(z^3)): count them.
    bound = max(bound, independence_bound(point, *(note.value for note in notes)))
    for note in notes:
        if note.kind != "divisor":
            continue
        if not _independent(point, note.value):
            return Decision(
                UNAVAILABLE,
                "proved equal wherever both are defined, but it divides by a sum of a "
                "quotient or of a square root, so where it is defined is not decided",
                start=start,
            )
        undefined |= {n for n in content_roots(note.value) if n >= start}
    for n in range(start, bound + 1):
        if n in undefined:
            continue
        found = _defined_somewhere(case, n)
        if found is None:
            return Decision(
                UNAVAILABLE,
                f"proved equal where defined; whether it is defined at N = {n} is not decided",
                start=start,
            )
        if not found:
            undefined.add(n)
    if undefined:
        sizes = tuple(sorted(undefined))
        return Decision(
            DIFFERENT,
            f"undefined for every input at N = {_format_sizes(sizes)}, where the truth is "
            f"defined; equal at every other N",
            undefined_at=sizes,
            start=start,
        )
    return Decision(EQUAL, f"proved equal for every N ≥ {start}", start=start)


def _independent(point: General, value: Value) -> bool:
    """Whether the value uses only sums of monomials in the batch inputs.

    Those are independent functions past the bound (docs/proofs.md); a sum of a quotient
    or of a root of a batch quantity may depend on the other sums, so it is not.
    """
    field = point.field
    used = field.uses(field.lift(value.num)) | field.uses(field.lift(value.den))
    for atom in used & set(field.roots):
        used |= field.uses(field.roots[atom])
    if used & set(point.atoms.opaque):
        return False
    monomials = (point.atoms.monomials[a] for a in used if a in point.atoms.monomials)
    return not any(name in field.roots for monomial in monomials for name, _ in monomial)


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


def content_roots(value: Value) -> list[int]:
    """Positive integers N at which the value is zero for every input (its content's roots)."""
    field = value.field
    num = field.lift(value.num)
    if not field.has(BATCH_SIZE):
        return []
    index = field.ctx.variable_to_index(BATCH_SIZE)
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


def _defined_somewhere(case: Case, n: int) -> bool | None:
    """True at a point where the candidate is defined; False if proved defined nowhere."""
    truth, settings = case.truth, case.settings
    for attempt in range(POINTS_PER_SIZE):
        if attempt == 0:
            point = shared_exact_point(truth, settings.seed, n, 1)
        else:
            rng = rng_for(settings.seed, "domain", n, attempt)
            point = exact_point(truth.model, truth.definitions, n, 1, rng, space=WIDE)
        try:
            evaluate(case.expr, point)
            return True
        except Inexact:
            return None if _undefined_elementwise(case, n) is None else True
        except Undefined:
            continue
    return _undefined_elementwise(case, n)


def _undefined_elementwise(case: Case, n: int) -> bool | None:
    # False: defined nowhere at N = n (proved); True: defined somewhere; None: not known.
    point = element_point(case.truth.model, case.truth.gradients, n)
    try:
        evaluate(case.expr, point)
    except Undefined:
        return False
    except Inexact:
        return None
    return True


def truth_start(case: Case) -> int:
    """The smallest N at which the true gradient is defined (1 for Batch Norm)."""
    truth = case.truth
    most = max(case.settings.max_symbolic_batch, 1)
    return first_defined(truth.model, truth.gradients, truth.formula(case.wrt), most)


def _sizes(start: int, skip: set[int], bound: int) -> Iterator[int]:
    """Batch sizes to search, smallest first but N = 1 last, until enough past the bound."""
    past, n = 0, max(start, 2)
    while past < SIZES_PAST_BOUND:
        if n not in skip:
            past += n >= bound
            yield n
        n += 1
    if start == 1 and 1 not in skip:
        yield 1


def _search(
    case: Case,
    residual: Value | None,
    start: int,
    why: str,
    bound: int,
    *,
    equal_where_defined: bool = False,
) -> Decision:
    """A counterexample at sizes where the residual is not identically zero, or undecided."""
    skip = set(content_roots(residual)) if residual is not None else set()
    tried: list[int] = []
    # Past the bound the residual is nonzero as a function at every N but its content's
    # roots, so a few such sizes suffice; below it, sizes are cheap and may show small N.
    # N = 1 comes last: there every gradient through a batch statistic is degenerate, and
    # a counterexample at N = 2 says more to a reader.
    for n in _sizes(start, skip, bound):
        tried.append(n)
        found = counterexample_at(case, n, POINTS_PER_SIZE)
        if found is not None:
            return Decision(
                DIFFERENT,
                f"proved different: a counterexample at N = {n}, checked exactly",
                counterexample=found,
                start=start,
            )
    where = f"N = {_format_sizes(tuple(tried))}"
    if skip:
        where += f" (not at N = {_format_sizes(tuple(sorted(skip)))}, where it is proved equal)"
    if equal_where_defined:
        return Decision(UNAVAILABLE, f"proved equal where defined, but {why}", start=start)
    return Decision(
        UNAVAILABLE,
        f"undecided: {why}, and no counterexample found at {where}",
        start=start,
    )
