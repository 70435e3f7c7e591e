"""A claim's two sides in the model's names, with the paper notation it was written in read.

Notes and papers write more than a gradient formula: the iterates of a descent,
theta^{(k)} and theta^{(k+1)}; the loss at one, L(theta^{(k+1)}); Hessians between two
vectors, d^T (nabla^2 L) d; and names that are no part of the model, such as a step size
alpha. Here each becomes a formula of the vector language:
- theta^{(k)} is theta, and theta^{(k+1)} is theta plus the claim's `step`;
- L(theta^{(k)}) is the loss where it is, and L(theta^{(k+1)}) its second-order expansion
  one step on, L + <g_theta, s> + 1/2 s^T H_theta s, exact for a quadratic downstream loss;
- a^T H_x b is the second-order form of the engine (engine/forward.py);
- a Hessian compared as a matrix is compared as its quadratic form on a free vector, which
  decides the same (symmetric matrices with equal quadratic forms are equal);
- a name neither the notation nor the model knows is a free real number of the claim,
  positive when an assumption says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction

from bnverify.engine import forward
from bnverify.files.claim_records import Claim, Written
from bnverify.files.derivation import NotationEntry
from bnverify.language import parser, shapes
from bnverify.language.names import gradient_name, gradient_of, hessian_name, hessian_of
from bnverify.language.operators import Op
from bnverify.language.shapes import Shape
from bnverify.language.tree import (
    Apply,
    Equation,
    Expr,
    Formula,
    IndexedSum,
    Num,
    Sym,
    constant_value,
    factors,
    walk,
)
from bnverify.model.graph import Model
from bnverify.model.notation import Names, resolve_expression, user_names
from bnverify.problem import Problem, Span

ITERATION = frozenset("kt")  # theta^{(k)}, x^{(t+1)}: an iterate's index letter
LOSS = frozenset({"L", "ell"})  # as the LaTeX syntax names the loss
LOSS_NOW = "loss#"  # L where it is: it cancels from every claim that compares losses
PLACEHOLDER = "form#"  # a second-order form, or the loss one step on, while resolving


@dataclass(frozen=True)
class Sides:
    """A claim in the model's names: lhs `relation` rhs, for every value of the free names."""

    lhs: Expr
    rhs: Expr
    relation: str  # "=", "<", "<=", ">" or ">="
    model: Model  # the derivation's model, with the claim's free numbers and vectors
    freeze: tuple[str, ...]
    free: tuple[str, ...]  # the claim's own numbers, scalar inputs of the model now
    second_order: bool  # whether a Hessian (so H_y) takes part
    shape: Shape  # the shape of each side (a claim may compare vectors element-wise)
    settings: tuple[tuple[str, Fraction], ...] = ()  # model names set to numbers (eps = 0)
    written: tuple[Expr, Expr] = ()  # type: ignore[assignment]  # the sides, author's names
    names: Names | None = None  # what reads the written sides (and any part of them)
    directions: tuple[str, ...] = ()  # the free vector a Hessian compared as a matrix meets
    hessians: tuple[str, ...] = ()  # the names a Hessian of L is taken with respect to
    base: Model | None = None  # the derivation's model, before the claim's own names


@dataclass
class _Reading:
    """What resolving one claim has met so far."""

    claim: Claim
    step: Expr | None  # the step, as written (author names)
    forms: dict[str, tuple[str, Expr, Expr]] = field(default_factory=dict)  # wrt, a, b
    matrices: set[str] = field(default_factory=set)  # H_x compared as a matrix

    def form(self, hessian: Sym, a: Expr, b: Expr) -> Sym:
        key = f"{PLACEHOLDER}{len(self.forms)}"
        self.forms[key] = (hessian.name, a, b)
        return Sym(key, span=hessian.span)


def claim_sides(
    formula: Formula,
    claim: Claim,
    entries: tuple[NotationEntry, ...],
    model: Model,
    syntax: str,
) -> Sides | Problem:
    """The claim's sides in the model's names, or the first problem with them."""
    if not isinstance(formula, Equation):
        message = "a claim compares two sides: write an equation or an inequality (=, <, \\le)"
        return Problem(message, formula.span)
    step = _step(claim, syntax)
    if isinstance(step, Problem):
        return step
    reading = _Reading(claim, step)
    try:
        lhs, rhs = _rewritten(formula.lhs, reading), _rewritten(formula.rhs, reading)
    except _Refused as refused:
        return refused.problem
    own = _own_entries(entries, claim.notation)
    first, problems = user_names(model, own)
    if problems:
        return problems[0]
    parts = [lhs, rhs, *(e for _, a, b in reading.forms.values() for e in (a, b))]
    free = _free_names(tuple(parts), first)
    positive = _assumed(claim, syntax, first, free)
    if isinstance(positive, Problem):
        return positive
    vectors = _vectors(reading, free, first)
    extended = _extended(model, free, positive, vectors)
    names, problems = user_names(extended, own)
    if problems:
        return problems[0]
    numbers = tuple(name for name in free if name not in vectors)
    found = _resolved(lhs, rhs, formula.relation, reading, names, numbers, tuple(vectors))
    return found if isinstance(found, Problem) else replace(found, base=model)


class _Refused(Exception):
    def __init__(self, message: str, span: Span) -> None:
        super().__init__(message)
        self.problem = Problem(message, span)


def _step(claim: Claim, syntax: str) -> Expr | Problem | None:
    if claim.step is None:
        return None
    parsed = _parsed(claim.step, syntax)
    if isinstance(parsed, Equation):
        return _placed(Problem("step is a vector, not an equation", parsed.span), claim.step)
    return parsed


def _parsed(written: Written, syntax: str) -> Formula | Problem:
    parsed = parser.parse(written.text, syntax)  # type: ignore[arg-type]
    return _placed(parsed, written) if isinstance(parsed, Problem) else parsed


def _placed(problem: Problem, written: Written) -> Problem:
    return problem.at(written.origin.locate(problem.span or Span(0, len(written.text))))


def _own_entries(
    entries: tuple[NotationEntry, ...], own: tuple[NotationEntry, ...]
) -> list[NotationEntry]:
    """The file's notation, with the claim's own names in place of the file's."""
    keys = {entry.key for entry in own}
    return [*(e for e in entries if e.key not in keys), *own]


# --- Paper notation, rewritten in the author's names ---------------------------------


def _rewritten(expr: Expr, reading: _Reading) -> Expr:
    """Iterates, losses at them and second-order forms made plain (see the docstring)."""
    match expr:
        case Apply(op=Op.POW, args=(base, exponent)) if _iteration(exponent) is not None:
            return _iterate(base, _iteration(exponent), reading, expr.span)
        case Apply(op=Op.MUL):
            return _product(factors(expr), reading, expr.span)
        case Apply(op=Op.DOT, args=(a, b)):
            return _product([Apply(Op.DOT, (a, b), expr.span)], reading, expr.span)
        case Apply(op=Op.POW, args=(Apply(op=Op.SQRT, args=(inner,)), exponent)) if (
            constant_value(exponent) == 2
        ):
            return _rewritten(inner, reading)  # \|v\|^2 is the sum of squares, exactly
        case Apply(args=args):
            return replace(expr, args=tuple(_rewritten(arg, reading) for arg in args))
        case IndexedSum(body=body):
            return replace(expr, body=_rewritten(body, reading))
        case Sym(name=name) if name in LOSS:
            return Sym(LOSS_NOW, span=expr.span)
        case Sym(name=name) if hessian_of(name) is not None:
            reading.matrices.add(name)
    return expr


def _iteration(exponent: Expr) -> int | None:
    """0 for theta^{(k)}, 1 for theta^{(k+1)}; None for a power."""
    match exponent:
        case Sym(name=letter, index=None) if letter in ITERATION:
            return 0
        case Apply(op=Op.ADD, args=(Sym(name=letter, index=None), one)) if (
            letter in ITERATION and constant_value(one) == 1
        ):
            return 1
    return None


def _iterate(base: Expr, ahead: int, reading: _Reading, span: Span) -> Expr:
    if ahead == 0:
        return _rewritten(base, reading)
    if reading.step is None:
        message = (
            "theta^{(k+1)} is one step on from theta^{(k)}: give the claim its step, "
            "e.g. step = '\\alpha d^{(k)}'"
        )
        raise _Refused(message, span)
    step = _rewritten(reading.step, reading)
    return Apply(Op.ADD, (_rewritten(base, reading), step), span)


def _product(factors: list[Expr], reading: _Reading, span: Span) -> Expr:
    """A product with its paper notation read: L(theta), g(theta), a^T H b."""
    out: list[Expr] = []
    for factor in factors:
        previous = out[-1] if out else None
        at = _iterate_of(factor)
        if at is not None and isinstance(previous, Sym):
            if previous.name in LOSS or previous.name == LOSS_NOW:
                out[-1] = _loss_at(previous, factor, at, reading)
                continue
            if gradient_of(previous.name) or hessian_of(previous.name):
                if at != 0:
                    message = "a gradient or Hessian is taken where the iterate is, at theta^{(k)}"
                    raise _Refused(message, factor.span)
                continue  # \nabla L(\theta^{(k)}) is the gradient where theta is
        if isinstance(previous, Apply) and previous.op == Op.DOT and _hessian(previous.args[1]):
            hessian = _hessian(previous.args[1])
            assert hessian is not None
            a, b = _rewritten(previous.args[0], reading), _rewritten(factor, reading)
            out[-1] = reading.form(hessian, a, b)
            continue
        half_form = isinstance(factor, Apply) and factor.op == Op.DOT and _hessian(factor.args[1])
        out.append(factor if half_form else _dot_form(factor, reading))
    for factor in out:
        if isinstance(factor, Apply) and factor.op == Op.DOT and _hessian(factor.args[1]):
            message = "a^T H needs a vector after the Hessian, as in d^T (\\nabla^2 L) d"
            raise _Refused(message, factor.span)
    result = out[0]
    for factor in out[1:]:
        result = Apply(Op.MUL, (result, factor), span)
    return result


def _dot_form(factor: Expr, reading: _Reading) -> Expr:
    """a^T (H b) as the form of H between a and b; any other factor rewritten."""
    match factor:
        case Apply(op=Op.DOT, args=(a, Apply(op=Op.MUL, args=(h, b)))) if _hessian(h):
            return reading.form(_hessian(h), _rewritten(a, reading), _rewritten(b, reading))  # type: ignore[arg-type]
        case Apply(op=Op.DOT, args=(left, b)) if _ends_in_half_form(left):
            # c * u^T @ H_z @ u, as ASCII writes it: (c * (u^T H_z)) @ u
            *before, half = factors(left)
            a, h = half.args  # type: ignore[union-attr]
            form = reading.form(_hessian(h), _rewritten(a, reading), _rewritten(b, reading))  # type: ignore[arg-type]
            return _product([*before, form], reading, factor.span)
        case Apply(op=Op.MUL):
            return _product(factors(factor), reading, factor.span)
        case Apply(op=Op.DOT, args=args):
            return replace(factor, args=tuple(_rewritten(arg, reading) for arg in args))
    return _rewritten(factor, reading)


def _ends_in_half_form(expr: Expr) -> bool:
    """Whether a product's last factor is a^T H, waiting for its second vector."""
    last = factors(expr)[-1]
    return isinstance(last, Apply) and last.op == Op.DOT and _hessian(last.args[1]) is not None


def _hessian(expr: Expr) -> Sym | None:
    """The Hessian a factor is (H_x, or H_x at the current iterate), else None."""
    match expr:
        case Sym(name=name) if hessian_of(name) is not None:
            return expr
        case Apply(op=Op.MUL, args=(Sym(name=name) as h, at)) if (
            hessian_of(name) is not None and _iterate_of(at) == 0
        ):
            return h
    return None


def _iterate_of(expr: Expr) -> int | None:
    match expr:
        case Apply(op=Op.POW, args=(_, exponent)):
            return _iteration(exponent)
    return None


def _loss_at(loss: Sym, at: Expr, ahead: int, reading: _Reading) -> Expr:
    """L(theta^{(k)}) is the loss; L(theta^{(k+1)}) its second-order expansion one step on."""
    if ahead == 0:
        return Sym(LOSS_NOW, span=loss.span)
    assert isinstance(at, Apply)
    if reading.step is None:
        _iterate(at.args[0], ahead, reading, at.span)  # raises, saying what is missing
    base = at.args[0]
    if not isinstance(base, Sym):
        raise _Refused("the loss is taken at an iterate of a name, as L(\\theta^{(k+1)})", at.span)
    if reading.claim.iterate is not None:  # the step moves another name than theta's
        base = Sym(reading.claim.iterate, span=base.span)
    step = _rewritten(reading.step, reading)  # type: ignore[arg-type]
    hessian = Sym(hessian_name(base.name), span=base.span)
    gradient = Sym(gradient_name(base.name), span=base.span)
    form = reading.form(hessian, step, step)
    first = Apply(Op.DOT, (gradient, step), at.span)
    half = Apply(Op.MUL, (Num(Fraction(1, 2)), form), at.span)
    return Apply(Op.ADD, (Apply(Op.ADD, (Sym(LOSS_NOW), first)), half), at.span)


# --- Free names and assumptions ------------------------------------------------------


def _free_names(trees: tuple[Expr, ...], names: Names) -> tuple[str, ...]:
    """Names in the claim that neither its notation nor the model knows: its own numbers."""
    found: list[str] = []
    for tree in trees:
        read = _power_readings(tree, names)  # \sigma_B^2 is the model's var: sigma_B is no name
        for node in walk(tree):
            if not isinstance(node, Sym) or node.index is not None or node.name in found:
                continue
            if id(node) in read:
                continue
            if node.name.startswith((PLACEHOLDER, LOSS_NOW)) or node.name in LOSS:
                continue
            if gradient_of(node.name) or hessian_of(node.name):
                continue
            if names.lookup(node.name) is None and _plain(node.name):
                found.append(node.name)
    return tuple(found)


def _power_readings(tree: Expr, names: Names) -> set[int]:
    """The bases (by id) of powers the model or notation reads as one name (sigma_B^2)."""
    out = set()
    for node in walk(tree):
        match node:
            case Apply(op=Op.POW, args=(Sym(index=None) as base, exponent)):
                power = constant_value(exponent)
                whole = power is not None and power.denominator == 1
                if whole and names.power(base.name, int(power)) is not None:
                    out.add(id(base))
    return out


def _vectors(reading: _Reading, free: tuple[str, ...], names: Names) -> dict[str, Shape]:
    """The free names a Hessian is taken between (u in u^T H_z u): vectors of the shape
    of its variable; every other free name is a number."""
    out: dict[str, Shape] = {}
    for hessian, a, b in reading.forms.values():
        target = names.lookup(hessian_of(hessian) or "")
        if not isinstance(target, Sym) or target.name not in names.model.shape_of:
            continue
        for side in (a, b):
            if isinstance(side, Sym) and side.name in free:
                out[side.name] = names.model.shape_of[target.name]
    return out


def _plain(name: str) -> bool:
    return name.isidentifier() and "#" not in name


def _assumed(
    claim: Claim, syntax: str, names: Names, free: tuple[str, ...]
) -> frozenset[str] | Problem:
    """The names the claim assumes positive (`assume = ['\\alpha > 0']`)."""
    positive: set[str] = set()
    for written in claim.assume:
        parsed = _parsed(written, syntax)
        if isinstance(parsed, Problem):
            return parsed
        name = _positive_name(parsed)
        if name is None:
            message = "an assumption says a name is positive, as '\\alpha > 0'"
            return _placed(Problem(message, parsed.span), written)
        if name not in free and not isinstance(names.lookup(name), Sym):
            message = f"{name} is no name of this claim or of the {names.model.name} model"
            return _placed(Problem(message, parsed.span), written)
        positive.add(name if name in free else names.lookup(name).name)  # type: ignore[union-attr]
    return frozenset(positive)


def _positive_name(parsed: Formula) -> str | None:
    match parsed:
        case Equation(lhs=Sym(name=name, index=None), rhs=zero, relation=">"):
            return name if constant_value(zero) == 0 else None
        case Equation(lhs=zero, rhs=Sym(name=name, index=None), relation="<"):
            return name if constant_value(zero) == 0 else None
    return None


def _extended(
    model: Model, free: tuple[str, ...], positive: frozenset[str], vectors: dict[str, Shape]
) -> Model:
    """The model with the claim's free names as inputs: numbers (positive as assumed), or
    vectors where a Hessian is taken between them."""
    inputs = (*model.inputs, *((name, vectors.get(name, shapes.SCALAR)) for name in free))
    return replace(model, inputs=inputs, positive=model.positive | positive)


# --- Resolution ------------------------------------------------------------------------


def _resolved(
    lhs: Expr,
    rhs: Expr,
    relation: str,
    reading: _Reading,
    names: Names,
    free: tuple[str, ...],
    directions: tuple[str, ...],
) -> Sides | Problem:
    model, freeze = names.model, reading.claim.freeze
    settings = _settings(reading.claim, names)
    if isinstance(settings, Problem):
        return settings
    unknown = [n for n in freeze if n not in dict(model.nodes)]
    if unknown:
        nodes = ", ".join(dict(model.nodes))
        message = f"freeze names {unknown[0]}, which is no node of {model.name} ({nodes})"
        where = reading.claim.freeze_location
        return Problem(message, location=where)
    if reading.matrices:
        sandwiched = _sandwiched(lhs, rhs, reading, names)
        if isinstance(sandwiched, Problem):
            return sandwiched
        lhs, rhs, names, direction = sandwiched
        model, directions = names.model, (*directions, direction)
    user = dict(names.user) | {LOSS_NOW: Num(Fraction(0))}
    hessians: dict[str, None] = {}
    for key, (hessian, a, b) in reading.forms.items():
        form = _form(hessian, a, b, replace(names, user=user), freeze)
        if isinstance(form, Problem):
            return form
        user[key], wrt = form
        hessians[wrt] = None
    names = replace(names, user=user)
    sides = []
    for side in (lhs, rhs):
        result = resolve_expression(side, names)
        if isinstance(result, Problem):
            return result
        sides.append(result)
    (lhs_expr, lhs_shape), (rhs_expr, rhs_shape) = sides
    if relation != "=" and (lhs_shape or rhs_shape):
        message = "an inequality compares numbers: this side is a vector (take a norm or a sum)"
        return Problem(message, (lhs if lhs_shape else rhs).span)
    return Sides(
        lhs_expr,
        rhs_expr,
        relation,
        model,
        freeze,
        free,
        bool(reading.forms),
        lhs_shape | rhs_shape,
        settings,
        (lhs, rhs),
        names,
        directions,
        tuple(hessians),
    )


def _settings(claim: Claim, names: Names) -> tuple[tuple[str, Fraction], ...] | Problem:
    """The claim's `set`: model constants or inputs, each set to a number."""
    out = []
    model = names.model
    for key, written in claim.set:
        found = names.lookup(key)
        settable = {*dict(model.constants), *dict(model.inputs)}
        parsed = parser.parse_ascii(written.text)
        value = None if isinstance(parsed, Problem | Equation) else constant_value(parsed)
        if not isinstance(found, Sym) or found.name not in settable or value is None:
            listed = ", ".join(sorted(settable))
            message = f"set {key} = {written.text!r}: set one of {listed} to a number"
            return _placed(Problem(message), written)
        out.append((found.name, value))
    return tuple(out)


def _form(
    hessian: str, a: Expr, b: Expr, names: Names, freeze: tuple[str, ...]
) -> tuple[Expr, str] | Problem:
    """a^T H_x b as the engine's second-order form, in the model's names, and x."""
    target = names.lookup(hessian_of(hessian) or "")
    model = names.model
    if not isinstance(target, Sym) or target.name not in model.primal_names():
        wrt = hessian_of(hessian)
        return Problem(
            f"the Hessian is taken with respect to {wrt}, which is no name of the "
            f'{model.name} model: map it in [notation], e.g. {wrt} = "z"'
        )
    vectors = []
    for vector in (a, b):
        result = resolve_expression(vector, names)
        if isinstance(result, Problem):
            return result
        vectors.append(result[0])
    return forward.second_order(model, target.name, vectors[0], vectors[1], freeze), target.name


def _sandwiched(
    lhs: Expr, rhs: Expr, reading: _Reading, names: Names
) -> tuple[Expr, Expr, Names, str] | Problem:
    """A Hessian compared as a matrix: both sides as quadratic forms on a free vector."""
    targets = {names.lookup(hessian_of(h) or "") for h in reading.matrices}
    model = names.model
    shapes_of = {model.shape_of.get(t.name) for t in targets if isinstance(t, Sym)}
    if len(shapes_of) != 1 or None in shapes_of:
        return Problem("the Hessians compared as matrices must be over one shape")
    # The Hessians share one shape: a direction of any of them is one of all.
    target = next(t.name for t in targets if isinstance(t, Sym))
    directions = forward.with_directions(model, target, 1)
    names = replace(names, model=directions.model)
    vector = Sym(directions.names[0])

    def sandwich(expr: Expr) -> Expr:
        match expr:
            case Sym(name=name) if name in reading.matrices:
                return reading.form(expr, vector, vector)
            case Apply(args=args):
                return replace(expr, args=tuple(sandwich(a) for a in args))
        return expr

    return sandwich(lhs), sandwich(rhs), names, vector.name
