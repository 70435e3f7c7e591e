"""The truth: a model's gradients as the engine derives them, with SymPy's proof.

The engine's formulas (backprop) are the truth every candidate is compared with. They
are not taken on trust: for each batch size up to the symbolic limit, SymPy
differentiates the fully substituted loss directly and the two must agree. That proof
runs in every check, for every gradient a candidate is compared with.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from bnverify.engine.algebra import Algebra
from bnverify.engine.backprop import Gradients, backprop
from bnverify.engine.symbolic import Comparison, prove_gradient
from bnverify.language.names import gradient_name
from bnverify.language.shapes import Shape
from bnverify.language.tree import Expr
from bnverify.model.graph import Model


@dataclass(frozen=True)
class Truth:
    """A model with its derived gradients (optionally with some nodes frozen)."""

    model: Model
    gradients: Gradients

    @cached_property
    def definitions(self) -> dict[str, Expr]:
        """Every derivable name -> its formula: the nodes, then the gradients."""
        return dict(self.model.nodes) | self.gradients.formulas

    @cached_property
    def algebra(self) -> Algebra:
        """General-N closed forms of these gradients."""
        return Algebra(self.gradients)

    def shape(self, name: str) -> Shape:
        """The shape of g_<name> (that of <name>)."""
        return self.model.shape_of[name]

    def formula(self, name: str) -> Expr:
        """The engine's formula for g_<name>."""
        return self.definitions[gradient_name(name)]

    def proof(self, name: str, max_batch: int) -> tuple[Comparison, ...]:
        """SymPy's check of g_<name> against direct differentiation, N = 1..max_batch."""
        return tuple(_prove(self.model, self.gradients, n, name) for n in range(1, max_batch + 1))

    def frozen(self, nodes: tuple[str, ...]) -> Truth:
        """The truth when `nodes` pass no gradient to their inputs (held constant)."""
        return truth_of(self.model, tuple(nodes))


@cache
def truth_of(model: Model, freeze: tuple[str, ...] = ()) -> Truth:
    """The (cached) truth of a model."""
    return Truth(model, backprop(model, freeze))


@cache
def _prove(model: Model, gradients: Gradients, n: int, name: str) -> Comparison:
    return prove_gradient(model, gradients, n, name)
