"""A printable derivation report as data: what every report format shows, already computed.

The HTML, Markdown and LaTeX reporters are printers over a `Document`; none of them
computes anything. Every formula here is LaTeX that bnverify printed itself from an
expression tree (the model's, the engine's, or the candidate's as parsed), never text
copied from a derivation file, so a printer may typeset it as it stands. Free text
(titles, sources, names, notes, messages) is plain text: each printer escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bnverify import __version__
from bnverify.check import FileResult, check_derivation, model_of
from bnverify.engine.printing import latex_names
from bnverify.engine.truth import Truth, truth_of
from bnverify.files.derivation import Derivation, load_derivation
from bnverify.judge.error_curve import (  # a record, kept with its computation
    ErrorCurve,
    error_curve,
)
from bnverify.judge.records import Case, Counterexample, sample_value
from bnverify.judge.verdict import Verdict
from bnverify.language import parser, tree_printing
from bnverify.language.names import latex_name
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Equation as FormulaEquation
from bnverify.language.tree import Expr
from bnverify.model.graph import Model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem
from bnverify.report.text import located
from bnverify.settings import Settings


@dataclass(frozen=True)
class Equation:
    """`left = right` in LaTeX (printed by bnverify), with the same in ASCII."""

    left: str
    right: str
    ascii: str


@dataclass(frozen=True)
class ChainTerm:
    """What flows back into a name through one consumer, as the engine built it."""

    consumer: str  # LaTeX of the consumer's name, e.g. \hat{z}
    latex: str


@dataclass(frozen=True)
class BackwardStep:
    """One node of the true backward pass, in reverse order of the forward pass."""

    name: str  # ASCII, e.g. g_zhat
    symbol: str  # LaTeX, e.g. g_{\hat{z}}
    terms: tuple[ChainTerm, ...]  # the chain-rule sum over consumers (empty for g_y)
    # LaTeX of that sum simplified for every N, other gradients kept as names; None when
    # it reads as the only term.
    simplified: str | None
    # LaTeX for general N in the model's inputs; None when it reads as the line before.
    closed_form: str | None
    # LaTeX of the left side of its equations: the symbol with the element index i for a
    # gradient with one value per sample (g_{z,i}); None means the symbol itself.
    left: str | None = None

    @property
    def chain(self) -> str:
        """LaTeX of the chain-rule sum, each term labelled with the node it came through."""
        return " + ".join(
            rf"\underbrace{{{t.latex}}}_{{\text{{through }} {t.consumer}}}" for t in self.terms
        )


@dataclass(frozen=True)
class EvidenceRow:
    """One layer of evidence: its name, outcome and the sentence saying what it found."""

    layer: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class CounterexampleTable:
    """A small exact point where a candidate and the truth differ; values exact text."""

    n: int
    columns: tuple[str, ...]  # LaTeX headers: i, the batch inputs, truth, candidate
    rows: tuple[tuple[str, ...], ...]  # one row per sample i = 1..n
    scalars: tuple[tuple[str, str], ...]  # (LaTeX name, value) of per-channel inputs


@dataclass(frozen=True)
class CandidateSection:
    """One candidate: as its author wrote it, the verdict, the evidence and diagnosis."""

    name: str
    line: int
    wrt: str | None
    written: str | None  # LaTeX printed from the parsed tree; None when it did not parse
    note: str
    kind: str  # match, diverge or error
    expect: str
    ok: bool
    message: str
    evidence: tuple[EvidenceRow, ...]
    residual: str | None  # LaTeX of truth minus candidate, general N
    shape_fix: str | None
    conditions: tuple[str, ...]
    counterexample: CounterexampleTable | None
    curve: ErrorCurve | None  # diverging candidates only
    problem: str | None  # the located message of an error (file:line:column ...)


@dataclass(frozen=True)
class Footer:
    """How to reproduce the report."""

    version: str
    seed: int
    command: str


@dataclass(frozen=True)
class Document:
    """Everything a printable report of one derivation file shows."""

    title: str
    source: str
    path: str
    model: str
    forward: tuple[Equation, ...]
    backward: tuple[BackwardStep, ...]
    candidates: tuple[CandidateSection, ...]
    problems: tuple[str, ...]  # located messages about the file itself
    footer: Footer


def report_of(path: str | Path, settings: Settings, command: str) -> tuple[Document, FileResult]:
    """Read and check a derivation file once; its report and the check's result."""
    derivation = load_derivation(path, settings.limits)
    result = check_derivation(derivation, settings)
    return build_document(derivation, result, settings, command), result


def build_document(
    derivation: Derivation, result: FileResult, settings: Settings, command: str
) -> Document:
    """Everything a printable report of a derivation, and the result of checking it, shows."""
    # The steps build records of this module, so they are imported once it is loaded.
    from bnverify.report.printable import passes

    # check_derivation has reported any problem with the model already.
    model = model_of(derivation)
    model = None if isinstance(model, Problem) else model
    truth = truth_of(model) if model is not None else None
    sections = ()
    if model is not None and truth is not None:
        names, _ = user_names(model, derivation.notation)
        sections = tuple(_section(v, truth, names, settings) for v in result.verdicts)
    return Document(
        title=derivation.title,
        source=derivation.source,
        path=result.path,
        model=model.title if model is not None else derivation.model,
        forward=passes.forward(model) if model is not None else (),
        backward=passes.backward(truth) if truth is not None else (),
        candidates=sections,
        problems=tuple(located(p) for p in result.problems),
        footer=Footer(__version__, settings.seed, command),
    )


def _section(v: Verdict, truth: Truth, names: Names, settings: Settings) -> CandidateSection:
    c = v.candidate
    parsed = parser.parse(c.text, c.syntax, settings.limits) if c.problem is None else None
    parsed = None if isinstance(parsed, Problem) else parsed
    curve = None
    if v.kind == "diverge" and parsed is not None:
        resolved = resolve(parsed, names, c.wrt)
        if not isinstance(resolved, Problem):
            curve = error_curve(Case(truth, resolved.expr, resolved.wrt, settings))
    return CandidateSection(
        name=c.name,
        line=c.location.line,
        wrt=v.wrt or c.wrt,
        written=_written(parsed, c.syntax, truth.model) if parsed is not None else None,
        note=c.note,
        kind=v.kind,
        expect=c.expect,
        ok=v.ok,
        message=v.message,
        evidence=tuple(EvidenceRow(e.name, e.outcome, e.detail) for e in v.evidence),
        residual=v.residual.latex if v.residual is not None else None,
        shape_fix=v.shape_fix,
        conditions=v.conditions,
        counterexample=_table(v.counterexample, truth.model) if v.counterexample else None,
        curve=curve,
        problem=located(v.problem) if v.problem is not None else None,
    )


def _written(parsed: Expr | FormulaEquation, syntax: str, model: Model) -> str:
    # An ASCII formula is written in the model's names, so it is typeset in the model's
    # notation; a LaTeX one keeps its author's names (\\hat{x}, m), spelled from the tree.
    spellings = latex_names(model) if syntax == "ascii" else {}
    return tree_printing.latex(parsed, spellings)


def _table(ce: Counterexample, model: Model) -> CounterexampleTable:
    spellings = latex_names(model)

    def spelled(name: str) -> str:
        return spellings.get(name) or latex_name(name)

    batch = [(name, values) for name, values in ce.inputs if model.shape_of[name] == BATCH]
    scalars = [(spelled(name), v[0]) for name, v in ce.inputs if model.shape_of[name] != BATCH]
    columns = ("i", *(spelled(name) for name, _ in batch), r"\text{truth}", r"\text{candidate}")
    values = [v for _, v in batch]
    rows = tuple(
        (str(i + 1), *(sample_value(v, i) for v in (*values, ce.truth, ce.candidate)))
        for i in range(ce.n)
    )
    return CounterexampleTable(ce.n, columns, rows, tuple(scalars))
