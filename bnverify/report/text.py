"""The terminal report: a table to read at a glance, then the reasons, through rich.

Errors are printed the way ruff, mypy and gcc print them (`file:line:column: error: ...`
then the offending line with a caret), so editors and CI logs can jump to them. Rich
drops colour when the output is not a terminal or NO_COLOR is set.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bnverify.judge.records import Counterexample, FileResult, Verdict
from bnverify.problem import Problem
from bnverify.report.inert import inert_lines, no_commands, shown_path, visible

STYLE = {
    "match": "green",
    "diverge": "red",
    "error": "bold magenta",
    "holds": "green",
    "fails": "red",
    "undecided": "yellow",
}
# The verdicts a candidate can get, and those a claim can get, in the order counted.
CANDIDATE = ("match", "diverge", "error")
CLAIM = ("holds", "fails", "undecided", "error")
# The verdicts whose message is their headline (a divergence has its own).
SAID = frozenset({"match", "holds", "fails", "undecided"})
OUTCOME_STYLE = {"ok": "green", "UNEXPECTED": "bold red", "NOT CHECKED": STYLE["error"]}


def render(
    console: Console,
    results: Sequence[FileResult],
    problems: Sequence[Problem] = (),
    width: int | None = None,
    verbose: bool = False,
) -> None:
    """Print the report of a whole run, with no line a terminal or a CI runner would obey.

    With a width (a terminal's), prose wraps at word boundaries with a hanging indent;
    a located problem never wraps, so its caret stays under the text it marks. A match
    is one line and a divergence says what decided it; `verbose` adds every layer of
    evidence.
    """
    with console.capture() as captured:
        for problem in problems:
            console.print(located(problem), markup=False, highlight=False)
        for result in results:
            _file(console, result, width, verbose)
        console.print(_wrapped(summary(results, problems), width), highlight=False)
    console.file.write(no_commands(_no_trailing_spaces(captured.get())))
    console.file.flush()


def _no_trailing_spaces(text: str) -> str:
    # rich pads table cells to the column's width, the last one too.
    return "\n".join(line.rstrip() for line in text.split("\n"))


def _wrapped(line: str, width: int | None) -> str:
    """A line broken at spaces to fit the width, continued 2 further in than it starts."""
    if width is None or len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
    return textwrap.fill(
        line,
        width,
        subsequent_indent=indent[: max(0, width // 2)],
        break_long_words=False,
        break_on_hyphens=False,
        drop_whitespace=True,
    )


def located(problem: Problem) -> str:
    """The problem as it writes itself (Problem.format), every piece of file text visible.

    The problem's gutter (`  12 | ...`) keeps a line of the file from starting a printed
    line, where a CI runner could read it as a command; no_commands breaks what is left.
    """
    return no_commands(problem.format(visible, shown_path))


def _file(console: Console, result: FileResult, width: int | None, verbose: bool) -> None:
    console.print()
    title = f" - {result.title}" if result.title else ""
    console.print(Text(_wrapped(shown_path(result.path) + visible(title), width), style="bold"))
    for problem in result.problems:
        console.print(located(problem), markup=False, highlight=False)
    for note in result.notes:
        console.print(Text("note: " + visible(note)))
    if result.verdicts:
        console.print(_table(result.verdicts))
        for verdict in result.verdicts:
            console.print(_details(verdict, width, verbose))


def _table(verdicts: Sequence[Verdict]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("line", "candidate", "gradient of", "verdict", "expected", ""):
        table.add_column(column)
    for v in verdicts:
        c = v.candidate
        table.add_row(
            str(c.location.line),
            escape(visible(c.name)),
            escape(visible(v.wrt or c.wrt or ("(claim)" if c.claim else "?"))),
            Text(v.kind, style=STYLE[v.kind]),
            c.expect,
            _outcome(v),
        )
    return table


def outcome(v: Verdict) -> str:
    """Whether a verdict is as expected: ok, UNEXPECTED or NOT CHECKED."""
    if v.ok:
        return "ok"
    return "NOT CHECKED" if v.kind == "error" else "UNEXPECTED"


def _outcome(v: Verdict) -> Text:
    word = outcome(v)
    return Text(word, style=OUTCOME_STYLE[word])


def _evidence_lines(v: Verdict, verbose: bool) -> list[Text | Table]:
    """Every layer with -v; else what decided a divergence, and float64 where it is telling."""
    if verbose:
        return [Text(f"  {layer.name}: {layer.detail}") for layer in v.evidence]
    decided = [layer for layer in v.evidence if layer.name in ("proof", "shape")][-1:]
    lines: list[Text | Table] = [Text(f"  why: {layer.detail}") for layer in decided]
    finite = [e.largest for e in v.float_errors if e.largest == e.largest]
    if v.kind == "diverge" and finite and max(finite) < _QUIET_FLOAT:
        lines.append(
            Text(
                f"  float64 sees a relative difference of only {max(finite):.1e}: a "
                "finite-difference check could pass it"
            )
        )
    return lines


def verdict_text(v: Verdict) -> str:
    """One verdict and its reasons as plain text, as the terminal report prints them."""
    # JUnit, GitHub annotations and the pytest plugin show the same diagnosis as the terminal.
    console = Console(file=io.StringIO(), no_color=True, highlight=False, soft_wrap=True)
    console.print(_details(v))
    return inert_lines(_no_trailing_spaces(console.file.getvalue()))


def _details(v: Verdict, width: int | None = None, verbose: bool = True) -> Group:
    """A verdict's reasons, each prose line wrapped to the width (None: not wrapped)."""
    return Group(*(_wrap_text(line, width) for line in _detail_lines(v, verbose, width)))


def _wrap_text(line: Text | Table, width: int | None) -> Text | Table:
    if not isinstance(line, Text) or width is None or line.cell_len <= width:
        return line
    if "\n" in line.plain or line.spans:  # a located problem, or a styled head: as it is
        return line
    return Text(_wrapped(line.plain, width), style=line.style)


# float64 "tells something" about a divergence it sees this small: a finite-difference
# check with the usual tolerances (1e-5 relative and less) could pass it.
_QUIET_FLOAT = 1e-3


def _detail_lines(v: Verdict, verbose: bool = True, width: int | None = None) -> list[Text | Table]:
    c = v.candidate
    # "candidate" first: a name from the file never starts a printed line.
    said = v.headline or (v.message if v.kind in SAID else "")
    head = Text.assemble(
        "claim " if c.claim else "candidate ",
        (visible(c.name), "bold"),
        f" (line {c.location.line}): ",
        (v.kind, STYLE[v.kind]),
    )
    lines: list[Text | Table] = [head]
    if said and (width is None or head.cell_len + len(said) + 2 <= width):
        head.append(f": {said}")
    elif said:  # too long for the terminal beside the head: a line of its own, wrapped
        head.append(":")
        lines.append(Text(f"  {said}"))
    if v.problem is not None:
        lines.append(Text(located(v.problem)))
        return lines
    if v.kind in ("match", "holds") and not verbose:
        return lines  # a match (or a claim that holds) is one line; -v gives its evidence
    lines += _evidence_lines(v, verbose)
    if v.residual is not None:
        lines.append(Text("  missing terms (truth - candidate):"))
        lines.append(Text(f"    {v.residual.ascii}"))
        lines.append(Text(f"    LaTeX: {v.residual.latex}"))
    if v.correction is not None:
        lines.append(Text(f"  correction: {v.correction.said}"))
        lines.append(Text(f"    {v.correction.ascii}"))
        lines.append(Text(f"    LaTeX: {v.correction.latex}"))
    if v.kind == "fails" and v.conditions:
        lines.append(Text(f"  holds when: {'; '.join(v.conditions)}"))
    if v.kind == "diverge":
        matches = "; ".join(v.conditions) if v.conditions else "none of the model's probes"
        lines.append(Text(f"  matches when: {matches}"))
    if v.counterexample is not None:
        lines.append(Text(f"  counterexample at {v.counterexample.where}:"))
        lines.append(_counterexample(v.counterexample))
    if v.diagnosis_note:
        lines.append(Text(f"  {v.diagnosis_note}; the verdict stands"))
    if c.note:
        lines.append(Text(f"  note: {visible(c.note)}", style="dim"))
    return lines


def _counterexample(ce: Counterexample) -> Table:
    table = Table(show_edge=False, box=None, padding=(0, 2), header_style="bold")
    labels, rows, scalars = ce.table()
    table.add_column("    i" if len(ce.sizes) == 1 else "    " + ",".join(n for n, _ in ce.sizes))
    for name in ce.varying:
        table.add_column(escape(name))
    for label, row in zip(labels, rows, strict=True):
        table.add_row(f"    {label}", *row)
    if scalars:
        table.caption = "    " + ", ".join(f"{name} = {value}" for name, value in scalars)
        table.caption_justify = "left"
    return table


def summary(results: Sequence[FileResult], problems: Sequence[Problem] = ()) -> str:
    """One line: how many candidates, by verdict, and whether all were as expected."""
    verdicts = [v for r in results for v in r.verdicts]
    candidates = [v for v in verdicts if v.candidate.claim is None]
    claims = [v for v in verdicts if v.candidate.claim is not None]
    unexpected = sum(not v.ok and v.kind != "error" for v in verdicts)
    unchecked = sum(v.kind == "error" for v in verdicts)
    file_problems = len(problems) + sum(len(r.problems) for r in results)
    parts = []
    if candidates or not claims:
        parts.append(f"{_count(len(candidates), 'candidate')}: {_kinds(candidates, CANDIDATE)}")
    if claims:
        parts.append(f"{_count(len(claims), 'claim')}: {_kinds(claims, CLAIM)}")
    if not unexpected and not unchecked and not file_problems:
        parts.append("all as expected")
    if unexpected:
        parts.append(f"{unexpected} not as expected")
    if unchecked:
        parts.append(f"{unchecked} could not be checked")
    if file_problems:
        parts.append(f"{_count(file_problems, 'problem')} with the input")
    return "\n" + "; ".join(parts)


def _kinds(verdicts: Sequence[Verdict], kinds: tuple[str, ...]) -> str:
    return ", ".join(f"{sum(v.kind == kind for v in verdicts)} {kind}" for kind in kinds)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
