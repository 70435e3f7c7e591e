"""The order of what a report says about a backward step and a candidate, as blocks.

The Markdown and LaTeX printers walk the same blocks and print each in their own
syntax, so the two formats say the same things in the same order. Text in a block is
plain (each printer escapes it); LaTeX in a block was printed by bnverify from a tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnverify.report.printable import prose
from bnverify.report.printable.records import (
    BackwardStep,
    CandidateSection,
    CounterexampleTable,
    EvidenceRow,
)


@dataclass(frozen=True)
class Paragraph:
    """Plain text, after an optional label (printed in bold)."""

    text: str
    label: str = ""
    # Text quoting a formula's source (a claim's term), which has long unspaced runs: a
    # printer may break it after / _ . and - as well as at spaces.
    quotes_source: bool = False


@dataclass(frozen=True)
class Display:
    """A displayed formula."""

    latex: str


@dataclass(frozen=True)
class Badge:
    """The verdict (match, diverge or error) and whether it was expected."""

    kind: str
    text: str


@dataclass(frozen=True)
class Preformatted:
    """Lines shown as they are: a located error with its caret."""

    text: str


@dataclass(frozen=True)
class Evidence:
    """The layers of evidence as a table."""

    rows: tuple[EvidenceRow, ...]


@dataclass(frozen=True)
class CounterexampleBlock:
    """A counterexample as a table."""

    table: CounterexampleTable


@dataclass(frozen=True)
class Figure:
    """A candidate's error figure, with its caption."""

    candidate: str
    caption: str


Block = Paragraph | Display | Badge | Preformatted | Evidence | CounterexampleBlock | Figure


def step(s: BackwardStep, sizes: str = prose.ONE_AXIS) -> list[Block]:
    """What the report says of one step of the backward pass (`sizes`: Document.sizes)."""
    if not s.terms:
        return [Paragraph(prose.upstream(s))]
    left = s.left or s.symbol
    blocks: list[Block] = [Paragraph(prose.TERMS), Display(f"{left} = {s.chain}")]
    if s.simplified is not None:
        blocks += [Paragraph(prose.simplified(sizes)), Display(f"{left} = {s.simplified}")]
    if s.closed_form is not None:
        blocks += [Paragraph(prose.closed_form(sizes)), Display(f"{left} = {s.closed_form}")]
    return blocks


def candidate(c: CandidateSection, sizes: str = prose.ONE_AXIS) -> list[Block]:
    """What the report says of one candidate, after its heading (`sizes`: Document.sizes)."""
    blocks: list[Block] = [Badge(c.kind, prose.expectation(c))]
    if c.written is not None:
        blocks += [Paragraph("As written:"), Display(c.written)]
    if c.note:
        blocks.append(Paragraph(c.note, "Note:"))
    if c.problem is not None:
        return [*blocks, Preformatted(c.problem)]
    blocks.append(Paragraph(c.message, "Verdict:"))
    if c.evidence:
        blocks.append(Evidence(c.evidence))
    if c.residual is not None:
        blocks += [Paragraph(prose.residual(sizes)), Display(c.residual)]
    if c.correction is not None:
        said, latex = c.correction
        blocks += [Paragraph(prose.correction(said), quotes_source=True), Display(latex)]
    fix = prose.shape_fix(c)
    if fix is not None:
        blocks.append(Paragraph(fix))
    if c.kind in ("diverge", "fails"):
        blocks.append(Paragraph(prose.conditions(c)))
    if c.counterexample is not None:
        blocks.append(CounterexampleBlock(c.counterexample))
    if c.curve is not None:
        blocks.append(Figure(c.name, prose.caption(c, c.curve, sizes)))
    return blocks
