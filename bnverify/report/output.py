"""Writing what bnverify produces without ever leaving a half-written file or a mixed set.

Files are written to a temporary folder beside their destination and renamed into place (a
rename within one file system is atomic), so an interrupted or failed run leaves the old
files as they were. Files that belong together, a report and its figures, are one set:
all are written before any is renamed, the report last, and Ctrl-C waits for the renames.
Only regular files are replaced: a symbolic link is followed and its target replaced, and
a character device or a pipe (`-o /dev/null`, `-o >(...)`) is written into in place.
"-" means standard output. A file that other steps also write (GitHub's step summary) is
appended to instead, never replaced.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

STDOUT = "-"
T = TypeVar("T")
# A file name that is not UTF-8 reaches Python as lone surrogates (surrogateescape), and
# a UTF-8 stream refuses them: whatever a printer missed is written as U+FFFD.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """The text with each lone surrogate (a byte of a non-UTF-8 file name) as U+FFFD."""
    return _LONE_SURROGATE.sub("\ufffd", text)


class OutputError(Exception):
    """An output file could not be written; the message names it and says why."""


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace path with data in one step; on any failure the old file is untouched."""
    write_set([(path, data)])


def write_set(files: Sequence[tuple[str | Path, str | bytes]]) -> None:
    """Write files as one set, renamed into place in the order given (put the report last).

    Nothing is renamed until every file is written, so a failure leaves every old file
    as it was. Streams (devices, pipes) cannot be replaced and are written last, in place.
    """
    staging: dict[Path, Path] = {}  # destination folder -> its temporary folder
    renames: list[tuple[Path, Path]] = []
    streams: list[tuple[Path, bytes]] = []
    try:
        for path, data in files:
            target, in_place = _destination(Path(path))
            payload = encodable(data).encode("utf-8") if isinstance(data, str) else data
            if in_place:
                streams.append((target, payload))
            else:
                renames.append((_stage(target, payload, staging), target))
        with _interrupts_held():
            for temporary, target in renames:
                _attempt(target, os.replace, temporary, target)
        for target, payload in streams:
            _attempt(target, _write_in_place, target, payload)
    finally:
        for folder in staging.values():
            shutil.rmtree(folder, ignore_errors=True)


def _destination(path: Path) -> tuple[Path, bool]:
    """The file to write for `path`, and whether it is a stream written in place.

    A symbolic link is followed, so the link stays and its target is replaced; a device
    or pipe is written into (as root, `-o /dev/null` once became a regular file).
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        return target, False
    except OSError as err:
        raise OutputError(f"cannot write {path}: {err.strerror or err}") from err
    if stat.S_ISREG(mode):
        return target, False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return target, True
    kind = "a directory" if stat.S_ISDIR(mode) else "neither a regular file nor a stream"
    raise OutputError(f"cannot write {path}: it is {kind}; give the path of a file")


def _stage(target: Path, payload: bytes, staging: dict[Path, Path]) -> Path:
    """Write payload to a temporary file beside target, with the mode target should have."""

    def stage() -> Path:
        # Like pytest's --junitxml, a report may go into a directory not made yet.
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.parent not in staging:
            staging[target.parent] = Path(tempfile.mkdtemp(dir=target.parent, prefix=".bnv-"))
        temporary = staging[target.parent] / f"{len(os.listdir(staging[target.parent]))}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        # A private file first, then the mode the old file had (or a new file's, under
        # the user's umask), so no one reads it half-written.
        os.chmod(temporary, _mode_for(target))
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        return temporary

    return _attempt(target, stage)


def _attempt(target: Path, work: Callable[..., T], *args: object) -> T:
    """work(*args), with an OSError turned into an OutputError naming the file."""
    try:
        return work(*args)
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err


def _write_in_place(target: Path, payload: bytes) -> None:
    # O_NONBLOCK: a pipe with no reader fails at once (ENXIO) rather than hanging.
    descriptor = os.open(target, os.O_WRONLY | os.O_NONBLOCK)
    os.set_blocking(descriptor, True)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(payload)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM) until the block ends: a set is renamed whole."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError):  # no POSIX signal masks here
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def emit(destination: str | Path, data: str | bytes) -> None:
    """Write data to a file atomically, or to standard output when destination is "-"."""
    if str(destination) != STDOUT:
        write_atomic(destination, data)
    elif isinstance(data, bytes):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        sys.stdout.write(encodable(data))
        sys.stdout.flush()


def append(path: str | Path, text: str) -> None:
    """Add text at the end of a file that other steps also write (created if missing)."""
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(encodable(text))
    except OSError as err:
        raise OutputError(f"cannot append to {path}: {err.strerror or err}") from err
