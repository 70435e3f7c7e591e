"""Printing an HTML report to PDF with headless Chromium, when one is installed.

The report's print stylesheet leaves the paper size to the printer (`@page { size: auto }`);
Chromium's command line has no paper option, so the page is printed from a copy with one
`@page` rule added. Chromium runs with a fresh profile and with networking features off;
the report itself loads nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bnverify.problem import Problem
from bnverify.report.output import write_atomic

ENVIRONMENT = "BNVERIFY_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAPERS = {"a4": "A4", "letter": "letter"}
TIMEOUT = 120.0  # seconds; printing a report takes about two
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI containers cannot use the sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)
NO_CHROMIUM = (
    "no Chromium found to print the PDF with: install one (Debian and Ubuntu: "
    "apt-get install chromium) or set BNVERIFY_CHROMIUM to a Chromium or Chrome program"
)


def chromium_path() -> str | None:
    """The Chromium to print with: $BNVERIFY_CHROMIUM, else the first one on PATH."""
    configured = os.environ.get(ENVIRONMENT)
    if configured:
        return shutil.which(configured)
    return next(filter(None, map(shutil.which, NAMES)), None)


def print_pdf(html_path: Path, pdf_path: Path, paper: str = "A4") -> Problem | None:
    """Print an HTML report to pdf_path on A4 or Letter paper; None when it worked."""
    size = PAPERS.get(paper.lower())
    if size is None:
        return Problem(f"unknown paper size {paper!r}: use A4 or Letter")
    browser = chromium_path()
    if browser is None:
        return Problem(NO_CHROMIUM)
    try:
        page = Path(html_path).read_text(encoding="utf-8")
    except OSError as error:
        return Problem(f"{html_path}: cannot read the report: {error.strerror}")
    with tempfile.TemporaryDirectory(prefix="bnverify-print-") as scratch:
        copy, printed = Path(scratch) / "report.html", Path(scratch) / "report.pdf"
        copy.write_text(_on_paper(page, size), encoding="utf-8")
        profile = f"--user-data-dir={Path(scratch) / 'profile'}"
        printing = ("--no-pdf-header-footer", f"--print-to-pdf={printed}", copy.as_uri())
        problem = _run([browser, *FLAGS, profile, *printing])
        if problem is not None:
            return problem
        if not printed.is_file() or printed.stat().st_size == 0:
            return Problem(f"{browser} wrote no PDF")
        write_atomic(pdf_path, printed.read_bytes())
    return None


def _on_paper(page: str, size: str) -> str:
    # A later @page rule overrides the stylesheet's `size: auto`.
    rule = f"<style>@page {{ size: {size}; }}</style>"
    head_end = page.find("</head>")
    return page[:head_end] + rule + page[head_end:] if head_end >= 0 else rule + page


def _run(command: list[str]) -> Problem | None:
    # Chromium starts helper processes; it gets a session of its own so that a timeout
    # ends all of them and nothing else.
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, errors = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill(process)
        return Problem(f"{command[0]} did not finish printing within {TIMEOUT:.0f} s")
    except BaseException:
        # Ctrl-C: Chromium's session does not get the terminal's SIGINT, so it would outlive
        # us and keep its profile folder; it must be gone before that folder is removed.
        _kill(process)
        raise
    if process.returncode != 0:
        last = (errors.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
        return Problem(f"{command[0]} failed (exit status {process.returncode}): {last}")
    return None


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # it had just ended
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
