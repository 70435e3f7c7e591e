"""From an author's notation to the model's names: a parsed formula becomes a resolved tree.

Resolution looks a spelling up in the derivation's [notation] table, then in the model's
names and the model's own notation (`\\mu_B` is mu): the author's notation wins, and
where it shadows a spelling of the model's, a note says so. It understands two patterns:
`g_<name>` is the gradient of <name>, and a hat carries over (with x = "z", `\\hat{x}` is
zhat). It also checks the LaTeX element indices (x_i), reads e^{x} as exp(x) where e is
no name, and turns indexed sums into sums over the batch, so the result is a plain
vector-language tree.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from bnverify.files.derivation import NotationEntry
from bnverify.language import build, parser, shapes
from bnverify.language.names import (
    BATCH_SIZE,
    EULER,
    ONES,
    gradient_name,
    gradient_of,
    hat_name,
    hat_of,
)
from bnverify.language.operators import Op, signature
from bnverify.language.shapes import BATCH, Shape
from bnverify.language.tree import (
    Apply,
    Equation,
    Expr,
    Formula,
    IndexedSum,
    Num,
    Span,
    Sym,
    constant_value,
    walk,
)
from bnverify.model.graph import Model
from bnverify.problem import Problem

# Names every model has besides its own: `N` is in each model's shapes; `ones`, the
# all-ones batch vector, is an operator (LaTeX spells it \mathbf{1}).
BUILTINS: dict[str, Expr] = {ONES: Apply(ONES, ())}


@dataclass(frozen=True)
class Names:
    """The spellings a derivation may use: its own [notation] on top of the model's."""

    model: Model
    user: Mapping[str, Expr]
    # What the author's notation shadows of the model's, said once per file (see shadows).
    notes: tuple[str, ...] = ()

    def lookup(self, key: str) -> Expr | None:
        """The model expression a spelling stands for, or None."""
        if key in self.user:
            return self.user[key]
        if key in self.model.shape_of:
            return Sym(key)
        if key in BUILTINS:
            return BUILTINS[key]
        if key in self.model.aliases:
            return Sym(self.model.aliases[key])
        target = gradient_of(key)
        if target is not None:
            inner = self.lookup(target)
            known = isinstance(inner, Sym) and inner.name in self.model.shape_of
            if known and inner.name != BATCH_SIZE:
                return Sym(gradient_name(inner.name))
        hatted = hat_of(key)
        if hatted is not None:
            base = self.lookup(hatted)
            if isinstance(base, Sym) and hat_name(base.name) in self.model.shape_of:
                return Sym(hat_name(base.name))
        return None

    def power(self, base: str, exponent: int) -> Expr | None:
        """What `base^exponent` stands for as one spelling (\\sigma^2 is var), or None."""
        key = f"{base}^{exponent}"
        if key not in self.user and base in self.user:
            return None  # the author's sigma wins over the model's \sigma^2: sigma squared
        return self.lookup(key)

    def spellings(self) -> list[str]:
        """Every name a formula may use, for messages."""
        primal = [n for n in self.model.primal_names() if n != BATCH_SIZE]
        return [*primal, BATCH_SIZE, *BUILTINS, self.model.upstream, *sorted(self.user)]


def user_names(model: Model, entries: Iterable[NotationEntry]) -> tuple[Names, list[Problem]]:
    """Names from a derivation's [notation] entries, and located problems with them."""
    table: dict[str, Expr] = {}
    problems: list[Problem] = []
    for entry in entries:
        result = _entry(model, entry)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            table[result[0]] = result[1]
    return Names(model, table, shadows(model, table)), problems


def shadows(model: Model, user: Mapping[str, Expr]) -> tuple[str, ...]:
    """A note for each spelling of the model's that the author's own names take over.

    With sigma = "sqrt(var + eps)", the model's \\sigma^2 (var) is read as sigma*sigma,
    which is what the author means but not what a reader of the model expects.
    """
    notes = []
    for alias in model.notation:
        base, power, exponent = alias.key.partition("^")
        if alias.key in user:
            notes.append(
                f"{alias.spelling} is read as this file's own {alias.key}, "
                f"not as the model's {alias.name}"
            )
        elif power and base in user and exponent.isdigit():
            notes.append(
                f"{alias.spelling} is read as {base}^{exponent} with this file's own {base}, "
                f"not as the model's {alias.name}"
            )
    return tuple(notes)


def _entry(model: Model, entry: NotationEntry) -> tuple[str, Expr] | Problem:
    key = parser.name_key(entry.key)
    if isinstance(key, Problem):
        return Problem(f"notation key {entry.key!r}: {key.message}", location=entry.key_location)
    parsed = parser.parse_ascii(entry.value)
    if isinstance(parsed, Problem):
        where = entry.value_origin.locate(parsed.span) if parsed.span else entry.key_location
        return Problem(f"notation value for {entry.key!r}: {parsed.message}", location=where)
    if (key in model.shape_of or key in BUILTINS) and parsed != Sym(key):
        # z = "beta" would make wrt = "z" and every z in a formula mean beta, silently.
        return Problem(
            f"notation maps {key}, a name of the {model.name} model, to {entry.value!r}: the "
            f'model\'s own names keep their meaning; name yours otherwise: x = "{entry.value}"',
            location=entry.key_location,
        )
    unknown = sorted(n for n in _names(parsed) if n not in model.shape_of)
    if isinstance(parsed, Equation) or unknown:
        known = ", ".join(model.primal_names())
        return Problem(
            f"notation maps {entry.key!r} to {entry.value!r}; the value must be a name or "
            f"formula in the {model.name} model's names ({known}, N)",
            location=entry.value_origin.locate(Span(0, len(entry.value))),
        )
    return key, parsed


@dataclass(frozen=True)
class Resolved:
    """A candidate in the model's names: the formula and what it is the gradient of."""

    expr: Expr
    wrt: str
    shape: Shape


def resolve(formula: Formula, names: Names, wrt: str | None) -> Resolved | Problem:
    """The vector-language tree of a parsed candidate, or the first problem with it."""
    lhs_index = None
    if isinstance(formula, Equation):
        target = _gradient_target(formula.lhs, names)
        if isinstance(target, Problem):
            return target
        if wrt is not None and wrt_name(wrt, names) != target:
            return Problem(
                f"the left side is the gradient of {target}, but wrt = {wrt!r} says otherwise",
                formula.lhs.span,
            )
        wrt, lhs_index, body = target, getattr(formula.lhs, "index", None), formula.rhs
    else:
        body = formula
        if wrt is None:
            return Problem(
                'say what this is the gradient of: add wrt = "z" to the candidate, '
                "or write it as an equation such as g_z = ...",
                formula.span,
            )
        resolved_wrt = wrt_name(wrt, names)
        if resolved_wrt is None:
            return Problem(f"wrt = {wrt!r} is not a name of the model ({_listing(names)})")
        wrt = resolved_wrt
    result = _resolve(body, names)
    if isinstance(result, Problem):
        return result
    expr, free = result
    if lhs_index is not None and free and free != {lhs_index}:
        return Problem(
            f"the left side is indexed by {lhs_index} but the right side by {', '.join(free)}",
            body.span,
        )
    # The upstream gradient (g_y) is given, so a formula for it may use it.
    if gradient_name(wrt) in _names(expr) and gradient_name(wrt) != names.model.upstream:
        return Problem(f"the formula uses g_{wrt}, the gradient it is meant to state", body.span)
    model = names.model
    expr = shapes.reduction_axes(expr, model.shape_of, model.order)
    if isinstance(expr, Problem):
        return expr
    shape = shapes.infer(expr, model.shape_of)
    if isinstance(shape, Problem):
        return shape
    return Resolved(expr, wrt, shape)


def wrt_name(wrt: str, names: Names) -> str | None:
    """The model name a `wrt` spelling refers to (z, g_z, x with x = \"z\"), or None."""
    found = names.lookup(wrt)
    if not isinstance(found, Sym):
        return None
    # wrt may name the variable (z) or its gradient (g_z).
    name = gradient_of(found.name) or found.name
    return name if name in names.model.primal_names() else None


def _gradient_target(lhs: Expr, names: Names) -> str | Problem:
    found = names.lookup(lhs.name) if isinstance(lhs, Sym) else None
    spelled = gradient_of(lhs.name) if isinstance(lhs, Sym) else None
    if found is None and spelled is not None and names.lookup(spelled) is None:
        return Problem(_unknown_target(spelled, names), lhs.span)
    target = gradient_of(found.name) if isinstance(found, Sym) else None
    if target is None or target not in names.model.primal_names():
        return Problem(
            "the left side must name a gradient, such as g_z or \\frac{\\partial L}{\\partial z}",
            lhs.span,
        )
    return target


def _unknown_target(name: str, names: Names) -> str:
    # \partial L / \partial q_i: the gradient's form is right, its name is unknown.
    batch = [n for n, s in names.model.inputs if s == BATCH]
    example = batch[0] if batch else names.model.primal_names()[0]
    return (
        f"unknown name {name!r} on the left side: the {names.model.name} model's names are "
        f"{_listing(names)}; to use {name!r}, map it in the derivation's [notation] table, "
        f'e.g. {name} = "{example}"'
    )


Free = frozenset[str]


def _resolve(expr: Expr, names: Names) -> tuple[Expr, Free] | Problem:
    match expr:
        case Num():
            return expr, frozenset()
        case Sym():
            return _symbol(expr, names)
        case Apply(op=Op.POW, args=(base, exponent)):
            alias = _power_alias(base, exponent, names)
            if alias is not None:
                return _indexed(alias, base, names)
            # Rewritten first, then resolved: a tower of 400 powers must not add stack frames.
            power = _exponential(expr, names)
            return power if isinstance(power, Problem) else _apply(power, names)
        case Apply(op=Op.TRANSPOSE):
            return Problem(
                "a transpose must be followed by a vector, as in \\hat{z}^T g_y (an inner product)",
                expr.span,
            )
        case Apply():
            return _apply(expr, names)
        case IndexedSum():
            return _indexed_sum(expr, names)
    return Problem("this cannot be part of a gradient formula", expr.span)


def _power_alias(base: Expr, exponent: Expr, names: Names) -> Expr | None:
    """What a name to a whole power stands for as one spelling, else None.

    \\sigma_B^2 is the variance, not sigma_B squared, when a notation says so.
    """
    power = _integer(exponent)
    if not isinstance(base, Sym) or power is None:
        return None
    return names.power(base.name, power)


def _exponential(expr: Apply, names: Names) -> Apply | Problem:
    """A power as written, or e^{x} as exp(x) where e is no name of the derivation or model."""
    base, exponent = expr.args
    if base != Sym(EULER):
        return expr
    if names.lookup(EULER) is None:
        return Apply(Op.EXP, (exponent,), expr.span)
    if constant_value(exponent) is None:
        return Problem(
            f"{EULER} is a name here, so {EULER}^{{...}} is a power of it, whose exponent "
            "must be a number; write the exponential function as \\exp(...) or exp(...)",
            exponent.span,
        )
    return expr


def _integer(expr: Expr) -> int | None:
    value = constant_value(expr)
    return int(value) if value is not None and value.denominator == 1 else None


def _symbol(sym: Sym, names: Names) -> tuple[Expr, Free] | Problem:
    found = names.lookup(sym.name)
    if found is None:
        return Problem(_unknown(sym.name, names), sym.span)
    return _indexed(found, sym, names)


def _indexed(found: Expr, sym: Sym, names: Names) -> tuple[Expr, Free] | Problem:
    found = _located(found, sym)
    if sym.index is None:
        return found, frozenset()
    if shapes.infer(found, names.model.shape_of) != BATCH:
        return Problem(
            f"{sym.name} is one number per channel, so it has no element {sym.index}", sym.span
        )
    return found, frozenset({sym.index})


def _located(found: Expr, sym: Sym) -> Expr:
    # A name keeps the position of the spelling it replaced, for later messages.
    return Sym(found.name, span=sym.span) if isinstance(found, Sym) else found


def _apply(expr: Apply, names: Names) -> tuple[Expr, Free] | Problem:
    args, free = [], frozenset()
    for arg in expr.args:
        result = _resolve(arg, names)
        if isinstance(result, Problem):
            return result
        args.append(result[0])
        free |= result[1]
    if len(free) > 1:
        return Problem(
            f"this term mixes the indices {' and '.join(sorted(free))}; "
            "bnverify handles terms that depend on one index at a time (split the sum)",
            expr.span,
        )
    if signature(expr.op).reduces:
        free = frozenset()
    return Apply(expr.op, tuple(args), expr.span, expr.axes), free


def _indexed_sum(expr: IndexedSum, names: Names) -> tuple[Expr, Free] | Problem:
    bounds = _check_bounds(expr, names)
    if bounds is not None:
        return bounds
    result = _resolve(expr.body, names)
    if isinstance(result, Problem):
        return result
    body, free = result
    if expr.index is not None and free and expr.index not in free:
        # The summand does not depend on the summation index: N copies of it.
        return build.mul(build.BATCH_SIZE_SYM, body), free
    return Apply(Op.SUM, (body,), expr.span), frozenset()


def _check_bounds(expr: IndexedSum, names: Names) -> Problem | None:
    if expr.lower is None and expr.upper is None:
        return None
    lower = constant_value(expr.lower) if expr.lower is not None else Fraction(1)
    upper = (
        _resolve(expr.upper, names) if expr.upper is not None else (Sym(BATCH_SIZE), frozenset())
    )
    if isinstance(upper, Problem):
        return upper
    whole = (lower == 1 and upper[0] == Sym(BATCH_SIZE)) or (
        lower == 0 and upper[0] == Apply(Op.SUB, (Sym(BATCH_SIZE), Num(Fraction(1))))
    )
    if not whole:
        return Problem(
            "a sum must run over the whole batch: i = 1..N (or 0..N-1); "
            f'map the author\'s batch size in [notation], e.g. m = "{BATCH_SIZE}"',
            expr.span,
        )
    return None


def _names(expr: Expr) -> set[str]:
    return {node.name for node in walk(expr) if isinstance(node, Sym)}


def _listing(names: Names) -> str:
    return ", ".join(names.spellings())


def _notation_hint(name: str, names: Names) -> str:
    # sigma alone is not a name, but the model knows \sigma^2 and \sigma_B^2.
    for alias in names.model.notation:
        if alias.key.startswith((f"{name}^", f"{name}_")):
            return f" (did you mean {alias.spelling}, which is {alias.name}?)"
    return ""


def _close_hint(name: str, names: Names) -> str:
    close = difflib.get_close_matches(name, names.spellings(), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# Names people write for values that exact arithmetic has no place for.
NON_FINITE = frozenset({"inf", "infty", "infinity", "nan", "NaN", "Inf", "Infinity"})


def _unknown(name: str, names: Names) -> str:
    if name in NON_FINITE:
        return (
            f"{name!r} is not a number bnverify accepts: formulas are checked in exact "
            "arithmetic, where every number is finite; write a finite number such as 1e300"
        )
    hint = _notation_hint(name, names) or _close_hint(name, names)
    return (
        f"unknown name {name!r}{hint}. The {names.model.name} model's names are "
        f"{_listing(names)} and g_<name> for their gradients; map other names in "
        f'[notation], e.g. x = "z"'
    )
