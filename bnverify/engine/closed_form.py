"""`bnverify derive`: the true gradient, stated in closed form.

For every N the engine's formula is simplified in the general-N algebra; for a given
batch size it is also written out element by element as a rational function of the
inputs, with r standing for the model's square root.
"""

from __future__ import annotations

import functools
import operator
from fractions import Fraction

import numpy as np
import sympy as sp

from bnverify.engine import printing as printing
from bnverify.engine.algebra import BatchSum, Hess
from bnverify.engine.elements import element_point, first_defined
from bnverify.engine.field import Value
from bnverify.engine.general import ROOT, General, general_point, loss, total_derivative
from bnverify.engine.sampling import fixes_square, square_base
from bnverify.engine.truth import truth_of
from bnverify.language.names import gradient_name
from bnverify.model.graph import Model
from bnverify.model.notation import Names, wrt_name
from bnverify.problem import Problem


def derive(
    model: Model, wrt: str, as_latex: bool = False, batch_size: int | None = None
) -> str | Problem:
    """The closed form of g_<wrt> for general N (and for batch_size, when given)."""
    name = wrt_name(wrt, Names(model, {}))
    if name is None:
        names = ", ".join(model.primal_names())
        return Problem(f"{wrt!r} is not a name of the {model.name} model ({names})")
    truth = truth_of(model)
    closed = truth.algebra.gradient(name)
    if as_latex:
        lines = [
            f"{printing.latex_names(model).get(gradient_name(name), gradient_name(name))}"
            f" = {printing.latex(closed, model, truth.algebra)}"
        ]
    else:
        lines = [f"{gradient_name(name)} = {printing.ascii(closed)}"]
    if batch_size is not None:
        lines += ["", *_at_batch_size(model, name, batch_size, as_latex)]
    return "\n".join(lines)


def proof_statement(model: Model, wrt: str, most: int = 8) -> str:
    """What is proved of the closed form derive prints: equal to the engine's gradient,
    and that to the derivative of L, for every N at which it is defined."""
    name = wrt_name(wrt, Names(model, {}))
    assert name is not None, "derive refuses an unknown name first"
    if name == model.output:
        return f"given: L = sum({model.upstream}*{model.output}) defines it"
    truth = truth_of(model)
    gradient = gradient_name(name)
    # The closed form uses the model's identities (sum(zhat) = 0), true at the model's own
    # values; a node's gradient is the derivative of L with the node an input of its own.
    point = general_point(model, truth.gradients)
    free = point if name in dict(model.inputs) else general_point(model, truth.gradients, name)
    eliminated = fixes_square(model) and model.square is not None and name == model.square.solve
    try:
        stated = value_of(truth.algebra.gradient(name), point)
        same = stated == point[gradient]
        derivative = eliminated or total_derivative(free, loss(free), name) == free[gradient]
    except (ArithmeticError, ValueError) as err:
        return f"not proved for every {model.size_list}: {err}"
    if not (same and derivative):
        return f"not proved: the closed form differs from the engine's {gradient}; a bug"
    start = first_defined(model, truth.gradients, truth.formula(name), most)
    what = f"the engine's {gradient}" if eliminated else "the derivative of L"
    every = ", ".join(f"{model.sizes[axis]} ≥ {n}" for axis, n in start.items())
    return f"proved equal to {what} for every {every}"


def value_of(expr: sp.Expr, point: General) -> Value:
    """A closed form (SymPy, with BatchSum) as a value of the every-N field."""
    field = point.field
    if isinstance(expr, BatchSum):
        axes = tuple(str(axis) for axis in expr.args[1:])
        return point.total(value_of(expr.args[0], point), axes)
    if isinstance(expr, Hess):
        return point.hess(value_of(expr.args[0], point), value_of(expr.args[1], point))
    if isinstance(expr, sp.Symbol):
        return point[expr.name]
    if isinstance(expr, sp.Rational):
        return field.constant(Fraction(int(expr.p), int(expr.q)))
    if isinstance(expr, sp.Add):
        return functools.reduce(operator.add, (value_of(a, point) for a in expr.args))
    if isinstance(expr, sp.Mul):
        return functools.reduce(operator.mul, (value_of(a, point) for a in expr.args))
    if isinstance(expr, sp.exp):
        return point.function("exp", value_of(expr.args[0], point))
    if isinstance(expr, sp.log):
        return point.function("log", value_of(expr.args[0], point))
    if expr == sp.E:
        return point.function("exp", field.constant(1))
    if isinstance(expr, sp.Pow) and isinstance(expr.exp, sp.Rational) and expr.exp.q in (1, 2):
        base = value_of(expr.base, point)
        root = field.sqrt(base) if expr.exp.q == 2 else base
        return root ** int(expr.exp.p)
    raise ValueError(f"cannot state {expr} for every N")


def _at_batch_size(model: Model, name: str, n: int, as_latex: bool) -> list[str]:
    truth = truth_of(model)
    point = element_point(model, truth.gradients, n)
    values = np.asarray(point[gradient_name(name)]).reshape(-1)
    restore = {}
    if model.square:
        # The field works with r = sqrt(var + eps); state the result in eps.
        base = np.asarray(square_base(model, point)).reshape(-1)[0].as_expr()
        solved = sp.Symbol(model.square.solve, positive=True)
        restore = {sp.Symbol(ROOT): sp.sqrt(sp.factor(base) + solved)}
    out = [f"at {model.at_sizes(n)}:"]
    for i, value in enumerate(values):
        expr = sp.factor(sp.together(value.as_expr().subs(restore)))
        label = f"{gradient_name(name)}[{i + 1}]" if values.size > 1 else gradient_name(name)
        text = printing.concrete_latex(expr, model) if as_latex else printing.ascii(expr)
        out.append(f"  {label} = {text}")
    return out
