"""From an author's notation to the model's names: a parsed formula becomes a resolved tree.

Resolution looks a spelling up in the derivation's [notation] table, then in the model's
names and the model's own notation (`\\mu_B` is mu): the author's notation wins, and
where it shadows a spelling of the model's, a note says so. It understands two patterns:
`g_<name>` is the gradient of <name>, and a hat carries over (with x = "z", `\\hat{x}` is
zhat). It also reads the LaTeX element indices (x_i, x_{ij}, \\sum_{k=1}^{D}), each letter
bound to one axis by bnverify.model.indices, reads e^{x} as exp(x) where e is no name, and
turns indexed sums into sums over those axes, so the result is a plain vector-language
tree.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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
    children,
    constant_value,
    walk,
)
from bnverify.model import indices
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
    # Index letter -> the axis it runs over: the [notation]'s (j = "d"), and while one
    # formula is resolved, every letter that formula binds (bnverify.model.indices).
    letters: Mapping[str, str] = field(default_factory=dict)
    entries: tuple[NotationEntry, ...] = ()  # the rows these names were read from

    def lookup(self, key: str) -> Expr | None:
        """The model expression a spelling stands for, or None."""
        if key in self.user:
            return self.user[key]
        target = gradient_of(key)
        if target is not None and target in self.user:  # g_y where a claim renames y
            inner = self.user[target]
            if isinstance(inner, Sym) and inner.name in self.model.shape_of:
                return Sym(gradient_name(inner.name))
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
        sizes = list(self.model.sizes.values())  # N; B and D
        primal = [n for n in self.model.primal_names() if n not in sizes]
        return [*primal, *sizes, *BUILTINS, self.model.upstream, *sorted(self.user)]


def user_names(model: Model, entries: Iterable[NotationEntry]) -> tuple[Names, list[Problem]]:
    """Names from a derivation's [notation] entries, and located problems with them."""
    entries = tuple(entries)
    table: dict[str, Expr] = {}
    letters: dict[str, str] = {}
    problems: list[Problem] = []
    for entry in entries:
        result = _letter_entry(model, entry) or _entry(model, entry)
        if isinstance(result, Problem):
            problems.append(result)
        elif isinstance(result[1], str):
            letters[result[0]] = result[1]
        else:
            table[result[0]] = result[1]
    return Names(model, table, shadows(model, table), letters, entries), problems


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


def _letter_entry(model: Model, entry: NotationEntry) -> tuple[str, str] | Problem | None:
    """`j = "d"`: the index letter j runs over the axis d, or None for any other entry.

    A value that is an axis's name, and no name of the model, can only mean this.
    """
    axis = entry.value.strip()
    if axis not in model.order or axis in model.shape_of:
        return None
    key = entry.key.strip()
    if len(key) == 1 and key.isascii() and key.isalpha() and key.islower():
        return key, axis
    return Problem(
        f"notation maps {entry.key!r} to the axis {axis}: what runs over an axis is an index "
        f'letter, one lowercase letter such as j = "{axis}"',
        location=entry.key_location,
    )


def _entry(model: Model, entry: NotationEntry) -> tuple[str, Expr] | Problem:
    key = parser.name_key(entry.key)
    if isinstance(key, Problem):
        return Problem(f"notation key {entry.key!r}: {key.message}", location=entry.key_location)
    parsed = parser.parse_ascii(entry.value)
    if isinstance(parsed, Problem):
        where = entry.value_origin.locate(parsed.span) if parsed.span else entry.key_location
        return Problem(f"notation value for {entry.key!r}: {parsed.message}", location=where)
    renamed = (key in model.shape_of or key in BUILTINS) and parsed != Sym(key)
    if renamed and not entry.renames:
        # z = "beta" would make wrt = "z" and every z in a formula mean beta, silently.
        return Problem(
            f"notation maps {key}, a name of the {model.name} model, to {entry.value!r}: the "
            f'model\'s own names keep their meaning; name yours otherwise: x = "{entry.value}"',
            location=entry.key_location,
        )
    unknown = sorted(n for n in _names(parsed) if n not in model.shape_of)
    if isinstance(parsed, Equation) or unknown:
        known = ", ".join([*model.primal_names(), *model.sizes.values()])
        axes = ", ".join(model.order)
        letters = f', or for an index letter one of its axes ({axes}), j = "{axes[-1]}"'
        return Problem(
            f"notation maps {entry.key!r} to {entry.value!r}; the value must be a name or "
            f"formula in the {model.name} model's names ({known})"
            f"{letters if len(model.order) > 1 else ''}",
            location=entry.value_origin.locate(Span(0, len(entry.value))),
        )
    # ds = "sum(g_y*x)" in a model of two axes: which sum is an error here, where it is written.
    filled = shapes.reduction_axes(parsed, model.shape_of, model.order)
    if isinstance(filled, Problem):
        where = entry.value_origin.locate(filled.span) if filled.span else entry.key_location
        return Problem(f"notation value for {entry.key!r}: {filled.message}", location=where)
    return key, filled


@dataclass(frozen=True)
class Resolved:
    """A candidate in the model's names: the formula and what it is the gradient of."""

    expr: Expr
    wrt: str
    shape: Shape


def resolve(formula: Formula, names: Names, wrt: str | None) -> Resolved | Problem:
    """The vector-language tree of a parsed candidate, or the first problem with it."""
    lhs_letters = ""
    if isinstance(formula, Equation) and formula.relation != "=":
        message = (
            "a candidate states a gradient; an inequality is a claim about one: "
            "put it in a [[claim]] table"
        )
        return Problem(message, formula.span)
    if isinstance(formula, Equation):
        target = _gradient_target(formula.lhs, names)
        if isinstance(target, Problem):
            return target
        if wrt is not None and wrt_name(wrt, names) != target[0]:
            return Problem(
                f"the left side is the gradient of {target[0]}, but wrt = {wrt!r} says otherwise",
                formula.lhs.span,
            )
        (wrt, lhs_letters), body = target, formula.rhs
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
    result = _resolve_indexed(formula, body, names)
    if isinstance(result, Problem):
        return result
    expr, free = result
    # g_{x_{ij}} = \\sum_k ... may leave out j (the same for every j), but not add a letter.
    if lhs_letters and free - frozenset(lhs_letters):
        return Problem(
            f"the left side is indexed by {', '.join(lhs_letters)} but the right side by "
            f"{', '.join(sorted(free))}",
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


def resolve_expression(expr: Expr, names: Names) -> tuple[Expr, Shape] | Problem:
    """One side of a claim (or part of one) in the model's names, with its shape."""
    result = _resolve_indexed(expr, expr, names)
    if isinstance(result, Problem):
        return result
    model = names.model
    filled = shapes.reduction_axes(result[0], model.shape_of, model.order)
    if isinstance(filled, Problem):
        return filled
    shape = shapes.infer(filled, model.shape_of)
    return shape if isinstance(shape, Problem) else (filled, shape)


def _resolve_indexed(formula: Formula, body: Expr, names: Names) -> tuple[Expr, Free] | Problem:
    """The right side resolved once every index letter of the formula has its axis."""
    parts = (formula.lhs, formula.rhs) if isinstance(formula, Equation) else (formula,)
    bound = indices.bind(_written(parts, names), names.model, names.letters)
    if isinstance(bound, Problem):
        return bound
    names = replace(names, letters=bound)
    lhs = _atom(formula.lhs, names) if isinstance(formula, Equation) else None
    if isinstance(lhs, Problem):
        return lhs
    problem = indices.atom_problem(lhs, bound, names.model) if lhs else None
    if problem:
        return Problem(problem, lhs.span)
    return _resolve(body, names)


def wrt_name(wrt: str, names: Names) -> str | None:
    """The model name a `wrt` spelling refers to (z, g_z, x with x = \"z\"), or None."""
    found = names.lookup(wrt)
    if not isinstance(found, Sym):
        return None
    # wrt may name the variable (z) or its gradient (g_z).
    name = gradient_of(found.name) or found.name
    return name if name in names.model.primal_names() else None


def _gradient_target(lhs: Expr, names: Names) -> tuple[str, str] | Problem:
    """What the left side is the gradient of, and its index letters (g_{x_{ij}}: x, "ij")."""
    read = _reading(lhs, names) if isinstance(lhs, Sym) else None
    if read is None and isinstance(lhs, Sym):
        spelled = [gradient_of(n) for n, _ in indices.readings(lhs.name, lhs.index)]
        spelled = [n for n in spelled if n is not None]
        if spelled and all(names.lookup(n) is None for n in spelled):
            return Problem(_unknown_target(spelled[-1], names), lhs.span)
    found, letters, _ = read or (None, "", "")
    target = gradient_of(found.name) if isinstance(found, Sym) else None
    if target is None or target not in names.model.primal_names():
        return Problem(
            "the left side must name a gradient, such as g_z or \\frac{\\partial L}{\\partial z}",
            lhs.span,
        )
    return target, letters


def _unknown_target(name: str, names: Names) -> str:
    # \partial L / \partial q_i: the gradient's form is right, its name is unknown.
    batch = [n for n, s in names.model.inputs if s == BATCH]
    example = batch[0] if batch else names.model.primal_names()[0]
    return (
        f"unknown name {name!r} on the left side: the {names.model.name} model's names are "
        f"{_listing(names)}; to use {name!r}, map it in the derivation's [notation] table, "
        f'e.g. {name} = "{example}"'
    )


Free = frozenset[str]  # the index letters a resolved term still depends on


def _resolve(expr: Expr, names: Names) -> tuple[Expr, Free] | Problem:
    match expr:
        case Num():
            return expr, frozenset()
        case Sym():
            return _symbol(expr, names)
        case Apply(op=Op.POW, args=(base, exponent)):
            # \sigma_B^2 is the variance, not sigma_B squared, when a notation says so.
            power = _integer(exponent)
            readable = isinstance(base, Sym) and power is not None
            alias = _power_reading(base, power, names) if readable else None
            if alias is not None:
                return _indexed(*alias, base, names)
            # Rewritten first, then resolved: a tower of 400 powers must not add stack frames.
            rewritten = _exponential(expr, names)
            return rewritten if isinstance(rewritten, Problem) else _apply(rewritten, names)
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


Reading = tuple[Expr, str, str]  # what a spelled name stands for, its letters, its spelling


def _reading(sym: Sym, names: Names) -> Reading | None:
    """What a spelled name stands for, its index letters and its spelling without them
    (x_{ij}: x, "ij", "x"), or None.

    The longest known spelling wins: x_in mapped in [notation] is that name, not x at i, n.
    """
    for name, letters in indices.readings(sym.name, sym.index):
        found = names.lookup(name)
        if found is not None:
            return _located(found, sym), letters, name
    return None


def _power_reading(base: Sym, power: int, names: Names) -> Reading | None:
    """What `base^power` stands for as one spelling (\\sigma_{ij}^2: var, "ij"), or None."""
    for name, letters in indices.readings(base.name, base.index):
        found = names.power(name, power)
        if found is not None:
            return _located(found, base), letters, f"{name}^{power}"
    return None


def _symbol(sym: Sym, names: Names) -> tuple[Expr, Free] | Problem:
    read = _reading(sym, names)
    if read is None:
        return Problem(_unknown(sym.name, names), sym.span)
    return _indexed(*read, sym, names)


def _indexed(
    found: Expr, letters: str, spelled: str, sym: Sym, names: Names
) -> tuple[Expr, Free] | Problem:
    if not letters:
        return found, frozenset()
    item = _indexed_item(found, letters, spelled, sym, names)
    if isinstance(item, Problem):
        return item
    problem = indices.atom_problem(item, names.letters, names.model)
    if problem:
        return Problem(problem, sym.span)
    return found, frozenset(letters)


def _indexed_item(
    found: Expr, letters: str, spelled: str, sym: Sym, names: Names
) -> indices.Indexed | Problem:
    """The item bnverify.model.indices checks: the name, its value's axes and its letters."""
    model = names.model
    filled = shapes.reduction_axes(found, model.shape_of, model.order)
    shape = shapes.infer(filled, model.shape_of) if not isinstance(filled, Problem) else filled
    if isinstance(shape, Problem):
        return replace(shape, span=sym.span)  # a notation's formula, read where it is used
    named = isinstance(found, Sym) and found.name != spelled
    shown = f"{spelled} ({found.name})" if named else spelled
    return indices.Indexed(shown, model.in_order(shape), letters, sym.span)


def _atom(expr: Expr, names: Names) -> indices.Indexed | Problem | None:
    """An indexed name (x_{ij}, \\sigma_{ij}^2) as bnverify.model.indices reads it, else None."""
    match expr:
        case Sym():
            read = _reading(expr, names)
            return _indexed_item(*read, expr, names) if read and read[1] else None
        case Apply(op=Op.POW, args=(Sym() as base, exponent)) if _integer(exponent) is not None:
            read = _power_reading(base, _integer(exponent), names)
            return _indexed_item(*read, base, names) if read and read[1] else None
    return None


def _written(parts: Iterable[Expr], names: Names) -> list[indices.Written]:
    """Every indexed name and every sum of a formula, in the order they are written."""
    out: list[indices.Written] = []
    stack = list(reversed(tuple(parts)))
    while stack:  # a loop: a formula may nest as deep as the limits allow
        node = stack.pop()
        atom = _atom(node, names)
        if isinstance(atom, indices.Indexed):
            out.append(atom)
        if atom is not None and isinstance(node, Apply):
            continue  # \sigma_{ij}^2 is one name, var at i, j
        if isinstance(node, IndexedSum) and node.index is not None:
            axis = _sum_axis(node, names)
            axis = axis if isinstance(axis, str) else None
            size = names.model.sizes.get(axis) if axis else None
            out.append(indices.Summed(node.index, axis, size, node.span))
        stack.extend(reversed(children(node)))
    return out


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
    clash = indices.clash(free, names.letters, names.model)
    if clash is not None:
        return Problem(clash, expr.span)
    if signature(expr.op).reduces:
        free = frozenset()
    return Apply(expr.op, tuple(args), expr.span, expr.axes), free


def _indexed_sum(expr: IndexedSum, names: Names) -> tuple[Expr, Free] | Problem:
    bounds = _sum_axis(expr, names)
    if isinstance(bounds, Problem):
        return bounds
    result = _resolve(expr.body, names)
    if isinstance(result, Problem):
        return result
    body, free = result
    if expr.index is None:
        return Apply(Op.SUM, (body,), expr.span), frozenset()
    axis = names.letters.get(expr.index) or _only_axis(expr, body, names)
    if isinstance(axis, Problem):
        return axis
    if free and expr.index not in free:
        # The summand does not depend on the summation index: one copy per element.
        return build.mul(Sym(names.model.sizes[axis]), body), free
    return _summed(body, axis, expr.span), free - {expr.index}


def _summed(body: Expr, axis: str, span: Span) -> Apply:
    """sum(body, axis), one sum of nested ones: \\sum_n \\sum_s x is sum(x, n, s)."""
    match body:
        case Apply(op=Op.SUM, args=(inner,), axes=axes) if axes and axis not in axes:
            return Apply(Op.SUM, (inner,), span, (axis, *axes))
    return Apply(Op.SUM, (body,), span, (axis,))


def _only_axis(expr: IndexedSum, body: Expr, names: Names) -> str | Problem:
    """The axis of \\sum_j over a summand in vector form, when it varies over one axis."""
    model = names.model
    filled = shapes.reduction_axes(body, model.shape_of, model.order)
    shape = shapes.infer(filled, model.shape_of) if not isinstance(filled, Problem) else filled
    if isinstance(shape, Problem):
        return shape
    if len(shape) == 1:
        return next(iter(shape))
    choices = model.in_order(shape) or model.order
    sizes = ", ".join(f"\\sum_{{{expr.index}=1}}^{{{model.sizes[a]}}}" for a in choices)
    return Problem(
        f"which axis does \\sum_{expr.index} run over? its summand is "
        f"{model.describe(shape)}; bound the sum by the axis's size ({sizes}), "
        f"or sum over the axis by its name, \\sum_{{{choices[-1]}}}",
        expr.span,
    )


def _sum_axis(expr: IndexedSum, names: Names) -> str | Problem | None:
    """The axis a sum's bounds run over (\\sum_{k=1}^{D}: the axis of size D), None without them.

    A sum runs over a whole axis, from 1 to its size or from 0 to one less.
    """
    model = names.model
    if expr.lower is None and expr.upper is None:
        return None
    lower = constant_value(expr.lower) if expr.lower is not None else Fraction(1)
    if expr.upper is None and lower == 1:
        return model.order[0] if len(model.order) == 1 else None
    upper = _resolve(expr.upper, names) if expr.upper is not None else None
    if isinstance(upper, Problem):
        return upper
    for axis in model.axes:
        size = Sym(axis.size)
        if upper is not None and (
            (lower == 1 and upper[0] == size)
            or (lower == 0 and upper[0] == Apply(Op.SUB, (size, Num(Fraction(1)))))
        ):
            return axis.name
    if len(model.order) == 1:
        return Problem(
            "a sum must run over the whole batch: i = 1..N (or 0..N-1); "
            f'map the author\'s batch size in [notation], e.g. m = "{BATCH_SIZE}"',
            expr.span,
        )
    sizes = ", ".join(f"{a.size} ({a.word})" for a in model.axes)
    return Problem(
        f"a sum must run over a whole axis, from 1 to its size: {sizes} (or from 0 to one "
        f'less); map the author\'s sizes in [notation], e.g. H = "{model.axes[-1].size}"',
        expr.span,
    )


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
