"""`bnverify derive --order 2`: the loss's second derivative along a direction, stated.

The quadratic form u^T (grad^2_x L) u is forward.second_order(u, u), simplified for
every size in the general-N algebra, where hess(a, b) is expanded by bilinearity into
hess of the parts that vary (the constants pulled out). It is exact for a downstream
loss known to second order: gradient g_y and Hessian H_y at the output y.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from bnverify.engine import printing
from bnverify.engine.algebra import Algebra, simplify
from bnverify.engine.closed_form import value_of
from bnverify.engine.forward import Directions, second_order, with_directions
from bnverify.engine.general import general_point
from bnverify.engine.second_check import (
    SecondCheck,
    check_second_order,
    small_sizes,
    stated_agrees_at,
)
from bnverify.engine.truth import truth_of
from bnverify.language.names import hessian_name, latex_name
from bnverify.language.parser import parse_ascii
from bnverify.language.tree import Expr, Sym
from bnverify.model.graph import Model
from bnverify.model.notation import Names, resolve, wrt_name
from bnverify.problem import Problem


@dataclass(frozen=True)
class SecondRequest:
    """What derive --order 2 states: the form along one direction of `wrt`."""

    model: Model
    wrt: str
    freeze: tuple[str, ...]
    directions: Directions

    @property
    def direction(self) -> str:
        """The name of the direction, u (or u1 when the model has a u)."""
        return self.directions.names[0]

    @cached_property
    def form(self) -> Expr:
        """Q(u, u) in the vector language."""
        u = Sym(self.direction)
        return second_order(self.directions.model, self.wrt, u, u, self.freeze)

    @cached_property
    def algebra(self) -> Algebra:
        """The general-N algebra of the model with its direction."""
        return Algebra(truth_of(self.directions.model, self.freeze).gradients)

    @cached_property
    def closed(self) -> sp.Expr:
        """Q(u, u) simplified for every size, hess expanded by bilinearity, its
        denominator factored ((var + eps)^2, not var^2 + 2 var eps + eps^2)."""
        num, den = sp.fraction(simplify(self.algebra.convert(self.form)))
        return num / sp.factor(den)


def second_request(model: Model, wrt: str, freeze: tuple[str, ...]) -> SecondRequest | Problem:
    """The request, or the problem with a name in it."""
    name = wrt_name(wrt, Names(model, {}))
    if name is None:
        names = ", ".join(model.primal_names())
        return Problem(f"{wrt!r} is not a name of the {model.name} model ({names})")
    nodes = [node for node, _ in model.nodes]
    for node in freeze:
        if node == name:
            return Problem(f"--freeze {node!r}: that is the name differentiated (--wrt)")
        if node not in nodes:
            listed = ", ".join(nodes)
            return Problem(f"--freeze {node!r}: not a node of the {model.name} model ({listed})")
    return SecondRequest(model, name, tuple(freeze), with_directions(model, name, 1))


def derive_second(request: SecondRequest, as_latex: bool = False) -> str:
    """u^T (grad^2_wrt L) u = its closed form, in ASCII or LaTeX."""
    extended, algebra, closed = request.directions.model, request.algebra, request.closed
    u, wrt = request.direction, request.wrt
    if as_latex:
        names = printing.latex_names(extended)
        spelled_u = names.get(u) or latex_name(u)
        spelled_wrt = names.get(wrt) or latex_name(wrt)
        left = rf"{spelled_u}^\top \left(\nabla^2_{{{spelled_wrt}}} L\right) {spelled_u}"
        return f"{left} = {printing.latex(closed, extended, algebra)}"
    return f"{u}^T (∇²_{wrt} L) {u} = {printing.ascii(closed)}"


def second_statement(request: SecondRequest, check: SecondCheck | None) -> str:
    """What the form means, and what was checked of it (only what was run)."""
    model = request.model
    held = f", {', '.join(request.freeze)} held constant" if request.freeze else ""
    where = (
        f"where {request.direction} is any direction of {request.wrt}{held}; exact for a "
        f"downstream loss L(y + d) = L + sum({model.upstream}*d) + d^T H d / 2 whose Hessian "
        f"is H = {hessian_name(model.output)} (hess(a, b) = a^T {hessian_name(model.output)} b)"
    )
    where += f"\n{printed_statement(request)}"
    if check is None:
        return where
    sizes = _listed(model, list(check.sizes))
    if check.proved:
        return f"{where}\nthe engine's Q is proved equal to SymPy's element-wise one at {sizes}"
    differs = model.at_sizes(tuple(check.differs_at.items())) if check.differs_at else ""
    return f"{where}\nnot proved: differs from SymPy's element-wise one at {differs}; a bug"


def printed_statement(request: SecondRequest, most: int = 4) -> str:
    """Whether the printed form is the engine's Q(u, u): proved for every size where the
    general form reaches, else read back from its ASCII and proved at each small size."""
    extended = request.directions.model
    every = f"for every {extended.size_list}"
    try:
        point = general_point(extended, truth_of(extended, request.freeze).gradients)
        same = value_of(request.closed, point) == point.evaluate(request.form)
    except (ArithmeticError, ValueError) as err:
        return f"the printed form is not proved {every} ({err}); {_at_small(request, most)}"
    if not same:
        return "not proved: the printed form differs from the engine's Q; a bug"
    return f"the printed form is proved equal to the engine's Q {every}"


def _at_small(request: SecondRequest, most: int) -> str:
    """The printed ASCII, read back, against Q at every small size."""
    model, wrt, freeze = request.model, request.wrt, request.freeze
    read = parse_ascii(printing.ascii(request.closed))
    names = Names(with_directions(model, wrt).model, {})
    resolved = read if isinstance(read, Problem) else resolve(read, names, wrt)
    if isinstance(resolved, Problem):
        return f"its ASCII does not read back ({resolved.message}); a bug"
    sizes, passed, skipped = small_sizes(model, most), [], []
    for at in sizes:
        where = model.at_sizes(tuple(at.items()))
        try:
            same = stated_agrees_at(model, wrt, freeze, at, resolved.expr)
        except ArithmeticError as err:  # TooLarge: the exact field's bounds on work
            skipped.append(f"{where} ({err})")
            continue
        if not same:
            return f"it differs from Q at {where}; a bug"
        passed.append(where)
    if skipped:
        done = "; ".join(passed) or "no size"
        return f"read back, it is proved equal to Q at {done}; not compared at {'; '.join(skipped)}"
    return f"read back, it is proved equal to Q at {_listed(model, sizes)}"


def check(request: SecondRequest, most: int = 4) -> SecondCheck:
    """The element-level check of Q(u, w) for this request, at sizes up to `most`."""
    return check_second_order(request.model, request.wrt, request.freeze, most)


def _listed(model: Model, sizes: list[dict[str, int]]) -> str:
    if len(model.order) == 1:
        counts = [s[model.order[0]] for s in sizes]
        return f"{model.size_list} = {', '.join(map(str, counts))}"
    most = max(math.prod(s.values()) for s in sizes)
    return f"every {model.size_list} with at most {most} elements"
