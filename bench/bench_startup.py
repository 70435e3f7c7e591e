"""What worker processes cost `bnverify check derivations/forum-post.toml`, against `import sympy`.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_startup.py                     # K = 7 runs each
    .venv/bin/python bench/bench_startup.py --before 48325f6    # and a revision without workers
    .venv/bin/python bench/bench_startup.py --runs 11 --before 48325f6 -- derivations/

Every command is a new process: `python -c "import sympy"` (the baseline), then
`python -m bnverify check PATHS` with this tree, with `--jobs 1` and with the default
jobs (one per CPU), and with the revision given by --before, extracted by `git archive`
into a temporary folder (nothing in the repository changes). Each tree goes first on
PYTHONPATH. Commands run round-robin after one untimed warm-up round, so drift on a
shared machine weighs on all of them alike. It prints the machine (nproc and the CPU
model from lscpu), then the median (min, max) wall time of each and its ratio to the
baseline's median. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    names = [line.split(":", 1)[1].strip() for line in lscpu if line.startswith("Model name")]
    model = names[0] if names else "unknown"
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"nproc {nproc}, {model}, Python {sys.version.split()[0]}"


def extracted(revision: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def timed(argv: list[str], tree: Path | None) -> float:
    env = {**os.environ, "NO_COLOR": "1"}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", help="a revision to compare with (e.g. 48325f6)")
    parser.add_argument("paths", nargs="*", default=["derivations/forum-post.toml"])
    args = parser.parse_args()
    check = [sys.executable, "-m", "bnverify", "check", *args.paths]
    commands: list[tuple[str, list[str], Path | None]] = [
        ('python -c "import sympy"', [sys.executable, "-c", "import sympy"], None),
        (f"check {' '.join(args.paths)} (this tree, --jobs 1)", [*check, "--jobs", "1"], REPO),
        (f"check {' '.join(args.paths)} (this tree, default jobs)", check, REPO),
    ]
    with tempfile.TemporaryDirectory(prefix="bnverify-bench-") as scratch:
        if args.before:
            tree = extracted(args.before, Path(scratch))
            commands.append((f"check {' '.join(args.paths)} ({args.before})", check, tree))
        print(f"machine: {machine()}")
        print(f"command: {' '.join(sys.argv)}")
        for _, argv, tree in commands:  # warm-up: disk cache, .pyc files
            timed(argv, tree)
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for _ in range(args.runs):
            for label, argv, tree in commands:
                times[label].append(timed(argv, tree))
    baseline = statistics.median(times[commands[0][0]])
    print(f"median (min, max) of {args.runs} runs, wall time; ratio to import sympy")
    for label, spent in times.items():
        median = statistics.median(spent)
        print(
            f"  {label:60} {median:6.2f} s ({min(spent):.2f}, {max(spent):.2f})"
            f"  x{median / baseline:.2f}"
        )


if __name__ == "__main__":
    main()
