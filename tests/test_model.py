"""Model files: the built-in Batch Norm model, its identities, and bad model files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from bnverify.engine.elements import element_point
from bnverify.engine.evaluate import evaluate
from bnverify.engine.sampling import exact_point
from bnverify.files.toml_source import parse_toml
from bnverify.judge.evidence import rng_for
from bnverify.language.shapes import BATCH, SCALAR
from bnverify.model.graph import (
    Model,
    builtin_models,
    builtin_names,
    load_model,
    parse_model,
    read_model,
)
from bnverify.problem import Problem

AFFINE = 'name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x"\n'


def test_builtin_batchnorm(model):
    assert builtin_models()["batchnorm"] == "Batch Normalization, training mode, one channel"
    assert set(builtin_models()) <= set(builtin_names())
    assert model.inputs == (("z", frozenset({"n"})), ("gamma", frozenset()), ("beta", frozenset()))
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
    assert model.shape_of["g_zhat"] == BATCH and model.shape_of["g_var"] == SCALAR


def test_identities_hold_exactly_and_symbolically(model, truth):
    assert len(model.identities) == 3
    for identity in model.identities:
        for n, channels in ((1, 2), (2, 3), (7, 2)):
            point = exact_point(model, truth.definitions, n, channels, rng_for(3, "identity", n))
            assert (
                evaluate(identity.rewrite, point) == evaluate(identity.replacement, point)
            ).all()
        for n in range(1, 6):
            point = element_point(model, truth.gradients, n)
            left = evaluate(identity.rewrite, point).reshape(-1)[0]
            right = evaluate(identity.replacement, point).reshape(-1)[0]
            assert left == right, (identity, n)


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
        ('name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n', "missing [nodes]: a model"),
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
    problems = parse_model(text, "bad.toml")
    assert isinstance(problems, tuple)
    problem = problems[0]
    assert message in problem.message
    assert problem.location.path == "bad.toml"


def test_model_file_errors_point_at_the_character(tmp_path):
    text = 'name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x*w + 1"\n'
    (problem,) = parse_model(text, "m.toml")
    assert "uses w before defining it" in problem.message
    where = problem.location
    assert (where.line, where.column, where.source) == (6, 8, 'y = "x*w + 1"')


def test_unknown_model_names_the_builtins(tmp_path):
    (problem,) = load_model("resnet", tmp_path)
    names = ", ".join(builtin_names())  # every one, whether or not it reads
    assert f"neither a built-in model ({names}) nor a .toml file" in problem.message
    assert "batchnorm, batchnorm-eval, batchnorm2d" in problem.message


def test_a_name_that_is_no_builtin_is_never_read_as_a_file(tmp_path):
    # A derivation's model = "environ" next to a link to /proc/self/environ used to read
    # the link: a name is a built-in model or the path of a .toml file, nothing else.
    (tmp_path / "environ").write_text("SECRET=hunter2\n", encoding="utf-8")
    (problem,) = load_model("environ", tmp_path)
    assert "hunter2" not in problem.message and problem.location is None


def read(text: str) -> Model | tuple[Problem, ...]:
    return read_model(parse_toml(text, "m.toml"))


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        ('nodez = "x"\n' + AFFINE, (1, 1, 5), 'did you mean "nodes"?'),
        (AFFINE + '[[probes]]\ncondition = "x = 0"\n', (7, 1, 10), 'did you mean "probe"?'),
        (
            AFFINE + '[[probe]]\ncondition = "N = 1"\nbath = 1\n',
            (9, 1, 4),
            'did you mean "batch"?',
        ),
        (AFFINE.replace("[nodes]", "[nodez]"), (5, 1, 7), 'did you mean "nodes"?'),
        ('square = { expr = "x", solv = "x" }\n' + AFFINE, (1, 24, 4), 'did you mean "solve"?'),
    ],
    ids=["top level", "[[probes]]", "in a probe", "[nodez]", "in square"],
)
def test_an_unknown_model_key_is_refused_where_it_is_written(text, where, hint):
    problems = read(text)
    assert isinstance(problems, tuple)
    first = problems[0]
    assert first.message.startswith("unknown key") and hint in first.message
    at = first.location
    assert (at.path, at.line, at.column, at.width) == ("m.toml", *where)
    assert parse_model(text, "m.toml") == problems  # loading gives them all


def test_a_probe_typo_no_longer_drops_the_probes():
    problems = read(AFFINE + '[[probes]]\ncondition = "x = 0"\n')
    assert [p.message.split(";")[0] for p in problems] == [
        'unknown key "probes" at the top level of a model file (did you mean "probe"?)'
    ]


def test_every_bad_key_of_a_model_is_reported():
    text = 'titel = "m"\n' + AFFINE + '[[probe]]\ncondition = "N = 1"\nbatchh = 1\n'
    problems = read(text)
    assert [(p.location.line, p.message.split(" (")[0]) for p in problems] == [
        (1, 'unknown key "titel" at the top level of a model file'),
        (10, 'unknown key "batchh" in a [[probe]] table'),
    ]
    assert 'did you mean "title"?' in problems[0].message
    assert 'did you mean "batch"?' in problems[1].message


def test_bad_entries_are_each_reported_after_the_forward_pass():
    probes = '[[probe]]\ncondition = "a"\nbatch = 0\n[[probe]]\ncondition = "b"\nfreeze = ["w"]\n'
    problems = read(AFFINE + probes)
    assert [p.message for p in problems] == [
        "probe batch must be between 1 and 256, not 0",
        "probe freezes 'w', which is not a node's name",
    ]
    assert [p.location.line for p in problems] == [9, 12]


def test_the_builtin_model_reads_without_a_problem_and_as_loaded(model):
    text = (Path(__file__).parent.parent / "bnverify/model/layers/batchnorm.toml").read_text()
    read_again = read_model(parse_toml(text, "<builtin>/batchnorm.toml"))
    assert read_again == model and repr(read_again) == repr(model)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("probe = 1\n" + AFFINE, "'probe' must be an array of tables", 1),
        (AFFINE + '[probe]\ncondition = "a"\n', "'probe' must be an array of tables", 7),
        (AFFINE + '[[probe]]\ncondition = "a"\nset = 1\n', "probe set must be a table", 9),
        (AFFINE + '[[probe]]\ncondition = "a"\nfreeze = 1\n', "freeze must be an array", 9),
        (AFFINE + '[[probe]]\ncondition = "a"\nfreeze = [5]\n', "probe freezes 5", 9),
        (AFFINE + '[[probe]]\ncondition = "a"\nset = ["x"]\n', "probe set must be a table", 9),
        (AFFINE + '[[probe]]\ncondition = "a"\nbatch = true\n', "positive integer", 7),
        (AFFINE + "[[probe]]\ncondition = 5\n", "'condition' in a string", 7),
        (AFFINE + '[notation]\nu = ["x"]\n', "must map to a model name in a string", 8),
        (AFFINE + "[notation]\nu = { a = 1 }\n", "must map to a model name in a string", 8),
        ('square = { expr = "x", solve = ["x"] }\n' + AFFINE, "square.solve must be", 1),
    ],
)
def test_a_section_of_the_wrong_type_is_a_located_problem(text, message, line):
    (problem,) = read(text)
    assert message in problem.message and problem.location.line == line


def test_a_probe_batch_has_an_upper_bound():
    (problem,) = read(AFFINE + '[[probe]]\ncondition = "big"\nbatch = 100000000\n')
    assert problem.message == "probe batch must be between 1 and 256, not 100,000,000"
    assert (problem.location.line, problem.location.column) == (9, 9)


def test_a_notation_spelling_is_a_name_never_pasted_latex():
    # '\mu_B & ~ \\' parses as the name mu_B, but would break a .tex report verbatim.
    (problem,) = read(AFFINE + "[notation]\n'\\mu_B & ~ \\\\' = \"x\"\n")
    assert "is not a name's spelling" in problem.message and problem.location.line == 8
    model = read(AFFINE + "[notation]\n'\\mu_B' = \"x\"\n'\\hat  z' = \"y\"\n")
    assert [(a.key, a.name, a.spelling) for a in model.notation] == [
        ("mu_B", "x", "\\mu_B"),
        ("zhat", "y", "\\hat{z}"),
    ]


def test_model_notation_never_renames_a_model_name():
    (problem,) = read(AFFINE + '[notation]\nx = "y"\n')
    assert "would rename the model's own name x to y" in problem.message


def test_limits_count_along_a_chain_of_nodes():
    # Each node is within the limits alone; b's degree is the product along the chain.
    chain = 'name = "m"\noutput = "y"\n[inputs]\nz = "batch"\n[nodes]\n'
    chain += 'a = "z^1000"\nb = "a^1000"\ny = "b^1000"\n'
    (problem,) = read(chain)
    assert problem.message.startswith("node b, counting the nodes it uses: ")
    assert "power 1,000,000" in problem.message and "--max" not in problem.message
    assert (problem.location.line, problem.location.column) == (7, 6)
    # a's constant has 2,000 digits and a^999 would build 1,998,000, though a is a node.
    digits = chain.replace('"z^1000"', '"1e999*1e999 + z"').replace('"a^1000"', '"a^999"')
    (problem,) = read(digits)
    assert problem.message.startswith("node b, counting the nodes it uses: ")
    assert "about 1,998,000 digits" in problem.message


def test_a_bug_reading_a_model_file_is_a_problem_of_that_model(tmp_path, monkeypatch):
    from bnverify.model import sections

    def broken(data):
        raise TypeError("unhashable type: 'Array'")

    monkeypatch.setattr(sections, "forward_pass", broken)
    (tmp_path / "m.toml").write_text(AFFINE)
    (problem,) = load_model("m.toml", tmp_path)
    assert problem.message.startswith("internal error while reading model 'm.toml': TypeError")


def test_nodes_and_identities_keep_where_they_are_written():
    text = AFFINE + '[[identity]]\nrewrite = "y"\nas = "x"\n'
    model = read(text)
    assert isinstance(model, Model)
    assert [(n, at.line, at.column) for n, at in model.node_locations] == [("y", 6, 5)]
    (identity,) = model.identities
    assert (identity.location.line, identity.location.source) == (7, "[[identity]]")
    assert model == read(text.replace("[[identity]]", "\n[[identity]]"))  # places aside


def test_an_identity_is_bounded_like_a_node():
    text = (
        AFFINE.replace('y = "x"', 'y = "x^1000"') + '[[identity]]\nrewrite = "y^1000"\nas = "0"\n'
    )
    (problem,) = read(text)
    assert problem.message.startswith("identity, counting the nodes it uses: ")
    assert "power 1,000,000" in problem.message and problem.location.line == 8


def test_a_model_is_named_after_its_file_unless_it_says_otherwise(tmp_path):
    (tmp_path / "my-layer.toml").write_text(AFFINE.replace('name = "m"\n', ""))
    model = load_model("my-layer.toml", tmp_path)
    assert isinstance(model, Model) and model.name == "my-layer"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (AFFINE.replace('output = "y"\n', ""), "missing 'output': name the node whose upstream"),
        (AFFINE.replace('[inputs]\nx = "batch"\n', ""), "missing [inputs]: a model needs its"),
        (
            AFFINE.replace('x = "batch"', 'x = { axes = ["n"], postive = true }'),
            'unknown key "postive" in input x (did you mean "positive"?)',
        ),
        (
            '[axes]\nn = { size = "N", wrod = "sample" }\n' + AFFINE,
            'unknown key "wrod" in axis n (did you mean "word"?)',
        ),
    ],
)
def test_a_missing_section_or_an_unknown_inner_key_says_what_it_is(text, message):
    (problem,) = read(text)
    assert problem.message.startswith(message), problem.message


def test_a_file_that_is_no_model_is_refused_without_quoting_it(tmp_path):
    (tmp_path / "creds.toml").write_text('[registry]\ntoken = "hunter2"\n')
    (tmp_path / "d.toml").write_text('model = "x"\n[[candidate]]\nname = "a"\nexpr = "1"\n')
    for name, what in (("creds.toml", "is not a model file"), ("d.toml", "is a derivation")):
        (problem,) = load_model(name, tmp_path)
        assert what in problem.message and "hunter2" not in str(problem)
        assert problem.location.source == ""
