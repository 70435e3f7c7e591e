"""Is this checkout slower than an earlier revision? `bnverify check` timed against it.

A benchmark run by hand (not a test), for refactors that must not cost time. From the
repository root, with the venv:

    .venv/bin/python bench/bench_revisions.py cd74c79            # K = 7 runs each
    .venv/bin/python bench/bench_revisions.py cd74c79 --runs 11 -- derivations/forum-post.toml

The revision is checked out into a temporary git worktree, and both trees run as
`python -m bnverify check <paths>` in a new process with the same interpreter, the tree
first on PYTHONPATH; the shipped derivation files of this checkout are the input of
both. Runs alternate between the two trees after one untimed warm-up each, so drift on a
shared machine weighs on both alike. It prints the machine, the median (min, max) of
each, and the ratio of this checkout to the revision. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_check(tree: Path, paths: list[str]) -> tuple[float, int]:
    """Wall-clock seconds and exit status of `bnverify check paths` from one tree."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    argv = [sys.executable, "-m", "bnverify", "check", *paths]
    start = time.perf_counter()
    status = subprocess.run(
        argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode
    return time.perf_counter() - start, status


def compare(trees: dict[str, Path], paths: list[str], runs: int) -> dict[str, list[float]]:
    """Each tree's run times, alternating, after one untimed warm-up run each."""
    statuses: dict[str, set[int]] = {label: set() for label in trees}
    for label, tree in trees.items():
        statuses[label].add(run_check(tree, paths)[1])
    seconds: dict[str, list[float]] = {label: [] for label in trees}
    for _ in range(runs):
        for label, tree in trees.items():
            elapsed, status = run_check(tree, paths)
            seconds[label].append(elapsed)
            statuses[label].add(status)
    if len({frozenset(s) for s in statuses.values()}) > 1:
        print(f"warning: the trees exit differently: {statuses}")
    return seconds


def machine() -> str:
    """CPU, cores, Python and the load average at the start."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"CPU: {cpu}; cores: {os.cpu_count()}; Python {platform.python_version()}; "
        f"load average {load} (1, 5, 15 min)"
    )


def main(argv: list[str] | None = None) -> None:
    """Time this checkout against a revision and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="the git revision to compare with (e.g. a commit)")
    parser.add_argument("--runs", "-k", type=int, default=7, help="timed runs per tree (K)")
    parser.add_argument("paths", nargs="*", default=["derivations/"], help="what to check")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bnverify-bench-") as scratch:
        before = Path(scratch) / "before"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(before), args.revision],
            cwd=REPO,
            check=True,
        )
        try:
            seconds = compare({args.revision: before, "this checkout": REPO}, args.paths, args.runs)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=REPO)
    print(machine())
    print(f"command: python -m bnverify check {' '.join(args.paths)}; K = {args.runs} runs each")
    medians = {}
    for label, runs in seconds.items():
        medians[label] = statistics.median(runs)
        print(f"  {label:>14}: {medians[label]:.3f} s  ({min(runs):.3f}, {max(runs):.3f})")
    ratio = medians["this checkout"] / medians[args.revision]
    print(f"  ratio this checkout / {args.revision}: {ratio:.3f}")


if __name__ == "__main__":
    main()
