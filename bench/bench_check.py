"""How long `bnverify check` takes, next to `import sympy` and torch's gradcheck.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_check.py              # K = 7 runs per measurement
    .venv/bin/python bench/bench_check.py --runs 3     # quicker, noisier
    .venv/bin/python bench/bench_check.py 2>&1 | tee bench/results/forum-post-check.txt

It prints the machine, then, as the median (min, max) of K runs:

1. whole-process runs of `python -c "import sympy"` (the baseline) and of `bnverify check`
   on the derivation files, each with its ratio to the baseline (the project's target:
   forum-post.toml in at most 4x `import sympy`), then the CI formats (json, junit,
   github) on derivations/ and the printable reports of the forum post (md, tex, html,
   html with --pdf through Chromium), written to a temporary directory. Commands run
   round-robin after one untimed warm-up round, so drift and a cold disk cache weigh on
   all of them alike;
2. one candidate at N = 256, C = 16 in-process: bnverify's exact layer alone, and the
   whole check_candidate, both with exact_trials = ((256, 16),) and cold caches;
3. where PyTorch is installed, torch.autograd.gradcheck of the same formula used as the
   backward of a Batch Norm autograd.Function on a (256, 16) float64 input;
4. what gradcheck misses at N = 64, C = 8: a closed form off by a factor 1 + 1e-4, and
   one with eps dropped from one term, with bnverify's verdicts on the same formulas.

Nothing is asserted: the script reports what it measures. torch is not a dependency of
bnverify; install it into the venv to get sections 3 and 4 (`pip install torch==2.13.0`).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from bnverify.check import check_candidate
from bnverify.engine import truth
from bnverify.files.derivation import inline_candidate
from bnverify.judge import evidence
from bnverify.judge.records import Case, Verdict
from bnverify.language import parser
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, Resolved, resolve
from bnverify.problem import Problem
from bnverify.settings import Settings

if TYPE_CHECKING:
    import torch

REPO = Path(__file__).resolve().parent.parent
OUT = Path(tempfile.mkdtemp(prefix="bnverify-bench-"))  # report and CI files written here
BNVERIFY = str(Path(sys.executable).parent / "bnverify")  # the console script of this venv

# (label, argv) of the whole-process runs; the first is the baseline.
PROCESSES: tuple[tuple[str, list[str]], ...] = (
    ('python -c "import sympy"', [sys.executable, "-c", "import sympy"]),
    *(
        (f"bnverify check {path}", [BNVERIFY, "check", path])
        for path in (
            "derivations/forum-post.toml",
            "derivations/ioffe-szegedy-2015.toml",
            "derivations/closed-form.toml",
            "derivations/",
        )
    ),
    # The CI formats and printable reports of the forum post (issues 3 and 4): what they
    # add to the same check. Files go to a temporary directory.
    *(
        (
            f"bnverify check derivations/ --format {fmt}",
            [BNVERIFY, "check", "derivations/", "--format", fmt, "-o", str(OUT / f"check.{fmt}")],
        )
        for fmt in ("json", "junit", "github")
    ),
    *(
        (
            f"bnverify report forum-post.toml -o post.{ext} {' '.join(extra)}".rstrip(),
            [
                BNVERIFY,
                "report",
                "derivations/forum-post.toml",
                "-o",
                str(OUT / f"post.{ext}"),
                *extra,
            ],
        )
        for ext, extra in (("md", []), ("tex", []), ("html", []), ("html", ["--pdf"]))
    ),
)
TARGET_LABEL, TARGET_RATIO = "bnverify check derivations/forum-post.toml", 4.0

TIMED_SIZE = (256, 16)  # (N, C) of sections 2 and 3
MISSES_SIZE = (64, 8)  # (N, C) of section 4
EPS = 1e-5  # the model's eps, as in torch.nn.BatchNorm1d
SCALE = 1e-4  # the relative error of the scaled closed form
# Cold means every functools cache of bnverify is cleared before each run (today: the
# truth's derivation and SymPy proof, the symbolic instances, the random points), but the
# grammar's: like the model file, a process builds it once, and section 1 counts it.
WARM_MODULES = frozenset({"bnverify.language.parser"})
EXACT_MODULES: tuple[ModuleType, ...] = (evidence,)  # the points, drawn and evaluated anew


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


# --- The candidate formulas, for bnverify (ASCII) and for torch --------------------------


@dataclass(frozen=True)
class Stats:
    """A float64 batch and its Batch Norm statistics per channel (biased variance)."""

    z: torch.Tensor
    gamma: torch.Tensor
    mu: torch.Tensor
    var: torch.Tensor
    root: torch.Tensor  # sqrt(var + eps)
    zhat: torch.Tensor

    @property
    def n(self) -> int:
        """The batch size."""
        return self.z.shape[0]


def batch_stats(z: torch.Tensor, gamma: torch.Tensor) -> Stats:
    """mu, var, sqrt(var + eps) and zhat of a (N, C) batch, per channel."""
    mu = z.mean(0)
    var = ((z - mu) ** 2).mean(0)
    root = (var + EPS).sqrt()
    return Stats(z, gamma, mu, var, root, (z - mu) / root)


def closed_form(s: Stats, g_y: torch.Tensor, inner_zhat: torch.Tensor) -> torch.Tensor:
    """gamma/(N sqrt(var + eps)) (N g_y - sum(g_y) - zhat sum(g_y inner_zhat))."""
    return s.gamma / (s.n * s.root) * (s.n * g_y - g_y.sum(0) - s.zhat * (g_y * inner_zhat).sum(0))


@dataclass(frozen=True)
class Formula:
    """A candidate g_z: bnverify's ASCII text, and the same formula on torch tensors."""

    name: str
    text: str
    g_z: Callable[[Stats, torch.Tensor], torch.Tensor]


CLOSED_TEXT = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
POST = Formula("post's g_z", "gamma/sqrt(var + eps) * g_y", lambda s, g_y: s.gamma / s.root * g_y)
CLOSED = Formula("closed form", CLOSED_TEXT, lambda s, g_y: closed_form(s, g_y, s.zhat))
SCALED = Formula(
    "(a) closed form * (1 + 1e-4)",
    f"(1 + {SCALE}) * {CLOSED_TEXT}",
    lambda s, g_y: (1 + SCALE) * closed_form(s, g_y, s.zhat),
)
NO_EPS = Formula(
    "(b) closed form, eps dropped in sum(g_y*zhat)",
    "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*(z - mu)/sqrt(var)))",
    lambda s, g_y: closed_form(s, g_y, (s.z - s.mu) / s.var.sqrt()),
)
TIMED = (POST, CLOSED)  # sections 2 and 3
MISSES = (SCALED, NO_EPS, POST, CLOSED)  # section 4; the last two are controls


# --- Measuring ---------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """A time in s or ms, to three significant digits."""
    return f"{seconds:.3g} s" if seconds >= 1 else f"{seconds * 1000:.3g} ms"


def timed(fn: Callable[[], object], runs: int, before: Callable[[], None] = lambda: None) -> Timing:
    """Time fn() runs times; before() runs, untimed, ahead of each."""
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


def cold_modules() -> list[ModuleType]:
    """The loaded bnverify modules whose caches a cold run starts without."""
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("bnverify.") and name not in WARM_MODULES
    ]


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


# --- The machine -------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform's guess elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_report(runs: int) -> str:
    """CPU, cores, Python and the load average, one per line."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return "\n".join(
        [
            f"CPU:          {cpu_model()}",
            f"cores:        {os.cpu_count()} ({usable} usable by this process)",
            f"Python:       {platform.python_version()} ({sys.executable})",
            f"load average: {load} (1, 5, 15 min, at start)",
            f"runs:         K = {runs} per measurement; median (min, max)",
        ]
    )


# --- 1. Whole processes ------------------------------------------------------------------


def run_process(argv: list[str]) -> tuple[float, int]:
    """The wall-clock time and exit status of one run, output discarded."""
    start = time.perf_counter()
    status = subprocess.run(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode
    return time.perf_counter() - start, status


def process_timings(runs: int) -> dict[str, tuple[Timing, set[int]]]:
    """Each command's timing and exit statuses, run round-robin after a warm-up round."""
    for _, argv in PROCESSES:
        run_process(argv)
    seconds: dict[str, list[float]] = {label: [] for label, _ in PROCESSES}
    statuses: dict[str, set[int]] = {label: set() for label, _ in PROCESSES}
    for _ in range(runs):
        for label, argv in PROCESSES:
            elapsed, status = run_process(argv)
            seconds[label].append(elapsed)
            statuses[label].add(status)
    return {label: (Timing.of(seconds[label]), statuses[label]) for label, _ in PROCESSES}


def print_processes(runs: int) -> None:
    """Section 1: whole-process runs and their ratio to `import sympy`."""
    section("1. whole-process runs (new process each run, output discarded)")
    timings = process_timings(runs)
    baseline = timings[PROCESSES[0][0]][0].median
    rows = []
    for label, (timing, statuses) in timings.items():
        status = "0" if statuses == {0} else f"{sorted(statuses)} (expected 0)"
        rows.append([label, *timing.cells(), f"{timing.median / baseline:.2f}x", status])
    print(table(["command", "median", "min", "max", "/ import sympy", "exit"], rows, "lrrrrl"))
    ratio = timings[TARGET_LABEL][0].median / baseline
    met = "met" if ratio <= TARGET_RATIO else "NOT met"
    target = f"forum-post.toml in at most {TARGET_RATIO:g}x import sympy"
    print(f"\ntarget: {target}: {met} ({ratio:.2f}x)")


# --- 2. One candidate in-process ---------------------------------------------------------


@dataclass(frozen=True)
class BnverifyTimes:
    """bnverify's times for one formula at the timed size."""

    exact: Timing
    cold: Timing
    kind: str


def resolved(formula: Formula, names: Names) -> Resolved:
    """The formula parsed and resolved as g_z (a broken formula is a bug here)."""
    parsed = parser.parse(formula.text, "ascii")
    out = parsed if isinstance(parsed, Problem) else resolve(parsed, names, "z")
    if isinstance(out, Problem):
        raise SystemExit(f"{formula.name}: {out.message}")
    return out


def verdict_of(formula: Formula, model: Model, settings: Settings) -> Verdict:
    """bnverify's verdict on the formula as g_z."""
    candidate = inline_candidate(formula.text, "ascii", "z", name=formula.name)
    return check_candidate(candidate, Names(model, {}), model, settings)


def bnverify_times(formula: Formula, model: Model, runs: int) -> BnverifyTimes:
    """The exact layer alone, and check_candidate, at N, C = TIMED_SIZE with cold caches."""
    settings = Settings(exact_trials=(TIMED_SIZE,))
    expr = resolved(formula, Names(model, {})).expr
    the_truth = truth.truth_of(model)
    exact = timed(
        lambda: evidence.exact_layer(Case(the_truth, expr, "z", settings)),
        runs,
        before=lambda: clear_caches(EXACT_MODULES),
    )
    kinds = set()
    cold = timed(
        lambda: kinds.add(verdict_of(formula, model, settings).kind),
        runs,
        before=lambda: clear_caches(cold_modules()),
    )
    return BnverifyTimes(exact, cold, "/".join(sorted(kinds)))


def print_in_process(model: Model, runs: int) -> dict[str, BnverifyTimes]:
    """Section 2: one candidate in-process; returns the times for section 3."""
    n, c = TIMED_SIZE
    section(f"2. one candidate in-process, N = {n}, C = {c}: Settings(exact_trials=(({n}, {c}),))")
    times = {f.name: bnverify_times(f, model, runs) for f in TIMED}
    rows = []
    for formula in TIMED:
        t = times[formula.name]
        rows.append([f"{formula.name}: exact layer", *t.exact.cells(), ""])
        rows.append([f"{formula.name}: check_candidate (cold)", *t.cold.cells(), t.kind])
    print(table(["measurement", "median", "min", "max", "verdict"], rows, "lrrrl"))
    print(
        "\nexact layer: evidence caches cleared before each run (the point is drawn and "
        "evaluated anew).\ncheck_candidate (cold): every bnverify cache cleared but the "
        "grammar's, so each run derives\nthe truth and proves it with SymPy at N = 1..8 "
        "(the grammar and model file stay loaded)."
    )
    return times


# --- 3 and 4. torch.autograd.gradcheck -------------------------------------------------


def batchnorm_function() -> type:
    """An autograd.Function: Batch Norm forward (training mode), a candidate as backward."""
    import torch

    class BatchNormWithCandidate(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z, gamma, beta, formula):
            ctx.save_for_backward(z, gamma)
            ctx.formula = formula
            return gamma * batch_stats(z, gamma).zhat + beta

        @staticmethod
        def backward(ctx, g_y):
            z, gamma = ctx.saved_tensors
            s = batch_stats(z, gamma)
            # Only g_z is under test; gamma's and beta's are the true ones, when asked for.
            g_gamma = (g_y * s.zhat).sum(0) if ctx.needs_input_grad[1] else None
            g_beta = g_y.sum(0) if ctx.needs_input_grad[2] else None
            return ctx.formula.g_z(s, g_y), g_gamma, g_beta, None

    return BatchNormWithCandidate


def torch_inputs(n: int, c: int) -> tuple[Any, Any, Any]:
    """z ~ N(0, 1) requiring grad, gamma ~ U[0.5, 1.5), beta ~ N(0, 1): float64, seed 0."""
    import torch

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n, c, dtype=torch.float64, generator=gen).requires_grad_()
    gamma = torch.rand(c, dtype=torch.float64, generator=gen) + 0.5
    beta = torch.randn(c, dtype=torch.float64, generator=gen)
    return z, gamma, beta


def gradcheck_accepts(formula: Formula, size: tuple[int, int], fast_mode: bool) -> bool:
    """Whether gradcheck, at its default tolerances, accepts the formula as g_z."""
    from torch.autograd import gradcheck

    function = batchnorm_function()
    z, gamma, beta = torch_inputs(*size)
    return gradcheck(
        lambda x: function.apply(x, gamma, beta, formula),
        (z,),
        fast_mode=fast_mode,
        raise_exception=False,
    )


def torch_report() -> str | None:
    """torch's version and threads, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def verdict_word(accepted: set[bool]) -> str:
    """'accepts' or 'rejects' (or 'varies' across runs)."""
    return {frozenset({True}): "accepts", frozenset({False}): "rejects"}.get(
        frozenset(accepted), "varies"
    )


def gradcheck_row(formula: Formula, fast_mode: bool, bn: BnverifyTimes, runs: int) -> list[str]:
    """gradcheck's timing and outcome on a formula, and its ratio to bnverify's times."""
    accepted: set[bool] = set()
    t = timed(lambda: accepted.add(gradcheck_accepts(formula, TIMED_SIZE, fast_mode)), runs)
    return [
        f"{formula.name}: gradcheck {'fast_mode' if fast_mode else 'default'}",
        *t.cells(),
        verdict_word(accepted),
        duration(bn.exact.median),
        f"{t.median / bn.exact.median:.3g}",
        duration(bn.cold.median),
        f"{t.median / bn.cold.median:.3g}",
    ]


def print_gradcheck_times(times: dict[str, BnverifyTimes], runs: int) -> None:
    """Section 3: gradcheck's time next to bnverify's, for the timed formulas."""
    n, c = TIMED_SIZE
    section(f"3. torch.autograd.gradcheck of a Batch Norm autograd.Function, ({n}, {c}) float64")
    rows = [
        gradcheck_row(formula, fast, times[formula.name], runs)
        for formula in TIMED
        for fast in (False, True)
    ]
    headers = ["measurement", "median", "min", "max", "outcome"]
    headers += ["bnv exact", "gc/exact", "bnv check", "gc/check"]
    print(table(headers, rows, "lrrrlrrrr"))
    print(
        "\nbnv exact, bnv check: bnverify's medians from section 2 (exact layer; cold "
        "check_candidate).\ngc/exact, gc/check: gradcheck's median divided by them "
        "(above 1: gradcheck is slower).\nfast_mode on a formula it rejects then builds "
        "the full Jacobians in slow mode for its error\nmessage (even with "
        "raise_exception=False), so a rejection costs about a default run."
    )


def print_misses(model: Model) -> None:
    """Section 4: formulas off by little, judged by gradcheck and by bnverify."""
    n, c = MISSES_SIZE
    section(f"4. what gradcheck misses: N = {n}, C = {c}, float64, default tolerances")
    rows = []
    for formula in MISSES:
        v = verdict_of(formula, model, Settings())
        rows.append(
            [
                formula.name,
                "accepts" if gradcheck_accepts(formula, MISSES_SIZE, False) else "rejects",
                "accepts" if gradcheck_accepts(formula, MISSES_SIZE, True) else "rejects",
                f"{v.kind}: {v.message.split('; ')[0]}",
            ]
        )
    headers = ["formula (as g_z)", "gradcheck", "fast_mode", "bnverify (default Settings)"]
    print(table(headers, rows, "llll"))
    print(
        "\ngradcheck defaults: eps = 1e-6, atol = 1e-5, rtol = 1e-3. The last two rows are "
        "controls.\nbnverify's message: the first layer of evidence that decided."
    )


# --- Main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run every section and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", "-k", type=int, default=7, help="runs per measurement (K)")
    runs = parser.parse_args(argv).runs
    print("bnverify check benchmark")
    print(machine_report(runs))
    torch_line = torch_report()
    print(f"torch:        {torch_line or 'torch not installed'}")
    print_processes(runs)
    model = load_model("batchnorm")
    assert isinstance(model, Model), model
    times = print_in_process(model, runs)
    if torch_line is None:
        for title in ("3. torch.autograd.gradcheck", "4. what gradcheck misses"):
            section(title)
            print("torch not installed")
        return
    print_gradcheck_times(times, runs)
    print_misses(model)


if __name__ == "__main__":
    main()
