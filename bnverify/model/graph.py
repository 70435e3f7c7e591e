"""A model file becomes a Model: a small graph of named nodes in the formula language.

A model declares its inputs (batch or scalar), positive constants, the forward pass as
named nodes in order, and the output whose upstream gradient is given. It may add the
notation papers use for its names, probes (conditions under which a wrong formula could
still hold) and identities the simplifier may use. Built-in models live in
`bnverify/model/layers/`; a derivation may also point at a model file of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from importlib import resources
from pathlib import Path

from tomlkit.items import Item, String

from bnverify.files.toml_source import TomlDocument, parse_toml, read_toml
from bnverify.language import parser, shapes
from bnverify.language.names import BATCH_SIZE, gradient_name, gradient_of
from bnverify.language.shapes import Shape
from bnverify.language.tree import Equation, Expr, Sym, constant_value, walk
from bnverify.problem import Location, Problem, Span

MAX_MODEL_BYTES = 256 * 1024


@dataclass(frozen=True)
class Probe:
    """A condition to test a diverging candidate under, e.g. eps = 0 or frozen statistics."""

    condition: str
    set: tuple[tuple[str, Fraction], ...] = ()
    freeze: tuple[str, ...] = ()
    batch: int | None = None


@dataclass(frozen=True)
class Identity:
    """A fact of the forward pass (`rewrite` equals `as`) the simplifier may use."""

    rewrite: Expr
    replacement: Expr


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
class Model:
    """A computational graph: inputs, constants, nodes in order, and the output."""

    name: str
    title: str
    reference: str
    path: str
    inputs: tuple[tuple[str, Shape], ...]
    constants: tuple[tuple[str, float], ...]
    nodes: tuple[tuple[str, Expr], ...]
    output: str
    square: Square | None = None
    notation: tuple[Alias, ...] = ()
    probes: tuple[Probe, ...] = ()
    identities: tuple[Identity, ...] = ()
    node_shapes: tuple[tuple[str, Shape], ...] = field(default=())

    @cached_property
    def shape_of(self) -> dict[str, Shape]:
        """Shape of every name a formula may use: leaves, nodes, gradients and N."""
        primal = dict(self.inputs) | dict.fromkeys(dict(self.constants), shapes.SCALAR)
        primal |= dict(self.node_shapes) | {BATCH_SIZE: shapes.SCALAR}
        grads = {gradient_name(n): s for n, s in primal.items() if n != BATCH_SIZE}
        return primal | grads

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Name key of a spelling in the model's notation -> the model name it stands for."""
        return {alias.key: alias.name for alias in self.notation}

    @cached_property
    def definitions(self) -> dict[str, Expr]:
        """Node name -> its formula."""
        return dict(self.nodes)

    @property
    def leaves(self) -> tuple[str, ...]:
        """Inputs and constants, the names a node formula starts from."""
        return tuple(n for n, _ in self.inputs) + tuple(n for n, _ in self.constants)

    @property
    def upstream(self) -> str:
        """The name of the given upstream gradient, g_<output>."""
        return gradient_name(self.output)

    def primal_names(self) -> tuple[str, ...]:
        """Leaves then nodes, in graph order."""
        return self.leaves + tuple(n for n, _ in self.nodes)


def builtin_models() -> dict[str, str]:
    """Built-in model name -> its title."""
    out = {}
    for entry in sorted(resources.files("bnverify.model.layers").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            model = parse_model(entry.read_text(encoding="utf-8"), f"<builtin>/{entry.name}")
            if isinstance(model, Model):
                out[model.name] = model.title
    return out


_CACHE: dict[tuple[str, str], Model | Problem] = {}


def load_model(ref: str, base: Path | None = None) -> Model | Problem:
    """A built-in model by name, or a model file by path (relative to `base`)."""
    key = (ref, str(base))
    if key not in _CACHE:
        _CACHE[key] = _load_uncached(ref, base)
    return _CACHE[key]


def _load_uncached(ref: str, base: Path | None) -> Model | Problem:
    builtin = resources.files("bnverify.model.layers") / f"{ref}.toml"
    path = (base or Path.cwd()) / ref
    try:
        is_builtin, exists = ref.isidentifier() and builtin.is_file(), path.exists()
    except (OSError, ValueError) as error:  # too long for the file system, a NUL byte
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        why = error.strerror if isinstance(error, OSError) else str(error)
        return Problem(f"no model {shown!r}: {why}")
    if is_builtin:
        return parse_model(builtin.read_text(encoding="utf-8"), f"<builtin>/{ref}.toml")
    names = ", ".join(sorted(builtin_models()))
    if not ref.endswith(".toml"):  # one rule: a built-in name, or the path of a .toml file
        return Problem(
            f"no model {ref!r}: it is neither a built-in model ({names}) nor a .toml file"
        )
    if not exists:
        return Problem(f"no model {ref!r}: not a built-in model ({names}) and no file at {path}")
    doc = read_toml(path, "model", MAX_MODEL_BYTES)
    return doc if isinstance(doc, Problem) else _model(doc)


def parse_model(text: str, path: str) -> Model | Problem:
    """A Model from the text of a model file, or the first problem with it."""
    doc = parse_toml(text, path)
    return doc if isinstance(doc, Problem) else _model(doc)


def _model(doc: TomlDocument) -> Model | Problem:
    try:
        return _build(doc)
    except _ModelError as err:
        return err.problem(doc)


class _ModelError(Exception):
    """Raised inside model building only; _model turns it into a located Problem."""

    def __init__(self, message: str, item: object = None, span: Span | None = None) -> None:
        super().__init__(message)
        self.item, self.span = item, span

    def problem(self, doc: TomlDocument) -> Problem:
        """The error as a Problem at the offending value (or character) of the file."""
        if isinstance(self.item, String) and self.span is not None:
            where = doc.origin(self.item).locate(self.span)
        elif isinstance(self.item, Item):
            where = doc.value_location(self.item)
        else:
            where = Location(doc.path, 1, 1)
        return Problem(str(self), location=where)


def _string(data: dict, key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _ModelError(f"'{key}' must be a string", data.get(key))
    return str(value)


def _formula(text: object, what: str) -> Expr:
    if not isinstance(text, str):
        raise _ModelError(f"{what} must be a formula in a string", text)
    parsed = parser.parse_ascii(str(text))
    if isinstance(parsed, Problem):
        raise _ModelError(f"{what}: {parsed.message}", text, parsed.span)
    if isinstance(parsed, Equation):
        raise _ModelError(f"{what} must be an expression, not an equation", text)
    return parsed


def _build(doc: TomlDocument) -> Model:
    data, path = doc.data, doc.path
    inputs = tuple((name, _input_shape(name, shape)) for name, shape in _table(data, "inputs"))
    constants = tuple((name, _typical(name, v)) for name, v in _table(data, "constants", {}))
    known: dict[str, Shape] = dict(inputs) | dict.fromkeys(dict(constants), shapes.SCALAR)
    known[BATCH_SIZE] = shapes.SCALAR
    nodes, node_shapes = [], []
    for name, text in _table(data, "nodes"):
        expr = _formula(text, f"node {name}")
        shape = _shape(expr, known, f"node {name}", text)
        _check_name(name, known, text)
        known[name] = shape
        nodes.append((name, expr))
        node_shapes.append((name, shape))
    output = _string(data, "output")
    if output not in dict(nodes):
        raise _ModelError(f"output {output!r} is not one of the nodes", data.get("output"))
    model = Model(
        name=_string(data, "name"),
        title=_string(data, "title", ""),
        reference=_string(data, "reference", ""),
        path=path,
        inputs=inputs,
        constants=constants,
        nodes=tuple(nodes),
        output=output,
        square=_square(data.get("square"), known),
        notation=_notation(data.get("notation", {}), known),
        probes=tuple(_probe(p, known) for p in data.get("probe", [])),
        identities=tuple(_identity(i, known) for i in data.get("identity", [])),
        node_shapes=tuple(node_shapes),
    )
    return model


def _table(data: dict, key: str, default: dict | None = None) -> list[tuple[str, object]]:
    table = data.get(key, default)
    if not isinstance(table, dict) or (default is None and not table):
        raise _ModelError(f"'[{key}]' must be a table of names", table)
    return [(str(name), value) for name, value in table.items()]


def _check_name(name: str, known: dict[str, Shape], item: object = None) -> None:
    if not name.isidentifier() or gradient_of(name) is not None:
        message = f"{name!r} is not a usable name (an identifier not starting with g_)"
        raise _ModelError(message, item)
    if name in known:
        raise _ModelError(f"{name!r} is defined twice", item)


def _input_shape(name: str, shape: object) -> Shape:
    _check_name(name, {BATCH_SIZE: shapes.SCALAR}, shape)
    if shape not in (shapes.SCALAR, shapes.BATCH):
        raise _ModelError(f'input {name} must be "batch" or "scalar", not {shape!r}', shape)
    return str(shape)  # type: ignore[return-value]


def _typical(name: str, value: object) -> float:
    _check_name(name, {BATCH_SIZE: shapes.SCALAR}, value)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        message = f"constant {name} needs a positive typical value, e.g. {name} = 1e-5"
        raise _ModelError(message, value)
    return float(value)


def _shape(expr: Expr, known: dict[str, Shape], what: str, item: object = None) -> Shape:
    unknown = [n for n in walk(expr) if isinstance(n, Sym) and n.name not in known]
    if unknown:
        listed = ", ".join(sorted({n.name for n in unknown}))
        raise _ModelError(f"{what} uses {listed} before defining it", item, unknown[0].span)
    shape = shapes.infer(expr, known)
    if isinstance(shape, Problem):
        raise _ModelError(f"{what}: {shape.message}", item, shape.span)
    return shape


def _square(spec: object, known: dict[str, Shape]) -> Square | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) != {"expr", "solve"}:
        raise _ModelError("'square' must be a table with 'expr' and 'solve'", spec)
    expr = _formula(spec["expr"], "square.expr")
    _shape(expr, known, "square.expr", spec["expr"])
    if spec["solve"] not in known or spec["solve"] not in _names(expr):
        message = "square.solve must be a constant that appears in square.expr"
        raise _ModelError(message, spec["solve"])
    return Square(expr, str(spec["solve"]))


def _names(expr: Expr) -> set[str]:
    return {n.name for n in walk(expr) if isinstance(n, Sym)}


def _notation(table: object, known: dict[str, Shape]) -> tuple[Alias, ...]:
    if not isinstance(table, dict):
        raise _ModelError("'[notation]' must be a table", table)
    out = []
    for spelling, name in table.items():
        key = parser.name_key(str(spelling))
        if isinstance(key, Problem):
            raise _ModelError(f"notation key {spelling!r}: {key.message}", name)
        if name not in known:
            raise _ModelError(f"notation {spelling!r} maps to unknown name {name!r}", name)
        out.append(Alias(key, str(name), str(spelling)))
    return tuple(out)


def _probe(spec: object, known: dict[str, Shape]) -> Probe:
    if not isinstance(spec, dict) or "condition" not in spec:
        raise _ModelError("each [[probe]] needs a 'condition'", spec)
    settings = []
    for name, text in spec.get("set", {}).items():
        value = constant_value(_formula(text, f"probe value for {name}"))
        if name not in known or value is None:
            message = f"probe sets {name!r} to {text!r}: need a known name and a number"
            raise _ModelError(message, text)
        settings.append((str(name), value))
    freeze = tuple(str(name) for name in spec.get("freeze", ()))
    if any(name not in known for name in freeze):
        raise _ModelError(f"probe freezes an unknown node: {freeze}", spec.get("freeze"))
    batch = spec.get("batch")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise _ModelError("probe batch must be a positive integer", batch)
    return Probe(str(spec["condition"]), tuple(settings), freeze, batch)


def _identity(spec: object, known: dict[str, Shape]) -> Identity:
    if not isinstance(spec, dict) or set(spec) != {"rewrite", "as"}:
        raise _ModelError("each [[identity]] needs 'rewrite' and 'as'", spec)
    rewrite, replacement = _formula(spec["rewrite"], "identity"), _formula(spec["as"], "identity")
    _shape(rewrite, known, "identity", spec["rewrite"])
    _shape(replacement, known, "identity", spec["as"])
    return Identity(rewrite, replacement)
