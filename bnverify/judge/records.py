"""The judge's records: the case a check is asked about, and everything the check finds.

A Case binds a candidate's formula, the truth and the settings once, so each layer of
evidence and diagnosis takes one argument. A Verdict keeps what the check resolved and
found (the formula as parsed and in the model's names, the evidence, the diagnosis, the
error curve), so every report prints from these records and none computes anything again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from bnverify.engine.truth import Truth
from bnverify.files.derivation import Candidate
from bnverify.language.names import gradient_name
from bnverify.language.tree import COMPARISONS, Expr, Formula
from bnverify.model.notation import Resolved
from bnverify.problem import Problem
from bnverify.settings import Settings

# What a layer of evidence found (Layer.outcome).
EQUAL, DIFFERENT, UNAVAILABLE = "equal", "different", "unavailable"
MEASURED = "measured"  # float64 sizes a difference; it never decides
FAILED = "failed"  # the truth itself could not be confirmed: a bug, never a verdict

# A candidate's verdict, or a claim's: holds and fails are proved or shown by an exact
# counterexample; undecided says what was tried.
Kind = Literal["match", "diverge", "error", "holds", "fails", "undecided"]
KINDS: tuple[Kind, ...] = ("match", "diverge", "error", "holds", "fails", "undecided")


# (record type, "html" or "markdown") -> its notebook printer. bnverify.report.notebook
# fills it when the library loads it, so records render in Jupyter while the judge
# imports no report (a step imports only those below it).
NOTEBOOK: dict[tuple[type, str], Callable[[Any], str]] = {}


class Notebook:
    """Rendering in Jupyter (`_repr_html_`, `_repr_markdown_`) by the registered printers."""

    def _repr_html_(self) -> str | None:
        return _notebook(self, "html")

    def _repr_markdown_(self) -> str | None:
        return _notebook(self, "markdown")


def _notebook(record: object, kind: str) -> str | None:
    printer = NOTEBOOK.get((type(record), kind))
    return printer(record) if printer is not None else None  # None: Jupyter uses repr


@dataclass(frozen=True)
class Case:
    """One candidate's formula against the truth, with the settings every layer uses."""

    truth: Truth
    expr: Expr  # the candidate in the model's names
    wrt: str  # the name it is the gradient of
    settings: Settings

    @property
    def truth_name(self) -> str:
        """The name of the true gradient the candidate is compared with: g_<wrt>."""
        return gradient_name(self.wrt)

    def trying(self, expr: Expr) -> Case:
        """The same case for another formula (the candidate with a reduction applied)."""
        return replace(self, expr=expr)


@dataclass(frozen=True)
class Layer:
    """What one layer of evidence found."""

    name: str  # "truth", "shape", "symbolic", "exact", "float64"
    outcome: str  # EQUAL, DIFFERENT, UNAVAILABLE, MEASURED or FAILED
    detail: str


@dataclass(frozen=True)
class FloatError:
    """Relative difference |candidate - truth| / max|truth| per channel, at batch size N."""

    n: int
    median: float
    largest: float


@dataclass(frozen=True)
class Residual:
    """Truth minus candidate, for every N, in ASCII and LaTeX."""

    ascii: str
    latex: str


@dataclass(frozen=True)
class Correction:
    """What a claim that fails should say instead, in words, ASCII and LaTeX."""

    said: str  # "the truth", "the coefficient of this term"
    ascii: str
    latex: str


@dataclass(frozen=True)
class Counterexample:
    """A small exact point where candidate and truth differ; values as exact strings.

    Each column lists a value's elements in the model's axis order (row-major).
    """

    sizes: tuple[tuple[str, int], ...]  # the size of each axis by its name: (("N", 2),)
    inputs: tuple[tuple[str, tuple[str, ...]], ...]
    truth: tuple[str, ...]
    candidate: tuple[str, ...]
    # Each column's shape over every axis, 1 where it does not vary: x (2, 3), gamma
    # (1, 3). Absent for a column, its values run along the first axis (or are one).
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # What the two compared columns are called: a claim compares its left and right sides.
    labels: tuple[str, str] = ("truth", "candidate")

    def columns(self) -> list[tuple[str, tuple[str, ...]]]:
        """The inputs, then "truth" and "candidate" (or a claim's sides), with their values."""
        truth, candidate = self.labels
        return [*self.inputs, (truth, self.truth), (candidate, self.candidate)]

    def table(self) -> tuple[list[str], list[tuple[str, ...]], list[tuple[str, str]]]:
        """(labels, rows, scalars): one row per element of every axis together, each
        column's value at it, and the columns that are one number (not in the rows).

        A row's label is its position along each axis: "2" with one axis, "2,1" with two.
        """
        full = tuple(size for _, size in self.sizes)
        shapes = dict(self.shapes)
        elements = self.n
        scalars = [(n, v[0]) for n, v in self.inputs if len(v) == 1 and elements > 1]
        varying = [(n, v) for n, v in self.columns() if not (len(v) == 1 and n in dict(scalars))]
        grids = []
        for name, values in varying:
            shape = shapes.get(name) or (len(values), *(1,) * (len(full) - 1))
            if int(np.prod(shape)) != len(values):  # one entry stands for all ("undefined")
                shape = (1,) * len(full)
            grid = np.broadcast_to(np.array(values, dtype=object).reshape(shape), full)
            grids.append(grid.reshape(-1))
        labels = [",".join(str(i + 1) for i in index) for index in np.ndindex(*full)]
        rows = [tuple(str(grid[k]) for grid in grids) for k in range(elements)]
        return labels, rows, scalars

    @property
    def varying(self) -> list[str]:
        """The names of the columns the rows of `table` show."""
        scalars = {n for n, v in self.inputs if len(v) == 1 and self.n > 1}
        return [n for n, v in self.columns() if not (len(v) == 1 and n in scalars)]

    @property
    def n(self) -> int:
        """The number of elements of every axis together (N in a one-axis model)."""
        out = 1
        for _, size in self.sizes:
            out *= size
        return out

    @property
    def where(self) -> str:
        """The sizes as a reader writes them: "N = 2", "B = 2, D = 3"."""
        return ", ".join(f"{name} = {size}" for name, size in self.sizes)


@dataclass(frozen=True)
class ErrorCurve:
    """Relative error of a candidate against batch size N over several random draws."""

    sizes: tuple[int, ...]
    median: tuple[float, ...]
    low: tuple[float, ...]  # smallest over the draws, per size
    high: tuple[float, ...]  # largest over the draws, per size
    draws: int


@dataclass(frozen=True)
class Sweep:
    """Both sides of a failing inequality as one number varies, every other value held at
    the counterexample: float64 values for a figure, which never decide a verdict."""

    variable: str  # as the claim writes it: "sigma"
    values: tuple[float, ...]
    lhs: tuple[float, ...]
    rhs: tuple[float, ...]
    relation: str  # "<", "<=", ">" or ">="
    at: float  # the variable's value at the counterexample

    @property
    def fails(self) -> tuple[bool, ...]:
        """Where the claim is false, by float64: the shaded region of the figure."""
        holds = COMPARISONS[self.relation]
        return tuple(not holds(a, b) for a, b in zip(self.lhs, self.rhs, strict=True))


Curve = ErrorCurve | Sweep  # what a verdict's figure draws


@dataclass(frozen=True)
class Verdict(Notebook):
    """What bnverify concluded about one candidate, why, and the formula it judged."""

    candidate: Candidate
    kind: Kind
    message: str
    wrt: str | None = None
    evidence: tuple[Layer, ...] = ()
    residual: Residual | None = None
    shape_fix: str | None = None
    conditions: tuple[str, ...] = ()
    counterexample: Counterexample | None = None
    float_errors: tuple[FloatError, ...] = ()
    problem: Problem | None = None
    parsed: Formula | None = None  # the tree as parsed, in its author's names
    resolved: Resolved | None = None  # the tree in the model's names, as judged
    curve: Curve | None = None  # a diverging candidate's error against N; a claim's sweep
    diagnosis_note: str | None = None  # set when the diagnosis was cut short
    headline: str | None = None  # a divergence in plain words ("N times the truth")
    correction: Correction | None = None  # a failing claim's true form

    @property
    def ok(self) -> bool:
        """Whether the verdict is what the derivation file expected."""
        return self.kind == self.candidate.expect


@dataclass(frozen=True)
class FileResult(Notebook):
    """The verdicts of one derivation file, and what was wrong with the file itself."""

    path: str
    title: str
    problems: tuple[Problem, ...]
    verdicts: tuple[Verdict, ...]
    truth: Truth | None = None  # the model's truth (and model), when the model loaded
    # How the file's own notation changed a model spelling's meaning (model.notation.shadows).
    notes: tuple[str, ...] = ()
    source: str = ""  # the file's free-text source, where students put their names


def exit_status(results: Iterable[FileResult], extra_problems: int = 0) -> int:
    """0 when every verdict is as expected, 1 when one differs, 2 on any error."""
    results = list(results)
    if extra_problems or any(r.problems for r in results):
        return 2
    verdicts = [v for r in results for v in r.verdicts]
    if any(v.kind == "error" for v in verdicts):
        return 2
    return 0 if all(v.ok for v in verdicts) else 1


# --- The PyTorch oracle's findings (judge/oracle.py): a cross-check, never a verdict ----

# A value agrees with PyTorch within this relative difference, or within twice the
# engine's own rounding bound where it cancels (judge/oracle.py says why).
TOLERANCE = 1e-9
DRAWS = 3  # independent random points per shape: the last dimension of every array

Sizes = tuple[tuple[str, int], ...]  # (axis, size) in the model's order


@dataclass(frozen=True)
class Agreement:
    """One value of the engine against one computation of PyTorch's, over every shape.

    `difference` is the largest relative difference, |engine - PyTorch| over the largest
    magnitude of its draw, and `at` the shape where it was largest. `excess` is the
    largest ratio of a difference to what agreement allows there (TOLERANCE, ROUNDING),
    and `worst` its shape: the value agrees when `excess` is at most 1.
    """

    against: str  # "the model in PyTorch", "autograd", "F.layer_norm", "autograd of ..."
    difference: float
    at: Sizes
    excess: float
    worst: Sizes

    @property
    def agrees(self) -> bool:
        return self.excess <= 1

    @property
    def within_rounding(self) -> bool:
        """Whether it agrees by the rounding bound only, not relatively (a value near 0)."""
        return self.agrees and self.difference > TOLERANCE


@dataclass(frozen=True)
class Quantity:
    """The model's output (forward) or one gradient, and what it was compared with."""

    name: str  # y, g_x
    agreements: tuple[Agreement, ...]

    @property
    def agrees(self) -> bool:
        return all(a.agrees for a in self.agreements)


@dataclass(frozen=True)
class ModelOracle:
    """What the oracle found for one model."""

    model: str
    shapes: tuple[Sizes, ...]
    quantities: tuple[Quantity, ...]
    functional: str | None  # the functional compared, for a built-in layer
    notes: tuple[str, ...] = ()  # shapes left out, and why

    @property
    def agrees(self) -> bool:
        return all(q.agrees for q in self.quantities)


@dataclass(frozen=True)
class OracleReport:
    """The oracle's findings for some models: a cross-check, never a verdict."""

    version: str  # PyTorch's
    models: tuple[ModelOracle, ...]
    tolerance: float = TOLERANCE
    draws: int = DRAWS

    @property
    def agrees(self) -> bool:
        return all(m.agrees for m in self.models)
