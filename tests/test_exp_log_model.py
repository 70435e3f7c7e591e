"""A model with exp and log (tests/data/softmax-log.toml): the engine's gradients are right.

A softmax over the batch with a temperature, then log(p^2 + 1). The engine's gradients
agree with central differences in float64 and with SymPy's derivative of L, whose value
rigorous intervals enclose. Exact arithmetic is exact only where every exp is exp(0);
elsewhere it gives way to intervals, which prove a wrong gradient different.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import gmpy2
import mpmath
import numpy as np
import pytest
import sympy as sp

from bnverify.engine.arithmetic import EXACT, FLOAT, INTERVAL, Inexact
from bnverify.engine.evaluate import Point, evaluate
from bnverify.engine.general import general_point, loss, total_derivative
from bnverify.engine.signs import settled
from bnverify.engine.truth import truth_of
from bnverify.judge import evidence
from bnverify.judge.records import DIFFERENT, Case
from bnverify.language.parser import parse
from bnverify.language.tree import Apply, Num, Sym
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve
from bnverify.problem import Problem
from bnverify.settings import Settings

DATA = Path(__file__).parent / "data"
N = 3
Z = [Fraction(1, 2), Fraction(-1), Fraction(2)]
A = Fraction(3, 4)
G = [Fraction(1), Fraction(-2), Fraction(1, 3)]


@pytest.fixture(scope="module")
def softmax() -> Model:
    model = load_model("softmax-log.toml", DATA)
    assert isinstance(model, Model), model
    return model


@pytest.fixture(scope="module")
def truth(softmax):
    return truth_of(softmax)


def _point(truth, arith, z, a, g) -> Point:
    def column(values):
        return np.array([[arith.scalar(Fraction(v))] for v in values], dtype=arith.dtype)

    leaves = {"z": column(z), "a": column([a]), "g_y": column(g)}
    return Point(arith, len(z), 1, leaves, truth.definitions)


def _loss(truth, z, a, g) -> float:
    point = _point(truth, FLOAT, z, a, g)
    return float(np.sum(np.asarray(g, dtype=float)[:, None] * point["y"]))


def test_float64_gradients_agree_with_central_differences(truth):
    rng = np.random.default_rng(0)
    z, a, g = list(rng.normal(size=5)), float(rng.uniform(0.5, 2)), list(rng.normal(size=5))
    point = _point(truth, FLOAT, z, a, g)
    h = 1e-6
    for k in range(len(z)):
        up, down = list(z), list(z)
        up[k] += h
        down[k] -= h
        numeric = (_loss(truth, up, a, g) - _loss(truth, down, a, g)) / (2 * h)
        assert point["g_z"][k, 0] == pytest.approx(numeric, rel=1e-6, abs=1e-9)
    numeric = (_loss(truth, z, a + h, g) - _loss(truth, z, a - h, g)) / (2 * h)
    assert point["g_a"][0, 0] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def _sympy_gradients() -> dict[str, list[sp.Expr]]:
    """SymPy's derivative of L = sum(g_y*y) at (Z, A, G), for each z_k and for a."""
    z = sp.symbols(f"z0:{N}", real=True)
    a = sp.Symbol("a", real=True)
    e = [sp.exp(a * zk) for zk in z]
    p = [ek / sp.Add(*e) for ek in e]
    loss = sp.Add(*(gk * sp.log(pk**2 + 1) for gk, pk in zip(map(sp.Rational, G), p, strict=True)))
    at = {zk: sp.Rational(v) for zk, v in zip(z, Z, strict=True)} | {a: sp.Rational(A)}
    return {
        "g_z": [sp.diff(loss, zk).subs(at) for zk in z],
        "g_a": [sp.diff(loss, a).subs(at)],
    }


def test_gradients_are_sympys_derivative_of_the_loss_enclosed_in_intervals(truth):
    point = _point(truth, INTERVAL, Z, A, G)
    floats = _point(truth, FLOAT, Z, A, G)
    with INTERVAL.context(), mpmath.workprec(1024):
        for name, expected in _sympy_gradients().items():
            enclosures = np.asarray(point[name]).reshape(-1)
            for enclosure, value, near in zip(
                enclosures, expected, np.asarray(floats[name]).reshape(-1), strict=True
            ):
                precise = mpmath.mpf(str(sp.N(value, 200)))
                assert enclosure.a <= precise <= enclosure.b, (name, value, enclosure)
                assert near == pytest.approx(float(value), rel=1e-12)


def test_exact_arithmetic_is_exact_where_every_exp_is_one(truth):
    # a = 0: every e_i = exp(0) = 1, p = 1/N, and the gradients are rational.
    point = _point(truth, EXACT, Z, 0, G)
    value = evaluate(truth.formula("a"), point)
    expected = _sympy_at_zero_temperature()
    assert Fraction(int(value[0, 0].numerator), int(value[0, 0].denominator)) == expected
    with pytest.raises(Inexact):
        evaluate(truth.formula("a"), _point(truth, EXACT, Z, A, G))


def _sympy_at_zero_temperature() -> Fraction:
    z = sp.symbols(f"z0:{N}", real=True)
    a = sp.Symbol("a", real=True)
    e = [sp.exp(a * zk) for zk in z]
    loss = sp.Add(
        *(sp.Rational(gk) * sp.log((ek / sp.Add(*e)) ** 2 + 1) for gk, ek in zip(G, e, strict=True))
    )
    at = {zk: sp.Rational(v) for zk, v in zip(z, Z, strict=True)} | {a: 0}
    value = sp.nsimplify(sp.diff(loss, a).subs(at))
    assert value.is_rational
    return Fraction(int(value.p), int(value.q))


def _case(truth, softmax, text: str, wrt: str = "z") -> Case:
    resolved = resolve(parse(text, "ascii"), Names(softmax, {}), wrt)
    assert not isinstance(resolved, Problem), resolved
    return Case(truth, resolved.expr, wrt, Settings(max_symbolic_batch=3))


def _exact_point(truth):
    leaves = {
        name: np.array([[gmpy2.mpq(v)] for v in values], dtype=object)
        for name, values in (("z", Z), ("a", [A]), ("g_y", G))
    }
    return Point(EXACT, N, 1, leaves, truth.definitions)


def test_intervals_prove_a_wrong_gradient_different_and_never_the_right_one(truth, softmax):
    point = _exact_point(truth)
    right = _case(truth, softmax, "a*p*(g_p - sum(g_p*p))")
    wrong = _case(truth, softmax, "a*p*(g_p - 2*sum(g_p*p))")
    assert evidence.compare_at(point, right.expr, "g_z") == evidence.CONSISTENT
    assert evidence.compare_at(point, wrong.expr, "g_z") == DIFFERENT


def test_a_counterexample_shows_an_irrational_truth_by_its_interval(truth, softmax):
    found = evidence.counterexample_from(
        _exact_point(truth), _case(truth, softmax, "a*p*(g_p - 2*sum(g_p*p))")
    )
    assert found is not None and found.n == N
    assert all(text.startswith("≈") for text in (*found.truth, *found.candidate))
    # The column is the truth's value, to the digits shown.
    with INTERVAL.context():
        enclosed = evaluate(truth.formula("z"), _point(truth, INTERVAL, Z, A, G))
    for text, value in zip(found.truth, np.asarray(enclosed).reshape(-1), strict=True):
        assert float(text.removeprefix("≈ ")) == pytest.approx(float(value.mid), rel=1e-5)


@pytest.mark.parametrize("name", ["z", "a", "e", "p"])
def test_the_chain_rule_through_exp_and_log_is_the_engines_gradient_for_every_n(truth, name):
    # exp(a*z) and log(p*p + 1) are atoms of the field; d exp(u) = exp(u) du, d log(u) = du/u.
    free = None if name in ("z", "a") else name
    point = general_point(truth.model, truth.gradients, free)
    assert total_derivative(point, loss(point), name) == point[f"g_{name}"]


def test_a_softmax_candidate_is_proved_or_refuted_for_every_n(softmax):
    from bnverify.check import check_formula

    right = check_formula("g_e*a*e", "z", model=softmax)
    assert right.kind == "match" and right.message == "proved equal for every N ≥ 1"
    assert check_formula("g_e*e", "z", model=softmax).kind == "diverge"


def test_the_models_e_is_its_node_not_eulers_number(softmax):
    names = Names(softmax, {})
    squared = resolve(parse("e^{2}", "latex"), names, "z")
    assert squared.expr == Apply("pow", (Sym("e"), Num(2)))
    problem = resolve(parse(r"e^{z_i}", "latex"), names, "z")
    assert isinstance(problem, Problem) and "e is a name here" in problem.message
    written = resolve(parse(r"\exp(z_i)", "latex"), names, "z")
    assert written.expr == Apply("exp", (Sym("z"),))


def test_intervals_of_the_truth_are_tight(truth):
    with INTERVAL.context():
        values = evaluate(truth.formula("z"), _point(truth, INTERVAL, Z, A, G))
    for value in np.asarray(values).reshape(-1):
        assert value.delta < mpmath.mpf(2) ** -200  # 256 bits, a few lost to exp and log


def test_a_sum_of_exponentials_is_a_positive_divisor_by_construction(softmax):
    # softmax divides by sum(exp(a*z)): never zero, whatever the inputs; a log may be < 0.
    names = Names(softmax, {})
    for text, positive in (("sum(exp(a*z))", True), ("e", True), ("log(p*p + 1)", False)):
        expr = resolve(parse(text, "ascii"), names, "z").expr
        assert settled("divisor", expr, softmax) is positive, text
