"""HTML reports printed to PDF by real headless Chromium, read back with poppler.

These tests skip when no Chromium is installed (CI installs Debian's chromium and
poppler-utils). The first page of each printed report is kept as a PNG under
$BNVERIFY_ARTIFACTS (default test-artifacts/) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_samples import document, section

from bnverify.check import report_of
from bnverify.cli import main
from bnverify.report.printable import html, pdf
from bnverify.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DERIVATIONS = sorted((ROOT / "derivations").glob("*.toml"))
BADGES = {
    "match": "MATCH",
    "diverge": "DIVERGES",
    "error": "ERROR",
    "holds": "HOLDS",
    "fails": "FAILS",
    "undecided": "UNDECIDED",
}
# Letters as MathML lays them out: math italic z, g, N (U+1D467, U+1D454, U+1D441), Greek
# italic gamma and sigma, and the big operators.
# Italic maths letters and operators any shipped layer typesets (z or x, N or B and D, ...).
TYPESET = ("𝑧", "𝑥", "𝑝", "𝑡", "𝑔", "𝑁", "𝐵", "𝐷", "𝐾", "𝛾", "𝜎", "∑", "√")
POINTS_PER_PAGE = {"A4": (595, 842), "Letter": (612, 792)}

needs_chromium = pytest.mark.skipif(
    pdf.chromium_path() is None or shutil.which("pdftotext") is None,
    reason="needs headless Chromium and poppler-utils (apt-get install chromium poppler-utils)",
)


def artifacts() -> Path:
    folder = Path(os.environ.get("BNVERIFY_ARTIFACTS") or ROOT / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def printed(page: str, folder: Path, stem: str, paper: str = "A4") -> Path:
    source, target = folder / f"{stem}.html", folder / f"{stem}-{paper}.pdf"
    source.write_text(page, encoding="utf-8")
    problem = pdf.print_pdf(source, target, paper)
    assert problem is None, problem.message
    return target


def text_of(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pages_of(path: Path) -> tuple[int, tuple[float, float]]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+)", info.stdout, re.M)
    return pages, (float(size.group(1)), float(size.group(2)))


@needs_chromium
@pytest.mark.parametrize("derivation", DERIVATIONS, ids=lambda p: p.stem)
def test_every_shipped_derivation_prints_with_its_verdicts_and_typeset_maths(derivation, tmp_path):
    doc, _ = report_of(derivation, Settings(), f"bnverify report {derivation.name} --pdf")
    output = printed(html.render(doc), tmp_path, derivation.stem)
    text = text_of(output)
    for candidate in doc.candidates:
        assert candidate.name in text
        assert BADGES[candidate.kind] in text
    assert "NOT as expected" not in text  # every shipped file's verdicts are as expected
    found = [symbol for symbol in TYPESET if symbol in text]
    assert len(found) >= 5, f"maths was not laid out: found only {found}"
    pages, size = pages_of(output)
    assert 2 <= pages <= 30
    assert all(abs(a - b) < 2 for a, b in zip(size, POINTS_PER_PAGE["A4"], strict=True))
    first_page = artifacts() / f"{derivation.stem}-page1"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", output, first_page],
        check=True,
    )
    assert first_page.with_suffix(".png").stat().st_size > 10_000


@needs_chromium
@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_candidates_follow_in_order_and_a_long_formula_wraps_inside_the_page(paper, tmp_path):
    # 40 terms are about three times the width of either paper: they must wrap, not be
    # cut; a fraction over 50 terms cannot wrap, so it must shrink.
    long_sum = " + ".join(rf"\frac{{\gamma_{{{k}}}}}{{\beta_{{{k}}}}}" for k in range(100, 140))
    fraction = rf"\frac{{{' + '.join(rf'z_{{{k}}}' for k in range(200, 250))}}}{{N}}"
    first = section(name="first_one", residual=long_sum, written=fraction)
    doc = document(candidates=(first, section(name="second_one")))
    output = printed(html.render(doc), tmp_path, "long", paper)
    _, size = pages_of(output)
    assert all(abs(a - b) < 2 for a, b in zip(size, POINTS_PER_PAGE[paper], strict=True))
    pages = text_of(output).split("\f")
    first, second = (
        [i for i, page in enumerate(pages) if re.search(rf"Candidate\s+{name}", page)]
        for name in ("first_one", "second_one")
    )
    # Candidates follow one another (the forum post fits in four pages), in file order.
    assert len(first) == 1 and len(second) == 1 and first[0] <= second[0]
    assert all(str(k) in "".join(pages) for k in [*range(100, 140), *range(200, 250)])
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(output), "-"], capture_output=True, text=True, check=True
    ).stdout
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= size[0]


def test_without_chromium_the_problem_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.ENVIRONMENT, "no-such-chromium-anywhere")
    page = tmp_path / "r.html"
    page.write_text("<!DOCTYPE html><title>r</title>", encoding="utf-8")
    problem = pdf.print_pdf(page, tmp_path / "r.pdf")
    assert problem is not None
    assert "apt-get install chromium" in problem.message and "BNVERIFY_CHROMIUM" in problem.message
    assert not (tmp_path / "r.pdf").exists()


def test_a_failing_chromium_leaves_the_old_pdf_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.ENVIRONMENT, "false")  # a program that exits 1 at once
    page, target = tmp_path / "r.html", tmp_path / "r.pdf"
    page.write_text("<!DOCTYPE html><title>r</title>", encoding="utf-8")
    target.write_bytes(b"%PDF old")
    problem = pdf.print_pdf(page, target)
    assert problem is not None and "exit status 1" in problem.message
    assert target.read_bytes() == b"%PDF old"


def test_an_unknown_paper_size_is_a_problem(tmp_path):
    problem = pdf.print_pdf(tmp_path / "r.html", tmp_path / "r.pdf", paper="A3")
    assert problem is not None and "A4 or Letter" in problem.message


@needs_chromium
def test_report_pdf_from_the_command_line_on_letter_paper(tmp_path):
    target = tmp_path / "post.html"
    forum = str(ROOT / "derivations/forum-post.toml")
    result = CliRunner().invoke(
        main, ["report", forum, "-o", str(target), "--pdf", "--paper", "letter"]
    )
    assert result.exit_code == 0, result.output
    assert f"printed {tmp_path / 'post.html.pdf'}" in result.output
    pages, size = pages_of(tmp_path / "post.html.pdf")
    assert 2 <= pages <= 30
    assert all(abs(a - b) < 2 for a, b in zip(size, POINTS_PER_PAGE["Letter"], strict=True))


def test_report_pdf_without_chromium_exits_2_and_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv(pdf.ENVIRONMENT, "no-such-chromium-anywhere")
    forum = str(ROOT / "derivations/forum-post.toml")
    result = CliRunner().invoke(main, ["report", forum, "-o", str(tmp_path / "p.html"), "--pdf"])
    assert result.exit_code == 2
    assert "apt-get install chromium" in result.output
    assert (tmp_path / "p.html").is_file() and not (tmp_path / "p.html.pdf").exists()
