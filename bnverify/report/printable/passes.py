"""The model's forward pass and the engine's backward pass, as a report shows them.

Nothing here knows Batch Norm: the forward pass is the model file's nodes, and the
backward pass is what bnverify.engine.backprop built, node by node in reverse order, each with
the chain-rule sum over its consumers, that sum simplified (the other gradients kept as
names), and the closed form in the model's inputs for every N.
"""

from __future__ import annotations

from collections.abc import Callable

from bnverify.engine import printing as printing
from bnverify.engine.truth import Truth
from bnverify.language import tree_printing
from bnverify.language.names import gradient_name, latex_name, with_index
from bnverify.language.shapes import BATCH
from bnverify.language.tree import Expr
from bnverify.model.graph import Model
from bnverify.report.printable.records import BackwardStep, ChainTerm, ForwardStep


def forward(model: Model) -> tuple[ForwardStep, ...]:
    """The forward pass, one equation per node, in the model's notation."""
    return tuple(
        ForwardStep(
            _element(model, name),
            printed(lambda expr=expr: _latex(model, expr)),
            f"{name} = {printed(lambda expr=expr: tree_printing.ascii(expr), plain=True)}",
        )
        for name, expr in model.nodes
    )


def backward_order(model: Model) -> tuple[str, ...]:
    """The output, the other nodes in reverse order, then the inputs (constants are fixed)."""
    nodes = tuple(name for name, _ in reversed(model.nodes) if name != model.output)
    return (model.output, *nodes, *(name for name, _ in model.inputs))


def backward(truth: Truth) -> tuple[BackwardStep, ...]:
    """The true backward pass as the engine derived it, in reverse order of the forward."""
    model, algebra = truth.model, truth.algebra
    terms = dict(truth.gradients.terms)
    steps = []
    for name in backward_order(model):
        symbol = _spelled(model, gradient_name(name))
        if name == model.output:  # the upstream gradient is given, not derived
            steps.append(BackwardStep(model.upstream, symbol, (), None, None, _left(model, name)))
            continue
        chain = tuple(
            ChainTerm(_spelled(model, t.consumer), printed(lambda t=t: _latex(model, t.expr)))
            for t in terms[name]
        )
        simplified = printed(
            lambda name=name: printing.latex(algebra.stated(truth.formula(name)), model, algebra)
        )
        closed = printed(lambda name=name: printing.latex(algebra.gradient(name), model, algebra))
        steps.append(
            BackwardStep(
                gradient_name(name),
                symbol,
                chain,
                # Each line is shown only when it says something the line before did not.
                None if len(chain) == 1 and chain[0].latex == simplified else simplified,
                None if closed == simplified else closed,
                _left(model, name),
            )
        )
    return tuple(steps)


# What a report shows in place of a formula it cannot print, in every output format.
NOT_PRINTED = r"\text{(not printed: %s)}"


def printed(latex: Callable[[], str], plain: bool = False) -> str:
    """latex(), or a note in its place when the formula is too deep to print.

    The tree printers and SymPy recurse once per level: a tower of powers within raised
    limits, or a model whose 1,000 nodes form one chain, exhausts Python's stack. The
    report then says so where the formula would be, and prints everything else.
    """
    try:
        return latex()
    except RecursionError:
        why = "nested too deeply for the report's printer"
        return f"({why})" if plain else NOT_PRINTED % why


def _left(model: Model, name: str) -> str:
    return _element(model, gradient_name(name))


def _element(model: Model, name: str) -> str:
    # The left side of an element-wise equation: \hat{z}_{i} = ..., g_{z,i} = ...
    spelled = _spelled(model, name)
    return with_index(spelled, "i") if model.shape_of[name] == BATCH else spelled


def _spelled(model: Model, name: str) -> str:
    return printing.latex_names(model).get(name) or latex_name(name)


def _latex(model: Model, expr: Expr) -> str:
    batch = frozenset(name for name, shape in model.shape_of.items() if shape == BATCH)
    return tree_printing.latex(expr, printing.latex_names(model), batch, model.sizes)
