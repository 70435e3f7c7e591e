"""Algebraic laws, property-based: rearrangements of the truth match, perturbations diverge.

Each example starts from a correct formula for g_z and applies random rewrites that keep
it the same function (commuting, distributing, scaling by k/k, adding and removing a
term, unfolding a node into its definition), then asks for a verdict. Perturbations by
a tiny relative amount must diverge: no tolerance may hide them.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bnverify.files.derivation import inline_candidate
from bnverify.judge.verdict import judge
from bnverify.language import build
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Apply, Expr, Num, Sym
from bnverify.model.notation import Resolved
from bnverify.settings import Settings

FAST = Settings(
    max_symbolic_batch=4,
    float_sizes=(16,),
    float_channels=4,
)

STARTS = (
    "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))",
    "gamma/sqrt(var + eps) * (g_y - mean(g_y) - zhat*mean(g_y*zhat))",
    "g_zhat/sqrt(var + eps) + g_var*2*(z - mu)/N + g_mu/N",
)

# Node -> its definition, for unfolding (the model's forward pass).
UNFOLD = {
    "mu": "mean(z)",
    "var": "mean((z - mu)^2)",
    "zhat": "(z - mu)/sqrt(var + eps)",
}

# Terms to add and take away again: any formula of the right shape will do.
TERMS = ("zhat*sum(g_y)", "gamma*(z - mu)", "mean(g_y)*N", "g_zhat*eps")


def rewrite(formula, node: Expr, choice: int, k: Fraction) -> Expr:
    """One equality-preserving rewrite of a node (or the node unchanged)."""
    match node:
        case Apply(op=("add" | "mul") as op, args=(a, b)) if choice == 0:
            return Apply(op, (b, a))
        case Apply(op="mul", args=(a, Apply(op="add", args=(b, c)))) if choice == 1:
            return build.add(build.mul(a, b), build.mul(a, c))
        case Sym(name=name) if choice == 2 and name in UNFOLD:
            return formula(UNFOLD[name])
        case Apply(op="sum", args=(a,)) if choice == 3:
            return build.mul(Sym("N"), Apply("mean", (a,)))
    if choice == 4:
        return Apply("div", (Apply("mul", (node, Num(k))), Num(k)))
    return node


def rearranged(formula, tree: Expr, choices: list[int], k: Fraction) -> Expr:
    """Apply rewrites top-down, one choice per visited node."""
    it = iter(choices)

    def visit(node: Expr) -> Expr:
        node = rewrite(formula, node, next(it, 5), k)
        if isinstance(node, Apply):
            return Apply(node.op, tuple(visit(arg) for arg in node.args))
        return node

    return visit(tree)


PROPERTY = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(
    start=st.sampled_from(STARTS),
    choices=st.lists(st.integers(0, 7), min_size=1, max_size=40),
    k=st.fractions(min_value=-9, max_value=9, max_denominator=9).filter(bool),
    term=st.sampled_from(TERMS),
)
def test_rearrangements_of_the_truth_match(formula, truth, start, choices, k, term):
    tree = rearranged(formula, formula(start), choices, k)
    extra = formula(term)
    tree = build.sub(build.add(tree, extra), extra)
    assert judge_kind(truth, tree) == "match"


@PROPERTY
@given(
    start=st.sampled_from(STARTS),
    choices=st.lists(st.integers(0, 7), max_size=20),
    digits=st.integers(3, 12),
    how=st.sampled_from(["scale", "shift", "eps"]),
)
def test_tiny_perturbations_diverge(formula, truth, start, choices, digits, how):
    tree = rearranged(formula, formula(start), choices, Fraction(3))
    delta = Num(Fraction(1, 10**digits))
    if how == "scale":
        tree = build.mul(build.add(build.ONE, delta), tree)
    elif how == "shift":
        tree = build.add(tree, build.mul(delta, Sym("g_y")))
    else:
        tree = build.add(tree, build.mul(delta, Sym("eps")))
    assert judge_kind(truth, tree) == "diverge"


def judge_kind(truth, tree: Expr) -> str:
    candidate = inline_candidate("(generated)", "ascii", "z")
    return judge(candidate, Resolved(tree, "z", BATCH), truth, FAST).kind
