"""LaTeX reports: every shipped derivation compiles with pdflatex, and user text stays text."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bnverify.check import check_file, report_of
from bnverify.report.printable import latex
from bnverify.report.printable.write import write_report
from bnverify.settings import Settings

DERIVATIONS = Path(__file__).parent.parent / "derivations"
HOSTILE = Path(__file__).parent / "data" / "hostile.toml"
SCRIPT = "<script>alert(1)</script>"
INPUT = r"\input{/etc/passwd}"
PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(
    PDFLATEX is None, reason="pdflatex is not installed (Debian: texlive-latex-base)"
)


def write_tex(source: Path, folder: Path) -> Path:
    settings = Settings()
    document = report_of(source, settings, "bnverify report x")[0]
    target = folder / "report.tex"
    write_report(document, str(target), "tex")
    return target


def compile_tex(tex: Path, *pdftotext_options: str) -> tuple[str, str]:
    """Run pdflatex as a user would; return the PDF's text and the files TeX read."""
    run = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "-recorder", tex.name],
        cwd=tex.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = tex.with_suffix(".log").read_text(errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert "mktexpk" not in run.stdout + run.stderr  # every font exists: none is generated
    pdf = tex.with_suffix(".pdf")
    text = subprocess.run(
        ["pdftotext", *pdftotext_options, str(pdf), "-"], capture_output=True, text=True
    ).stdout
    return text, tex.with_suffix(".fls").read_text()


@needs_pdflatex
@pytest.mark.parametrize("path", sorted(DERIVATIONS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_derivation_compiles(path, tmp_path):
    tex = write_tex(path, tmp_path)
    text, read = compile_tex(tex)
    for verdict in check_file(path, Settings()).verdicts:
        assert verdict.candidate.name in text
    for figure in tmp_path.glob("report-figure-*.pdf"):
        assert f"INPUT {figure.name}" in read or f"INPUT ./{figure.name}" in read


@needs_pdflatex
def test_forum_post_includes_both_figures(tmp_path):
    tex = write_tex(DERIVATIONS / "forum-post.toml", tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == [
        "report-figure-2.pdf",
        "report-figure-3.pdf",
    ]
    source = tex.read_text()
    assert r"\includegraphics[width=0.6\linewidth]{report-figure-3.pdf}" in source
    text, _ = compile_tex(tex)
    assert "Counterexample at N = 2" in text and "18/125" in text
    assert "batch statistics held constant" in text


@needs_pdflatex
def test_hostile_text_is_typeset_and_no_file_is_read(tmp_path):
    tex = write_tex(HOSTILE, tmp_path)
    assert INPUT not in tex.read_text()
    text, read = compile_tex(tex)
    assert "/etc/passwd" not in read
    flat = " ".join(text.split())
    assert SCRIPT in flat and INPUT in flat
    assert "root:" not in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (r"\input{x}", r"\textbackslash{}input\{x\}"),
        ("50% & $5 #1 a_b", r"50\% \& \$5 \#1 a\_b"),
        (
            "^ ~ < > |",
            r"\textasciicircum{} \textasciitilde{} \textless{} \textgreater{} \textbar{}",
        ),
        ("-- ,, ' `", r"-{}-{} ,{},{} \textquotesingle{} \textasciigrave{}"),
        ("中", r"\texttt{[U+4E2D]}"),
        ("é", "é"),
    ],
)
def test_text_escapes_every_special(raw, escaped):
    assert latex.text(raw) == escaped


@needs_pdflatex
def test_a_located_error_keeps_its_caret_under_the_column(tmp_path):
    text, _ = compile_tex(write_tex(HOSTILE, tmp_path), "-layout")
    laid_out = text.splitlines()
    source = next(i for i, line in enumerate(laid_out) if "latex = 'g_z = " in line)
    column = laid_out[source].index("\\input")
    assert laid_out[source + 1].index("^^^^^^") == column


def test_a_figure_name_that_is_not_ours_is_not_included():
    assert r"\includegraphics" not in latex._figure("caption", r"x}\input{y.pdf")
