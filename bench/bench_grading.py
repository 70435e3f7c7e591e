"""A TA's grading run: files per second of `bnverify check` over generated submissions.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_grading.py                        # 1,000 files, 3 runs
    .venv/bin/python bench/bench_grading.py --files 200 --runs 5 --jobs 1 2 4

It writes N submission files into a temporary folder, each a variation of
derivations/forum-post.toml: a student's name as title, then g_gamma, g_beta and g_z,
each right or wrong (a per-sample g_beta, eval-mode g_z, a missing 1/N, ...), drawn with
a fixed seed, so every run grades the same class. Then, round-robin after one untimed
warm-up round of --jobs 1 on the first 20 files, it runs `bnverify check FOLDER
--format json -o ... --quiet --jobs J` for each J and prints the machine, the median
(min, max) wall time and files per second of each J, and the speed-up over --jobs 1.
It also checks that every run wrote the same bytes, whatever J (issue 14: output does
not depend on parallelism), and says so.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import REPO, machine, timed

TRUTH_Z = "gamma*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var+eps))"
# (gradient of, formula, verdict): right ones in two spellings, and the classic slips.
ANSWERS = {
    "gamma": [
        ("sum(g_y*zhat)", "match"),
        ("dot(zhat, g_y)", "match"),
        ("sum(g_y)", "diverge"),
        ("g_y*zhat", "diverge"),
    ],
    "beta": [("sum(g_y)", "match"), ("g_y", "diverge"), ("mean(g_y)", "diverge")],
    "z": [
        (TRUTH_Z, "match"),
        ("gamma/(N*sqrt(var+eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))", "match"),
        ("gamma/sqrt(var+eps)*g_y", "diverge"),
        ("gamma*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))/sqrt(var+eps)", "diverge"),
        ("gamma*(N*g_y - sum(g_y) + zhat*sum(g_y*zhat))/(N*sqrt(var+eps))", "diverge"),
    ],
}


def submission(rng: random.Random, student: int) -> str:
    lines = [
        f'title = "Homework 3: Batch Norm backward, student {student:04d}"',
        f'source = "submitted by student {student:04d}"',
        'model = "batchnorm"',
    ]
    for wrt, answers in ANSWERS.items():
        formula, verdict = rng.choice(answers)
        lines += ["", "[[candidate]]", f'name = "g_{wrt}"', f'wrt = "{wrt}"']
        lines += [f'expr = "{formula}"', f'expect = "{verdict}"']
    return "\n".join(lines) + "\n"


def write_class(folder: Path, files: int) -> None:
    rng = random.Random(14)
    for student in range(files):
        (folder / f"student-{student:04d}.toml").write_text(submission(rng, student))


def grade(folder: Path, jobs: int, out: Path) -> float:
    argv = [sys.executable, "-m", "bnverify", "check", str(folder), "--format", "json"]
    argv += ["-o", str(out), "--quiet", "--jobs", str(jobs)]
    return timed(argv, REPO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory(prefix="bnverify-grading-") as scratch:
        folder, outputs = Path(scratch) / "class", Path(scratch) / "out"
        folder.mkdir()
        outputs.mkdir()
        write_class(folder, args.files)
        warm = Path(scratch) / "warm"
        warm.mkdir()
        write_class(warm, 20)
        grade(warm, 1, outputs / "warm.json")
        times: dict[int, list[float]] = {jobs: [] for jobs in args.jobs}
        written: set[bytes] = set()
        for run in range(args.runs):
            for jobs in args.jobs:
                out = outputs / f"{jobs}-{run}.json"
                times[jobs].append(grade(folder, jobs, out))
                written.add(out.read_bytes())
    print(f"{args.files} files ({3 * args.files} candidates); median (min, max) of {args.runs}")
    first = statistics.median(times[args.jobs[0]])
    for jobs, spent in times.items():
        median = statistics.median(spent)
        print(
            f"  --jobs {jobs}: {median:7.1f} s ({min(spent):.1f}, {max(spent):.1f})"
            f"  {args.files / median:6.1f} files/s  x{first / median:.2f}"
        )
    same = "the same bytes" if len(written) == 1 else f"{len(written)} different outputs"
    print(f"every run wrote {same}")


if __name__ == "__main__":
    main()
