"""Which polynomial library the every-N proof should use, measured on its own workload.

A benchmark run by hand (not a test). From the repository root, with the venv:

    .venv/bin/python bench/bench_algebra.py              # K = 20 runs per measurement
    .venv/bin/python bench/bench_algebra.py --runs 5     # quicker, noisier

The issue asks: "SymPy's polys, symengine, or python-flint's fmpq_mpoly: measure them on
this workload and keep the fastest that is correct". The workload is the forum post's
candidates (derivations/forum-post.toml) and the closed form of g_z, each against its
true gradient, in the general form of engine/general.py: rational functions of z, g_y,
gamma, beta, N, the sums sum#k and r = sqrt(var + eps). Their numerators and
denominators are built once with general.py (flint) and copied, untimed, into each
library; then the proof's arithmetic is timed in each:

1. the residual truth - candidate as one fraction: cross-multiply, expand, test zero,
   and cancel the gcd of its numerator and denominator, with (a) flint's fmpq_mpoly,
   (b) SymPy's sparse polynomials (ring(..., QQ) PolyElement), (c) SymPy expressions
   (expand, then cancel) and (d) symengine's expand (it has no multivariate gcd, so
   no cancellation: its row is the expansion and zero test only). Each result is
   compared with flint's (zero or not, terms of the numerator, the cancelled fraction
   up to a constant), so "correct" is checked, not assumed;
2. the whole deciding step, bnverify.judge.proof.decide, on the same candidates.

It prints the machine, the library versions and, per measurement, the median (min, max)
of K runs and the median's ratio to flint's in the same run. Nothing is asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import flint
import sympy as sp
from measure import clear_caches, machine_report, runs_option, section, table, timed
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from bnverify.engine.truth import Truth, truth_of
from bnverify.files.derivation import load_derivation
from bnverify.judge import evidence, proof
from bnverify.judge.records import Case
from bnverify.language import parser
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem
from bnverify.settings import Settings

try:
    import symengine
except ImportError:  # not a dependency: the row says so
    symengine = None

REPO = Path(__file__).resolve().parent.parent
POST = REPO / "derivations" / "forum-post.toml"
CLOSED = "gamma/(N*sqrt(var + eps))*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
SYMENGINE_MISSING = "not installable from this machine's registry"
Terms = dict[tuple[int, ...], Fraction]  # a polynomial: exponents -> coefficient


# A library's timed arithmetic (its native results), and how to read them back, untimed.
Library = tuple[Callable[[], tuple[Any, ...]], Callable[[tuple[Any, ...]], "Result"]]


@dataclass(frozen=True)
class Workload:
    """One candidate against its truth: a/b - p/q, four polynomials in `names`."""

    label: str
    case: Case
    names: tuple[str, ...]
    a: Terms  # truth numerator
    b: Terms  # truth denominator
    p: Terms  # candidate numerator
    q: Terms  # candidate denominator


@dataclass(frozen=True)
class Result:
    """What a library found: zero or not, terms of the numerator, the cancelled fraction."""

    zero: bool
    terms: int
    cancelled: tuple[Terms, Terms] | None  # None: the library cannot cancel


# --- The machine ------------------------------------------------------------------------


def libraries() -> str:
    """The versions of the libraries measured, for the machine report."""
    from sympy.external.gmpy import GROUND_TYPES

    engine = f"symengine {symengine.__version__}" if symengine else f"symengine {SYMENGINE_MISSING}"
    return (
        f"python-flint {flint.__version__}, sympy {sp.__version__} "
        f"(ground types {GROUND_TYPES}), {engine}"
    )


# --- The workload, built once with general.py (flint) ------------------------------------


def terms_of(poly: Any) -> Terms:
    """A flint polynomial as exponents -> Fraction."""
    return {
        tuple(int(e) for e in m): Fraction(int(c.p), int(c.q)) for m, c in poly.to_dict().items()
    }


def workload(label: str, case: Case) -> Workload:
    """The candidate and its truth for every N, as polynomials of one context."""
    point = proof.every_n(case.truth)
    truth, candidate = point[case.truth_name], point.evaluate(case.expr)
    field = point.field
    a, b, p, q = (field.lift(x) for x in (truth.num, truth.den, candidate.num, candidate.den))
    return Workload(label, case, field.ctx.names(), *map(terms_of, (a, b, p, q)))


def resolved_case(truth: Truth, names: Names, text: str, syntax: str, wrt: str | None) -> Case:
    """A candidate as the judge sees it (a broken candidate is a bug here)."""
    parsed = parser.parse(text, syntax)
    out = parsed if isinstance(parsed, Problem) else resolve(parsed, names, wrt)
    if isinstance(out, Problem):
        raise SystemExit(f"{text}: {out.message}")
    return Case(truth, out.expr, out.wrt, Settings())


def workloads(model: Model) -> list[Workload]:
    """The forum post's candidates, then the closed form of g_z (whose residual is zero)."""
    derivation = load_derivation(POST)
    names, _ = user_names(model, derivation.notation)
    truth = truth_of(model)
    out = [
        workload(f"post {c.name}", resolved_case(truth, names, c.text, c.syntax, c.wrt))
        for c in derivation.candidates
    ]
    closed = resolved_case(truth, names, CLOSED, "ascii", "z")
    return [*out, workload("closed-form g_z", closed)]


# --- The residual in each library --------------------------------------------------------


def normalized(num: Terms, den: Terms) -> tuple[Terms, Terms]:
    """num/den scaled so den's largest monomial has coefficient 1 (compares fractions)."""
    lead = den[max(den)]
    return {m: c / lead for m, c in num.items() if c}, {m: c / lead for m, c in den.items()}


def with_flint(w: Workload) -> Library:
    ctx = flint.fmpq_mpoly_ctx.get(w.names, "lex")

    def poly(terms: Terms) -> Any:
        return ctx.from_dict({m: flint.fmpq(c.numerator, c.denominator) for m, c in terms.items()})

    a, b, p, q = map(poly, (w.a, w.b, w.p, w.q))

    def run() -> tuple[Any, ...]:
        num, den = a * q - p * b, b * q
        common = num.gcd(den)
        return num, num.is_zero(), num / common, den / common

    def read(found: tuple[Any, ...]) -> Result:
        num, zero, top, bottom = found
        return Result(zero, len(num), (terms_of(top), terms_of(bottom)))

    return run, read


def with_sympy_ring(w: Workload) -> Library:
    r, *_ = ring(",".join(_safe(n) for n in w.names), QQ)

    def poly(terms: Terms) -> Any:
        return r.from_dict({m: QQ(c.numerator, c.denominator) for m, c in terms.items()})

    a, b, p, q = map(poly, (w.a, w.b, w.p, w.q))

    def back(x: Any) -> Terms:
        return {m: Fraction(int(c.numerator), int(c.denominator)) for m, c in x.items()}

    def run() -> tuple[Any, ...]:
        num, den = a * q - p * b, b * q
        _, top, bottom = num.cofactors(den)
        return num, not num, top, bottom

    def read(found: tuple[Any, ...]) -> Result:
        num, zero, top, bottom = found
        return Result(zero, len(num), (back(top), back(bottom)))

    return run, read


def with_sympy_expr(w: Workload) -> Library:
    symbols = sp.symbols([_safe(n) for n in w.names])

    def expr(terms: Terms) -> sp.Expr:
        return sp.Add(
            *(
                sp.Rational(c.numerator, c.denominator)
                * sp.Mul(*(s**e for s, e in zip(symbols, m, strict=True)))
                for m, c in terms.items()
            )
        )

    a, b, p, q = map(expr, (w.a, w.b, w.p, w.q))

    def back(x: sp.Expr) -> Terms:
        return {m: Fraction(int(c.p), int(c.q)) for m, c in sp.Poly(x, *symbols).as_dict().items()}

    def run() -> tuple[Any, ...]:
        num = sp.expand(a * q - p * b)
        return num, num == 0, *sp.fraction(sp.cancel(num / (b * q)))

    def read(found: tuple[Any, ...]) -> Result:
        num, zero, top, bottom = found
        terms = 0 if zero else len(sp.Add.make_args(num))
        return Result(zero, terms, (back(top), back(bottom)))

    return run, read


def with_symengine(w: Workload) -> Library:
    symbols = [symengine.Symbol(_safe(n)) for n in w.names]

    def expr(terms: Terms) -> Any:
        out = symengine.Integer(0)
        for m, c in terms.items():
            term = symengine.Rational(c.numerator, c.denominator)
            for s, e in zip(symbols, m, strict=True):
                term = term * s**e
            out = out + term
        return out

    a, b, p, q = map(expr, (w.a, w.b, w.p, w.q))

    def run() -> tuple[Any, ...]:
        num = symengine.expand(a * q - p * b)
        return num, num == 0

    def read(found: tuple[Any, ...]) -> Result:
        num, zero = found
        terms = 0 if zero else len(num.args) if isinstance(num, symengine.Add) else 1
        return Result(zero, terms, None)

    return run, read


def _safe(name: str) -> str:
    # sum#0 and root# are not symbol names SymPy's ring() or symengine parse.
    return name.replace("#", "_")


LIBRARIES: tuple[tuple[str, Callable[[Workload], Library] | None], ...] = (
    ("flint fmpq_mpoly", with_flint),
    ("sympy ring(QQ)", with_sympy_ring),
    ("sympy expand/cancel", with_sympy_expr),
    ("symengine expand", with_symengine if symengine else None),
)


def residual_terms(w: Workload) -> int:
    """Terms of the residual's numerator, by flint."""
    run, read = with_flint(w)
    return read(run()).terms


def verdict_of(found: Result, reference: Result) -> str:
    """'correct' if a library's result is flint's, else what differs."""
    if (found.zero, found.terms) != (reference.zero, reference.terms):
        return f"WRONG (zero={found.zero}, {found.terms} terms)"
    if found.cancelled is None:
        return "correct (no gcd)"
    assert reference.cancelled is not None
    if normalized(*found.cancelled) != normalized(*reference.cancelled):
        return "WRONG (cancelled fraction differs)"
    return "correct"


def print_residuals(loads: list[Workload], runs: int) -> None:
    """Section 1: the residual as one fraction in each library, per candidate."""
    section("1. residual truth - candidate as one fraction: cross-multiply, expand, zero?, gcd")
    rows = []
    for w in loads:
        run, read = with_flint(w)
        reference = read(run())
        baseline = None
        for label, make in LIBRARIES:
            if make is None:
                rows.append([w.label, label, "", "", "", "", SYMENGINE_MISSING])
                continue
            run, read = make(w)
            timing = timed(run, runs)
            baseline = baseline or timing.median
            ratio = f"{timing.median / baseline:.1f}x"
            rows.append(
                [w.label, label, *timing.cells(), ratio, verdict_of(read(run()), reference)]
            )
        rows.append([""] * 7)
    headers = ["candidate", "library", "median", "min", "max", "/ flint", "result"]
    print(table(headers, rows[:-1], "llrrrrl"))
    print(
        "\nsizes (terms of truth num/den, candidate num/den, residual num): "
        + "; ".join(
            f"{w.label} {len(w.a)}/{len(w.b)}, {len(w.p)}/{len(w.q)}, {residual_terms(w)}"
            for w in loads
        )
    )
    print(
        "result: compared with flint's (zero or not, numerator terms, cancelled fraction up "
        "to a constant).\nInputs are copied from general.py's flint polynomials before "
        "timing; only the arithmetic is\ntimed (results are read back for the comparison "
        "after it). These polynomials are small:\nper-call overhead, not asymptotics, "
        "decides these ratios."
    )


# --- 2. The whole deciding step ----------------------------------------------------------


def print_decide(loads: list[Workload], runs: int) -> None:
    """Section 2: proof.decide, and general.py's part of it, on the same candidates."""
    section("2. bnverify.judge.proof.decide on the same candidates (flint throughout)")
    cold = (proof, evidence)
    rows = []
    for w in loads:
        outcomes: set[str] = set()
        decide = timed(
            lambda w=w, seen=outcomes: seen.add(proof.decide(w.case).outcome),
            runs,
            before=lambda: clear_caches(cold),
        )
        build = timed(lambda w=w: workload(w.label, w.case), runs)
        rows.append([w.label, "general form (build both)", *build.cells(), ""])
        rows.append([w.label, "decide", *decide.cells(), "/".join(sorted(outcomes))])
    print(table(["candidate", "measurement", "median", "min", "max", "outcome"], rows, "llrrrl"))
    print(
        "\ndecide: the caches of judge.proof and judge.evidence are cleared before each run "
        "(truth start,\nshared exact points); the truth's backprop stays cached, as in one "
        "`bnverify check` process.\ngeneral form: a fresh every_n(truth), then the truth's "
        "and the candidate's values in it."
    )


# --- Main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Print the machine, then both sections."""
    runs = runs_option(argv, __doc__.splitlines()[0], default=20)
    print("bnverify algebra-library benchmark")
    print(machine_report(runs, libraries()))
    model = load_model("batchnorm")
    assert isinstance(model, Model), model
    loads = workloads(model)
    print_residuals(loads, runs)
    print_decide(loads, runs)


if __name__ == "__main__":
    main()
