"""A printable report's Document, built from a derivation and the result of checking it.

Everything comes from the check's records: the truth (the model's forward pass and the
engine's backward pass), each candidate's verdict with its tree as parsed, its evidence,
diagnosis and error curve. Nothing is parsed, resolved or evaluated again here; the
formulas are printed from their trees in the model's notation.
"""

from __future__ import annotations

from bnverify import __version__
from bnverify.engine.printing import latex_names
from bnverify.files.derivation import Derivation
from bnverify.judge.records import Counterexample, FileResult, Verdict
from bnverify.language import tree_printing
from bnverify.language.names import latex_name
from bnverify.language.tree import Formula
from bnverify.model.graph import Model
from bnverify.report.printable import passes
from bnverify.report.printable.records import (
    CandidateSection,
    CounterexampleTable,
    Document,
    EvidenceRow,
    Footer,
)
from bnverify.report.text import located
from bnverify.settings import Settings


def build_document(
    derivation: Derivation, result: FileResult, settings: Settings, command: str
) -> Document:
    """Everything a printable report of a derivation, and the result of checking it, shows."""
    # The check kept the truth only when the model loaded; it has reported why if not.
    truth = result.truth
    model = truth.model if truth is not None else None
    return Document(
        title=derivation.title,
        source=derivation.source,
        path=result.path,
        model=model.title if model is not None else derivation.model,
        forward=passes.forward(model) if model is not None else (),
        backward=passes.backward(truth) if truth is not None else (),
        candidates=tuple(_section(v, model) for v in result.verdicts) if model is not None else (),
        problems=tuple(located(p) for p in result.problems),
        footer=Footer(__version__, settings.seed, command),
        notes=result.notes,
        sizes=model.size_list if model is not None else "N",
    )


def _section(v: Verdict, model: Model) -> CandidateSection:
    c = v.candidate
    return CandidateSection(
        name=c.name,
        line=c.location.line,
        wrt=v.wrt or c.wrt,
        written=_written(v.parsed, c.syntax, model),
        note=c.note,
        kind=v.kind,
        expect=c.expect,
        ok=v.ok,
        message=v.message,
        evidence=tuple(EvidenceRow(e.name, e.outcome, e.detail) for e in v.evidence),
        residual=v.residual.latex if v.residual is not None else None,
        correction=(v.correction.said, v.correction.latex) if v.correction else None,
        shape_fix=v.shape_fix,
        conditions=v.conditions,
        counterexample=_table(v.counterexample, model) if v.counterexample else None,
        curve=v.curve,
        problem=located(v.problem) if v.problem is not None else None,
    )


def _written(parsed: Formula | None, syntax: str, model: Model) -> str | None:
    # An ASCII formula is written in the model's names, so it is typeset in the model's
    # notation; a LaTeX one keeps its author's names (\\hat{x}, m), spelled from the tree.
    if parsed is None:
        return None
    spellings = latex_names(model) if syntax == "ascii" else {}
    return passes.printed(lambda: tree_printing.latex(parsed, spellings, None, model.sizes))


def _table(ce: Counterexample, model: Model) -> CounterexampleTable:
    spellings = latex_names(model)

    def spelled(name: str) -> str:
        return spellings.get(name) or latex_name(name)

    labels, rows, scalars = ce.table()
    words = {label: rf"\text{{{label}}}" for label in ce.labels}
    index = "i" if len(ce.sizes) == 1 else ",".join(latex_name(n) for n, _ in ce.sizes)
    columns = (index, *(words.get(name) or spelled(name) for name in ce.varying))
    table_rows = tuple((label, *row) for label, row in zip(labels, rows, strict=True))
    return CounterexampleTable(
        ce.n, columns, table_rows, tuple((spelled(n), v) for n, v in scalars), ce.where, ce.sizes
    )
