"""A model is a small graph of named nodes: the Model record, its queries, and where one comes from.

A model declares its inputs (batch or scalar), positive constants, the forward pass as
named nodes in order, and the output whose upstream gradient is given. It may add the
notation papers use for its names, probes (conditions under which a wrong formula could
still hold) and identities the simplifier may use. Built-in models live in
`bnverify/model/layers/`; a derivation may also point at a model file of its own, which
is read section by section (bnverify.model.sections) with every problem located.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path, PurePath
from typing import TypeVar

from bnverify.files.discovery import is_model
from bnverify.files.toml_keys import unknown_keys
from bnverify.files.toml_source import TomlDocument, parse_toml, read_toml
from bnverify.language import shapes
from bnverify.language.names import gradient_name
from bnverify.language.shapes import Shape
from bnverify.language.tree import Expr
from bnverify.model import sections
from bnverify.model.sections import MODEL_KEYS, Alias, Axis, Identity, Probe, Square
from bnverify.problem import Location, Problem, Rejected

__all__ = [
    "Alias",
    "Axis",
    "Identity",
    "Model",
    "Probe",
    "Square",
    "builtin_models",
    "builtin_names",
    "load_model",
    "parse_model",
    "read_model",
]

MAX_MODEL_BYTES = 256 * 1024
_MARKS = "[inputs], [nodes] and output"
_BUILTIN_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")  # batchnorm, batchnorm-eval
_T = TypeVar("_T")


@dataclass(frozen=True)
class Model:
    """A computational graph: inputs, constants, nodes in order, and the output."""

    name: str
    title: str
    reference: str
    path: str
    axes: tuple[Axis, ...]
    inputs: tuple[tuple[str, Shape], ...]
    constants: tuple[tuple[str, float], ...]
    nodes: tuple[tuple[str, Expr], ...]
    output: str
    square: Square | None = None
    notation: tuple[Alias, ...] = ()
    probes: tuple[Probe, ...] = ()
    identities: tuple[Identity, ...] = ()
    node_shapes: tuple[tuple[str, Shape], ...] = field(default=())
    positive: frozenset[str] = frozenset()  # inputs declared positive (a running variance)
    per: str = ""  # what one instance of the model is, when it is part of a layer: "channel"
    # Where each node's formula is written, for problems found after reading (a node
    # with no value for every size); not part of what the model is.
    node_locations: tuple[tuple[str, Location], ...] = field(default=(), compare=False)

    @cached_property
    def shape_of(self) -> dict[str, Shape]:
        """Shape of every name a formula may use: leaves, nodes, gradients and the sizes."""
        primal = dict(self.inputs) | dict.fromkeys(dict(self.constants), shapes.SCALAR)
        primal |= dict(self.node_shapes) | dict.fromkeys(self.sizes.values(), shapes.SCALAR)
        grads = {gradient_name(n): s for n, s in primal.items() if n not in self.size_names}
        return primal | grads

    @cached_property
    def sizes(self) -> dict[str, str]:
        """Axis -> the name of its size (d -> D), in declaration order."""
        return {axis.name: axis.size for axis in self.axes}

    @cached_property
    def size_names(self) -> frozenset[str]:
        """The names of the axes' sizes (N; B and D)."""
        return frozenset(self.sizes.values())

    @property
    def size_list(self) -> str:
        """The sizes as a sentence lists them: "N", "B and D", "N, C and S"."""
        names = list(self.sizes.values())
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    def at_sizes(self, sizes: int | Iterable[tuple[str, int]]) -> str:
        """Sizes as a reader writes them: "N = 16", "B = 4, D = 4"; an int is every axis's."""
        pairs = [(a, sizes) for a in self.order] if isinstance(sizes, int) else list(sizes)
        return ", ".join(f"{self.sizes[axis]} = {n}" for axis, n in pairs)

    @property
    def order(self) -> tuple[str, ...]:
        """The axes' names in declaration order."""
        return tuple(self.sizes)

    def describe(self, shape: Shape) -> str:
        """A shape in the model's own words: "one number per sample and feature"."""
        if not shape and self.per:
            return f"one number per {self.per}"
        return shapes.describe(shape, {a.name: a.word for a in self.axes}, self.order)

    def shape_of_expr(self, expr: Expr) -> Shape:
        """The shape of a formula of the model's own (checked when the model was read)."""
        shape = shapes.infer(expr, self.shape_of)
        assert not isinstance(shape, Problem), "model formulas are checked when loaded"
        return shape

    def in_order(self, shape: Shape) -> tuple[str, ...]:
        """A shape's axes in declaration order."""
        return tuple(axis for axis in self.order if axis in shape)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Name key of a spelling in the model's notation -> the model name it stands for."""
        return {alias.key: alias.name for alias in self.notation}

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


def builtin_names() -> tuple[str, ...]:
    """The built-in models' names (their files' names), in order, without reading them."""
    entries = resources.files("bnverify.model.layers").iterdir()
    return tuple(sorted(e.name.removesuffix(".toml") for e in entries if e.name.endswith(".toml")))


def builtin_models() -> dict[str, str]:
    """Built-in model name -> its title, for the built-in models that read without a problem."""
    loaded = {name: load_model(name) for name in builtin_names()}
    return {name: model.title for name, model in loaded.items() if isinstance(model, Model)}


_CACHE: dict[tuple[str, str], Model | tuple[Problem, ...]] = {}


def load_model(ref: str, base: Path | None = None) -> Model | tuple[Problem, ...]:
    """A built-in model by name, or a model file by path (relative to `base`).

    Or every problem with it, in reading order: one when the file cannot be read.
    """
    key = (ref, str(base))
    if key not in _CACHE:
        try:
            _CACHE[key] = _load_uncached(ref, base)
        except Exception as error:  # one model file must not sink the files that do not use it
            message = (
                f"internal error while reading model {ref!r}: {error!r}; this is a bug in "
                "bnverify: please report it with the model file"
            )
            return (Problem(message),)
    return _CACHE[key]


def _load_uncached(ref: str, base: Path | None) -> Model | tuple[Problem, ...]:
    builtin = resources.files("bnverify.model.layers") / f"{ref}.toml"
    path = Path(ref) if base is None else base / ref  # shown as given, relative or not
    try:
        is_builtin, exists = (
            _BUILTIN_NAME.fullmatch(ref) is not None and builtin.is_file(),
            path.exists(),
        )
    except (OSError, ValueError) as error:  # too long for the file system, a NUL byte
        shown = ref if len(ref) <= 60 else ref[:57] + "..."
        why = error.strerror if isinstance(error, OSError) else str(error)
        return (Problem(f"no model {shown!r}: {why}"),)
    if is_builtin:
        return parse_model(builtin.read_text(encoding="utf-8"), f"<builtin>/{ref}.toml")
    names = ", ".join(builtin_names())
    if not ref.endswith(".toml"):  # one rule: a built-in name, or the path of a .toml file
        return (
            Problem(f"no model {ref!r}: it is neither a built-in model ({names}) nor a .toml file"),
        )
    if not exists:
        return (
            Problem(
                f"no model {ref!r}: not a built-in model ({names}) and no file at {path.absolute()}"
            ),
        )
    doc = read_toml(path, "model", MAX_MODEL_BYTES)
    if isinstance(doc, Problem):
        return (doc,)
    if not is_model(doc.data):  # quote no line of a file that is no model (a secrets.toml)
        what = "a derivation" if "candidate" in doc.data else "not a model file"
        message = f"{ref!r} is {what}: a model file has {_MARKS} at its top level"
        return (Problem(message, location=Location(doc.path, 1, 1)),)
    return read_model(doc)


def parse_model(text: str, path: str) -> Model | tuple[Problem, ...]:
    """A Model from the text of a model file, or every problem with it."""
    doc = parse_toml(text, path)
    return (doc,) if isinstance(doc, Problem) else read_model(doc)


def read_model(doc: TomlDocument) -> Model | tuple[Problem, ...]:
    """The Model a parsed model file describes, or every problem with it, in reading order.

    Keys come first: a mistyped key explains a missing section better than "missing" does.
    The forward pass stops at its first problem, since every later node and section
    needs its names; the other sections and each of their entries are read on their own.
    """
    problems = _Problems(doc, unknown_keys(doc, doc.data, MODEL_KEYS))
    graph = problems.attempt(sections.forward_pass, doc.data)
    if graph is None:
        return tuple(problems.found)
    data = doc.data
    name = problems.attempt(sections.string, data, "name", PurePath(doc.path).stem)
    title = problems.attempt(sections.string, data, "title", "")
    reference = problems.attempt(sections.string, data, "reference", "")
    per = problems.attempt(sections.string, data, "per", "")
    square = problems.attempt(sections.square, data.get("square"), graph)
    notation = problems.each(sections.alias, problems.attempt(sections.notation_rows, data), graph)
    probes = problems.each(sections.probe, problems.attempt(sections.tables, data, "probe"), graph)
    identities = tuple(
        replace(identity, location=doc.value_location(spec))
        for spec in problems.attempt(sections.tables, data, "identity") or ()
        if (identity := problems.attempt(sections.identity, spec, graph)) is not None
    )
    if problems.found:
        return tuple(problems.found)
    return Model(
        name=name,
        title=title,
        reference=reference,
        path=doc.path,
        axes=graph.axes,
        inputs=graph.inputs,
        positive=graph.positive,
        per=per or "",
        constants=graph.constants,
        nodes=graph.nodes,
        output=graph.output,
        square=square,
        notation=notation,
        probes=probes,
        identities=identities,
        node_shapes=graph.node_shapes,
        node_locations=tuple((n, doc.value_location(data["nodes"][n])) for n, _ in graph.nodes),
    )


class _Problems:
    """The problems found reading one model file; the one place a Rejected becomes a Problem."""

    def __init__(self, doc: TomlDocument, found: Iterable[Problem]) -> None:
        self.doc, self.found = doc, list(found)

    def attempt(self, read: Callable[..., _T], *args: object) -> _T | None:
        """What `read` returns, or None with its rejection noted, located in the file."""
        try:
            return read(*args)
        except Rejected as rejected:
            self.found.append(rejected.problem(place=self.doc.place))
            return None

    def each(
        self, read: Callable[..., _T], items: Iterable | None, *args: object
    ) -> tuple[_T, ...]:
        """`read` of every item, each on its own: a rejected item never hides the next."""
        read_items = (self.attempt(read, item, *args) for item in items or ())
        return tuple(value for value in read_items if value is not None)
