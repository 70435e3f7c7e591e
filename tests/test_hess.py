"""hess(a, b) = a^T H_y b in every table: its shape, its value at a point (exact and
float64 with a bound), its value for every size (pair atoms), and how it prints."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from bnverify.engine import sampling
from bnverify.engine.algebra import Hess
from bnverify.engine.arithmetic import EXACT, FLOAT
from bnverify.engine.closed_form import value_of
from bnverify.engine.evaluate import Hessian, MissingHessian, Point, evaluate
from bnverify.engine.forward import second_order, with_directions
from bnverify.engine.general import Unsupported, general_point, total_derivative
from bnverify.engine.printing import latex_names
from bnverify.engine.rounding import Bounds
from bnverify.engine.truth import truth_of
from bnverify.judge import proof
from bnverify.language import shapes
from bnverify.language.names import hessian_name, hessian_of
from bnverify.language.operators import Op
from bnverify.language.parser import parse_ascii
from bnverify.language.tree import Apply, Sym
from bnverify.language.tree_printing import ascii, latex
from bnverify.model.graph import load_model

H = hessian_name("y")


def _model(name):
    model = load_model(name)
    assert not isinstance(model, tuple), model
    return model


def _hess(a, b) -> Apply:
    return Apply(Op.HESS, (a, b))


def test_the_hessian_is_named_after_the_output():
    assert H == "H_y" and hessian_of("H_y") == "y" and hessian_of("g_y") is None


def test_hess_is_one_number_whatever_axes_its_arguments_have():
    model = _model("layernorm")
    parsed = parse_ascii("hess(x, gamma)")
    resolved = shapes.reduction_axes(parsed, model.shape_of, model.order)
    assert resolved == _hess(Sym("x"), Sym("gamma")) and resolved.axes == ()
    assert shapes.infer(resolved, model.shape_of) == shapes.SCALAR


def test_hess_prints_as_a_bilinear_form_and_reads_back():
    tree = _hess(Sym("u"), Apply(Op.MUL, (Sym("gamma"), Sym("w"))))
    assert ascii(tree) == "hess(u, gamma*w)"
    assert parse_ascii(ascii(tree)) == tree
    names = latex_names(_model("batchnorm"))
    assert latex(tree, names) == r"u^{\top} H_{y} \left(\gamma w\right)"


def _exact_point(h: np.ndarray, **leaves) -> Point:
    return Point(EXACT, 3, 1, leaves | {H: Hessian(("n",), h)}, {})


H3 = np.array(
    [
        [Fraction(2), Fraction(1), Fraction(0)],
        [Fraction(1), Fraction(-1), Fraction(1, 2)],
        [Fraction(0), Fraction(1, 2), Fraction(3)],
    ],
    dtype=object,
)


def test_hess_at_a_point_is_a_transpose_h_b_and_broadcasts_a_scalar():
    a = np.array([[Fraction(1)], [Fraction(2)], [Fraction(-1)]], dtype=object)
    b = np.array([[Fraction(3)], [Fraction(0)], [Fraction(1)]], dtype=object)
    at = _exact_point(H3, a=a, b=b, c=np.full((1, 1), Fraction(2), dtype=object))
    value = evaluate(_hess(Sym("a"), Sym("b")), at)
    assert value.shape == (1, 1) and value[0, 0] == a[:, 0] @ H3 @ b[:, 0]
    ones = np.full(3, Fraction(2), dtype=object)  # c = 2 is spread over the samples
    assert evaluate(_hess(Sym("c"), Sym("b")), at)[0, 0] == ones @ H3 @ b[:, 0]


def test_hess_needs_the_hessian_leaf():
    at = Point(EXACT, 1, 1, {"a": np.full((1, 1), Fraction(1), dtype=object)}, {})
    with pytest.raises(MissingHessian, match="H_<output>"):
        evaluate(_hess(Sym("a"), Sym("a")), at)


def test_one_hessian_per_channel():
    h = np.stack([np.eye(2), 2 * np.eye(2)])
    a = np.array([[1.0, 1.0], [2.0, 1.0]])
    at = Point(FLOAT, 2, 2, {"a": a, H: Hessian(("n",), h)}, {})
    assert evaluate(_hess(Sym("a"), Sym("a")), at).tolist() == [[5.0, 4.0]]


def test_float64_hess_is_within_its_rounding_bound():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4, 4))
    h = h + h.T
    a, b = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))
    at = Point(FLOAT, 4, 1, {"a": a, "b": b, H: Hessian(("n",), h)}, {})
    bounded = Bounds(at).evaluate(_hess(Sym("a"), Apply(Op.MUL, (Sym("a"), Sym("b")))))
    exact = sum(
        Fraction(a[i, 0]) * Fraction(h[i, j]) * Fraction(a[j, 0]) * Fraction(b[j, 0])
        for i in range(4)
        for j in range(4)
    )
    assert abs(Fraction(bounded.value[0, 0]) - exact) <= Fraction(bounded.error[0, 0])
    assert bounded.error[0, 0] > 0


def _general(name: str, wrt: str, freeze: tuple[str, ...] = ()):
    d = with_directions(_model(name), wrt)
    return d, general_point(d.model, truth_of(d.model, freeze).gradients)


def test_pair_atoms_are_symmetric_and_bilinear():
    d, point = _general("batchnorm", "z")
    u, w = (Sym(n) for n in d.names)
    assert point.evaluate(_hess(u, w)) == point.evaluate(_hess(w, u))
    two_u = Apply(Op.ADD, (u, Apply(Op.MUL, (Sym("gamma"), u))))  # (1 + gamma) u
    left = point.evaluate(_hess(two_u, w))
    assert left == (1 + point["gamma"]) * point.evaluate(_hess(u, w))
    assert len(point.atoms.pairs) == 1


def test_frozen_batch_norm_is_its_scale_times_the_form_for_every_n():
    d, point = _general("batchnorm", "z", ("mu", "var"))
    u, w = (Sym(n) for n in d.names)
    q = point.evaluate(second_order(d.model, "z", u, w, ("mu", "var")))
    scale = point["gamma"] ** 2 / (point["var"] + point["eps"])
    assert q == scale * point.evaluate(_hess(u, w))


def test_the_printed_form_is_q_for_every_n():
    d, point = _general("batchnorm", "z")
    u = Sym(d.names[0])
    q = second_order(d.model, "z", u, u)
    closed = truth_of(d.model).algebra.convert(q)
    assert closed.has(Hess)
    assert value_of(sp.expand(closed), point) == point.evaluate(q)


def test_hess_of_a_quotient_varying_along_the_output_is_unsupported():
    d, point = _general("layernorm", "x", ("mu", "var"))
    u = Sym(d.names[0])
    with pytest.raises(Unsupported, match="quotient"):
        point.evaluate(second_order(d.model, "x", u, u, ("mu", "var")))


def test_no_derivative_through_a_pair_atom():
    _, point = _general("batchnorm", "z")
    value = point.evaluate(_hess(Sym("z"), Sym("z")))
    with pytest.raises(Unsupported, match="hess"):
        total_derivative(point, value, "z")


@pytest.mark.parametrize(
    ("name", "wrt", "sizes", "draw", "m"),
    [
        ("batchnorm", "z", {"n": 3}, sampling.exact_point, 3),  # exact: its root is rational
        ("layernorm", "x", {"b": 2, "d": 3}, sampling.float_point, 6),
    ],
)
def test_a_drawn_hessian_is_symmetric_over_the_outputs_elements(name, wrt, sizes, draw, m):
    d = with_directions(_model(name), wrt)
    rng = np.random.default_rng(1)
    at = sampling.with_hessian(d.model, draw(d.model, dict(d.model.nodes), sizes, 2, rng), rng)
    hessian = at.leaves[H]
    assert hessian.axes == tuple(sizes) and hessian.matrix.shape == (2, m, m)
    assert (hessian.matrix == hessian.matrix.transpose(0, 2, 1)).all()
    u, w = (Sym(n) for n in d.names)
    q = evaluate(second_order(d.model, wrt, u, w), at)
    assert q.shape == (*(1 for _ in sizes), 2)


def test_hess_names_no_axis():
    model = _model("layernorm")
    problem = shapes.reduction_axes(parse_ascii("hess(x, x, d)"), model.shape_of, model.order)
    assert problem.message == "hess is over every axis: it names none"


def test_element_wise_latex_prints_hess_over_plain_names():
    tree = Apply(Op.MUL, (Sym("z"), _hess(Sym("u"), Sym("z"))))
    printed = latex(tree, {}, frozenset({"z", "u"}))
    assert printed == r"z_{i} u^{\top} H z"


def test_a_value_with_a_pair_atom_is_never_taken_as_independent():
    # Monomials may be dependent vectors at some size (all equal at N = 1), so a nonzero
    # value in pair atoms is no proof of a difference: the judge must search instead.
    _, point = _general("batchnorm", "z")
    value = point.evaluate(_hess(Sym("z"), Sym("u")))
    assert not proof._independent(point, value)
    assert {"z", "u"} <= proof._used(point, (value,))
