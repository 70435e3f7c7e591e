"""The index forms notes use, read for models with several axes.

An index letter on a name runs over the axis at its position among the name's declared
axes (x_{ij} with x over (b, d) is x at sample i and feature j), a sum's upper bound names
its axis by the axis's size (\\sum_{k=1}^{D}), a letter that is an axis's own name is that
axis (\\sum_{d}), and a derivation's [notation] may map a letter to an axis (j = "d").
Each form below is parsed, resolved to the vector formula it means and judged; an index
that is ambiguous or contradicts another is an error located where it is written; and
Batch Norm's one-axis forms read exactly as they did.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.check import check_derivation, check_formula
from bnverify.cli import main
from bnverify.engine import printing
from bnverify.files.derivation import load_derivation, parse_derivation
from bnverify.language import tree_printing
from bnverify.language.parser import name_key, parse
from bnverify.language.tree import Apply, IndexedSum, Num, Sym
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem
from bnverify.settings import Settings

DERIVATIONS = Path(__file__).parent.parent / "derivations"
QUICK = Settings(seed=0, max_symbolic_batch=3)


def loaded(name: str) -> Model:
    model = load_model(name)
    assert isinstance(model, Model), model
    return model


def names_of(model: str, **notation: str) -> Names:
    lines = "\n".join(f'{k} = "{v}"' for k, v in notation.items())
    text = f'model = "{model}"\n[notation]\n{lines}\n[[candidate]]\nname = "c"\nexpr = "x"\n'
    names, problems = user_names(loaded(model), parse_derivation(text, "t.toml").notation)
    assert not problems, problems
    return names


def resolved(model: str, latex: str, wrt: str | None = None, **notation: str):
    return resolve(parse(latex, "latex"), names_of(model, **notation), wrt)


# --- parsing: what the grammar keeps for resolution to read ------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        # A subscript of several letters stays in the name: only the model can tell x_{ij}
        # (x at i and j) from a name x_ij.
        (r"x_{ij}", Sym("x_ij")),
        (r"x_{b,d}", Sym("x_b", "d")),
        (r"x_{b, i}", Sym("x_b", "i")),
        (r"\gamma_{g,c}", Sym("gamma_g", "c")),
        (r"x_{n,g,c,s}", Sym("x_n_gcs")),
        (r"g_{y,ij}", Sym("g_y_ij")),
        (r"\hat{x}_{ljm}", Sym("xhat_ljm")),
        (r"\frac{\partial L}{\partial y_{ijk}}", Sym("g_y_ijk")),
        (r"\sigma_{ij}^2", Apply("pow", (Sym("sigma_ij"), Num(2)))),
        (r"{\sigma^2}_{ti}", Apply("pow", (Sym("sigma_ti"), Num(2)))),
        (r"{\sigma^2}_{i}", Apply("pow", (Sym("sigma", "i"), Num(2)))),
        (r"r_i^3", Apply("pow", (Sym("r", "i"), Num(3)))),
        # \sum_{n,s} is one sum per index.
        (r"\sum_{n,s} x", IndexedSum("n", IndexedSum("s", Sym("x")))),
        (
            r"\sum_{l=1}^{N} \sum_{m=1}^{S} y_{ljm}",
            IndexedSum("l", IndexedSum("m", Sym("y_ljm"), Num(1), Sym("S")), Num(1), Sym("N")),
        ),
        # A paper's statistic with round brackets is the same name as with square ones.
        (r"\mathrm{RMS}(\mathbf{a})", Sym("RMS[a]")),
        (r"\mathrm{RMS}(x)^2", Apply("pow", (Sym("RMS[x]"), Num(2)))),
        (r"\mathrm{d}(x)", Apply("mul", (Sym("d"), Sym("x")))),
        (
            r"N S \sqrt{x}",
            Apply("mul", (Apply("mul", (Sym("N"), Sym("S"))), Apply("sqrt", (Sym("x"),)))),
        ),
    ],
)
def test_index_forms_parse(text, tree):
    assert parse(text, "latex") == tree


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        (r"x_{b,2}", "after a comma a subscript lists index letters", "2"),
        (r"x_{b,\hat{d}}", "after a comma a subscript lists index letters", r"\hat{d}"),
        (r"\sum_{n,s}^{N} x", "a sum over several indices has no bounds", r"\sum_{n,s}^{N} x"),
        (r"\sum_{ij} x", "or one letter per index, with commas: \\sum_{n,s}", "_{ij}"),
    ],
)
def test_index_parse_problems_are_located(text, message, at):
    problem = parse(text, "latex")
    assert isinstance(problem, Problem)
    assert message in problem.message
    assert text[problem.span.start : problem.span.end] == at


def test_a_call_form_spelling_is_a_notation_key():
    assert name_key(r"\mathrm{RMS}(x)") == "RMS[x]"
    assert name_key(r"\mathrm{RMS}(\mathbf{a})") == "RMS[a]"


# --- resolution: each form means the vector formula beside it -----------------------------

FORMS = [
    # x over (b, d): i is the sample, j the feature.
    ("layernorm", r"g_{x_{ij}} = \gamma_j g_{y_{ij}}", "gamma*g_y", "x", {}),
    (
        "layernorm",
        r"\frac{\partial L}{\partial \gamma_j} = \sum_{i=1}^{B} \frac{\partial L}{\partial y_{ij}}"
        r" \hat{x}_{ij}",
        "sum(g_y*xhat, b)",
        "gamma",
        {},
    ),
    (
        "layernorm",
        r"g_{x_{ij}} = \frac{\gamma_j g_{y_{ij}}}{\sqrt{\sigma_i^2 + \epsilon}} - \frac{1}{D}"
        r" \sum_{k=1}^{D} \gamma_k g_{y_{ik}}",
        "gamma*g_y/sqrt(var + eps) - 1/D*sum(gamma*g_y, d)",
        "x",
        {},
    ),
    # A sum with no bound runs over the axis its letter indexes elsewhere.
    (
        "layernorm",
        r"g_{x_{ij}} = \frac{1}{D}\sum_k \gamma_k g_{y_{ik}}",
        "1/D*sum(gamma*g_y, d)",
        "x",
        {},
    ),
    # Commas, letters that are the axes' own names, and several letters after a comma.
    ("layernorm", r"g_{x_{b,d}} = \gamma_{d} g_{y,bd}", "gamma*g_y", "x", {}),
    ("layernorm", r"g_{\gamma} = \sum_{b} g_{y} \hat{x}", "sum(g_y*xhat, b)", "gamma", {}),
    ("layernorm", r"g_{x} = \sum_{d} g_{y} \gamma", "sum(g_y*gamma, d)", "x", {}),
    # A bound spelled through [notation]: Ba et al.'s H features.
    ("layernorm", r"g_{\beta_j} = \sum_{i=1}^{M} g_{y_{ij}}", "sum(g_y, b)", "beta", {"M": "B"}),
    # A summand that does not depend on the sum's letter is one copy per element.
    ("layernorm", r"g_{x_{ij}} = \sum_{k=1}^{D} \gamma_j g_{y_{ij}}", "D*(gamma*g_y)", "x", {}),
    # A statistic indexed by its own axes, with a power, on either side.
    ("layernorm", r"g_{\mu_i} = \sigma_{i}^2 \mu_i", "var*mu", "mu", {}),
    (
        "layernorm",
        r"\frac{\partial L}{\partial \sigma_i^2} = \sum_{j=1}^{D} g_{y_{ij}}",
        "sum(g_y, d)",
        "var",
        {},
    ),
    # The left side may leave out a letter the right side does not need: the same for every j.
    ("layernorm", r"g_{x_{ij}} = \sum_{k=1}^{D} x_{ik}", "sum(x, d)", "x", {}),
    # Ba et al.: a_i on a value over samples and features, i a feature as g_i says.
    (
        "layernorm",
        r"\frac{\partial L}{\partial a_i} = g_i \frac{\partial L}{\partial h_i}"
        r" - \frac{a_i - \mu}{H} \sum_{j=1}^{H} g_j \frac{\partial L}{\partial h_j}",
        "gamma*g_y - (x - mu)/D*sum(gamma*g_y, d)",
        "x",
        {"a": "x", "g": "gamma", "h": "y", "H": "D"},
    ),
    # A letter mapped to an axis in [notation] reads a lone index.
    ("layernorm", r"g_{x_j} = g_{y,j}", "g_y", "x", {"j": "d"}),
    # groupnorm: x over (n, g, c, s), gamma over (g, c), mu over (n, g).
    (
        "groupnorm",
        r"g_{\gamma_{g,c}} = \sum_{n,s} g_{y_{n,g,c,s}} \hat{x}_{ngcs}",
        "sum(g_y*xhat, n, s)",
        "gamma",
        {},
    ),
    (
        "groupnorm",
        r"g_{x_{tijk}} = \frac{\gamma_{ij}}{\sqrt{\sigma_{ti}^2 + \epsilon}} g_{y_{tijk}}"
        r" - \mu_{ti}",
        "gamma/sqrt(var + eps)*g_y - mu",
        "x",
        {},
    ),
    (
        "batchnorm2d",
        r"g_{x_{ijk}} = N S g_{y_{ijk}} - \sum_{l=1}^{N} \sum_{m=1}^{S} g_{y_{ljm}}",
        "N*S*g_y - sum(g_y, n, s)",
        "x",
        {},
    ),
    (
        "instancenorm",
        r"g_{x_{ijk}} = \frac{\gamma_j}{\sigma_{ij}^2} g_{y_{ijk}}",
        "gamma/var*g_y",
        "x",
        {},
    ),
    ("rmsnorm", r"g_{x_{ij}} = \frac{x_{ij}}{r_i^3}", "x/rms^3", "x", {"r": "rms"}),
    ("rmsnorm", r"g_{x} = \frac{g_y}{\mathrm{RMS}(x)^2}", "g_y/rms^2", "x", {}),
    ("layernorm", r"g_{x} = \mathrm{Var}(x) g_y", "var*g_y", "x", {}),
]


@pytest.mark.parametrize(("model", "latex", "ascii", "wrt", "notation"), FORMS)
def test_index_forms_mean_their_vector_formula(model, latex, ascii, wrt, notation):
    got = resolved(model, latex, **notation)
    assert not isinstance(got, Problem), got
    want = resolve(parse(ascii, "ascii"), names_of(model), wrt)
    assert not isinstance(want, Problem), want
    assert (got.wrt, got.expr) == (wrt, want.expr)


@pytest.mark.parametrize(
    ("model", "latex", "kind"),
    [
        ("layernorm", r"g_{\gamma_j} = \sum_{i=1}^{B} g_{y_{ij}} \hat{x}_{ij}", "match"),
        ("layernorm", r"g_{\gamma_j} = \sum_{k=1}^{D} g_{y_{jk}} \hat{x}_{jk}", "error"),
        ("layernorm", r"g_{\beta_j} = g_{y_{ij}}", "error"),
        ("layernorm", r"g_{\beta} = \sum_{d} g_{y}", "diverge"),
        ("groupnorm", r"g_{\beta_{gc}} = \sum_{n,s} g_{y_{ngcs}}", "match"),
        ("groupnorm", r"g_{\beta_{gc}} = \sum_{l=1}^{N} g_{y_{lgcs}}", "error"),
        ("instancenorm", r"g_{\beta_j} = \sum_{i=1}^{N}\sum_{k=1}^{S} g_{y_{ijk}}", "match"),
        ("batchnorm2d", r"g_{\beta_j} = \sum_{i=1}^{N} g_{y_{ijk}}", "error"),
    ],
)
def test_index_forms_are_judged(model, latex, kind):
    verdict = check_formula(latex, model=model, syntax="latex", settings=QUICK)
    assert verdict.kind == kind, (verdict.message, verdict.problem)


# --- errors: ambiguous or contradictory indices, located where they are written -----------

PROBLEMS = [
    # A letter no fact binds, on a value of two axes: at its sum, or at the name.
    ("layernorm", r"g_{x} = \sum_j x_j", "which axis does j run over?", r"\sum_j x_j", {}),
    (
        "layernorm",
        r"g_{x_i} = g_{y,i}",
        "could be axis b (sample) or axis d (feature)",
        "g_{x_i}",
        {},
    ),
    ("layernorm", r"g_{x} = 2 \sum_j x", "which axis does \\sum_j run over?", r"\sum_j x", {}),
    # Two facts that disagree: the later one is shown, naming both axes.
    (
        "layernorm",
        r"g_{\gamma_j} = \sum_{i=1}^{D} g_{y_{ij}}",
        "index i runs over axis b (sample) here, as the 1st index of g_y, but over axis d "
        "(feature), as the bound D of its sum",
        "g_{y_{ij}}",
        {},
    ),
    ("layernorm", r"g_{x_{ij}} = \mu_{j} g_y", "as the only index of mu", r"\mu_{j}", {}),
    (
        "layernorm",
        r"g_{\gamma_d} = \sum_{b} g_{y_{d,b}}",
        "as d is the name of an axis",
        "g_{y_{d,b}}",
        {},
    ),
    (
        "layernorm",
        r"g_{\gamma_j} = \gamma_j",
        "[notation] maps j to b",
        r"g_{\gamma_j}",
        {"j": "b"},
    ),
    # Two letters over one axis in one term; more indices than axes; a wrong axis.
    (
        "layernorm",
        r"g_{x_{ij}} = \sum_k \gamma_j g_{y_{ik}}",
        "mixes the indices j and k, which both run over axis d (feature)",
        r"\gamma_j g_{y_{ik}}",
        {},
    ),
    (
        "layernorm",
        r"g_{x_{ij}} = \mu_{ij}",
        "mu is one number per sample: it takes one index, not 2",
        r"\mu_{ij}",
        {},
    ),
    (
        "groupnorm",
        r"g_{\gamma_{jk}} = \mu_k",
        "k runs over axis c (channel), but mu is one number per sample and group",
        r"\mu_k",
        {},
    ),
    (
        "layernorm",
        r"g_{x_{ij}} = \sum_{k=1}^{5} x_{ik}",
        "a sum must run over a whole axis",
        r"\sum_{k=1}^{5} x_{ik}",
        {},
    ),
    (
        "layernorm",
        r"g_{x_{ij}} = x_{ik}",
        "the left side is indexed by i, j but the right side by i, k",
        "x_{ik}",
        {},
    ),
    # Indices in a sum's bound are checked like any other.
    (
        "layernorm",
        r"g_{x} = \sum_{k=1}^{D_i} x",
        "D is one number, so it has no element i",
        "{D_i}",
        {},
    ),
    ("layernorm", r"g_{x} = \sum_{k=1}^{x_i} x", "which axis does i run over?", "{x_i}", {}),
    (
        "layernorm",
        r"\frac{\partial L}{\partial q_{ij}} = x",
        "unknown name 'q' on the left side",
        r"\frac{\partial L}{\partial q_{ij}}",
        {},
    ),
]


@pytest.mark.parametrize(("model", "latex", "message", "at", "notation"), PROBLEMS)
def test_index_problems_are_located(model, latex, message, at, notation):
    problem = resolved(model, latex, **notation)
    assert isinstance(problem, Problem), problem
    assert message in problem.message
    assert latex[problem.span.start : problem.span.end] == at


def test_an_ambiguous_index_is_located_in_the_file(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(
        'model = "layernorm"\n[[candidate]]\nname = "c"\nlatex = \'g_x = \\sum_j x_j\'\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", str(path), "--quiet", "--jobs", "1"])
    assert result.exit_code == 2, result.output
    assert "d.toml:4:16: error: which axis does j run over?" in result.output


def test_a_notation_letter_must_be_one_letter():
    text = 'model = "layernorm"\n[notation]\nfeat = "d"\n[[candidate]]\nname = "c"\nexpr = "x"\n'
    _, (problem,) = user_names(loaded("layernorm"), parse_derivation(text, "t.toml").notation)
    assert 'an index letter, one lowercase letter such as j = "d"' in problem.message
    assert (problem.location.line, problem.location.column) == (3, 1)


# --- one axis: Batch Norm's forms read as they always did ---------------------------------


@pytest.mark.parametrize(
    ("latex", "ascii", "wrt"),
    [
        (r"\sum_{i=1}^{N} \frac{\partial L}{\partial y_i}", "sum(g_y)", "beta"),
        (r"\sum_{i=1}^{m} g_{y,i} \hat{x}_i", "sum(g_y*zhat)", "gamma"),
        (r"\sum_{i=0}^{N-1} g_{y,i}", "sum(g_y)", "beta"),
        (r"\hat{z}^T g_y", "dot(zhat, g_y)", "gamma"),
        (r"\mathbf{1}^T g_y", "dot(ones, g_y)", "beta"),
        (r"\frac{1}{m}\sum_i g_{y,i}", "1/N*sum(g_y)", "z"),
        (r"g_{y,i} - \frac{1}{m}\sum_j g_{y,j}", "g_y - 1/N*sum(g_y)", "z"),
        (r"\sum_j g_{y} \hat{z}_i", "N*(g_y*zhat)", "z"),
        (r"x_n", "z", "z"),
    ],
)
def test_one_axis_forms_are_unchanged(latex, ascii, wrt):
    model = loaded("batchnorm")
    got = resolve(parse(latex, "latex"), Names(model, {}), wrt)
    want = resolve(parse(ascii, "ascii"), Names(model, {}), wrt)
    assert not isinstance(got, Problem), got
    assert got.expr == want.expr


# --- round trips: what bnverify prints reads back ------------------------------------------


@pytest.mark.parametrize("model", ["layernorm", "groupnorm"])
@pytest.mark.parametrize("wrt", ["x", "gamma", "beta"])
def test_derive_latex_reads_back_as_a_match(model, wrt):
    runner = CliRunner()
    derived = runner.invoke(main, ["derive", "--model", model, "--wrt", wrt, "--latex"])
    assert derived.exit_code == 0, derived.output
    formula = derived.stdout.strip()
    checked = runner.invoke(main, ["check", "--model", model, "--latex", formula, "--jobs", "1"])
    assert checked.exit_code == 0, (formula, checked.output)
    assert "1 match" in checked.output


INDEXED_FILES = [
    "layernorm.toml",
    "layernorm-ba-2016.toml",
    "rmsnorm.toml",
    "rmsnorm-zhang-sennrich-2019.toml",
    "instancenorm.toml",
    "instancenorm-ulyanov-2016.toml",
    "batchnorm2d.toml",
]


def _latex_candidates(name: str):
    derivation = load_derivation(DERIVATIONS / name)
    assert not derivation.problems, derivation.problems
    latex = tuple(c for c in derivation.candidates if c.syntax == "latex")
    assert latex
    return derivation, latex


@pytest.mark.parametrize("name", INDEXED_FILES)
def test_the_derivations_index_forms_get_their_expected_verdicts(name):
    derivation, latex = _latex_candidates(name)
    result = check_derivation(replace(derivation, candidates=latex), QUICK)
    assert not result.problems, result.problems
    got = [(v.candidate.name, v.kind, v.problem) for v in result.verdicts]
    assert got == [(c.name, c.expect, None) for c in latex]


@pytest.mark.parametrize("name", INDEXED_FILES)
def test_index_forms_printed_as_written_read_back(name):
    # A report prints each candidate from its parsed tree; that LaTeX means the same.
    derivation, latex = _latex_candidates(name)
    model = loaded(derivation.model)
    names, _ = user_names(model, derivation.notation)
    for candidate in latex:
        tree = parse(candidate.text, "latex")
        again = parse(tree_printing.latex(tree, printing.latex_names(model)), "latex")
        first, second = resolve(tree, names, None), resolve(again, names, None)
        assert not isinstance(second, Problem), (candidate.name, second)
        assert first.expr == second.expr, candidate.name


def test_fractions_stay_exact_in_sizes():
    got = resolved("groupnorm", r"g_{x} = \frac{1}{C S}\sum_{c,s} g_y")
    assert got.expr == Apply(
        "mul",
        (
            Apply("div", (Num(Fraction(1)), Apply("mul", (Sym("C"), Sym("S"))))),
            Apply("sum", (Sym("g_y"),), axes=("c", "s")),
        ),
    )


def test_a_notation_formula_that_sums_over_two_axes_is_refused_where_written():
    text = 'model = "layernorm"\n[notation]\nds = "sum(g_y*x)"\n'
    text += '[[candidate]]\nname = "c"\nexpr = "x"\n'
    _, (problem,) = user_names(loaded("layernorm"), parse_derivation(text, "t.toml").notation)
    assert "notation value for 'ds': sum over which axis?" in problem.message
    assert (problem.location.line, problem.location.column) == (3, 7)


def test_a_model_may_spell_a_statistic_with_round_brackets():
    # rmsnorm.toml: '\mathrm{RMS}(x)' = "rms", printed back with the model's other spellings.
    model = loaded("rmsnorm")
    assert model.aliases["RMS[x]"] == "rms"
    assert resolved("rmsnorm", r"g_x = \mathrm{RMS}(x)", "x").expr == Sym("rms")


def test_notation_on_the_command_line_maps_an_index_letter():
    args = ["check", "--model", "layernorm", "--jobs", "1", "--latex", r"g_{x_j} = g_{y,j}"]
    ambiguous = CliRunner().invoke(main, args)
    assert ambiguous.exit_code == 2 and "which axis does j run over?" in ambiguous.output
    mapped = CliRunner().invoke(main, [*args, "--notation", "j=d"])
    assert mapped.exit_code == 1, mapped.output  # judged: g_y alone misses the terms
    assert "diverge" in mapped.output
