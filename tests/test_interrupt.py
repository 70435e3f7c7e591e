"""Ctrl-C always wins: during a candidate stuck in C code, and while Chromium prints.

Each test runs bnverify in a process of its own, sends it SIGINT (as a terminal's Ctrl-C
does, but to bnverify alone), and checks that it exits 130 and leaves no worker, no
Chromium and no temporary folder behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LINUX = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
# A power of a big number times a name: one GMP call that runs for many seconds.
GMP_POWER = "(1e999*1e999*z)^999*g_y"


def bnverify(args: list[str], tmp: Path, **env: str) -> subprocess.Popen[str]:
    folder = tmp / "tmp"
    folder.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "bnverify", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1", "TMPDIR": str(folder), **env},
        preexec_fn=default_ctrl_c,
    )


def default_ctrl_c() -> None:
    # A shell starts background jobs with SIGINT ignored, and a child inherits that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie not yet reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def wait_for(condition, process: subprocess.Popen[str]) -> None:
    while not condition():
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)


def interrupt(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=30)  # a guard against a hang, not a timing
    finally:
        if process.poll() is None:
            process.kill()


@LINUX
def test_ctrl_c_during_a_candidate_in_c_code_exits_130_and_kills_the_worker(tmp_path):
    # The digits limit refuses the power unless raised, as a user may.
    args = ["check", "--max-digits", "4000", "--wrt", "z", "--expr", GMP_POWER]
    args += ["--time-budget", "300"]
    process = bnverify(args, tmp_path)
    wait_for(lambda: children(process.pid) and cpu_seconds(children(process.pid)[0]) > 1, process)
    workers = children(process.pid)
    out, err = interrupt(process)
    assert process.returncode == 130, (out, err)
    assert err.strip() == "bnverify: interrupted"
    assert all(gone(pid) for pid in workers)
    assert list((tmp_path / "tmp").iterdir()) == []  # the workers' folders are removed


FAKE_CHROMIUM = """#!/bin/sh
# Stands for Chromium: a process and a helper, printing for a long time.
sleep 300 &
echo $$ $! > "{pids}"
wait
"""


@LINUX
def test_ctrl_c_while_chromium_prints_kills_it_and_removes_its_profile(tmp_path):
    pids = tmp_path / "pids"
    chromium = tmp_path / "chromium"
    chromium.write_text(FAKE_CHROMIUM.format(pids=pids))
    chromium.chmod(0o755)
    args = ["report", "derivations/forum-post.toml", "-o", str(tmp_path / "post.html"), "--pdf"]
    process = bnverify(args, tmp_path, BNVERIFY_CHROMIUM=str(chromium))
    wait_for(lambda: pids.exists() and len(pids.read_text().split()) == 2, process)
    out, err = interrupt(process)
    assert process.returncode == 130, (out, err)
    assert all(gone(int(pid)) for pid in pids.read_text().split())
    assert list((tmp_path / "tmp").iterdir()) == []  # no profile folder left
    assert not (tmp_path / "post.pdf").exists()
