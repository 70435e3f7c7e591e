"""The shipped derivations' outputs, byte for byte, at seed 0.

These files were recorded before the code moved into pipeline subpackages; a refactor
that changes any verdict, evidence line or report sentence fails here. After a change
that is meant to alter the output, regenerate with `BNVERIFY_REGENERATE_GOLDEN=1 pytest
tests/test_golden.py` and read the diff before committing it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
DERIVATIONS = sorted(p.stem for p in (ROOT / "derivations").glob("*.toml"))
# (subcommand arguments, suffix): the CI formats' JSON and the printable reports.
OUTPUTS = [(("check", "--format", "json"), "json"), (("report",), "md"), (("report",), "tex")]


@pytest.mark.parametrize("suffix", [suffix for _, suffix in OUTPUTS])
@pytest.mark.parametrize("stem", DERIVATIONS)
def test_output_is_unchanged(stem: str, suffix: str, tmp_path: Path, monkeypatch) -> None:
    # The report's colophon names the command, so it runs from the same relative paths
    # every time: a copy of derivations/ in a fresh folder, and an output file beside it.
    shutil.copytree(ROOT / "derivations", tmp_path / "derivations")
    monkeypatch.chdir(tmp_path)
    command = next(args for args, s in OUTPUTS if s == suffix)
    out = f"{stem}.{suffix}"
    result = CliRunner().invoke(
        main, [*command, f"derivations/{stem}.toml", "-o", out, "--seed", "0"]
    )
    assert result.exit_code in (0, 1), result.output
    text = (tmp_path / out).read_text(encoding="utf-8")
    golden = GOLDEN / f"{stem}.{suffix}"
    if os.environ.get("BNVERIFY_REGENERATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
