"""`bnverify derive`: the true gradient, stated in closed form.

For every N the engine's formula is simplified in the general-N algebra; for a given
batch size it is also written out element by element as a rational function of the
inputs, with r standing for the model's square root.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from bnverify.engine import printing as printing
from bnverify.engine.sampling import square_base
from bnverify.engine.symbolic import ROOT, instance
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


def _at_batch_size(model: Model, name: str, n: int, as_latex: bool) -> list[str]:
    truth = truth_of(model)
    inst = instance(model, truth.gradients, n)
    values = np.asarray(inst.point[gradient_name(name)]).reshape(-1)
    restore = {}
    if model.square:
        # The symbolic layer works with r = sqrt(var + eps); state the result in eps.
        base = inst.component(square_base(model, inst.point)).as_expr()
        solved = sp.Symbol(model.square.solve, positive=True)
        restore = {sp.Symbol(ROOT): sp.sqrt(sp.factor(base) + solved)}
    out = [f"at N = {n}:"]
    for i, value in enumerate(values):
        expr = sp.factor(sp.together(value.as_expr().subs(restore)))
        label = f"{gradient_name(name)}[{i + 1}]" if values.size > 1 else gradient_name(name)
        text = printing.concrete_latex(expr, model) if as_latex else printing.ascii(expr)
        out.append(f"  {label} = {text}")
    return out
