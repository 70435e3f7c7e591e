"""How long `bnverify check` takes, next to `import sympy` and torch's gradcheck.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_check.py              # K = 7 runs per measurement
    .venv/bin/python bench/bench_check.py --runs 3     # quicker, noisier
    .venv/bin/python bench/bench_check.py 2>&1 | tee bench/results/forum-post-check.txt

It prints the machine, then, as the median (min, max) of K runs after one untimed
warm-up:

1. whole-process runs of `python -c "import sympy"` (the baseline) and of `bnverify check`
   on the derivation files, each with its ratio to the baseline (the project's target:
   `bnverify check derivations/forum-post.toml` in at most 2.5x `import sympy`), then the
   CI formats (json, junit, github) on derivations/ and the printable reports of the
   forum post (md, tex, html, html with --pdf through Chromium), written to a temporary
   directory. Commands run round-robin after one untimed warm-up round, so drift and a
   cold disk cache weigh on all of them alike;
2. one candidate in-process, the forum post's g_z and the correct closed form, with the
   default Settings(): the proof alone (bnverify.judge.proof.decide) and the whole
   check_candidate, both with cold caches. A verdict is a proof for every N, so there is
   no batch size in these runs, and their cost does not grow with N;
3. where PyTorch is installed, torch.autograd.gradcheck of the same formulas used as the
   backward of a Batch Norm autograd.Function on float64 inputs of (64, 16) and
   (256, 16), with its ratio to section 2's times: gradcheck checks one batch, and its
   cost grows with N;
4. what gradcheck misses at N = 64, C = 8: a closed form off by a factor 1 + 1e-4, and
   one with eps dropped from one term, with bnverify's verdicts on the same formulas.

Nothing is asserted: the script reports what it measures. torch is not a dependency of
bnverify; install it into the venv to get sections 3 and 4 (`pip install torch==2.13.0`).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from measure import Timing, clear_caches, machine_report, runs_option, section, table, timed

from bnverify.check import check_candidate
from bnverify.engine import elements, truth
from bnverify.files.derivation import inline_candidate
from bnverify.judge import evidence, proof
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
TARGET_LABEL, TARGET_RATIO = "bnverify check derivations/forum-post.toml", 2.5

# (N, C) of section 3: C fixed, N growing, up to the (256, 16) the issue measured.
GRADCHECK_SIZES = ((64, 16), (256, 16))
MISSES_SIZE = (64, 8)  # (N, C) of section 4
EPS = 1e-5  # the model's eps, as in torch.nn.BatchNorm1d
SCALE = 1e-4  # the relative error of the scaled closed form
# Cold means every functools cache of bnverify is cleared before each run (today: the
# truth's derivation and its proof for every N, the element-level points, the exact and
# float64 points), but the grammar's: like the model file, a process builds it once, and
# section 1 counts it.
WARM_MODULES = frozenset({"bnverify.language.parser"})
# proof.decide's own caches: the truth's start, the element-level points, the exact points.
DECIDE_MODULES: tuple[ModuleType, ...] = (proof, evidence, elements)


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


def cold_modules() -> list[ModuleType]:
    """The loaded bnverify modules whose caches a cold run starts without."""
    return [
        module
        for name, module in list(sys.modules.items())
        if name.startswith("bnverify.") and name not in WARM_MODULES
    ]


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
    """bnverify's times for one formula: the proof alone, and the whole check cold."""

    decide: Timing
    cold: Timing
    outcome: str  # proof.decide's
    kind: str  # the verdict's


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


def joined(seen: set[str]) -> str:
    """What the runs found, one word, or the words of every run when they differ."""
    return "/".join(sorted(seen))


def bnverify_times(formula: Formula, model: Model, runs: int) -> BnverifyTimes:
    """proof.decide alone, and check_candidate, with default Settings and cold caches."""
    settings = Settings()
    case = Case(truth.truth_of(model), resolved(formula, Names(model, {})).expr, "z", settings)
    outcomes: set[str] = set()
    decide = timed(
        lambda: outcomes.add(proof.decide(case).outcome),
        runs,
        before=lambda: clear_caches(DECIDE_MODULES),
    )
    kinds: set[str] = set()
    cold = timed(
        lambda: kinds.add(verdict_of(formula, model, settings).kind),
        runs,
        before=lambda: clear_caches(cold_modules()),
    )
    return BnverifyTimes(decide, cold, joined(outcomes), joined(kinds))


def print_in_process(model: Model, runs: int) -> dict[str, BnverifyTimes]:
    """Section 2: one candidate in-process, for every N; returns the times for section 3."""
    section("2. one candidate in-process, proved for every N: Settings()")
    times = {f.name: bnverify_times(f, model, runs) for f in TIMED}
    rows = []
    for formula in TIMED:
        t = times[formula.name]
        rows.append([f"{formula.name}: proof.decide", *t.decide.cells(), t.outcome])
        rows.append([f"{formula.name}: check_candidate (cold)", *t.cold.cells(), t.kind])
    print(table(["measurement", "median", "min", "max", "outcome"], rows, "lrrrl"))
    print(
        "\nThere is no N in these runs: the formula and the truth are values of one field over"
        "\nthe batch sums, valid for every N, so the proof costs the same for a batch of 2 or"
        "\nof 4096 (a counterexample to a diverging one is searched at small N, smallest first)."
        "\nproof.decide: the caches of judge.proof, judge.evidence and engine.elements are"
        "\ncleared before each run; the truth's backprop is built once, as in one process."
        "\ncheck_candidate (cold): every bnverify cache cleared but the grammar's, so each run"
        "\nalso derives the truth, proves it for every N, sweeps float64 at N = "
        + ", ".join(map(str, Settings().float_sizes))
        + "\n(informational) and diagnoses a divergence (the grammar and model file stay loaded)."
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


def gradcheck_row(
    formula: Formula, size: tuple[int, int], fast_mode: bool, bn: BnverifyTimes, runs: int
) -> list[str]:
    """gradcheck's timing and outcome on a formula at a size, and its ratio to bnverify's."""
    accepted: set[bool] = set()
    t = timed(lambda: accepted.add(gradcheck_accepts(formula, size, fast_mode)), runs)
    return [
        f"{formula.name}: gradcheck {'fast_mode' if fast_mode else 'default'}",
        f"({size[0]}, {size[1]})",
        *t.cells(),
        verdict_word(accepted),
        f"{t.median / bn.decide.median:.3g}",
        f"{t.median / bn.cold.median:.3g}",
    ]


def print_gradcheck_times(times: dict[str, BnverifyTimes], runs: int) -> None:
    """Section 3: gradcheck's time at growing N next to bnverify's, for the timed formulas."""
    section("3. torch.autograd.gradcheck of a Batch Norm autograd.Function, float64")
    rows = [
        gradcheck_row(formula, size, fast, times[formula.name], runs)
        for size in GRADCHECK_SIZES
        for formula in TIMED
        for fast in (False, True)
    ]
    headers = ["measurement", "(N, C)", "median", "min", "max", "outcome"]
    headers += ["/ decide", "/ check"]
    print(table(headers, rows, "lrrrrlrr"))
    print(
        "\n/ decide, / check: gradcheck's median divided by bnverify's medians from section 2"
        "\n(proof.decide; cold check_candidate), which hold for every N (above 1: gradcheck is"
        "\nslower). gradcheck checks one batch, and its cost grows with N: the default mode"
        "\nbuilds the numerical and analytical Jacobians, (N C) x (N C). fast_mode on a formula"
        "\nit rejects then builds the full Jacobians in slow mode for its error message (even"
        "\nwith raise_exception=False), so a rejection costs about a default run."
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
        "controls.\nbnverify's message: its first clause, how the verdict was decided."
    )


# --- Main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run every section and print the tables."""
    runs = runs_option(argv, __doc__.splitlines()[0], default=7)
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
