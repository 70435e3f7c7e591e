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


def test_a_set_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    from bnverify.report.output import write_set

    figure, report = tmp_path / "r-figure-1.svg", tmp_path / "r.md"
    figure.write_text("old figure")
    report.write_text("old report")
    calls = []

    def fails_on_the_report(fd):
        calls.append(fd)
        if len(calls) == 2:  # the report is staged last
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fails_on_the_report)
    with pytest.raises(OutputError, match=r"cannot write .*r\.md: No space left"):
        write_set([(figure, "new figure"), (report, "new report")])
    assert (figure.read_text(), report.read_text()) == ("old figure", "old report")
    assert sorted(os.listdir(tmp_path)) == ["r-figure-1.svg", "r.md"]
    monkeypatch.undo()
    write_set([(figure, "new figure"), (report, "new report")])
    assert (figure.read_text(), report.read_text()) == ("new figure", "new report")


def test_a_report_that_cannot_be_rendered_changes_no_figure(tmp_path, monkeypatch):
    from bnverify.report.printable import write

    figure = tmp_path / "post-figure-3.svg"
    figure.write_text("old figure")

    def broken(*args):
        raise RuntimeError("the printer failed")

    monkeypatch.setattr(write, "render", broken)
    result = CliRunner().invoke(
        cli.main, ["report", str(FORUM_POST), "-o", str(tmp_path / "post.md"), "--debug"]
    )
    assert isinstance(result.exception, RuntimeError)
    assert os.listdir(tmp_path) == ["post-figure-3.svg"] and figure.read_text() == "old figure"


def test_a_symbolic_link_stays_a_link_and_its_target_is_written(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real.name)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_a_device_is_written_in_place_never_replaced():
    before = os.stat(os.devnull)
    write_atomic(os.devnull, "report")  # as root, a rename would make it a regular file
    after = os.stat(os.devnull)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_directory_or_a_pipe_without_reader_is_refused(tmp_path):
    with pytest.raises(OutputError, match="it is a directory"):
        write_atomic(tmp_path, "x")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OutputError, match=r"cannot write .*pipe"):
        write_atomic(pipe, "x")  # no reader: refused at once, never a hang
    assert pipe.is_fifo()


@pytest.mark.skipif(os.name != "posix", reason="file names as bytes are a POSIX matter")
@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github"])
def test_a_file_name_that_is_not_utf8_shows_as_replacement_characters(tmp_path, fmt):
    folder = os.fsencode(tmp_path)
    broken = os.path.join(folder, b"bad\xff.toml")
    with open(broken, "wb") as stream:
        stream.write(b'model = "batchnorm"\n[[candidate]]\nname = "a"\nwrt = "beta"\n')
        stream.write(b'expr = "gama"\n')
    out, summary = tmp_path / "out", tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "NO_COLOR": "1"}
    args = ["check", "--format", fmt, "-o", str(out), str(tmp_path)]
    result = CliRunner().invoke(cli.main, args, env=env)
    assert result.exit_code == 2 and "internal error" not in result.output, result.output
    for written in (out, summary):
        assert "bad\N{REPLACEMENT CHARACTER}" in written.read_text(encoding="utf-8")
