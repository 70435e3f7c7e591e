"""Measuring and printing for the benchmarks in bench/: wall-clock times as median (min, max).

Every script times, tabulates and describes the machine with these, so their reports read
alike and can be compared (each imports it as `measure`, since `python bench/x.py` puts
bench/ first on sys.path).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class Timing:
    """The median, min and max of K wall-clock times, in seconds."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, seconds: list[float]) -> Timing:
        """The summary of a list of times."""
        return cls(statistics.median(seconds), min(seconds), max(seconds))

    def cells(self) -> list[str]:
        """Median, min and max, formatted."""
        return [duration(self.median), duration(self.low), duration(self.high)]


def duration(seconds: float) -> str:
    """A time in s, ms or µs, to three significant digits."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} µs"


def timed(
    fn: Callable[[], object],
    runs: int,
    before: Callable[[], None] = lambda: None,
    warm_up: bool = True,
) -> Timing:
    """Time fn() runs times; before() runs, untimed, ahead of each.

    The warm-up is one untimed run first: lazy imports and first-call set-up (a flint
    context, numpy's ufunc loops) are paid there, not by the first timed run.
    """
    if warm_up:
        before()
        fn()
    seconds = []
    for _ in range(runs):
        before()
        gc.collect()
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return Timing.of(seconds)


def clear_caches(modules: Iterable[ModuleType]) -> None:
    """Clear every functools cache defined at the top level of these modules."""
    for module in modules:
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def table(headers: list[str], rows: list[list[str]], align: str) -> str:
    """Rows under headers; align has one letter per column, l(eft) or r(ight)."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def section(title: str) -> None:
    """Print a section heading."""
    print(f"\n== {title} ==\n")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_report(runs: int, libraries: str | None = None) -> str:
    """The command, CPU, cores, Python, the libraries if given and the load, one per line."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        f"command:      {' '.join([Path(sys.executable).name, *sys.argv])}",
        f"CPU:          {cpu_model()}",
        f"cores:        {os.cpu_count()} ({usable} usable by this process)",
        f"Python:       {platform.python_version()} ({sys.executable})",
        *([f"libraries:    {libraries}"] if libraries else []),
        f"load average: {load} (1, 5, 15 min, at start)",
        f"runs:         K = {runs} per measurement after one warm-up; median (min, max)",
    ]
    return "\n".join(lines)


def runs_option(argv: list[str] | None, description: str, default: int) -> int:
    """K, the timed runs per measurement, from the command line (--runs or -k)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", "-k", type=int, default=default, help="runs per measurement (K)")
    return parser.parse_args(argv).runs
