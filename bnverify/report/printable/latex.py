"""A derivation report as a complete LaTeX document that pdflatex compiles as it stands.

Only packages of Debian's texlive-latex-base and texlive-latex-recommended are used
(amsmath, amssymb, graphicx, geometry, array, booktabs), with the Latin Modern fonts
(Debian's lmodern, which texlive-base recommends). Formulas are LaTeX that
bnverify printed from trees (see report.document); every piece of free text goes through
`text`, so nothing from a derivation file can become a command (pdflatex's \\input would
read any file on the machine). Figures are PDFs beside the .tex file.
"""

from __future__ import annotations

import re

from bnverify.report.printable import outline, prose
from bnverify.report.printable.records import CounterexampleTable, Document, EvidenceRow

# T1-encoded Latin Modern has a glyph for each of these, so copying from the PDF gives
# back the characters; {} after - ' , keeps TeX's ligatures (-- '' ,,) from forming.
_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "`": r"\textasciigrave{}",
    "-": "-{}",
    "'": r"\textquotesingle{}",
    ",": ",{}",
}
# Characters pdflatex typesets from its default UTF-8 input without extra packages.
_SAFE = re.compile(r"[ -~\u00c0-\u00ff\u2013\u2014\u2018\u2019\u201c\u201d]")
_EXACT_NUMBER = re.compile(r"-?\d+(/\d+)?")
FIGURE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*\.pdf")
BADGE = {
    "match": "match",
    "diverge": "diverge",
    "error": "error",
    "holds": "holds",
    "fails": "fails",
    "undecided": "undecided",
}

PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{array,booktabs}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.4\baselineskip}
\allowdisplaybreaks
\setlength{\emergencystretch}{3em}
\newcommand{\badge}[1]{\fbox{\textbf{#1}}}
% A displayed formula wider than the line is scaled down to fit it, never set past it.
\newsavebox{\displaybox}
\newcommand{\fitted}[1]{\sbox{\displaybox}{$\displaystyle #1$}%
  \ifdim\wd\displaybox>\linewidth\resizebox{\linewidth}{!}{\usebox{\displaybox}}%
  \else\usebox{\displaybox}\fi}
"""


def text(value: str) -> str:
    """Free text as LaTeX that typesets exactly these characters (on one line)."""
    line = " ".join(value.split())
    return "".join(_char(c) for c in line)


def _char(c: str) -> str:
    if c in _SPECIALS:
        return _SPECIALS[c]
    if _SAFE.fullmatch(c):
        return c
    return rf"\texttt{{[U+{ord(c):04X}]}}"  # no glyph in pdflatex's default fonts


BREAK_AFTER = frozenset("/_.-")


def code(value: str) -> str:
    """A path or a command in a typewriter font, which may break after / _ . and -."""
    # A long path has no space to break at; unbroken, it would run into the margin.
    line = " ".join(value.split())
    body = "".join(_char(c) + (r"\allowbreak{}" if c in BREAK_AFTER else "") for c in line)
    return rf"\texttt{{{body}}}"


def breakable(value: str) -> str:
    """Free text that may also break after / _ and . (a source citing kernel files)."""
    line = " ".join(value.split())
    return "".join(_char(c) + (r"\allowbreak{}" if c in BREAK_AFTER else "") for c in line)


def verbatim(value: str) -> str:
    """Preformatted lines (a located error with its caret) in a typewriter font."""
    # Each space is a control space: as wide as a character, so the caret stays under
    # its column, yet a long message may still break between words. \mbox{} keeps TeX
    # from dropping the spaces that indent a line.
    lines = ["".join(r"\ " if c == " " else _char(c) for c in line) for line in value.split("\n")]
    body = r"\\".join(r"\mbox{}" + line for line in lines)
    return f"{{\\small\\ttfamily\\frenchspacing\\raggedright {body}\\par}}"


def render(document: Document, figures: dict[str, str]) -> str:
    """The whole .tex file; figures maps a candidate's name to its PDF beside the file."""
    title = text(document.title or document.path)
    parts = [PREAMBLE, r"\begin{document}", rf"{{\LARGE\bfseries {title}\par}}"]
    if document.source:
        parts.append(rf"\textbf{{Source:}} {breakable(document.source)}")
    path = code(document.path)
    parts.append(rf"\textbf{{Model:}} {text(document.model)}. \textbf{{File:}} {path}.")
    parts += [verbatim(problem) for problem in document.problems]
    parts += [rf"\textbf{{Note:}} {text(note)}" for note in document.notes]
    if document.forward:
        parts.append(r"\section*{The model's forward pass}")
        rows = r" \\ ".join(f"{eq.left} &= {eq.right}" for eq in document.forward)
        parts.append(rf"\begin{{align*}} {rows} \end{{align*}}")
    if document.backward:
        parts += [r"\section*{The true backward pass}", text(prose.backward_intro(document.sizes))]
        for step in document.backward:
            parts.append(rf"\subsection*{{${step.symbol}$}}")
            parts += [_block(b, figures) for b in outline.step(step, document.sizes)]
    if document.candidates:
        parts.append(r"\section*{The candidates}")
        for c in document.candidates:
            # A candidate with a figure starts a page, so the figure stays beside it.
            parts.append(r"\clearpage" if c.curve is not None else r"\bigskip")
            parts.append(rf"\subsection*{{{text(c.name)} (line {c.line})}}")
            parts += [_block(b, figures) for b in outline.candidate(c, document.sizes)]
    footer = document.footer
    parts += [
        r"\bigskip\hrule\smallskip",
        rf"{{\small bnverify {text(footer.version)}, seed {footer.seed}. Made by "
        rf"{code(footer.command)}\par}}",
        r"\end{document}",
    ]
    return "\n\n".join(parts) + "\n"


def _block(b: outline.Block, figures: dict[str, str]) -> str:
    match b:
        case outline.Paragraph(text=said, label=label, quotes_source=True):
            return breakable(said)
        case outline.Paragraph(text=said, label=label):
            return rf"\textbf{{{text(label)}}} {text(said)}" if label else text(said)
        case outline.Display(latex=latex):
            return rf"\begin{{equation*}} \fitted{{{latex}}} \end{{equation*}}"
        case outline.Badge(kind=kind, text=said):
            return rf"\badge{{{BADGE[kind]}}} {text(said)}"
        case outline.Preformatted(text=said):
            return verbatim(said)
        case outline.Evidence(rows=rows):
            return _evidence(rows)
        case outline.CounterexampleBlock(table=table):
            return _counterexample(table)
        case outline.Figure(candidate=name, caption=caption):
            return _figure(text(caption), figures.get(name))
    raise TypeError(f"no LaTeX for {b!r}")


def _evidence(rows: tuple[EvidenceRow, ...]) -> str:
    body = "\n".join(rf"{text(r.layer)} & {text(r.outcome)} & {text(r.detail)} \\" for r in rows)
    return (
        r"\begin{tabular}{@{}l l >{\raggedright\arraybackslash}p{0.62\linewidth}@{}}"
        "\n\\toprule\nlayer & outcome & what it found \\\\\n\\midrule\n"
        f"{body}\n\\bottomrule\n\\end{{tabular}}"
    )


def _counterexample(table: CounterexampleTable) -> str:
    header = " & ".join(f"${h}$" for h in table.columns)
    body = "\n".join(" & ".join(_value(v) for v in row) + r" \\" for row in table.rows)
    out = (
        f"Counterexample at ${table.where}$:\n\n"
        f"\\begin{{tabular}}{{@{{}}{'r' * len(table.columns)}@{{}}}}\n\\toprule\n"
        f"{header} \\\\\n\\midrule\n{body}\n\\bottomrule\n\\end{{tabular}}"
    )
    if table.scalars:
        values = ", ".join(f"${name} = {_number(v)}$" for name, v in table.scalars)
        out += f"\n\nwith {values}"
    return out


def _value(value: str) -> str:
    return f"${_number(value)}$"


def _number(value: str) -> str:
    # Counterexample values are exact numbers bnverify wrote; anything else is text.
    return value if _EXACT_NUMBER.fullmatch(value) else rf"\text{{{text(value)}}}"


def _figure(caption: str, figure: str | None) -> str:
    if figure is None or not FIGURE_NAME.fullmatch(figure):
        return f"{caption} {text(prose.NO_FIGURE)}"
    # Not a float, and one unbreakable box: the figure stays with its candidate and its
    # caption with the figure.
    return (
        "\\begin{center}\\begin{minipage}{\\linewidth}\\centering\n"
        f"\\includegraphics[width=0.6\\linewidth]{{{figure}}}\\par\\smallskip\n"
        f"{{\\small {caption}\\par}}\n\\end{{minipage}}\\end{{center}}"
    )
