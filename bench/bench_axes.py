"""What a verdict costs with several axes: LayerNorm and GroupNorm beside Batch Norm.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_axes.py              # K = 15 runs per measurement
    .venv/bin/python bench/bench_axes.py --runs 5     # quicker, noisier

The issue asks that "the cost of a check grows with the number of atoms in the formula,
not with the axis sizes". Two measurements show it:

1. the deciding step (bnverify.judge.proof.decide) on a right and a wrong candidate of
   each model, with the number of atoms (sums over an axis, square roots) the proof for
   every size used. A match is a proof for every size of every axis: no size appears in
   it. A divergence adds the counterexample search, which evaluates at small sizes.
2. for contrast, one rigorous evaluation of the same right candidate at a rational point
   of growing sizes (2, 4, 6 per axis), in 256-bit intervals since per-sample roots are
   irrational: the cost that checking sizes one by one would pay, growing with them.

Each row is the median (min, max) of K runs, and its ratio to Batch Norm's right
candidate measured in the same run. Nothing is asserted.
"""

from __future__ import annotations

import numpy as np
from measure import clear_caches, machine_report, runs_option, section, table, timed

from bnverify.engine import arithmetic, elements
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import exact_point
from bnverify.engine.truth import truth_of
from bnverify.judge import evidence, proof
from bnverify.judge.records import Case
from bnverify.language import parser
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve
from bnverify.problem import Problem
from bnverify.settings import Settings

# model -> (wrt, a right formula, a wrong one: a reduction over the wrong axes)
CANDIDATES = {
    "batchnorm": (
        "z",
        "gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))",
        "gamma/sqrt(var + eps)*g_y",
    ),
    "layernorm": (
        "x",
        "(gamma*g_y - mean(gamma*g_y, d) - xhat*mean(gamma*g_y*xhat, d))/sqrt(var + eps)",
        "(gamma*g_y - mean(gamma*g_y, b) - xhat*mean(gamma*g_y*xhat, b))/sqrt(var + eps)",
    ),
    "groupnorm": (
        "x",
        "(gamma*g_y - mean(gamma*g_y, c, s) - xhat*mean(gamma*g_y*xhat, c, s))/sqrt(var + eps)",
        "(gamma*g_y - mean(gamma*g_y, n, s) - xhat*mean(gamma*g_y*xhat, n, s))/sqrt(var + eps)",
    ),
}


def case(model: Model, wrt: str, text: str) -> Case:
    parsed = parser.parse(text, "ascii")
    out = parsed if isinstance(parsed, Problem) else resolve(parsed, Names(model, {}), wrt)
    if isinstance(out, Problem):
        raise SystemExit(f"{text}: {out.message}")
    return Case(truth_of(model), out.expr, out.wrt, Settings())


def uncached() -> None:
    """Every run decides from scratch: no domain or start found by an earlier run."""
    clear_caches([elements, evidence, proof])


def atoms(found: Case) -> int:
    point = proof.every_n(found.truth)
    point.evaluate(found.expr)
    _ = point[found.truth_name]
    return len(point.atoms.sums) + len(point.field.roots) + (point.square_base is not None)


def main() -> None:
    runs = runs_option(None, __doc__, 15)
    print(machine_report(runs))
    rows, baseline = [], None
    section("1. The deciding step (proof for every size, or a counterexample)")
    for name, (wrt, right, wrong) in CANDIDATES.items():
        model = load_model(name)
        assert isinstance(model, Model), model
        for label, text in (("right", right), ("wrong", wrong)):
            found = case(model, wrt, text)
            timing = timed(lambda found=found: proof.decide(found), runs, uncached)
            if baseline is None:
                baseline = timing.median
            outcome = proof.decide(found).outcome
            rows.append(
                [
                    name,
                    label,
                    outcome,
                    str(atoms(found)),
                    *timing.cells(),
                    f"{timing.median / baseline:.2f}x",
                ]
            )
    print(
        table(
            ["model", "candidate", "outcome", "atoms", "median", "min", "max", "ratio"],
            rows,
            "lllrrrrr",
        )
    )
    section("2. One interval evaluation of the right candidate at growing sizes (contrast)")
    rows = []
    for name, (wrt, right, _) in CANDIDATES.items():
        model = load_model(name)
        assert isinstance(model, Model), model
        found = case(model, wrt, right)
        for side in (2, 4, 6):
            exact = exact_point(model, found.truth.definitions, side, 1, np.random.default_rng(0))
            arith = arithmetic.interval(arithmetic.INTERVAL_BITS)
            leaves = {k: arithmetic.to_interval(v, arith) for k, v in exact.leaves.items()}
            point = exact.in_arithmetic(arith, leaves)

            def once(point=point, found=found) -> None:
                evaluate(found.expr, point.with_leaves())

            timing = timed(once, runs)
            elements = side ** len(model.order)
            rows.append([name, f"{side} per axis ({elements} elements)", *timing.cells()])
    print(table(["model", "sizes", "median", "min", "max"], rows, "llrrr"))


if __name__ == "__main__":
    main()
