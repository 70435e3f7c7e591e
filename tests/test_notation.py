"""From an author's spelling to the model's names."""

from __future__ import annotations

from pathlib import Path

import pytest

from bnverify.files.derivation import parse_derivation
from bnverify.language.parser import parse
from bnverify.language.tree import Apply, Num, Sym
from bnverify.model.notation import Names, resolve, user_names
from bnverify.problem import Problem


def names_with(model, **table):
    lines = "\n".join(f'"{k}" = "{v}"' for k, v in table.items())
    text = f'model = "batchnorm"\n[notation]\n{lines}\n[[candidate]]\nname = "x"\nexpr = "z"\n'
    derivation = parse_derivation(text, "t.toml")
    names, problems = user_names(model, derivation.notation)
    assert not problems, problems
    return names


def resolved(names, text, syntax="latex", wrt=None):
    return resolve(parse(text, syntax), names, wrt)


@pytest.fixture
def plain(model):
    return Names(model, {})


def test_model_names_and_the_model_notation(plain):
    r = resolved(plain, r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} g_y")
    assert r.wrt == "z"
    assert r.expr == Apply(
        "mul",
        (
            Apply("div", (Sym("gamma"), Apply("sqrt", (Apply("add", (Sym("var"), Sym("eps"))),)))),
            Sym("g_y"),
        ),
    )


def test_user_notation_and_hat_carry_over(model):
    names = names_with(model, x="z", m="N")
    r = resolved(names, r"\frac{\partial \ell}{\partial x_i} = \frac{1}{m} \hat{x}_i")
    assert r.wrt == "z"
    assert r.expr == Apply("mul", (Apply("div", (Num(1), Sym("N"))), Sym("zhat")))


def test_notation_values_may_be_formulas(model):
    names = names_with(model, s="sqrt(var + eps)")
    r = resolved(names, r"g_z = \frac{\gamma}{s} g_y")
    assert r.expr.args[0].args[1] == Apply("sqrt", (Apply("add", (Sym("var"), Sym("eps"))),))


def test_gradient_spellings(plain):
    for text in (
        r"g_{\hat{z}} = g_y \gamma",
        r"\frac{\partial L}{\partial \hat{z}} = g_y \gamma",
        r"\nabla_{\hat z} L = g_y \gamma",
    ):
        assert resolved(plain, text).wrt == "zhat"
    assert (
        resolved(plain, r"\frac{\partial L}{\partial \sigma_B^2} = g_{\mu}", "latex").wrt == "var"
    )


def test_wrt_field_and_left_side_must_agree(plain):
    problem = resolved(plain, "g_z = g_y", wrt="gamma")
    assert isinstance(problem, Problem) and "says otherwise" in problem.message
    assert resolved(plain, "g_y", wrt="g_beta", syntax="ascii").wrt == "beta"
    missing = resolved(plain, "g_y", syntax="ascii")
    assert isinstance(missing, Problem) and "wrt" in missing.message


def test_sums_over_indices(plain):
    r = resolved(plain, r"g_{\beta} = \sum_{i=1}^{N} \frac{\partial L}{\partial y_i}")
    assert r.expr == Apply("sum", (Sym("g_y"),))
    # A term that does not involve the summation index is counted N times.
    r = resolved(plain, r"g_z = \sum_j g_{y} \hat{z}_i")
    assert r.expr == Apply("mul", (Sym("N"), Apply("mul", (Sym("g_y"), Sym("zhat")))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (r"g_z = \sum_{i=1}^{5} z_i", "must run over the whole batch"),
        (r"g_z = z_i z_j", "mixes the indices i and j"),
        (r"g_z = \gamma_i", "one number per channel, so it has no element i"),
        (r"g_z = \hat{z}^T", "a transpose must be followed by a vector"),
        (r"g_z = g_z + g_y", "the gradient it is meant to state"),
        (r"g_z = \zeta", "unknown name 'zeta'"),
        (r"g_z = gama g_y", "unknown name 'g'"),
        (r"y = g_y", "the left side must name a gradient"),
        (r"g_z = g_y^{1/3}", "denominator 1 or 2"),
    ],
)
def test_resolution_problems_are_located(plain, text, message):
    problem = resolved(plain, text)
    assert isinstance(problem, Problem), problem
    assert message in problem.message
    assert problem.span is not None and 0 <= problem.span.start < len(text)


def test_unknown_name_suggests_a_close_one(plain):
    problem = resolved(plain, "gama*g_y", syntax="ascii", wrt="z")
    assert "did you mean gamma?" in problem.message
    assert 'x = "z"' in problem.message


def test_bad_notation_entries_are_located_problems(model):
    text = 'model = "batchnorm"\n[notation]\nq = "w + 1"\n"\\\\frac" = "z"\n'
    text += '[[candidate]]\nname = "c"\nexpr = "z"\n'
    derivation = parse_derivation(text, "t.toml")
    names, problems = user_names(model, derivation.notation)
    assert len(problems) == 2
    assert problems[0].location.line == 3 and "uses" not in problems[1].message
    assert names.lookup("q") is None


def test_sigma_alone_suggests_the_variance(plain):
    problem = resolved(plain, r"g_z = \frac{\gamma}{\sigma} g_y")
    assert "did you mean \\sigma_B^2, which is var?" in problem.message


def test_ones_is_the_all_ones_vector_in_both_syntaxes(plain):
    ascii_form = resolved(plain, "dot(ones, g_y)", syntax="ascii", wrt="beta")
    latex_form = resolved(plain, r"g_{\beta} = \mathbf{1}^T g_y")
    assert ascii_form.expr == latex_form.expr == Apply("dot", (Apply("ones", ()), Sym("g_y")))


EXP_ZHAT = Apply("exp", (Sym("zhat"),))


@pytest.mark.parametrize(
    ("text", "wrt", "expr"),
    [
        (r"e^{\hat{z}_i} g_{y,i}", "z", Apply("mul", (EXP_ZHAT, Sym("g_y")))),
        (r"\exp(\hat{z}_i) g_{y,i}", "z", Apply("mul", (EXP_ZHAT, Sym("g_y")))),
        (
            r"\frac{e^{\hat{z}_i}}{\sum_j e^{\hat{z}_j}}",
            "z",
            Apply("div", (EXP_ZHAT, Apply("sum", (EXP_ZHAT,)))),
        ),
        ("e^2", "gamma", Apply("exp", (Num(2),))),
        ("e**zhat", "z", EXP_ZHAT),  # the ASCII syntax reads it the same way
    ],
)
def test_e_to_a_power_is_the_exponential_where_e_is_no_name(plain, text, wrt, expr):
    syntax = "ascii" if "**" in text else "latex"
    assert resolved(plain, text, syntax, wrt).expr == expr


def test_the_authors_e_wins_over_the_exponential(model):
    names = names_with(model, e="eps")
    assert resolved(names, "e^{2}", wrt="gamma").expr == Apply("pow", (Sym("eps"), Num(2)))
    text = r"e^{\hat{z}_i} g_{y,i}"
    problem = resolved(names, text, wrt="z")
    assert isinstance(problem, Problem)
    assert "e is a name here" in problem.message and "\\exp(...)" in problem.message
    assert text[problem.span.start : problem.span.end] == r"{\hat{z}_i}"


def test_only_the_bare_letter_e_is_eulers_number(plain):
    # An element e_i is a name, here an unknown one.
    problem = resolved(plain, r"e_i^{\hat{z}_i}", wrt="z")
    assert isinstance(problem, Problem) and "unknown name 'e'" in problem.message


def notation_of(model, text):
    derivation = parse_derivation(
        f'model = "batchnorm"\n[notation]\n{text}\n[[candidate]]\nname = "x"\nexpr = "z"\n',
        "t.toml",
    )
    return user_names(model, derivation.notation)


def test_a_model_name_is_never_renamed(model):
    # z = "beta" would make wrt = "z" and every z mean beta, and a wrong g_z pass.
    _, (problem,) = notation_of(model, 'z = "beta"')
    assert "notation maps z, a name of the batchnorm model, to 'beta'" in problem.message
    assert (problem.location.line, problem.location.column) == (3, 1)
    names, problems = notation_of(model, 'z = "z"\nx = "beta"')
    assert not problems and resolved(names, "z", "ascii", "z").wrt == "z"


SIGMA = Apply("sqrt", (Apply("add", (Sym("var"), Sym("eps"))),))


def test_the_authors_notation_wins_over_the_models_aliases(model):
    names = names_with(model, sigma="sqrt(var + eps)")
    # With sigma the standard deviation, \sigma^2 is sigma squared, not the model's var.
    r = resolved(names, r"g_z = \frac{g_y}{\sigma^2}")
    assert r.expr == Apply("div", (Sym("g_y"), Apply("pow", (SIGMA, Num(2)))))
    assert names.notes == (
        "\\sigma^2 is read as sigma^2 with this file's own sigma, not as the model's var",
    )
    # The model's spellings the author did not touch keep their meaning.
    assert resolved(names, r"g_z = \sigma_B^2 g_y").expr.args[0] == Sym("var")
    assert resolved(plain_names(model), r"g_z = \sigma^2 g_y").expr.args[0] == Sym("var")


def test_an_authors_spelling_of_a_power_wins_too(model):
    names, problems = notation_of(model, "'\\sigma^2' = \"var + eps\"")
    assert not problems
    r = resolved(names, r"g_z = \frac{g_y}{\sigma^2}")
    assert r.expr.args[1] == Apply("add", (Sym("var"), Sym("eps")))
    assert names.notes == ("\\sigma^2 is read as this file's own sigma^2, not as the model's var",)


def plain_names(model):
    return Names(model, {})


def test_sigma_as_the_standard_deviation_is_read_as_its_author_means(tmp_path):
    # Issue 10's file: with sigma = sqrt(var + eps), counting eps twice is wrong and the
    # centred form dividing by \sigma^2 is right; the model's \sigma^2 = var read both
    # the other way round.
    from bnverify.check import check_file
    from bnverify.settings import Settings

    path = tmp_path / "sigma.toml"
    path.write_bytes(Path(__file__).parent.joinpath("data", "sigma-notation.toml").read_bytes())
    result = check_file(path, Settings(seed=0, max_symbolic_batch=3))
    assert not result.problems
    assert [(v.candidate.name, v.kind) for v in result.verdicts] == [
        ("eps counted twice", "diverge"),
        ("centred", "match"),
    ]


def test_the_shadowing_is_said_once_in_the_output():
    from click.testing import CliRunner

    from bnverify.cli import main

    path = str(Path(__file__).parent / "data" / "sigma-notation.toml")
    args = ["check", "--max-symbolic-batch", "2", path]
    output = CliRunner().invoke(main, args, env={"NO_COLOR": "1"}).output
    note = "note: \\sigma^2 is read as sigma^2 with this file's own sigma, not as the model's var"
    assert output.count(note) == 1
