"""Writing what bnverify produces without ever leaving a half-written file.

A report or output file is written to a temporary file in the same directory and renamed
into place (a rename within one file system is atomic), so an interrupted or failed run
leaves the old file as it was. "-" means standard output. A file that other steps also
write (GitHub's step summary) is appended to instead, never replaced.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

STDOUT = "-"


class OutputError(Exception):
    """An output file could not be written; the message names it and says why."""


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Replace path with data in one step; on any failure the old file is untouched."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        # Like pytest's --junitxml, a report may go into a directory not made yet.
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as err:
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err
    try:
        # mkstemp makes the file private (0600); give it the mode the old file had, or
        # the one any new file gets under the user's umask.
        os.chmod(temporary, _mode_for(target))
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {err.strerror or err}") from err
    except BaseException:
        # Ctrl-C included: the temporary file goes, the old file stays.
        Path(temporary).unlink(missing_ok=True)
        raise


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
        sys.stdout.write(data)
        sys.stdout.flush()


def append(path: str | Path, text: str) -> None:
    """Add text at the end of a file that other steps also write (created if missing)."""
    try:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as err:
        raise OutputError(f"cannot append to {path}: {err.strerror or err}") from err
