"""Tangents and the second-order truth: each JVP rule is SymPy's directional derivative,
and Q(u, w) is SymPy's element-wise second derivative of L at every small size."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from test_operators import CASES, HESSIAN, N, _reference, _tree, _value_arguments

from bnverify.engine import forward
from bnverify.engine.evaluate import Hessian, Point, evaluate
from bnverify.engine.forward import JVP, NoTangent, second_order, tangent, with_directions
from bnverify.engine.sampling import exact_point
from bnverify.engine.second_check import SYMPY, agrees_at, check_second_order, small_sizes
from bnverify.language.build import ZERO
from bnverify.language.names import hessian_name
from bnverify.language.operators import SIGNATURES, Op
from bnverify.language.shapes import DEFAULT_AXIS
from bnverify.language.tree import Apply, Num, Sym
from bnverify.language.tree_printing import ascii
from bnverify.model.graph import load_model


def _model(name):
    model = load_model(name)
    assert not isinstance(model, tuple), model
    return model


def _symbols(name: str) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{k}", positive=True) for k in range(N)]


def _column(values: list) -> np.ndarray:
    return np.array([[v] for v in values], dtype=object)


@pytest.mark.parametrize(("op", "exponent"), CASES)
def test_the_jvp_is_sympys_directional_derivative(op, exponent):
    batches = {i: _symbols(f"a{i}") for i in _value_arguments(op)}
    tangents = {i: _symbols(f"t{i}") for i in batches}
    out = _reference(op, exponent, batches)
    expected = [
        sum(
            sp.diff(y, a) * t for i in batches for a, t in zip(batches[i], tangents[i], strict=True)
        )
        for y in out
    ]
    tree = _tree(op, exponent)
    args = [Num(exponent) if a is None else a for a in tree.args]
    found_tree = JVP[op](
        Apply(op, tuple(args)),
        tuple(ZERO if i == SIGNATURES[op].exponent else Sym(f"t{i}") for i in range(len(args))),
    )
    leaves = {f"a{i}": _column(b) for i, b in batches.items()}
    leaves |= {f"t{i}": _column(t) for i, t in tangents.items()}
    matrix = np.array([[SYMPY.scalar(v) for v in line] for line in HESSIAN], dtype=object)
    leaves[hessian_name("y")] = Hessian((DEFAULT_AXIS,), matrix)
    value = np.broadcast_to(evaluate(found_tree, Point(SYMPY, N, 1, leaves, {})), (N, 1))
    for k in range(len(out)):
        assert sp.simplify(value[k, 0] - expected[k]) == 0, (op, k)


# Built-in model, wrt, nodes held: the cases the issue names, and a node and a scalar.
SECOND = [
    ("batchnorm", "z", ("mu", "var")),
    ("batchnorm", "z", ()),
    ("layernorm", "x", ("mu", "var")),
    ("layernorm", "x", ()),
    ("batchnorm", "zhat", ()),
    ("batchnorm", "gamma", ()),
    ("rmsnorm", "x", ()),
    ("softmax-cross-entropy", "x", ()),
]


@pytest.mark.parametrize(("name", "wrt", "freeze"), SECOND)
def test_second_order_is_sympys_element_wise_second_derivative(name, wrt, freeze):
    result = check_second_order(_model(name), wrt, freeze, most=4)
    assert result.proved, result.differs_at
    assert max(int(np.prod(list(s.values()))) for s in result.sizes) == 4


def test_small_sizes_are_every_choice_with_at_most_most_elements():
    assert small_sizes(_model("batchnorm")) == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    pairs = {(s["b"], s["d"]) for s in small_sizes(_model("layernorm"))}
    assert pairs == {(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1), (4, 1)}


def test_the_check_finds_a_wrong_rule(monkeypatch):
    # A sqrt whose tangent forgets the 2: the element-wise route shares no rule with it.
    monkeypatch.setitem(JVP, Op.SQRT, lambda e, t: Apply(Op.DIV, (t[0], e)))
    assert not agrees_at(_model("batchnorm"), "z", (), {"n": 2})


def test_the_check_finds_a_missing_curvature_term(monkeypatch):
    monkeypatch.setattr(forward, "_hess", lambda a, b: ZERO)
    assert not agrees_at(_model("batchnorm"), "z", ("mu", "var"), {"n": 2})


def test_frozen_batch_norm_is_gamma_squared_over_var_plus_eps_times_the_form():
    d = with_directions(_model("batchnorm"), "z")
    u, w = (Sym(n) for n in d.names)
    q = second_order(d.model, "z", u, w, ("mu", "var"))
    assert ascii(q) == "hess(gamma*(u/sqrt(var + eps)), gamma*(w/sqrt(var + eps)))"


def test_a_held_node_and_a_leaf_other_than_wrt_have_no_tangent():
    model = _model("batchnorm")
    assert tangent(model, Sym("mu"), "z", Sym("u"), ("mu",)) == ZERO
    assert tangent(model, Sym("gamma"), "z", Sym("u")) == ZERO
    assert tangent(model, Sym("z"), "z", Sym("u")) == Sym("u")
    # With wrt a node, that node moves alone: its inputs are held.
    assert tangent(model, Sym("y"), "zhat", Sym("u")) == Apply(Op.MUL, (Sym("gamma"), Sym("u")))


def test_directions_take_wrts_shape_and_names_no_other_name_has():
    model = _model("layernorm")
    d = with_directions(model, "gamma")
    assert d.names == ("u", "w")
    assert d.model.shape_of["u"] == model.shape_of["gamma"]
    again = with_directions(d.model, "x", 3)
    assert again.names == ("u1", "w1", "v")
    assert model.inputs == _model("layernorm").inputs  # the model itself is unchanged


def test_second_order_evaluates_at_an_exact_point_with_the_hessian_leaf():
    # Q at one exact point equals the element-wise value: hess as a_flat^T H b_flat.
    d = with_directions(_model("batchnorm"), "z")
    u, w = d.names
    q = second_order(d.model, "z", Sym(u), Sym(w), ("mu", "var"))
    rng = np.random.default_rng(3)
    at = exact_point(d.model, dict(d.model.nodes), 3, 1, rng)
    h = np.array([[Fraction(i + j + 1, 1 + (i == j)) for j in range(3)] for i in range(3)])
    at = at.with_leaves(**{hessian_name("y"): Hessian(("n",), h)})
    value = evaluate(q, at).reshape(-1)[0]
    scale = at["gamma"][0, 0] ** 2 / (at["var"][0, 0] + at["eps"][0, 0])
    us, ws = at[u][:, 0], at[w][:, 0]
    expected = scale * sum(us[i] * h[i, j] * ws[j] for i in range(3) for j in range(3))
    assert value == expected


def test_a_gradient_other_than_the_given_one_has_no_tangent_here():
    model = _model("batchnorm")
    assert tangent(model, Sym("g_y"), "z", Sym("u")) == ZERO  # given: held
    with pytest.raises(NoTangent, match="g_zhat"):
        tangent(model, Apply(Op.MUL, (Sym("g_zhat"), Sym("z"))), "z", Sym("u"))


def test_a_direction_is_held_even_when_written_with_wrts_name():
    # Q(z, z) of frozen Batch Norm: D_z y = gamma z / s is linear in the direction, so no
    # g_y term; differentiating the direction z itself would have added sum(g_y gamma z / s).
    model = _model("batchnorm")
    q = second_order(model, "z", Sym("z"), Sym("z"), ("mu", "var"))
    assert ascii(q) == "hess(gamma*(z/sqrt(var + eps)), gamma*(z/sqrt(var + eps)))"
