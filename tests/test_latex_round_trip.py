"""Every LaTeX bnverify prints parses back to the same formula.

A tree printed as written (the LaTeX of a candidate in a report) parses back to the
same tree, for any tree the parser can give (a hypothesis property); and the
element-wise LaTeX of `derive --latex` checks as a match for every node of every
built-in model, so a student can paste what bnverify prints back into it.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bnverify.check import check_formula
from bnverify.cli import main
from bnverify.language import parser, tree_printing
from bnverify.language.operators import Op
from bnverify.language.tree import Apply, Expr, IndexedSum, Num, Sym, constant_value
from bnverify.model.graph import Model, builtin_models, load_model

# Names as the LaTeX parser gives them: letters, Greek letters, hats, gradients, scripts
# and the paper's statistics.
NAMES = ("x", "z", "m", "N", "gamma", "epsilon", "zhat", "g_y", "g_zhat", "mu_B", "x_in", "Var[x]")
INDICES = (None, "i", "j")

leaves = st.one_of(
    st.builds(Num, st.fractions(min_value=0, max_value=99, max_denominator=9)),
    st.builds(Sym, st.sampled_from(NAMES), st.sampled_from(INDICES)),
)


def _apply(op: Op, *args: Expr) -> Expr:
    return Apply(op, args)


def _branches(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    binary = (Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.DOT)
    unary = (Op.NEG, Op.SQRT, Op.EXP, Op.LOG, Op.SUM, Op.MEAN)
    return st.one_of(
        st.builds(_apply, st.sampled_from(binary), inner, inner),
        st.builds(_apply, st.sampled_from(unary), inner),
        st.builds(lambda base, power: Apply(Op.POW, (base, Num(power))), inner, st.integers(2, 5)),
        st.builds(lambda body: IndexedSum("j", body), inner),
        st.just(Apply(Op.ONES, ())),
    )


trees = st.recursive(leaves, _branches, max_leaves=12)


def folded(expr: Expr) -> Expr:
    """The tree in the form its LaTeX reads back as, the same formula: number-only parts
    as numbers (\\frac{1}{2} is 1/2), a sum without an index as a sum (LaTeX writes both
    as \\sum), products as one chain (a (b c) prints as a b c) with the sign of a product
    on its first factor (-(a b) prints as -a b)."""
    value = constant_value(expr) if isinstance(expr, Apply) else None
    if value is not None:
        return Num(value)
    match expr:
        case IndexedSum(index=None, body=body, lower=None, upper=None):
            return Apply(Op.SUM, (folded(body),))
        case IndexedSum(index=index, body=body, lower=lower, upper=upper):
            return IndexedSum(index, folded(body), lower, upper)
        case Apply(op=Op.MUL):
            return _chain([folded(f) for f in _factors(expr)])
        case Apply(op=Op.NEG, args=(inner,)):
            inner = folded(inner)
            if isinstance(inner, Apply) and inner.op == Op.MUL:
                first, *rest = _factors(inner)
                return _chain([folded(Apply(Op.NEG, (first,))), *rest])
            return Apply(Op.NEG, (inner,))
        case Apply(op=op, args=args):
            return Apply(op, tuple(folded(a) for a in args))
    return expr


def _factors(expr: Expr) -> list[Expr]:
    if isinstance(expr, Apply) and expr.op == Op.MUL:
        return [f for arg in expr.args for f in _factors(arg)]
    return [expr]


def _chain(factors: list[Expr]) -> Expr:
    first, *rest = [f for factor in factors for f in _factors(factor)]
    for factor in rest:
        first = Apply(Op.MUL, (first, factor))
    return first


@settings(max_examples=300, deadline=None)
@given(trees)
def test_a_tree_printed_as_latex_parses_back_to_itself(tree):
    printed = tree_printing.latex(tree, {})
    assert folded(parser.parse(printed, "latex")) == folded(tree), printed


def _nodes(name: str) -> list[str]:
    model = load_model(name)
    assert isinstance(model, Model), model
    return [n for n in model.primal_names() if n != "N" and n not in dict(model.constants)]


@pytest.mark.parametrize(("model", "wrt"), [(m, n) for m in builtin_models() for n in _nodes(m)])
def test_derive_latex_checks_as_a_match(model, wrt):
    runner = CliRunner()
    derived = runner.invoke(main, ["derive", "--model", model, "--wrt", wrt, "--latex"])
    assert derived.exit_code == 0, derived.output
    # Standard output holds the formula alone; what is proved of it goes to standard error.
    formula = derived.stdout.strip()
    assert "proved" in derived.stderr or "given" in derived.stderr
    checked = runner.invoke(main, ["check", "--model", model, "--wrt", wrt, "--latex", formula])
    assert checked.exit_code == 0, checked.output
    assert "1 match" in checked.output


def test_fractions_in_trees_print_as_fractions():
    tree = Apply(Op.MUL, (Num(Fraction(1, 2)), Sym("x")))
    assert folded(parser.parse(tree_printing.latex(tree, {}), "latex")) == tree


def test_missing_terms_in_latex_parse_back():
    from bnverify.check import check_file
    from bnverify.settings import Settings

    result = check_file("derivations/forum-post.toml", Settings(max_symbolic_batch=3))
    residuals = [v for v in result.verdicts if v.residual is not None]
    assert residuals
    for v in residuals:
        # The residual is not the gradient, so it diverges; what matters is that it reads.
        again = check_formula(v.residual.latex, v.wrt, syntax="latex")
        assert again.kind == "diverge", again.problem


@pytest.mark.parametrize("name", list(builtin_models()))
def test_every_node_printed_element_wise_reads_back_in_its_shape(name):
    from bnverify.engine import printing
    from bnverify.language import shapes
    from bnverify.model.notation import Names, resolve

    model = load_model(name)
    batch = frozenset(n for n, s in model.shape_of.items() if s == shapes.BATCH)
    for node, expr in model.nodes:
        printed = tree_printing.latex(expr, printing.latex_names(model), batch, model.sizes)
        resolved = resolve(parser.parse(printed, "latex"), Names(model, {}), node)
        assert resolved.shape == model.shape_of[node], (node, printed, resolved)


def test_the_reports_chain_rule_terms_read_back():
    # A report labels each chain-rule term with \underbrace{...}_{\text{through } ...}.
    from bnverify.engine.truth import truth_of
    from bnverify.model.notation import Names, resolve
    from bnverify.report.printable.passes import backward

    model = load_model("batchnorm")
    for step in backward(truth_of(model)):
        if step.terms:
            tree = parser.parse(step.chain, "latex")
            resolved = resolve(tree, Names(model, {}), step.name.removeprefix("g_"))
            assert not hasattr(resolved, "message"), (step.chain, resolved)
