"""CPU-time budgets: work that runs past its deadline is stopped and becomes a value.

`within(seconds, work)` runs `work()` and returns its result, or an `Overrun` saying
which layer was running when the time ran out. Deadlines nest: an inner budget never
outlives the outer one, and when the outer one runs out first, the inner call does not
swallow it. `layer("exact")` marks the work a decorated function does, for the message.

Seconds are CPU seconds of this process (time.process_time), so a verdict does not
change when the machine is busy. The deadline is a profiling interval timer (setitimer
ITIMER_PROF, which counts the same CPU time) whose SIGPROF handler raises a private
exception in the running Python code. So Python-level work (SymPy, our evaluators) is
interruptible; one C-level operation (a big-integer power) is not: the command line
therefore checks in worker processes that its parent can kill (bnverify.judge.workers).
Signals reach only the main thread: elsewhere (or without setitimer, as on Windows)
`within` runs the work without a deadline. The previous SIGPROF handler and timer are
restored when the outermost budget ends.

The exception derives from BaseException, so no `except Exception` on the way swallows
it; where Python cannot raise it at all (a garbage-collector callback, a __del__), it is
dropped there (never printed: no traceback reaches the user) and the timer rings again
50 ms later. A library that catches it with a bare except and raises an error of its own
instead (mpmath's interval comparisons) still ends in an Overrun. An interrupted function
never stores a result in functools.cache or a cached_property, so an interruption leaves
no half-built cached value behind.

Ctrl-C always wins. When a C call returns with both SIGINT and SIGPROF pending, Python
runs the SIGINT handler first and the SIGPROF one while the KeyboardInterrupt unwinds:
raising our exception there would replace it, and the run would go on. So while a budget
runs, SIGINT goes through a handler that notes it, and after that nothing here raises or
returns anything but KeyboardInterrupt.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from types import FrameType
from typing import TypeVar

T = TypeVar("T")
_RETRY = 0.001  # seconds: a signal that lands in our own bookkeeping is taken again soon
_REPEAT = 0.05  # seconds: if library code catches our exception, ring again


@dataclass(frozen=True)
class Overrun:
    """Work stopped because its budget ran out, and the layer that was running."""

    seconds: float
    layer: str


class _Clock:
    """One active deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.process_time() + seconds
        self.rang_in: str | None = None  # the layer that was running when it rang


class _Expired(BaseException):
    def __init__(self, clock: _Clock, layer: str) -> None:
        super().__init__(layer)
        self.clock, self.layer = clock, layer


_clocks: list[_Clock] = []  # the active deadlines, outermost first (main thread only)
_layers: list[str] = []  # the layers being run, outermost first
_saved: list[tuple[object, object, tuple[float, float], float]] = []  # handlers, timer, when
_interrupted: list[bool] = [False]  # whether SIGINT came while the outermost budget ran
_hooks: list[Callable[[object], object]] = []  # the unraisable hook before the first budget


def within(seconds: float | None, work: Callable[[], T]) -> T | Overrun:
    """work(), or an Overrun when it takes longer than `seconds` (None: no deadline)."""
    if not seconds or not _can_interrupt():
        return work()
    clock, depth = _Clock(seconds), len(_layers)
    if not _clocks:
        _interrupted[0] = False
        handler = signal.signal(signal.SIGPROF, _ring)
        interrupt = signal.signal(signal.SIGINT, _interrupt)
        timer = signal.setitimer(signal.ITIMER_PROF, 0)
        _saved.append((handler, interrupt, timer, time.process_time()))
        _hooks.append(sys.unraisablehook)
        sys.unraisablehook = _drop_expired
    _clocks.append(clock)
    _arm()
    try:
        return work()
    except _Expired as expired:
        _raise_if_interrupted()
        if expired.clock is not clock:
            raise  # an outer deadline: the caller that set it reports it
        layer = expired.layer
    except Exception:
        # A library may turn our exception into one of its own: mpmath's interval
        # comparisons catch everything and return NotImplemented, so Python raises a
        # TypeError. An error after this deadline rang is still its overrun, not a bug.
        # (A library may do the same to a KeyboardInterrupt: that is still Ctrl-C.)
        _raise_if_interrupted()
        if clock.rang_in is None:
            raise
        layer = clock.rang_in
    finally:
        # Only this module's code runs until the clock is gone (a signal that lands here
        # waits), so no late ring of this clock can escape from here.
        _clocks.remove(clock)
        del _layers[depth:]
        if _clocks:
            _arm()  # the enclosing deadline, with what is left of it
        else:
            _restore()
    return Overrun(seconds, layer)  # an outer deadline may still end the work here


@contextmanager
def _marked(name: str) -> Iterator[None]:
    _layers.append(name)
    try:
        yield
    finally:
        if _layers and _layers[-1] == name:
            _layers.pop()


def layer(name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a function as the work of a layer ("symbolic", "exact", ...)."""

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        @wraps(fn)
        def run(*args: object, **kwargs: object) -> T:
            with _marked(name):
                return fn(*args, **kwargs)

        return run

    return decorate


def _can_interrupt() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _arm() -> None:
    """Set the timer for the earliest active deadline."""
    earliest = min(clock.ends for clock in _clocks)
    signal.setitimer(signal.ITIMER_PROF, max(earliest - time.process_time(), _RETRY))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler while a budget runs: note Ctrl-C, then do what was set before."""
    previous = _saved[-1][1] if _saved else signal.default_int_handler
    if previous == signal.SIG_IGN:  # a worker process, whose parent handles Ctrl-C
        return
    _interrupted[0] = True
    if callable(previous):
        previous(signum, frame)
    raise KeyboardInterrupt


def _raise_if_interrupted() -> None:
    if _interrupted[0]:
        raise KeyboardInterrupt


def _drop_expired(unraisable: object) -> None:
    """sys.unraisablehook while a budget runs: our exception, ignored, is not news."""
    if not isinstance(getattr(unraisable, "exc_value", None), _Expired):
        _hooks[-1](unraisable)


def _restore() -> None:
    """Give back the SIGPROF and SIGINT handlers and the timer set before the first budget."""
    sys.unraisablehook = _hooks.pop()
    handler, interrupt, (delay, interval), saved_at = _saved.pop()
    signal.signal(signal.SIGPROF, handler if handler is not None else signal.SIG_DFL)
    signal.signal(signal.SIGINT, interrupt if interrupt is not None else signal.SIG_DFL)
    if delay > 0:
        remaining = max(delay - (time.process_time() - saved_at), _RETRY)
        signal.setitimer(signal.ITIMER_PROF, remaining, interval)
    else:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _ring(_signum: int, frame: FrameType | None) -> None:
    """The SIGPROF handler: raise in the running code when a deadline has passed."""
    if _interrupted[0]:
        return  # a KeyboardInterrupt is unwinding: nothing may replace it
    # A signal that lands in this module's own bookkeeping waits a moment, so `within`
    # always finishes its cleanup. (Python runs handlers between bytecodes of the
    # innermost frame; the work itself always runs in frames of other modules.)
    if frame is not None and frame.f_code.co_filename == __file__:
        signal.setitimer(signal.ITIMER_PROF, _RETRY)
        return
    now = time.process_time()
    due = [clock for clock in _clocks if clock.ends <= now]
    if not due:
        if _clocks:
            _arm()
        return
    signal.setitimer(signal.ITIMER_PROF, _REPEAT)
    due[0].rang_in = _layers[-1] if _layers else "setup"
    raise _Expired(due[0], due[0].rang_in)
