"""Worker processes that bound a job's CPU time and memory, even inside one C call.

A budget (judge.budget) stops Python code, but not a GMP power in a numpy object array
or an allocation that never returns. So the command line runs each job (one candidate,
one report's derivation steps) in a long-lived worker process under an address-space
limit (RLIMIT_AS: the address space it was forked with, plus the budget), while the
parent reads the worker's CPU time and kills it when a stage of the job runs past its
budget; RLIMIT_CPU kills it too should the parent stall. A job
whose worker was stopped or died comes back as a Stopped record naming the limit, and
the worker is replaced: the run goes on.

Workers are forked from the parent, so they start with what it has imported and built
(SymPy, the grammars) at the cost of a fork, and each keeps its caches (a model's truth)
from job to job. They ignore SIGINT: on Ctrl-C the parent kills them and removes their
temporary folders. Jobs and results are pickled, between our own processes only.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

try:
    import resource
except ImportError:  # Windows: no resource limits and no fork, so no worker processes
    resource = None  # type: ignore[assignment]

# Where workers cannot be forked, a Pool runs its jobs in this process, one at a time,
# within the in-process budget alone (as the library does).
FORKS = resource is not None and "fork" in multiprocessing.get_all_start_methods()
POLL = 0.05  # seconds between two looks at the busy workers' CPU time
# CPU seconds a stage may run past its budget before its worker is killed: the budget in
# the worker stops Python code first, with a message naming the layer it was in.
GRACE = 1.0
MEGABYTE = 1_000_000
# Jobs waiting before another worker is forked: each worker derives a model's truth once
# (0.25 s for Batch Norm), which a second worker repays only with several jobs to do.
BACKLOG = 2
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

Limit = Literal["time", "memory", "crash"]


@dataclass(frozen=True)
class Job:
    """One piece of work for a worker: work(*args), which must be picklable by name."""

    key: Hashable
    work: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Stopped:
    """A job that has no result: its worker passed a limit (or died) in a stage."""

    limit: Limit
    stage: str
    seconds: float | None  # the stage's CPU budget
    detail: str  # how the worker ended, in words


@dataclass(frozen=True)
class Raised:
    """An exception that left a job in its worker (with --debug): its traceback as text,
    and the exception itself when it could be sent."""

    text: str
    error: BaseException | None = None


_parent: list[Connection] = []  # in a worker: its pipe to the parent


def in_worker() -> bool:
    """Whether this process is a worker (whose parent enforces its limits)."""
    return bool(_parent)


def stage(name: str, seconds: float | None) -> None:
    """Start the next stage of the running job, with a CPU budget of its own.

    In a worker, the parent now measures the stage's CPU time from here; elsewhere
    (the library, in one process) nothing happens.
    """
    if not _parent:
        return
    _limit_cpu(seconds)
    _parent[0].send(("stage", name, seconds))


class Pool:
    """Up to `size` workers, forked as jobs arrive; use it as a context manager.

    `submit` queues jobs and `completed` yields (key, outcome) as they finish, the
    outcome being the job's result, a Stopped or a Raised. Leaving the context (Ctrl-C
    included) kills every worker and removes its temporary folder.
    """

    def __init__(self, size: int, memory_mb: int | None) -> None:
        self.size, self.memory_mb = max(1, size), memory_mb
        self._queue: deque[tuple[Job, bool]] = deque()  # (job, on a fresh worker only)
        self._workers: list[_Worker] = []
        self._retried: set[Hashable] = set()
        self._root: str | None = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def submit(self, job: Job) -> None:
        """Queue a job; it starts at once when a worker is free."""
        self._queue.append((job, False))
        if FORKS:
            self._dispatch()

    def completed(self) -> Iterator[tuple[Hashable, object]]:
        """(key, outcome) of every submitted job, in the order they finish."""
        while not FORKS and self._queue:
            job, _ = self._queue.popleft()
            kind, value = _outcome(job)
            yield job.key, _Worker.received(kind, value, _in_process_memory)
        while self._queue or self._busy():
            yield from self._poll()

    def close(self) -> None:
        """Kill every worker and remove the temporary folders."""
        for worker in self._workers:
            worker.stop()
        self._workers.clear()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def _busy(self) -> list[_Worker]:
        return [w for w in self._workers if w.job is not None]

    def _dispatch(self) -> None:
        while self._queue:
            worker = self._idle(fresh=self._queue[0][1])
            if worker is None:
                return
            job, _ = self._queue.popleft()
            worker.start(job)

    def _idle(self, fresh: bool) -> _Worker | None:
        idle = [w for w in self._workers if w.job is None]
        for worker in idle:
            if worker.done == 0 or not fresh:
                return worker
        if len(self._workers) < self.size and (not self._workers or len(self._queue) > BACKLOG):
            self._workers.append(_Worker(self._folder(), self.memory_mb))
            return self._workers[-1]
        if fresh and idle:  # only used workers are free: a new one replaces one of them
            self._replace(idle[0])
            return self._workers[-1]
        return None

    def _folder(self) -> str:
        if self._root is None:
            self._root = tempfile.mkdtemp(prefix="bnverify-workers-")
        return tempfile.mkdtemp(dir=self._root)

    def _replace(self, worker: _Worker) -> None:
        worker.stop()
        self._workers.remove(worker)
        self._workers.append(_Worker(self._folder(), self.memory_mb))

    def _poll(self) -> Iterator[tuple[Hashable, object]]:
        busy = self._busy()
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], POLL))
        for worker in busy:
            job, used = worker.job, worker.done
            assert job is not None
            outcome = worker.check(ready)
            if outcome is None:
                continue
            if isinstance(outcome, Stopped):
                self._replace(worker)
                # A used worker's caches count against its memory, and a fresh one's do
                # not: out of memory is only a verdict when a fresh worker runs out too.
                if outcome.limit == "memory" and used and job.key not in self._retried:
                    self._retried.add(job.key)
                    self._queue.appendleft((job, True))
                    continue
            yield job.key, outcome
        self._dispatch()


class _Worker:
    """One worker process and the job it is running, as the parent sees it."""

    def __init__(self, folder: str, memory_mb: int | None) -> None:
        self.folder = folder
        # A fork copies unwritten output too, and a worker that exits would write it again.
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        context = multiprocessing.get_context("fork")
        self.conn, theirs = context.Pipe()
        args = (theirs, self.conn, folder, memory_mb)
        self.process = context.Process(target=_serve, args=args)
        self.process.daemon = True
        self.process.start()
        theirs.close()
        self.memory_mb = memory_mb
        self.job: Job | None = None
        self.done = 0  # jobs finished
        self.stage: tuple[str, float | None] = ("setup", None)
        self.cpu_at_stage = 0.0

    def start(self, job: Job) -> None:
        self.job, self.stage = job, ("setup", None)
        self.cpu_at_stage = _cpu_seconds(self.process.pid) or 0.0
        with _deep_trees():  # a report's job carries the check's verdicts, trees and all
            self.conn.send(job)

    def check(self, ready: set[object]) -> object | None:
        """The job's outcome if it has one now (a result, Stopped, Raised), else None."""
        while self.conn in ready or self.conn.poll():
            try:
                with _deep_trees():
                    message = self.conn.recv()
            except (EOFError, OSError):
                break  # the worker died: its sentinel says how
            ready.discard(self.conn)
            if message[0] == "stage":
                self.stage = (message[1], message[2])
                self.cpu_at_stage = _cpu_seconds(self.process.pid) or 0.0
                continue
            return self._finish(message)
        if not self.process.is_alive():
            return self._ended()
        return self._overrun()

    def _finish(self, message: tuple[str, object]) -> object:
        self.job, self.done = None, self.done + 1
        return self.received(
            *message, lambda: self._stopped("memory", "Python could not allocate memory")
        )

    @staticmethod
    def received(kind: str, value: Any, out_of_memory: Callable[[], Stopped]) -> object:
        """A job's outcome from what its worker sent: the result, Raised or a memory stop."""
        if kind == "memory":
            return out_of_memory()
        return Raised(*value) if kind == "raised" else value

    def _overrun(self) -> Stopped | None:
        seconds = self.stage[1]
        used = _cpu_seconds(self.process.pid)
        if seconds is None or used is None or used - self.cpu_at_stage <= seconds + GRACE:
            return None
        return self._stopped("time", "it was stopped inside code that cannot be interrupted")

    def _ended(self) -> Stopped:
        self.process.join()
        code = self.process.exitcode or 0
        said = _last_words(self.folder)
        if code == -signal.SIGXCPU:
            return self._stopped("time", "the CPU-time limit of its process stopped it")
        if "memory" in said.lower() or "alloc" in said.lower():
            return self._stopped("memory", said)
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
        return self._stopped("crash", f"{how}: {said}" if said else how)

    def _stopped(self, limit: Limit, detail: str) -> Stopped:
        self.job = None
        return Stopped(limit, self.stage[0], self.stage[1], detail)

    def stop(self) -> None:
        if self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join()
        self.conn.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _remove(folder: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # the pool's folder, once no other worker has one
        os.rmdir(Path(folder).parent)


def _in_process_memory() -> Stopped:
    return Stopped("memory", "setup", None, "Python could not allocate memory")


def _serve(conn: Connection, parents: Connection, folder: str, memory_mb: int | None) -> None:
    """A worker's life: run jobs from the parent until it closes the pipe (or dies)."""
    # The fork copied the parent's end of the pipe: closed here, so that a parent killed
    # outright (SIGKILL, a crash) leaves the pipe at end of file, and the worker exits.
    parents.close()
    _parent.append(conn)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    os.environ["TMPDIR"] = tempfile.tempdir = folder
    # GMP's "Cannot allocate memory" goes to stderr before it aborts: keep it for the parent.
    stderr = os.open(Path(folder) / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stderr, 2)
    faulthandler.disable()  # it may hold a copy of the terminal's stderr (pytest's does)
    if memory_mb is not None:
        # The budget is the jobs': what the fork inherited (SymPy, and PyTorch when the
        # oracle loaded it, 500 MB of address space on its own) does not count against it.
        _limit(resource.RLIMIT_AS, _address_space() + memory_mb * MEGABYTE)
    while True:
        try:
            with _deep_trees():
                job = conn.recv()
        except EOFError:  # the parent closed the pipe, or died without cleaning up
            _remove(folder)
            return
        outcome = _outcome(job)
        try:
            with _deep_trees():
                conn.send(outcome)
        except Exception as err:  # it cannot be pickled (nothing is written then)
            conn.send(_unsendable(job, outcome, err))
        if outcome[0] == "memory":
            return  # what a MemoryError leaves behind is not to be trusted: start afresh


# A verdict carries its formula's trees, nested up to --max-nesting (at most 400) levels;
# pickling recurses a few frames per level, past Python's default limit of 1,000.
_PICKLING_DEPTH = 10_000


@contextmanager
def _deep_trees() -> Iterator[None]:
    """Room on the stack to pickle (or unpickle) a deeply nested tree, then as before."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(max(saved, _PICKLING_DEPTH))
    try:
        yield
    finally:
        sys.setrecursionlimit(saved)


def _outcome(job: Job) -> tuple[str, object]:
    try:
        return ("done", job.work(*job.args))
    except MemoryError:
        return ("memory", None)
    except BaseException as err:
        return ("raised", ("".join(traceback.format_exception(err)), err))
    finally:
        _limit_cpu(None)


def _unsendable(job: Job, outcome: tuple[str, object], error: Exception) -> tuple[str, object]:
    # An exception that cannot be pickled still sends its traceback; a result is a bug.
    if outcome[0] == "raised" and isinstance(outcome[1], tuple):
        return ("raised", (outcome[1][0], None))
    return ("raised", (f"{job.work.__name__}'s result cannot be sent: {error!r}", None))


def _address_space() -> int:
    """This process's address space in bytes, from /proc; 0 where there is none."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _limit(which: int, soft: int | None) -> None:
    # Never above the hard limit the worker inherited (prlimit, ulimit -v).
    _, hard = resource.getrlimit(which)
    if soft is not None and hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(which, (hard if soft is None else soft, hard))


def _limit_cpu(seconds: float | None) -> None:
    """RLIMIT_CPU for the stage: a backstop should the parent not kill the worker in time."""
    if resource is None:
        return
    if seconds is None:
        _limit(resource.RLIMIT_CPU, None)
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = used.ru_utime + used.ru_stime
    _limit(resource.RLIMIT_CPU, math.ceil(spent + seconds + 3 * GRACE))


def _cpu_seconds(pid: int) -> float | None:
    """A process's CPU time (user and system) so far, from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _last_words(folder: str) -> str:
    """The last line a dead worker wrote to its stderr (GMP's message before an abort)."""
    try:
        text = (Path(folder) / "stderr").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    lines = text.strip().splitlines()
    return lines[-1].strip()[:200] if lines else ""
