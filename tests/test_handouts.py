"""Handouts: the forum post's PDF fits in four A4 pages, the LaTeX report compiles
without an overfull line, the two PDF routes never write the same file, and a folder
of submissions gives one report per file and an index page with the class table."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.report.printable import pdf
from bnverify.report.printable.write import pdf_name

ROOT = Path(__file__).parent.parent
FORUM = ROOT / "derivations" / "forum-post.toml"
CSS = ROOT / "bnverify" / "report" / "printable" / "templates" / "report.css"


def pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


@pytest.mark.skipif(
    pdf.chromium_path() is None or shutil.which("pdfinfo") is None,
    reason="needs headless Chromium and poppler-utils (apt-get install chromium poppler-utils)",
)
def test_the_forum_posts_pdf_fits_in_four_a4_pages(tmp_path):
    target = tmp_path / "post.html"
    result = CliRunner().invoke(main, ["report", str(FORUM), "-o", str(target), "--pdf"])
    assert result.exit_code == 0, result.output
    assert pages(tmp_path / "post.html.pdf") <= 4


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
@pytest.mark.parametrize("derivation", sorted((ROOT / "derivations").glob("*.toml")))
def test_the_latex_report_has_no_overfull_line(tmp_path, derivation):
    # An absolute path in the file line is the longest unbreakable text a report holds.
    target = tmp_path / "post.tex"
    result = CliRunner().invoke(main, ["report", str(derivation.resolve()), "-o", str(target)])
    assert result.exit_code == 0, result.output
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "post.tex"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert "Overfull" not in (tmp_path / "post.log").read_text(encoding="latin-1")


def test_the_html_pdf_and_the_latex_pdf_have_different_names():
    assert pdf_name("post.html") != Path("post.tex").with_suffix(".pdf")
    assert pdf_name("out/post.html") == Path("out/post.html.pdf")


def test_no_fraction_bar_touches_a_radical():
    # Chromium's MathML leaves a hairline between a fraction bar and a radical below it;
    # the stylesheet opens that gap (the printed pages are looked at in test-artifacts/).
    css = CSS.read_text(encoding="utf-8")
    assert re.search(r"math mfrac > :last-child \{\s*padding-top: 0\.\d+em;", css)
    assert re.search(r"math msqrt > \* \{\s*padding-top: 0\.\d+em;", css)


def classroom(folder: Path) -> None:
    folder.mkdir()
    right = "sum(g_y)"
    for i, (title, expr) in enumerate([("Ann <b>Lee</b>", right), ("Bob", "g_y")]):
        (folder / f"s{i}.toml").write_text(
            f'title = "{title}"\n[[candidate]]\nname = "g_beta"\nwrt = "beta"\nexpr = "{expr}"\n',
            encoding="utf-8",
        )
    (folder / "sub").mkdir()
    (folder / "sub" / "s0.toml").write_text(
        'model = "batchnorm"\n[[candidate]]\nname = "c"\nwrt = "beta"\nexpr = "g_y"\n',
        encoding="utf-8",
    )


@pytest.mark.parametrize("fmt", ["html", "md", "tex"])
def test_a_folder_gives_one_report_per_file_and_an_index(tmp_path, fmt):
    classroom(tmp_path / "class")
    out = tmp_path / "handouts"
    args = ["report", str(tmp_path / "class"), "-o", str(out), "--model", "batchnorm"]
    result = CliRunner().invoke(main, [*args, "--format", fmt, "--max-symbolic-batch", "2"])
    assert result.exit_code == 1, result.output  # Bob's g_beta is per sample
    reports = sorted(p.name for p in out.glob(f"*.{fmt}"))
    assert reports == [f"index.{fmt}", f"s0.{fmt}", f"s1.{fmt}", f"sub-s0.{fmt}"]
    index = (out / f"index.{fmt}").read_text(encoding="utf-8")
    index = index.replace(r"\allowbreak{}", "").replace("-{}", "-")  # LaTeX's break points
    for name in reports[1:]:
        assert name in index
    assert "1/1" in index and "0/1" in index
    assert "<b>Lee</b>" not in index  # a title is text, never markup


def test_a_folder_needs_an_output_folder(tmp_path):
    classroom(tmp_path / "class")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "class")])
    assert result.exit_code == 2 and "-o handouts/" in result.output
