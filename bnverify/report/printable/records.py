"""A printable report as data: the records every report format prints, already computed.

The HTML, Markdown and LaTeX reporters are printers over a `Document`; none of them
computes anything. Every formula here is LaTeX that bnverify printed itself from an
expression tree (the model's, the engine's, or the candidate's as parsed), never text
copied from a derivation file, so a printer may typeset it as it stands. Free text
(titles, sources, names, notes, messages) is plain text: each printer escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnverify.judge.records import Curve


@dataclass(frozen=True)
class ForwardStep:
    """One node of the forward pass: `left = right` in LaTeX (printed by bnverify), and ASCII."""

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
    rows: tuple[tuple[str, ...], ...]  # one row per element i = 1..n (of every axis)
    scalars: tuple[tuple[str, str], ...]  # (LaTeX name, value) of per-channel inputs
    where: str = ""  # the sizes: "N = 2", "B = 2, D = 3"
    sizes: tuple[tuple[str, int], ...] = ()  # the same, as (name, size) pairs


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
    correction: tuple[str, str] | None  # a failing claim's: (what is said, its LaTeX)
    shape_fix: str | None
    conditions: tuple[str, ...]
    counterexample: CounterexampleTable | None
    curve: Curve | None  # diverging candidates, failing inequalities
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
    forward: tuple[ForwardStep, ...]
    backward: tuple[BackwardStep, ...]
    candidates: tuple[CandidateSection, ...]
    problems: tuple[str, ...]  # located messages about the file itself
    footer: Footer
    notes: tuple[str, ...] = ()  # model spellings the file's own notation shadows
    sizes: str = "N"  # the model's sizes, as sentences list them: "N", "B and D"
