"""Model files: the built-in Batch Norm model, its identities, and bad model files."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import exact_point
from bnverify.engine.symbolic import instance
from bnverify.judge.evidence import rng_for
from bnverify.model.graph import Model, builtin_models, load_model, parse_model
from bnverify.problem import Problem


def test_builtin_batchnorm(model):
    assert builtin_models() == {"batchnorm": "Batch Normalization, training mode, one channel"}
    assert model.inputs == (("z", "batch"), ("gamma", "scalar"), ("beta", "scalar"))
    assert [name for name, _ in model.nodes] == ["mu", "var", "zhat", "y"]
    assert model.output == "y" and model.upstream == "g_y"
    assert model.aliases["sigma_B^2"] == "var"
    assert model.aliases["varepsilon"] == "eps"
    assert [p.condition.split(" (")[0] for p in model.probes] == [
        "eps = 0",
        "batch statistics held constant",
        "N = 1",
        "gamma = 1",
        "beta = 0",
    ]
    assert model.probes[0].set == (("eps", Fraction(0)),)
    assert model.shape_of["g_zhat"] == "batch" and model.shape_of["g_var"] == "scalar"


def test_identities_hold_exactly_and_symbolically(model, truth):
    assert len(model.identities) == 3
    for identity in model.identities:
        for n, channels in ((1, 2), (2, 3), (7, 2)):
            point = exact_point(model, truth.definitions, n, channels, rng_for(3, "identity", n))
            assert (
                evaluate(identity.rewrite, point) == evaluate(identity.replacement, point)
            ).all()
        for n in range(1, 6):
            inst = instance(model, truth.gradients, n)
            left = evaluate(identity.rewrite, inst.point)
            right = evaluate(identity.replacement, inst.point)
            assert inst.component(left) == inst.component(right), (identity, n)


def test_a_model_file_by_path(tmp_path):
    path = tmp_path / "affine.toml"
    path.write_text(
        'name = "affine"\noutput = "y"\n[inputs]\nx = "batch"\na = "scalar"\n[nodes]\ny = "a*x"\n',
        encoding="utf-8",
    )
    model = load_model("affine.toml", tmp_path)
    assert isinstance(model, Model) and model.name == "affine"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n', "'[nodes]' must be a table"),
        ('name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x*w"\n', "uses w"),
        ('name = "m"\noutput = "q"\n[inputs]\nx = "batch"\n[nodes]\ny = "x"\n', "not one of the"),
        ('name = "m"\noutput = "y"\n[inputs]\ng_x = "batch"\n[nodes]\ny = "g_x"\n', "usable name"),
        ('name = "m"\noutput = "y"\n[inputs]\nx = "matrix"\n[nodes]\ny = "x"\n', '"batch" or'),
        ('name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x +"\n', "node y"),
        ('name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x^x"\n', "exponent"),
        ("this is = not toml [", "invalid TOML"),
    ],
)
def test_bad_model_files(text, message):
    problem = parse_model(text, "bad.toml")
    assert isinstance(problem, Problem)
    assert message in problem.message
    assert problem.location.path == "bad.toml"


def test_model_file_errors_point_at_the_character(tmp_path):
    text = 'name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x*w + 1"\n'
    problem = parse_model(text, "m.toml")
    assert "uses w before defining it" in problem.message
    where = problem.location
    assert (where.line, where.column, where.source) == (6, 8, 'y = "x*w + 1"')


def test_unknown_model_names_the_builtins(tmp_path):
    problem = load_model("resnet", tmp_path)
    assert isinstance(problem, Problem)
    assert "neither a built-in model (batchnorm) nor a .toml file" in problem.message


def test_a_name_that_is_no_builtin_is_never_read_as_a_file(tmp_path):
    # A derivation's model = "environ" next to a link to /proc/self/environ used to read
    # the link: a name is a built-in model or the path of a .toml file, nothing else.
    (tmp_path / "environ").write_text("SECRET=hunter2\n", encoding="utf-8")
    problem = load_model("environ", tmp_path)
    assert isinstance(problem, Problem)
    assert "hunter2" not in problem.message and problem.location is None
