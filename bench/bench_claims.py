"""What deciding a claim costs, beside checking a gradient formula.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_claims.py              # K = 7 runs per measurement
    .venv/bin/python bench/bench_claims.py --runs 3     # quicker, noisier

Each claim of the shipped derivations/forum-answer.toml and santurkar-2018.toml is
decided as `bnverify check` decides it in a worker (parse, resolve, the proof in the
every-size field, then for a failing claim the exact search, the correction, the
conditions and the figure's sweep), cold: the model's truth, the proofs of the truth
(first order for every size; a Hessian against SymPy at N <= 4) and every engine cache
cleared before each run, as a fresh worker pays them. The baseline, measured in the same
run, is the forum post's wrong g_z candidate, cold too (a divergence with its full
diagnosis). Each row is the median (min, max) of K runs and its ratio to the baseline.
Nothing is asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

from measure import clear_caches, machine_report, runs_option, section, table, timed

from bnverify import check
from bnverify.engine import elements, truth
from bnverify.files.derivation import load_derivation
from bnverify.judge import claims, evidence
from bnverify.model.notation import user_names
from bnverify.models import model_of
from bnverify.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FILES = ("forum-answer.toml", "santurkar-2018.toml")
BASELINE = ("forum-post.toml", "g_z")


def deciders(name: str, settings: Settings) -> dict[str, tuple[object, ...]]:
    """Each candidate (or claim) of a shipped file, with what check_candidate needs."""
    derivation = load_derivation(ROOT / "derivations" / name)
    model = model_of(derivation, settings, ())
    names, _ = user_names(model, derivation.notation)
    return {c.name: (c, names, model) for c in derivation.candidates}


def main(argv: list[str] | None = None) -> None:
    runs = runs_option(argv, __doc__.splitlines()[0], 7)
    settings = Settings()
    print(machine_report(runs))

    def cold() -> None:
        clear_caches([truth, elements, evidence, claims])

    def decide(args: tuple[object, ...]) -> object:
        return check.check_candidate(*args, settings)  # type: ignore[call-arg]

    base_args = deciders(BASELINE[0], settings)[BASELINE[1]]
    base = timed(lambda: decide(base_args), runs, cold)
    rows = [[f"{BASELINE[0]}: {BASELINE[1]} (baseline)", "diverge", *base.cells(), "1.00"]]
    for name in FILES:
        for claim, args in deciders(name, settings).items():
            kind = decide(args).kind  # type: ignore[attr-defined]
            timing = timed(lambda a=args: decide(a), runs, cold)
            ratio = f"{timing.median / base.median:.2f}"
            rows.append([f"{name}: {claim}", kind, *timing.cells(), ratio])
    section("deciding each shipped claim, cold, against a candidate's check")
    print(table(["claim", "verdict", "median", "min", "max", "× baseline"], rows, "llrrrr"))


if __name__ == "__main__":
    main(sys.argv[1:])
