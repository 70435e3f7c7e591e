"""What a model file states, proved when the model is loaded for a check, or refused there.

A model states that each node has a value (the forward pass), and in its [[identity]]
tables facts of that forward pass (sum(xhat, d) = 0) that the simplifier uses to print
closed forms. Nothing a model states is trusted: each node is evaluated for every size
of every axis, and each identity's two sides are proved equal there (engine/general.py,
docs/proofs.md). A node that has no value, or that the every-size form cannot reason
about, and an identity that is false or cannot be decided, are located problems.
"""

from __future__ import annotations

from functools import cache

from bnverify.engine.arithmetic import Undefined
from bnverify.engine.general import General, general_point
from bnverify.engine.truth import truth_of
from bnverify.language.tree_printing import ascii
from bnverify.model.graph import Identity, Model
from bnverify.problem import Problem


@cache
def unproved(model: Model) -> tuple[Problem, ...]:
    """Every statement of the model that is not proved for every size, as a located Problem.

    The nodes come first and stop at the first that fails, since every later node and
    identity may use it; each identity is then proved on its own.
    """
    point = general_point(model, truth_of(model).gradients)
    where = dict(model.node_locations)
    for name, expr in model.nodes:
        try:
            point.evaluate(expr)
        except ArithmeticError as why:
            return (Problem(_node_message(model, name, why), location=where.get(name)),)
    found = (_identity_problem(model, point, identity) for identity in model.identities)
    return tuple(problem for problem in found if problem is not None)


def _identity_problem(model: Model, point: General, identity: Identity) -> Problem | None:
    shown = f"{ascii(identity.rewrite)} = {ascii(identity.replacement)}"
    try:
        difference = point.evaluate(identity.rewrite) - point.evaluate(identity.replacement)
    except ArithmeticError as why:
        message = f"[[identity]] {shown} is refused: {_reason(why)}"
        return Problem(message, location=identity.location)
    if difference.is_zero():
        return None
    message = (
        f"[[identity]] {shown} does not hold: its two sides are not equal for every "
        f"{model.size_list}; correct it or remove it (the simplifier uses only what is proved)"
    )
    return Problem(message, location=identity.location)


def _node_message(model: Model, name: str, why: ArithmeticError) -> str:
    if isinstance(why, Undefined):
        return f"node {name} has no value for any input, at any {model.size_list}: {why}"
    return f"node {name}: {_reason(why)}"


def _reason(why: ArithmeticError) -> str:
    if isinstance(why, Undefined):
        return f"it has no value for any input ({why})"
    return f"bnverify cannot reason about it for every size ({why})"
