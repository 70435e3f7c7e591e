"""The operators of the vector language, each declared once with its arity and whether it reduces.

Every per-operator table of bnverify is keyed by `Op`, and `row` fetches a rule from one,
failing by naming the table and the operator it lacks (as autograd's "VJP of f not defined").

Adding an operator such as tanh means one member of `Op` and its `Signature` here,
then one row in each table that follows; tests/test_operators.py names any it misses:
- bnverify.language.shapes.RULES: the shape of its result;
- bnverify.language.limits.DEGREES: how it raises the degree of a formula;
- bnverify.language.tree_printing.LATEX and ASCII: how it prints;
- bnverify.engine.backprop.VJP: what flows back into each argument;
- bnverify.engine.forward.JVP: its tangent from its arguments' tangents;
- bnverify.engine.evaluate.OPERATIONS: its value in every number system;
- bnverify.engine.algebra.CLOSED_FORMS: its SymPy form, valid for every batch size;
- bnverify.engine.general.GENERAL: its value for every batch size, in a proof;
- bnverify.engine.rounding.ROUNDING: a bound on its float64 rounding error;
- bnverify.engine.signs.SIGNS: its sign by construction;
- bnverify.judge.oracle_torch.TORCH: the same operation in PyTorch;
- tests/test_operators.py SYMPY: its meaning in SymPy, against which VJP and value are tested.
The ASCII syntax reads it as a function, exp(x), once its signature says `called=True`;
the LaTeX syntax reads a command by a rule of grammar/latex.lark and the transformer
method of that rule in latex_syntax.py, as `"\\sqrt" arg -> sqrt` and `LatexTree.sqrt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from bnverify.language.names import ONES


class Op(StrEnum):
    """An operator; a member equals its spelling, so Op.SQRT == "sqrt"."""

    ADD = "add"
    SUB = "sub"
    MUL = "mul"
    DIV = "div"
    POW = "pow"
    NEG = "neg"
    SQRT = "sqrt"
    EXP = "exp"
    LOG = "log"  # the natural logarithm
    SUM = "sum"
    MEAN = "mean"
    DOT = "dot"
    ONES = ONES
    TRANSPOSE = "transpose"
    # a^T H_y b: the downstream loss's Hessian H_y, a free symmetric matrix over pairs of
    # elements of the model's output, between two values of the output's shape.
    HESS = "hess"


@dataclass(frozen=True)
class Signature:
    """What every table may rely on about an operator."""

    arity: int
    reduces: bool = False  # sums over the batch: one number per channel, whatever it gets
    called: bool = False  # written name(args) in the ASCII syntax
    exponent: int | None = None  # the argument that must be a constant number, never a value
    syntax_only: bool = False  # only between parsing and resolution, which replaces it
    every_axis: bool = False  # a reduction over every axis of the model, never some


SIGNATURES: dict[Op, Signature] = {
    Op.ADD: Signature(2),
    Op.SUB: Signature(2),
    Op.MUL: Signature(2),
    Op.DIV: Signature(2),
    Op.POW: Signature(2, exponent=1),
    Op.NEG: Signature(1),
    Op.SQRT: Signature(1, called=True),
    Op.EXP: Signature(1, called=True),
    Op.LOG: Signature(1, called=True),
    Op.SUM: Signature(1, reduces=True, called=True),
    Op.MEAN: Signature(1, reduces=True, called=True),
    Op.DOT: Signature(2, reduces=True, called=True),
    Op.ONES: Signature(0),
    # Resolution turns `a^T b` into dot(a, b), or reports a transpose with nothing to multiply.
    Op.TRANSPOSE: Signature(1, syntax_only=True),
    Op.HESS: Signature(2, reduces=True, called=True, every_axis=True),
}


class MissingRow(NotImplementedError):
    """A table of operator rules has no row for an operator: a bug in bnverify, not in input."""


Row = TypeVar("Row")


def row(table: Mapping[Op, Row], op: str, what: str) -> Row:
    """The row of `table` (called `what` in the message) for an operator."""
    try:
        return table[op]  # type: ignore[index]  # an Op equals and hashes as its spelling
    except KeyError:
        raise MissingRow(f"{what} has no row for operator {str(op)!r}") from None


def signature(op: str) -> Signature:
    """The declaration of an operator."""
    return row(SIGNATURES, op, "operators.SIGNATURES")
