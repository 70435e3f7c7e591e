"""PyTorch as a second opinion on the engine: its gradients against autograd and the real layers.

At random float64 points of several shapes, the engine's derived gradients of
L = sum(g_y * y) are compared with torch.autograd's through the model run op by op in
PyTorch, and for a built-in layer with the functional PyTorch ships, which also shows the
model file is that layer (oracle_torch.py). It is a cross-check with a tolerance, so it
never decides or changes a verdict. PyTorch is an optional extra
(`pip install 'bnverify[torch]'`), imported only when the oracle runs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bnverify.engine.arithmetic import Undefined
from bnverify.engine.rounding import Bounds
from bnverify.engine.sampling import float_point, leaf_shapes
from bnverify.engine.truth import truth_of
from bnverify.judge.oracle_torch import (
    Computed,
    Functional,
    Layout,
    by_autograd,
    by_functional,
    functional_of,
)
from bnverify.judge.records import (
    DRAWS,
    TOLERANCE,
    Agreement,
    ModelOracle,
    OracleReport,
    Quantity,
    Sizes,
)
from bnverify.language.names import gradient_name
from bnverify.model.graph import Model

# A value agrees when at every element the engine's float64 value and PyTorch's differ by
# at most TOLERANCE times the largest magnitude of its draw, or by at most ROUNDING times
# the engine's own bound on its rounding error there (engine/rounding.py). The second is
# for values that cancel: LayerNorm's g_gamma at D = 1 is exactly 0, which PyTorch computes
# as 2e-14, and Batch Norm's g_z at N = 2 is eps/(var + eps) times its terms, so float64
# keeps about ten of its digits. Each side is within its rounding of the exact value,
# PyTorch's taken to be no worse than the engine's bound: hence twice the bound. Over 40
# seeds of every built-in model the largest difference was 0.23 of what this allows.
ROUNDING = 2.0
LARGE = 1000  # about how many elements the largest shape has, every axis together
OLDEST = (2, 4)  # F.rms_norm
INSTALL = (
    "pip install torch --index-url https://download.pytorch.org/whl/cpu (the CPU build is "
    "enough), or install bnverify with its extra: pip install '.[torch]' in its checkout"
)


def unavailable() -> str | None:
    """Why the oracle cannot run here (no PyTorch, or one too old), or None.

    It looks for PyTorch without importing it: `check --oracle torch` asks before its
    worker processes fork, and a parent holding PyTorch's half a gigabyte of address space
    would hand it to each of them, against their memory limit.
    """
    oldest = ".".join(map(str, OLDEST))
    if importlib.util.find_spec("torch") is None:
        return f"the oracle needs PyTorch {oldest} or newer, which is not installed: {INSTALL}"
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:  # importable without metadata: try it
        return None
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if numbers < OLDEST:
        return f"the oracle needs PyTorch {oldest} or newer, not {version}: {INSTALL}"
    return None


def run(models: list[Model], seed: int = 0) -> OracleReport:
    """Compare each model's engine with PyTorch; PyTorch must be installed (unavailable())."""
    import torch

    return OracleReport(torch.__version__, tuple(_model(torch, m, seed) for m in models))


def shapes_of(model: Model) -> tuple[Sizes, ...]:
    """Sizes 1 and 2 on every axis, all together and each with the others at distinct
    sizes (so an axis taken for another shows), and one larger shape."""
    order = model.order
    others = {axis: 3 + i for i, axis in enumerate(order)}
    side = math.ceil(LARGE ** (1 / len(order)))
    chosen = [dict.fromkeys(order, 1), dict.fromkeys(order, 2)]
    chosen += [others | {axis: size} for axis in order for size in (1, 2)]
    chosen.append({axis: side + len(order) - 1 - i for i, axis in enumerate(order)})
    return tuple(dict.fromkeys(tuple(sizes.items()) for sizes in chosen))


def _model(torch: Any, model: Model, seed: int) -> ModelOracle:
    functional = functional_of(model)
    found = _Found()
    rng = np.random.default_rng([seed, *model.name.encode()])
    for sizes in shapes_of(model):
        _compare_at(Layout(torch, dict(sizes), DRAWS), model, rng, functional, found)
    name = functional.name if functional else None
    return ModelOracle(model.name, shapes_of(model), found.quantities(), name, tuple(found.notes))


@dataclass(frozen=True)
class Gap:
    """How far one value of the engine is from PyTorch's at one shape (see Agreement)."""

    difference: float
    excess: float
    undefined: bool = False  # somewhere neither has a finite value


@dataclass
class _Found:
    """The largest gaps so far of each (quantity, computation), with their shapes."""

    differences: dict[tuple[str, str], tuple[float, Sizes]] = field(default_factory=dict)
    excesses: dict[tuple[str, str], tuple[float, Sizes]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, computed: Computed, engine: tuple[Any, Any], sizes: Sizes) -> None:
        name, against, value = computed
        found = gap(*engine, value)
        note = f"{_shown(sizes)}: left out where the engine and PyTorch both have no value"
        if found.undefined and note not in self.notes:
            self.notes.append(note)
        for largest, x in ((self.differences, found.difference), (self.excesses, found.excess)):
            if x > largest.get((name, against), (-1.0, ()))[0]:
                largest[name, against] = (x, sizes)

    def quantities(self) -> tuple[Quantity, ...]:
        by_name: dict[str, list[Agreement]] = {}
        for (name, against), (difference, at) in self.differences.items():
            agreement = Agreement(against, difference, at, *self.excesses[name, against])
            by_name.setdefault(name, []).append(agreement)
        return tuple(Quantity(name, tuple(found)) for name, found in by_name.items())


def _compare_at(
    layout: Layout,
    model: Model,
    rng: np.random.Generator,
    functional: Functional | None,
    found: _Found,
) -> None:
    sizes = tuple(layout.sizes.items())
    point = float_point(model, truth_of(model).definitions, layout.sizes, layout.draws, rng)
    names = [*leaf_shapes(model, layout.sizes, layout.draws), *(n for n, _ in model.constants)]
    leaves = {name: point.leaves[name] for name in names}
    try:
        bounds = Bounds(point)
        compared = (model.output, *(gradient_name(name) for name in model.leaves))
        engine = {name: (point[name], bounds[name].error) for name in compared}
    except Undefined as undefined:
        found.notes.append(f"{_shown(sizes)}: the engine's values are undefined ({undefined})")
        return
    for computed in by_autograd(model, layout, leaves):
        found.add(computed, engine[computed[0]], sizes)
    if functional is None:
        return
    try:
        by_layer = by_functional(model, layout, leaves, functional)
    except (ValueError, RuntimeError) as refused:  # BatchNorm in training mode at N = 1
        found.notes.append(f"{functional.name} refuses {_shown(sizes)}: {refused}")
        return
    for computed in by_layer:
        found.add(computed, engine[computed[0]], sizes)


def gap(engine: Any, bound: Any, reference: np.ndarray) -> Gap:
    """How far the engine's value, with its rounding bound, is from PyTorch's.

    0 where both are zero, and where both are not finite (undefined there: a division by
    zero in the model, which `undefined` says); infinite where they differ in shape or
    only one of them is finite.
    """
    try:
        ours = np.broadcast_to(np.asarray(engine, dtype=np.float64), reference.shape)
        bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), reference.shape)
    except ValueError:  # a gradient of another shape than its input's
        return Gap(np.inf, np.inf)
    undefined = ~np.isfinite(ours) & ~np.isfinite(reference)
    if (np.isfinite(ours) != np.isfinite(reference)).any():
        return Gap(np.inf, np.inf)
    ours, reference = np.where(undefined, 0, ours), np.where(undefined, 0, reference)
    axes = tuple(range(reference.ndim - 1))  # every axis but the draws
    apart = np.abs(ours - reference)
    scale = np.maximum(np.abs(ours).max(axis=axes), np.abs(reference).max(axis=axes))
    allowed = np.maximum(TOLERANCE * scale, ROUNDING * np.where(np.isfinite(bound), bound, 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(apart.max(axis=axes) == 0, 0.0, apart.max(axis=axes) / scale)
        excess = np.where(apart == 0, 0.0, apart / allowed)
    return Gap(float(relative.max()), float(excess.max()), bool(undefined.any()))


def _shown(sizes: Sizes) -> str:
    return ", ".join(f"{axis} = {size}" for axis, size in sizes)
