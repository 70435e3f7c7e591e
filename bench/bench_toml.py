"""How long reading a derivation's TOML takes when it is full of dotted keys (issue 13).

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_toml.py             # 5 runs per measurement
    .venv/bin/python bench/bench_toml.py --runs 3

The input is the issue's reproducer: a [[candidate]] table followed by lines `k.kN = 1`.
tomlkit, which bnverify reads TOML with (for positions), rebuilds a table's view of its
dotted keys on each new one, so its time grows with the square of their number. The
script prints the machine, then the median (min, max) of K runs of

1. `tomlkit.parse` alone, the reader before the bound, at 250, 500, 1,000 and 2,000 lines
   (the issue measured 77 s at 6,000; `--full` adds 6,000 here, which takes minutes);
2. `bnverify.files.toml_source.parse_toml`, the reader now, on the same sizes and on
   6,000 lines, where it refuses the file at the 101st dotted key before tomlkit reads it;
3. `parse_toml` on a plain file of 100 candidates (no dotted keys), for scale.

Nothing is asserted: the script reports what it measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import tomlkit

from bnverify.files.toml_source import parse_toml

HEAD = 'model = "batchnorm"\n[[candidate]]\nname = "a"\nwrt = "z"\nexpr = "g_y"\n'


def dotted(lines: int) -> str:
    """The issue's file: one candidate, then `lines` dotted keys inside its table."""
    return HEAD + "".join(f"k.k{i} = 1\n" for i in range(lines))


def plain(candidates: int) -> str:
    """A file of well-formed candidates, for scale."""
    one = '[[candidate]]\nname = "c{i}"\nwrt = "z"\nexpr = "gamma/sqrt(var + eps)*g_y"\n'
    return 'model = "batchnorm"\n' + "".join(one.format(i=i) for i in range(candidates))


def timed(work: Callable[[], object], runs: int) -> str:
    """The median (min, max) of `runs` timings of work(), in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    ms = [t * 1000 for t in times]
    return f"{statistics.median(ms):10.2f} ms  ({min(ms):.2f}, {max(ms):.2f})"


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    options.add_argument("--runs", type=int, default=5)
    options.add_argument("--full", action="store_true", help="also time tomlkit at 6,000")
    args = options.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"tomlkit {tomlkit.__version__}; median (min, max) of {args.runs} runs\n")
    sizes = [250, 500, 1000, 2000] + ([6000] if args.full else [])
    for lines in sizes:
        text = dotted(lines)
        print(f"tomlkit.parse, {lines:>5} dotted keys ({len(text):>6,} B): ", end="", flush=True)
        print(timed(lambda text=text: tomlkit.parse(text), args.runs))
    for lines in [250, 500, 1000, 2000, 6000]:
        text = dotted(lines)
        print(f"parse_toml,    {lines:>5} dotted keys ({len(text):>6,} B): ", end="", flush=True)
        print(timed(lambda text=text: parse_toml(text, "d.toml"), args.runs))
    text = plain(100)
    print(f"parse_toml,    100 plain candidates ({len(text):>6,} B): ", end="", flush=True)
    print(timed(lambda: parse_toml(text, "d.toml"), args.runs))


if __name__ == "__main__":
    main()
