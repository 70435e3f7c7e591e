"""The sections of a model file, each read into what a Model holds, or rejected where it is wrong.

MODEL_KEYS is the one table of the keys a model file may have; every other key is refused
by bnverify.files.toml_keys. Each reader below takes the parsed TOML values, which keep
their place in the file, and raises a Rejected at the value (or the formula character)
that is wrong; bnverify.model.graph collects them, so one mistake never hides another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from bnverify.files.toml_keys import KeyTable, did_you_mean
from bnverify.language import parser, shapes
from bnverify.language.limits import Growth, growth
from bnverify.language.names import BATCH_SIZE, gradient_name, gradient_of, latex_name
from bnverify.language.shapes import Shape
from bnverify.language.tree import Equation, Expr, Sym, constant_value, walk
from bnverify.problem import Location, Problem, Rejected
from bnverify.settings import DEFAULT_LIMITS

_SQUARE_KEYS = KeyTable("in square", dict.fromkeys(("expr", "solve")))
_PROBE_KEYS = KeyTable(
    "in a [[probe]] table", dict.fromkeys(("condition", "set", "hold", "freeze", "batch", "sizes"))
)
# A probe compares candidate and truth in exact rationals at its batch size, as the exact
# layer does; 256 is the largest size that layer uses, and `batch = 100000000` once
# allocated 4.8 GB before any budget could stop it.
MAX_PROBE_BATCH = 256
# A spelling from [notation] is printed into LaTeX reports; only letters, digits, the
# marks of a name (_ ^ { } ') and \commands are accepted, so that `&`, `~`, `%` or `\\`
# can never reach a .tex file, and the printed spelling is rebuilt from the parsed name.
# Brackets for the paper's statistics, \mathrm{Var}[x] and \mathrm{RMS}(x); the key is
# parsed and re-printed.
_SPELLING = re.compile(r"(?:[A-Za-z0-9_^{}'\[\]() ]|\\[A-Za-z]+)+")
_ONE_CHARACTER_SCRIPT = re.compile(r"([_^])\{([A-Za-z0-9])\}")
_IDENTITY_KEYS = KeyTable("in an [[identity]] table", dict.fromkeys(("rewrite", "as")))
# [inputs], [constants], [nodes], [notation] and a probe's set hold the model's own names.
MODEL_KEYS = KeyTable(
    "at the top level of a model file",
    {
        "name": None,
        "title": None,
        "reference": None,
        "output": None,
        "axes": None,
        "per": None,
        "square": _SQUARE_KEYS,
        "inputs": None,
        "constants": None,
        "nodes": None,
        "notation": None,
        "probe": _PROBE_KEYS,
        "identity": _IDENTITY_KEYS,
    },
)


@dataclass(frozen=True)
class Probe:
    """A condition to test a diverging candidate under, e.g. eps = 0 or frozen statistics."""

    condition: str
    set: tuple[tuple[str, Fraction], ...] = ()
    freeze: tuple[str, ...] = ()
    sizes: tuple[tuple[str, int], ...] = ()  # axis -> its size, e.g. (("d", 1),)
    # Formulas held at a number: targets that sum to one, hold = { "sum(t, k)" = "1" }.
    hold: tuple[tuple[Expr, Fraction], ...] = ()

    @property
    def sized(self) -> bool:
        """Whether the probe fixes the size of an axis (N = 1), a degenerate condition."""
        return bool(self.sizes)


@dataclass(frozen=True)
class Identity:
    """A fact of the forward pass (`rewrite` equals `as`) the simplifier may use.

    It is proved for every size when the model is loaded for a check, and refused
    there, at `location` (its [[identity]] table), when it cannot be.
    """

    rewrite: Expr
    replacement: Expr
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Alias:
    """How papers spell a model name: `\\sigma_B^2` (name key sigma_B^2) is var."""

    key: str  # the spelling's name key (parser.name_key)
    name: str
    spelling: str


@dataclass(frozen=True)
class Square:
    """`expr` is made a perfect square by choosing the constant `solve` (see sampling)."""

    expr: Expr
    solve: str


@dataclass(frozen=True)
class Axis:
    """A named axis: its name in formulas (d), its size (D) and a word for messages."""

    name: str
    size: str
    word: str


# What a model file must have, for the message when it is missing.
_NEEDED = {
    "inputs": 'a model needs its inputs, e.g. [inputs] then x = ["b", "d"]',
    "nodes": 'a model needs its forward pass, e.g. [nodes] then y = "gamma*x"',
    "output": 'name the node whose upstream gradient is given, e.g. output = "y"',
}

# The axis of a model that declares none: Batch Norm's samples, N of them.
DEFAULT_AXES = (Axis(shapes.DEFAULT_AXIS, BATCH_SIZE, "sample"),)
_AXIS_KEYS = ("size", "word")


@dataclass(frozen=True)
class ForwardPass:
    """Axes, inputs, constants and nodes in order, the output, and every name's shape."""

    axes: tuple[Axis, ...]
    inputs: tuple[tuple[str, Shape], ...]
    positive: frozenset[str]
    constants: tuple[tuple[str, float], ...]
    nodes: tuple[tuple[str, Expr], ...]
    node_shapes: tuple[tuple[str, Shape], ...]
    output: str
    known: Mapping[str, Shape]
    grown: Mapping[str, Growth]  # each node's growth, counting the nodes it uses

    @property
    def order(self) -> tuple[str, ...]:
        """The axes' names in declaration order."""
        return tuple(axis.name for axis in self.axes)


def forward_pass(data: Mapping) -> ForwardPass:
    """The graph itself; each node may use only the names defined before it."""
    axes = _axes(data)
    order = tuple(axis.name for axis in axes)
    sizes = {axis.size: shapes.SCALAR for axis in axes}
    inputs, positive = [], set()
    for name, spec in _table(data, "inputs"):
        shape, is_positive = _input(name, spec, order, sizes)
        inputs.append((name, shape))
        if is_positive:
            positive.add(name)
    constants = tuple((name, _typical(name, v, sizes)) for name, v in _table(data, "constants", {}))
    known: dict[str, Shape] = dict(inputs) | dict.fromkeys(dict(constants), shapes.SCALAR)
    for size in sizes:
        if size in known:
            raise Rejected(f"{size!r} is the size of an axis and cannot also be an input")
    known |= sizes
    nodes, node_shapes = [], []
    grown: dict[str, Growth] = {}
    for name, text in _table(data, "nodes"):
        expr = _formula(text, f"node {name}", known, order)
        shape = _shape(expr, known, f"node {name}", text)
        _check_name(name, known, text)
        grown[name] = _growth(expr, grown, f"node {name}", text)
        known[name] = shape
        nodes.append((name, expr))
        node_shapes.append((name, shape))
    output = string(data, "output")
    if output not in dict(nodes):
        raise Rejected(f"output {output!r} is not one of the nodes", where=data.get("output"))
    return ForwardPass(
        axes,
        tuple(inputs),
        frozenset(positive),
        constants,
        tuple(nodes),
        tuple(node_shapes),
        output,
        known,
        grown,
    )


def _axes(data: Mapping) -> tuple[Axis, ...]:
    """[axes]: name = { size = "D", word = "feature" }, in order; one axis n when absent."""
    if "axes" not in data:
        return DEFAULT_AXES
    found: list[Axis] = []
    seen: set[str] = set()
    for name, spec in _table(data, "axes"):
        example = f'{name} = {{ size = "D", word = "feature" }}'
        if isinstance(spec, dict):
            _known_keys(spec, _AXIS_KEYS, f"in axis {name}")
        if not isinstance(spec, dict) or "size" not in spec:
            raise Rejected(f"axis {name} must be a table such as {example}", where=spec)
        size, word = spec["size"], spec.get("word", name)
        if not isinstance(size, str) or not size.isidentifier():
            raise Rejected(f'axis {name}: size must be a name such as "D"', where=size)
        if not isinstance(word, str) or not word.replace(" ", "").isalpha():
            raise Rejected(f'axis {name}: word must be a word such as "feature"', where=word)
        for given in (name, size):
            _check_name(given, dict.fromkeys(seen, shapes.SCALAR), spec)
            seen.add(given)
        found.append(Axis(name, str(size), str(word)))
    return tuple(found)


def string(data: Mapping, key: str, default: str | None = None) -> str:
    """A top-level string such as the name; required when there is no default."""
    value = data.get(key, default)
    if value is None and key in _NEEDED:
        raise Rejected(f"missing '{key}': {_NEEDED[key]}")
    if not isinstance(value, str):
        raise Rejected(f"'{key}' must be a string", where=data.get(key))
    return str(value)


def tables(data: Mapping, key: str) -> list[object]:
    """The entries of an array of tables such as [[probe]], in file order."""
    value = data.get(key, [])
    if not isinstance(value, list):  # an array of tables is a list; [probe] is a dict
        message = f"'{key}' must be an array of tables: write each under a [[{key}]] header"
        raise Rejected(message, where=value)
    return list(value)


def notation_rows(data: Mapping) -> list[tuple[object, object, object]]:
    """The rows of [notation]: each a spelling, the model name it stands for, and the table."""
    table = data.get("notation", {})
    if not isinstance(table, dict):
        raise Rejected("'[notation]' must be a table", where=table)
    return [(spelling, name, table) for spelling, name in table.items()]


def square(spec: object, graph: ForwardPass) -> Square | None:
    """The square that exact evaluation makes rational, when the model names one."""
    if spec is None:
        return None
    known = graph.known
    if not isinstance(spec, dict) or set(spec) != {"expr", "solve"}:
        raise Rejected("'square' must be a table with 'expr' and 'solve'", where=spec)
    expr = _formula(spec["expr"], "square.expr", known, graph.order)
    _shape(expr, known, "square.expr", spec["expr"])
    solve = spec["solve"]
    if not isinstance(solve, str) or solve not in known or solve not in _names(expr):
        message = "square.solve must be a constant that appears in square.expr"
        raise Rejected(message, where=spec["solve"])
    return Square(expr, solve)


def alias(row: tuple[object, object, object], graph: ForwardPass) -> Alias:
    """One row of [notation], `spelling = "name"`: a name spelled as LaTeX, never pasted."""
    spelling, name, known = str(row[0]), row[1], graph.known
    if not isinstance(name, str):
        message = f"notation {spelling!r} must map to a model name in a string"
        raise Rejected(message, where=_placed(name, row[2]))
    if not _SPELLING.fullmatch(spelling):
        message = (
            f"notation key {spelling!r} is not a name's spelling: write letters, digits, "
            "_ ^ { } [ ] ( ) and LaTeX commands only, e.g. '\\sigma_B^2' = \"var\""
        )
        raise Rejected(message, where=name)
    key = parser.name_key(spelling)
    if isinstance(key, Problem):
        raise Rejected(f"notation key {spelling!r}: {key.message}", where=name)
    if name not in known:
        raise Rejected(f"notation {spelling!r} maps to unknown name {name!r}", where=name)
    if key in known and key != name:
        message = f"notation {spelling!r} would rename the model's own name {key} to {name}"
        raise Rejected(message, where=name)
    # Reports print the spelling from the parsed name, so it is LaTeX bnverify wrote.
    return Alias(key, str(name), _spelled(key))


def probe(spec: object, graph: ForwardPass) -> Probe:
    """One [[probe]]: what it sets, freezes or sizes, all names the model knows."""
    # The upstream gradient is given like an input, so a probe may set it (g_loss = 1).
    known = {**graph.known, gradient_name(graph.output): graph.known.get(graph.output)}
    if not isinstance(spec, dict) or not isinstance(spec.get("condition"), str):
        raise Rejected("each [[probe]] needs a 'condition' in a string", where=spec)
    settings = []
    for name, text in _part(spec, "set", dict, 'a table, e.g. set = { eps = "0" }').items():
        value = constant_value(_formula(text, f"probe value for {name}", known, graph.order))
        if name not in known or value is None:
            message = f"probe sets {name!r} to {text!r}: need a known name and a number"
            raise Rejected(message, where=text)
        settings.append((str(name), value))
    held = []
    wanted = 'a table of formulas, e.g. hold = { "sum(t, k)" = "1" }'
    for text, number in _part(spec, "hold", dict, wanted).items():
        value = constant_value(_formula(number, f"probe value for {text}", known, graph.order))
        if value is None:
            raise Rejected(f"probe holds {text!r} at {number!r}: need a number", where=number)
        held.append((_formula(str(text), "a probe's held formula", known, graph.order), value))
    freeze = tuple(_part(spec, "freeze", list, 'an array, e.g. freeze = ["mu"]'))
    for name in freeze:
        if not isinstance(name, str) or name not in known:
            raise Rejected(f"probe freezes {name!r}, which is not a node's name", where=name)
    sizes = dict(_part(spec, "sizes", dict, "a table of axes, e.g. sizes = { d = 1 }"))
    batch = spec.get("batch")
    if batch is not None:
        if len(graph.axes) != 1:
            message = "probe batch is for a one-axis model; name the axis: sizes = { d = 1 }"
            raise Rejected(message, where=_placed(batch, spec))
        sizes[graph.order[0]] = batch
    what = "probe batch" if batch is not None else "a probe's size"
    for axis, size in sizes.items():
        if axis not in graph.order:
            raise Rejected(f"probe sizes {axis!r}, which is not an axis", where=_placed(size, spec))
        if type(size) is bool or not isinstance(size, int):
            message = f"{what} must be a positive integer, e.g. batch = 1"
            raise Rejected(message, where=_placed(size, spec))
        if not 1 <= size <= MAX_PROBE_BATCH:
            message = f"{what} must be between 1 and {MAX_PROBE_BATCH}, not {size:,}"
            raise Rejected(message, where=size)
    ordered = tuple((axis, int(sizes[axis])) for axis in graph.order if axis in sizes)
    condition = str(spec["condition"])
    return Probe(condition, tuple(settings), tuple(map(str, freeze)), ordered, tuple(held))


def _spelled(key: str) -> str:
    """The LaTeX of a parsed name, as papers write it: \\sigma_B^2 rather than \\sigma_{B}^{2}."""
    return _ONE_CHARACTER_SCRIPT.sub(r"\1\2", latex_name(key))


def _placed(value: object, table: object) -> object:
    """Where to point at a value: itself, or its table for a boolean, which has no place.

    tomlkit gives Python's True and False for booleans, shared objects that keep no
    position in the file, so the table that holds one stands in.
    """
    return table if isinstance(value, bool) else value


def _part(spec: Mapping, key: str, kind: type, wanted: str) -> Any:
    """A probe's set or freeze, empty when absent, rejected when of the wrong type."""
    value = spec.get(key, kind())
    if not isinstance(value, kind):
        raise Rejected(f"probe {key} must be {wanted}", where=value)
    return value


def identity(spec: object, graph: ForwardPass) -> Identity:
    """One [[identity]]: two formulas of the forward pass that are equal."""
    known = graph.known
    if not isinstance(spec, dict) or set(spec) != {"rewrite", "as"}:
        raise Rejected("each [[identity]] needs 'rewrite' and 'as'", where=spec)
    rewrite = _formula(spec["rewrite"], "identity", known, graph.order)
    replacement = _formula(spec["as"], "identity", known, graph.order)
    for expr, text in ((rewrite, spec["rewrite"]), (replacement, spec["as"])):
        _shape(expr, known, "identity", text)
        _growth(expr, graph.grown, "identity", text)  # proved when loaded: bounded as a node
    return Identity(rewrite, replacement)


def _formula(text: object, what: str, known: Mapping[str, Shape], order: tuple[str, ...]) -> Expr:
    if not isinstance(text, str):
        raise Rejected(f"{what} must be a formula in a string", where=text)
    parsed = parser.parse_ascii(str(text))
    if isinstance(parsed, Problem):
        raise Rejected(f"{what}: {parsed.message}", parsed.span, text)
    if isinstance(parsed, Equation):
        raise Rejected(f"{what} must be an expression, not an equation", where=text)
    unknown = [n for n in walk(parsed) if isinstance(n, Sym) and n.name not in known]
    if unknown:
        listed = ", ".join(sorted({n.name for n in unknown}))
        raise Rejected(f"{what} uses {listed} before defining it", unknown[0].span, text)
    filled = shapes.reduction_axes(parsed, known, order)
    if isinstance(filled, Problem):
        raise Rejected(f"{what}: {filled.message}", filled.span, text)
    return filled


def _table(data: Mapping, key: str, default: dict | None = None) -> list[tuple[str, object]]:
    table = data.get(key, default)
    if table is None:
        raise Rejected(f"missing [{key}]: {_NEEDED[key]}")
    if not isinstance(table, dict) or (default is None and not table):
        raise Rejected(f"'[{key}]' must be a table of names", where=table)
    return [(str(name), value) for name, value in table.items()]


def _known_keys(spec: Mapping, accepted: tuple[str, ...], where: str) -> None:
    """Reject the first key of an inline table that is not accepted, at its value."""
    for key, value in spec.items():
        if key not in accepted:
            message = (
                f'unknown key "{key}" {where}{did_you_mean(key, accepted)}; '
                f"accepted keys: {', '.join(accepted)}"
            )
            raise Rejected(message, where=_placed(value, spec))


def _check_name(name: str, known: Mapping[str, Shape], item: object = None) -> None:
    if not name.isidentifier() or gradient_of(name) is not None:
        message = f"{name!r} is not a usable name (an identifier not starting with g_)"
        raise Rejected(message, where=item)
    if name in known:
        raise Rejected(f"{name!r} is defined twice", where=item)


def _input(
    name: str, spec: object, order: tuple[str, ...], sizes: Mapping[str, Shape]
) -> tuple[Shape, bool]:
    """An input's axes, and whether it is declared positive (a running variance)."""
    _check_name(name, sizes, spec)
    if name in order:
        raise Rejected(f"input {name!r} has the name of an axis", where=spec)
    positive = False
    axes = spec
    if isinstance(spec, dict):
        _known_keys(spec, ("axes", "positive"), f"in input {name}")
        if not isinstance(spec.get("positive", False), bool):
            message = f"input {name} as a table takes axes = [...] and positive = true"
            raise Rejected(message, where=spec)
        axes, positive = spec.get("axes", []), bool(spec.get("positive", False))
    if axes == "scalar":
        return shapes.SCALAR, positive
    if axes == "batch" and len(order) == 1:
        return frozenset(order), positive
    listed = ", ".join(f'"{axis}"' for axis in order)
    wanted = f"a list of the model's axes ({listed})" + (
        ', or "batch" or "scalar"' if len(order) == 1 else ', or "scalar"'
    )
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        raise Rejected(f"input {name} must be {wanted}, not {axes!r}", where=spec)
    unknown = [axis for axis in axes if axis not in order]
    if unknown or len(set(axes)) != len(axes):
        what = f"{unknown[0]!r} is not an axis" if unknown else "an axis is named twice"
        raise Rejected(f"input {name}: {what}; write {wanted}", where=spec)
    return frozenset(axes), positive


def _typical(name: str, value: object, sizes: Mapping[str, Shape]) -> float:
    _check_name(name, sizes, value)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        message = f"constant {name} needs a positive typical value, e.g. {name} = 1e-5"
        raise Rejected(message, where=value)
    return float(value)


def _shape(expr: Expr, known: Mapping[str, Shape], what: str, item: object = None) -> Shape:
    unknown = [n for n in walk(expr) if isinstance(n, Sym) and n.name not in known]
    if unknown:
        listed = ", ".join(sorted({n.name for n in unknown}))
        raise Rejected(f"{what} uses {listed} before defining it", unknown[0].span, item)
    shape = shapes.infer(expr, known)
    if isinstance(shape, Problem):
        raise Rejected(f"{what}: {shape.message}", shape.span, item)
    return shape


def _growth(expr: Expr, grown: Mapping[str, Growth], what: str, item: object) -> Growth:
    """A node's growth through the nodes it uses, within the limits a formula has."""
    # A node's degree is the product along its chain: a = z^1000, b = a^1000, y = b^1000
    # are each within the limits, but y has degree 10^9 (126 s and 2.5 GB, then a crash).
    try:
        return growth(expr, DEFAULT_LIMITS, grown)
    except Rejected as too_big:
        # A model is held to the default limits whatever the flags say, so no flag is named.
        why = re.sub(r" \((raise it with|--max-digits times) .*\)$", "", too_big.problem().message)
        message = f"{what}, counting the nodes it uses: {why} (a model file's limit)"
        raise Rejected(message, too_big.span, item) from None


def _names(expr: Expr) -> set[str]:
    return {n.name for n in walk(expr) if isinstance(n, Sym)}
