"""Output files are written whole or not at all; Ctrl-C leaves the old file intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify import cli
from bnverify.report.output import OutputError, emit, write_atomic

FORUM_POST = Path(__file__).parent.parent / "derivations" / "forum-post.toml"


def test_write_atomic_replaces_the_file(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["report.json"]


def test_written_files_keep_the_usual_permissions(tmp_path):
    fresh = tmp_path / "fresh.html"
    write_atomic(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask
    shared = tmp_path / "shared.html"
    shared.write_text("old")
    shared.chmod(0o664)
    write_atomic(shared, "new")
    assert shared.stat().st_mode & 0o777 == 0o664


@pytest.mark.parametrize(
    ("failure", "raised"), [(KeyboardInterrupt, KeyboardInterrupt), (OSError, OutputError)]
)
def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch, failure, raised):
    target = tmp_path / "report.json"
    target.write_text("old")

    def interrupted(fd):
        raise failure()

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(raised):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]  # no temporary file left behind


def test_emit_dash_is_standard_output(capsys):
    emit("-", "text\n")
    emit("-", b"bytes\n")
    assert capsys.readouterr().out == "text\nbytes\n"


def test_check_writes_the_report_to_a_file(tmp_path):
    target = tmp_path / "out.json"
    result = CliRunner().invoke(
        cli.main, ["check", "--format", "json", "-o", str(target), str(FORUM_POST)]
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert json.loads(target.read_text())["summary"]["total"] == 3


def test_report_goes_into_a_new_directory(tmp_path):
    target = tmp_path / "ci-output" / "nested" / "out.json"
    result = CliRunner().invoke(
        cli.main, ["check", "--format", "json", "-o", str(target), str(FORUM_POST)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text())["summary"]["ok"] == 3


def test_unwritable_output_is_a_clear_message_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(
        cli.main, ["check", "--format", "json", "-o", str(blocker / "out.json"), str(FORUM_POST)]
    )
    assert result.exit_code == 2
    assert f"cannot write {blocker / 'out.json'}" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output


def test_ctrl_c_exits_130_and_keeps_the_old_output(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("previous report")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "check_files", interrupted)
    result = CliRunner().invoke(
        cli.main, ["check", "--format", "json", "-o", str(target), str(FORUM_POST)]
    )
    assert result.exit_code == 130
    assert "interrupted" in result.output
    assert "Traceback" not in result.output
    assert target.read_text() == "previous report"
