"""The truth: a model's gradients as the engine derives them.

The engine's formulas (backprop) are the truth every candidate is compared with. They
are not taken on trust: every check proves each gradient it relies on equal to the
derivative of L for every N, by the chain rule through the sums (engine/general.py,
judge/evidence.truth_layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from bnverify.engine.algebra import Algebra
from bnverify.engine.backprop import Gradients, backprop
from bnverify.language.names import gradient_name
from bnverify.language.shapes import Shape
from bnverify.language.tree import Expr, Sym
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
        if name == self.model.output:  # given, not derived: L = sum(g_out * out)
            return Sym(self.model.upstream)
        return self.definitions[gradient_name(name)]

    def frozen(self, nodes: tuple[str, ...]) -> Truth:
        """The truth when `nodes` pass no gradient to their inputs (held constant)."""
        return truth_of(self.model, tuple(nodes))


@cache
def truth_of(model: Model, freeze: tuple[str, ...] = ()) -> Truth:
    """The (cached) truth of a model."""
    return Truth(model, backprop(model, freeze))
