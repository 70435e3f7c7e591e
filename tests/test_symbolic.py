"""The engine's gradients against direct differentiation by SymPy (graph vs direct)."""

from __future__ import annotations

import dataclasses
import random

import sympy as sp

from bnverify.engine.backprop import Gradients, Term
from bnverify.engine.printing import ascii
from bnverify.engine.symbolic import compare, prove_gradient
from bnverify.language import build

NAMES = ("z", "gamma", "beta", "zhat", "var", "mu", "y")


def test_every_engine_gradient_equals_direct_differentiation(model, truth):
    for n in range(1, 7):
        for name in NAMES:
            if name == model.output:
                continue
            proof = prove_gradient(model, truth.gradients, n, name)
            assert proof.outcome == "equal", (name, n)


def _broken(gradients: Gradients, name: str) -> Gradients:
    # Double the first chain-rule term of g_<name>: a plausible engine bug.
    terms = []
    for leaf, flows in gradients.terms:
        if leaf == name:
            first = flows[0]
            flows = (Term(first.consumer, build.mul(build.TWO, first.expr)), *flows[1:])
        terms.append((leaf, flows))
    return dataclasses.replace(gradients, terms=tuple(terms))


def test_a_wrong_engine_gradient_is_caught(model, truth):
    for name in ("z", "var", "mu", "gamma"):
        broken = _broken(truth.gradients, name)
        outcomes = {prove_gradient(model, broken, n, name).outcome for n in (2, 3)}
        assert outcomes == {"different"}, name


def test_the_square_root_elimination_against_plain_sympy(truth):
    # Independent of the r = sqrt(var + eps) change of variables: differentiate L with
    # sympy.diff on ordinary expressions (eps kept, square roots kept) and compare with
    # the engine's closed form at a random rational point where the roots are irrational.
    n = 3
    z, g = sp.symbols(f"z0:{n}"), sp.symbols(f"g0:{n}")
    gamma, beta, eps = sp.symbols("gamma beta eps")

    def batchnorm(zs):
        mu = sum(zs) / n
        std = sp.sqrt(sum((zi - mu) ** 2 for zi in zs) / n + eps)
        return [(zi - mu) / std for zi in zs], std

    zhat, std = batchnorm(z)
    loss = sum(gi * (gamma * zh + beta) for gi, zh in zip(g, zhat, strict=True))
    rng = random.Random(7)
    point = {s: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)) for s in (*z, *g, gamma)}
    point |= {beta: sp.Rational(1, 3), eps: sp.Rational(1, 7)}
    sum_g = sum(g)
    sum_gz = sum(gi * zh for gi, zh in zip(g, zhat, strict=True))
    for k in range(n):
        direct = sp.diff(loss, z[k]).subs(point)
        closed = gamma / (n * std) * (n * g[k] - sum_g - zhat[k] * sum_gz)
        assert sp.radsimp(direct - closed.subs(point)) == 0, k
    # ... and that closed form is the one the engine derives.
    assert ascii(truth.algebra.gradient("z")) == (
        "gamma*(-sum(g_y) + g_y*N - zhat*sum(g_y*zhat))/(N*sqrt(var + eps))"
    )


def test_candidate_comparison(model, truth, formula):
    grads = truth.gradients
    right = formula("gamma/sqrt(var + eps) * (g_y - mean(g_y) - zhat*mean(g_y*zhat))")
    wrong = formula("gamma/sqrt(var + eps) * g_y")
    no_eps = formula("gamma/sqrt(var) * (g_y - mean(g_y) - zhat*mean(g_y*zhat))")
    assert all(compare(model, grads, n, right, "z").outcome == "equal" for n in range(1, 6))
    assert compare(model, grads, 2, wrong, "z").outcome == "different"
    # sqrt(var) is not a rational function of the symbols: the layer says so.
    assert compare(model, grads, 3, no_eps, "z").outcome == "unavailable"
