"""Which files bnverify may read, and reading them without being led elsewhere.

A derivation file comes from a stranger, and so may its folder: a pull request can carry
a symbolic link to /proc/self/environ, and an error message would then show a line of it.
So there is one rule. A derivation found by walking a directory is a regular file whose
real path stays inside that directory; a model file a derivation names is a .toml file
whose real path stays inside the derivation's project; everything else (links leading
out, link loops, FIFOs, devices) is a located problem and is never opened.

A derivation's project is the widest of: its own folder, a folder the run was given
that holds it (`bnverify check DIR`), and the git repository that holds it (the nearest
folder above it with a `.git`). So a class keeps its model in `models/` beside
`submissions/`, and a derivation names `../models/layer.toml`. A model file must also
read as one (files.discovery), so no other file of the project is ever quoted.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from bnverify.problem import Location, Problem, Rejected

# What a file that is not a regular one is called in messages, by its st_mode type.
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class Refused(Rejected):
    """A file bnverify will not read; the message says why and what would be read."""


def derivation_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """The derivation files named by paths (directories searched for *.toml), and problems.

    A file found in a directory must be a regular file whose real path stays inside that
    directory; a file named on the command line, inside its own folder.
    """
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        for found in _named(Path(raw)):
            (problems if isinstance(found, Problem) else files).append(found)
    return files, problems


def _named(path: Path) -> Iterator[Path | Problem]:
    try:
        if path.is_dir():
            yield from _walk(path)
        elif os.path.lexists(path):
            # A named link is followed only within its own folder: a pre-commit hook or a
            # shell glob names a pull request's `leak.toml -> /proc/self/environ` too.
            refused = _outside_or_irregular(path, path.absolute().parent.resolve(), "derivation")
            yield path if refused is None else _at_file(path, refused)
        else:
            yield Problem(f"no such file or directory: {path}")
    except (OSError, ValueError) as error:  # too long for the file system, a NUL byte
        yield Problem(f"cannot read {path}: {error}")


def _walk(top: Path) -> Iterator[Path | Problem]:
    """Every *.toml under top, in sorted order, each a file or the reason it is refused."""
    root = top.resolve()
    # os.walk does not descend into linked directories, so nothing outside top is listed.
    for folder, subfolders, names in os.walk(top):
        subfolders.sort()
        for name in sorted(names):
            if name.endswith(".toml"):
                path = Path(folder) / name
                refused = _outside_or_irregular(path, root, "derivation")
                yield path if refused is None else _at_file(path, refused)


def _outside_or_irregular(path: Path, root: Path, what: str) -> str | None:
    """Why path may not be read as a `what` file from inside root, else None."""
    try:
        real = path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symbolic-link loop this way
        return "is a symbolic-link loop"
    except OSError as error:
        return _os_reason(error, path)
    if not real.is_relative_to(root):
        return f"is a symbolic link that leads outside {root}; a {what} file must be inside it"
    return _irregular(real)


def _irregular(real: Path) -> str | None:
    try:
        mode = real.stat().st_mode
    except OSError as error:
        return _os_reason(error, real)
    return _kind_problem(mode)


def _kind_problem(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), None)
    if kind is None:
        return "is not a regular file"
    return f"is {kind}" if stat.S_ISDIR(mode) else f"is {kind}, not a regular file"


def _os_reason(error: OSError, path: Path) -> str:
    if error.errno == errno.ELOOP:
        return "is a symbolic-link loop"
    if isinstance(error, FileNotFoundError) and os.path.islink(path):
        return "is a symbolic link to nothing"
    return f"cannot be read ({error.strerror or error})"


def _at_file(path: Path, why: str) -> Problem:
    return Problem(f"not read: {path} {why}", location=Location(str(path), 1, 1))


def project_of(derivation: Path, searched: Iterable[Path] = ()) -> Path:
    """The folder a derivation's model file must stay in (see the module's docstring)."""
    folder = derivation.absolute().parent
    try:
        folder = folder.resolve()
        held_by = [root.resolve() for root in map(Path, searched)]
    except (OSError, RuntimeError):  # a loop: the derivation's own folder, as before
        return folder
    wider = [root for root in held_by if folder.is_relative_to(root)]
    repository = _repository(folder)
    wider += [repository] if repository is not None else []
    return min([folder, *wider], key=lambda root: len(root.parts))


def _repository(folder: Path) -> Path | None:
    """The nearest folder at or above `folder` that holds a `.git` (a file in a worktree)."""
    for root in (folder, *folder.parents):
        try:
            if os.path.lexists(root / ".git"):
                return root
        except (OSError, ValueError):
            return None
    return None


def model_file_refusal(reference: str, folder: Path, project: Path | None = None) -> str | None:
    """Why a derivation in `folder` may not read the model file `reference`, else None.

    The file must stay in `project` (project_of; the derivation's folder when None).
    """
    root = (project or folder).resolve()
    where = "the derivation's folder" if project is None else "the derivation's project"
    wanted = f'a model file must be a .toml file in {where}, e.g. model = "my-layer.toml"'
    outside = f"it is outside {where}, {root}" + (
        ""
        if project is None
        else " (the widest of its folder, a folder the run was given "
        "that holds it, and its git repository)"
    )
    if not reference.endswith(".toml"):
        return wanted
    target = folder / reference
    try:
        if not Path(os.path.normpath(folder.resolve() / reference)).is_relative_to(root):
            return outside
        if os.path.lexists(target):
            why = _outside_or_irregular(target, root, "model")
            return None if why is None else f"the file {why}; {wanted}"
        # No such file: the loader says so, if the name at least points inside.
        return None if target.resolve().is_relative_to(root) else outside
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a name too long, a loop
        return wanted


def read_regular(path: Path, max_bytes: int) -> bytes:
    """Up to max_bytes + 1 bytes of a regular file; Refused when it is anything else.

    The type is checked before opening (opening some devices has effects), and again on
    the open handle, opened without blocking: a FIFO cannot hang the run, and nothing can
    be swapped in between the check and the read.
    """
    why = _irregular(path)
    if why is not None:
        raise Refused(why)
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise Refused(_os_reason(error, path)) from error
    with os.fdopen(handle, "rb") as stream:
        why = _kind_problem(os.fstat(stream.fileno()).st_mode)
        if why is not None:
            raise Refused(why)
        return stream.read(max_bytes + 1)  # never pull a huge file into memory
