"""What a model states is proved when it is loaded (engine.identities), or refused where written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from bnverify.engine.identities import unproved
from bnverify.model.graph import Model, builtin_names, load_model, parse_model

LAYERNORM = (Path(__file__).parent / "data" / "user-layernorm.toml").read_text()


def model(text: str) -> Model:
    loaded = parse_model(text, "ln.toml")
    assert isinstance(loaded, Model), loaded
    return loaded


def identity(rewrite: str, replacement: str) -> str:
    return f'[[identity]]\nrewrite = "{rewrite}"\nas = "{replacement}"\n'


@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_model_states_only_what_is_proved(name):
    loaded = load_model(name)
    assert isinstance(loaded, Model), [str(problem) for problem in loaded]
    assert unproved(loaded) == ()


def test_true_identities_of_a_users_model_are_accepted():
    text = (
        LAYERNORM + identity("sum(xhat, d)", "0") + identity("sum(xhat^2, d)", "D*var/(var + eps)")
    )
    assert unproved(model(text)) == ()


def test_a_false_identity_is_refused_at_its_table():
    text = LAYERNORM + identity("x", "mu + xhat*sqrt(var + eps)") + identity("sum(xhat, d)", "1")
    (problem,) = unproved(model(text))
    assert problem.message.startswith("[[identity]] sum(xhat, d) = 1 does not hold: ")
    assert "not equal for every B and D" in problem.message
    where = problem.location
    assert (where.path, where.line, where.column) == ("ln.toml", 25, 1)
    assert where.source == "[[identity]]"


def test_every_false_identity_is_reported():
    text = LAYERNORM + identity("sum(xhat, d)", "1") + identity("mu", "var")
    assert [p.location.line for p in unproved(model(text))] == [22, 25]


def test_an_identity_with_no_value_is_refused_saying_why():
    (problem,) = unproved(model(LAYERNORM + identity("x/(x - x)", "0")))
    assert "x/(x - x) = 0 is refused: it has no value for any input" in problem.message
    assert problem.location.line == 22


def test_an_identity_beyond_the_every_size_form_is_refused_saying_why():
    roots = " + ".join(f"sqrt(x^2 + {k})" for k in range(1, 6))
    (problem,) = unproved(model(LAYERNORM + identity(roots, "0")))
    assert "is refused: bnverify cannot reason about it for every size" in problem.message
    assert "more than 4 different square roots" in problem.message


def test_a_node_with_no_value_is_refused_at_its_formula():
    text = LAYERNORM.replace('y = "gamma*xhat + beta"', 'y = "gamma*xhat/(mu - mu)"')
    (problem,) = unproved(model(text))
    assert problem.message.startswith("node y has no value for any input, at any B and D")
    assert (problem.location.line, problem.location.column) == (21, 5)


def test_a_one_axis_model_speaks_of_N():
    source = (resources.files("bnverify.model.layers") / "batchnorm.toml").read_text()
    (problem,) = unproved(model(source + identity("sum(zhat^2)", "N")))
    assert "sum(zhat^2) = N does not hold: its two sides are not equal for every N;" in (
        problem.message
    )
