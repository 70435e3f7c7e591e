"""Time budgets: work past its deadline becomes an Overrun; nesting and restoring work."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from functools import cache

import gmpy2
import pytest

from bnverify.judge import budget
from bnverify.judge.budget import Overrun


def spin(seconds: float) -> str:
    """Python-level work that takes `seconds` (interruptible, as SymPy is)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "done"


def test_work_within_its_budget_returns_its_value():
    assert budget.within(5, lambda: spin(0.01)) == "done"


def test_no_budget_means_no_deadline():
    assert budget.within(None, lambda: spin(0.05)) == "done"


def test_work_past_its_budget_is_an_overrun_naming_the_layer():
    started = time.process_time()  # the budget is CPU time: a busy machine stretches wall time
    found = budget.within(0.1, budget.layer("exact")(lambda: spin(10)))
    assert found == Overrun(0.1, "exact")
    assert time.process_time() - started < 1


def test_an_inner_budget_that_runs_out_leaves_the_outer_one_running():
    def outer() -> tuple:
        return budget.within(0.05, lambda: spin(10)), spin(0.1)

    assert budget.within(5, outer) == (Overrun(0.05, "setup"), "done")


def test_an_outer_budget_that_runs_out_first_is_not_swallowed_by_the_inner_one():
    symbolic = budget.layer("symbolic")(spin)
    found = budget.within(0.1, lambda: budget.within(10, lambda: symbolic(10)))
    assert found == Overrun(0.1, "symbolic")


def test_an_overrun_a_library_turns_into_its_own_error_is_still_an_overrun():
    def swallowing() -> str:
        try:
            return spin(10)
        except BaseException:  # as mpmath's interval comparisons do, with a bare except
            raise TypeError("'<' not supported between instances of 'ivmpf' and 'int'") from None

    assert budget.within(0.05, budget.layer("exact")(swallowing)) == Overrun(0.05, "exact")


def test_an_error_before_the_deadline_is_raised_as_it_is():
    def broken() -> None:
        raise TypeError("a bug")

    with pytest.raises(TypeError, match="a bug"):
        budget.within(5, broken)


def test_the_previous_handler_and_timer_are_restored():
    def previous(signum, frame):
        raise AssertionError("the earlier timer fired early")

    old = signal.signal(signal.SIGPROF, previous)
    interrupt = signal.getsignal(signal.SIGINT)
    try:
        signal.setitimer(signal.ITIMER_PROF, 30)
        assert budget.within(0.05, lambda: spin(1)) == Overrun(0.05, "setup")
        assert signal.getsignal(signal.SIGPROF) is previous
        assert signal.getsignal(signal.SIGINT) is interrupt
        remaining, _ = signal.getitimer(signal.ITIMER_PROF)
        assert 25 < remaining <= 30
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def test_the_budget_counts_cpu_time_not_waiting():
    # A process that waits (a busy machine, a sleep) spends no budget.
    assert budget.within(0.05, lambda: time.sleep(0.2) or "slept") == "slept"


@pytest.fixture
def ctrl_c():
    """Ctrl-C raises KeyboardInterrupt, even where this run was started with it ignored."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_during_an_overrun_in_c_code_is_not_swallowed(ctrl_c):
    # SIGINT lands while one C call (a GMP power, about 2 s) runs past the deadline, so
    # both signals are pending when it returns: SIGINT's handler runs first, and the
    # deadline's must not replace its KeyboardInterrupt while library code cleans up.
    def c_call() -> str:
        try:
            gmpy2.mpz(3) ** 400_000_000
            return spin(10)
        finally:
            spin(0.01)  # a library's clean-up runs while the KeyboardInterrupt unwinds

    ctrl_c = subprocess.Popen(["sh", "-c", f"sleep 0.5; kill -INT {os.getpid()}"])
    try:
        with pytest.raises(KeyboardInterrupt):
            budget.within(0.05, budget.layer("exact")(c_call))
    finally:
        ctrl_c.wait()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_a_library_turns_into_its_own_error_is_still_ctrl_c(ctrl_c):
    def swallowing() -> str:
        try:
            signal.raise_signal(signal.SIGINT)
            return spin(10)
        except BaseException:
            raise TypeError("a library's own error") from None

    with pytest.raises(KeyboardInterrupt):
        budget.within(5, swallowing)


def test_outside_the_main_thread_the_work_runs_to_the_end():
    found = []
    worker = threading.Thread(target=lambda: found.append(budget.within(0.01, lambda: spin(0.1))))
    worker.start()
    worker.join()
    assert found == ["done"]


def test_an_interrupted_cached_function_caches_nothing():
    calls = []

    @cache
    def slow(seconds: float) -> str:
        calls.append(seconds)
        return spin(seconds)

    assert isinstance(budget.within(0.05, lambda: slow(1)), Overrun)
    assert budget.within(5, lambda: slow(0.01)) == "done"
    assert budget.within(5, lambda: slow(1)) == "done"  # computed again, in full
    assert calls == [1, 0.01, 1]


def test_many_short_budgets_leave_no_deadline_behind():
    for _ in range(300):
        budget.within(0.001, lambda: spin(0.0015))
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert spin(0.05) == "done"  # no stray alarm interrupts later work


def test_a_late_ring_while_the_overrun_is_built_does_not_escape(monkeypatch):
    # The handler rings again 50 ms after it raises (in case library code swallowed the
    # exception); found by fuzzing: that ring once landed in Overrun.__init__ (code
    # outside this module) while the expired clock was still active, and escaped.
    class SlowOverrun(Overrun):
        def __init__(self, seconds: float, layer: str) -> None:
            spin(0.2)
            super().__init__(seconds, layer)

    monkeypatch.setattr(budget, "Overrun", SlowOverrun)
    found = budget.within(5, lambda: budget.within(0.01, lambda: spin(1)))
    assert (found.seconds, found.layer) == (0.01, "setup")


class SlowFinalizer:
    """An object whose __del__ is busy when the deadline rings (Python ignores, and would
    print, any exception raised there)."""

    def __del__(self) -> None:
        spin(0.3)


def test_a_deadline_in_a_finalizer_prints_nothing_and_still_stops_the_work(capfd):
    def work() -> str:
        SlowFinalizer()  # dropped at once: its __del__ runs past the deadline
        return spin(10)

    started = time.process_time()
    found = budget.within(0.1, work)
    assert isinstance(found, Overrun)
    assert time.process_time() - started < 2
    assert "Exception ignored" not in capfd.readouterr().err
