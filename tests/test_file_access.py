"""One rule for every file bnverify reads: nothing outside the project, nothing irregular.

The red team's reproducers run as written (`env -i`, a dummy secret in the environment,
a link to /proc/self/environ that a pull request can carry), in a real process, and no
output format, nor the pytest plugin, may show the secret.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bnverify.files.access import Refused, derivation_files, model_file_refusal, read_regular

SECRET = "hunter2-dummy"
FORMATS = (("text",), ("json",), ("junit",), ("github",))
CANDIDATE = '[[candidate]]\nname="a"\nwrt="z"\nexpr="g_y"\n'


def bnverify(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """bnverify in a process whose whole environment is a PATH and a dummy CI secret."""
    env = {"PATH": "/usr/bin:/bin", "DUMMY_CI_SECRET": SECRET}
    command = [sys.executable, "-m", "bnverify", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A checkout carrying both files of the disclosure attack, as git stores links."""
    folder = tmp_path / "derivations"
    folder.mkdir()
    (folder / "environ").symlink_to("/proc/self/environ")
    (folder / "d.toml").write_text(f'model = "environ"\n{CANDIDATE}', encoding="utf-8")
    (folder / "leak.toml").symlink_to("/proc/self/environ")
    return tmp_path


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("target", ["derivations/d.toml", "derivations/", "derivations/leak.toml"])
def test_no_output_shows_a_linked_secret(pull_request, fmt, target):
    result = bnverify("check", target, "--format", *fmt, cwd=pull_request)
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_the_pytest_plugin_shows_no_linked_secret(pull_request):
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "derivations/"]
    env = {"PATH": "/usr/bin:/bin", "DUMMY_CI_SECRET": SECRET}
    result = subprocess.run(
        command, cwd=pull_request, env=env, capture_output=True, text=True, timeout=120
    )
    assert SECRET not in result.stdout + result.stderr
    assert "2 failed" in result.stdout  # d.toml: its unknown model, and its candidate


def test_a_walk_lists_what_it_will_not_read(tmp_path):
    top = tmp_path / "derivations"
    (top / "sub").mkdir(parents=True)
    (top / "good.toml").write_text("x = 1\n")
    (top / "sub" / "also.toml").write_text("x = 1\n")
    (top / "inside.toml").symlink_to(top / "good.toml")  # stays inside: read
    (top / "out.toml").symlink_to(tmp_path / "outside.toml")
    (tmp_path / "outside.toml").write_text("secret = 1\n")
    (top / "loop.toml").symlink_to(top / "loop.toml")
    (top / "dangling.toml").symlink_to(top / "gone.toml")
    os.mkfifo(top / "pipe.toml")
    (top / "linked-dir").symlink_to(tmp_path, target_is_directory=True)  # never entered
    files, problems = derivation_files([top])
    assert [f.relative_to(top).as_posix() for f in files] == [
        "good.toml",
        "inside.toml",
        "sub/also.toml",
    ]
    reasons = {Path(p.location.path).name: p.message for p in problems}
    assert "leads outside" in reasons["out.toml"]
    assert "symbolic-link loop" in reasons["loop.toml"]
    assert "symbolic link to nothing" in reasons["dangling.toml"]
    assert "FIFO" in reasons["pipe.toml"]
    assert all(p.location.line == 1 and p.location.source == "" for p in problems)


def test_a_named_link_is_followed_only_within_its_folder(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "secret.toml").write_text("secret = 1\n")
    (tmp_path / "d" / "link.toml").symlink_to(tmp_path / "secret.toml")
    (tmp_path / "d" / "real.toml").write_text("x = 1\n")
    (tmp_path / "d" / "near.toml").symlink_to("real.toml")
    files, problems = derivation_files([tmp_path / "d" / "link.toml", tmp_path / "d" / "near.toml"])
    assert files == [tmp_path / "d" / "near.toml"]
    assert "leads outside" in problems[0].message


@pytest.mark.parametrize(
    ("reference", "refused"),
    [
        ("model.toml", False),
        ("sub/model.toml", False),
        ("../model.toml", True),
        ("/etc/passwd.toml", True),
        ("out.toml", True),  # a link leading out of the folder
        ("pipe.toml", True),
        ("model.txt", True),
    ],
)
def test_a_model_file_stays_in_the_derivations_folder(tmp_path, reference, refused):
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.toml").write_text("")
    (folder / "sub" / "model.toml").write_text("")
    (folder / "out.toml").symlink_to(tmp_path / "elsewhere.toml")
    (tmp_path / "elsewhere.toml").write_text("")
    os.mkfifo(folder / "pipe.toml")
    assert (model_file_refusal(reference, folder) is not None) is refused


def test_special_files_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(Refused, match="FIFO"):
        read_regular(tmp_path / "pipe", 100)  # opening it for reading would block
    with pytest.raises(Refused, match="character device"):
        read_regular(Path("/dev/zero"), 100)
    with pytest.raises(Refused, match="is a directory"):
        read_regular(tmp_path, 100)
    (tmp_path / "f").write_bytes(b"x" * 50)
    assert read_regular(tmp_path / "f", 10) == b"x" * 11  # one byte past the limit says "too big"
