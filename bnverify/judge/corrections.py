"""What a failing equation should have said, in the claim's own form where it can.

Two forms are tried. When a side is a gradient (nabla_z L = ...), the truth is that
gradient's closed form, as `derive` prints it: in training mode, Batch Norm's projection.
When the right side is a sum of terms and making one term's coefficient right makes the
equation an identity, that coefficient is the correction: the Taylor term's
alpha^2/(2 sigma^4), not alpha^2/(2 sigma^3). The needed factor is a value of the
every-size field; it is said only when it is a number of the claim's scalars alone
(no sum over the batch, no Hessian), so that it is a coefficient, and the corrected
coefficient is the written one times it, simplified by SymPy.
"""

from __future__ import annotations

from collections.abc import Iterator

import sympy as sp

from bnverify.engine import printing
from bnverify.engine.field import Value
from bnverify.engine.general import ROOT, General
from bnverify.engine.truth import Truth
from bnverify.judge.claim_sides import Sides
from bnverify.judge.records import Correction
from bnverify.language import tree_printing
from bnverify.language.names import gradient_of
from bnverify.language.operators import Op
from bnverify.language.tree import Apply, Expr, Num, Sym, factors
from bnverify.model.notation import resolve_expression

# The author's operators SymPy reads a written coefficient with (numbers and names only).
_SYMPY = {
    Op.ADD: lambda a, b: a + b,
    Op.SUB: lambda a, b: a - b,
    Op.MUL: lambda a, b: a * b,
    Op.DIV: lambda a, b: a / b,
    Op.POW: lambda a, b: a**b,
    Op.NEG: lambda a: -a,
    Op.SQRT: sp.sqrt,
}


def correction(sides: Sides, truth: Truth, point: General, text: str) -> Correction | None:
    """The true form of a failing equation's side, else None; `text` is the claim's."""
    if sides.relation != "=":
        return None
    return _gradient_truth(sides, truth) or _coefficient(sides, point, text)


def _gradient_truth(sides: Sides, truth: Truth) -> Correction | None:
    for side in (sides.lhs, sides.rhs):
        name = gradient_of(side.name) if isinstance(side, Sym) else None
        if name is None or name == sides.model.output:
            continue
        closed = truth.algebra.gradient(name)
        spelled = printing.latex_names(sides.model).get(side.name, side.name)
        return Correction(
            f"the truth, {side.name}, is",
            f"{side.name} = {printing.ascii(closed)}",
            f"{spelled} = {printing.latex(closed, sides.model, truth.algebra)}",
        )
    return None


def _coefficient(sides: Sides, point: General, text: str) -> Correction | None:
    """The one term of the right side whose coefficient, made right, makes an identity."""
    if sides.names is None:
        return None
    lhs_value = point.evaluate(sides.lhs)
    terms = list(_terms(sides.written[1]))
    values = []
    for sign, term in terms:
        resolved = resolve_expression(term, sides.names)
        if not isinstance(resolved, tuple):
            return None
        values.append(point.evaluate(resolved[0]) * sign)
    total = sum(values[1:], values[0]) if values else None
    if total is None:
        return None
    for (_, term), value in zip(terms, values, strict=True):
        if value.is_zero():
            continue
        factor = (lhs_value - total + value) / value
        if factor == 1 or not _scalar(point, factor, sides):
            continue
        found = _corrected(term, factor, sides, text)
        if found is not None:
            return found
    return None


def _terms(expr: Expr, sign: int = 1) -> Iterator[tuple[int, Expr]]:
    """A sum's terms with their signs, left to right."""
    match expr:
        case Apply(op=Op.ADD, args=(a, b)):
            yield from _terms(a, sign)
            yield from _terms(b, sign)
        case Apply(op=Op.SUB, args=(a, b)):
            yield from _terms(a, sign)
            yield from _terms(b, -sign)
        case _:
            yield sign, expr


def _scalar(point: General, value: Value, sides: Sides) -> bool:
    """Whether a value is a number of the claim's scalars (and sizes) alone."""
    allowed = {ROOT, *sides.model.size_names, *sides.free}
    allowed |= {name for name, shape in sides.model.inputs if not shape}
    allowed |= {name for name, _ in sides.model.constants}
    field = point.field
    return (field.uses(field.lift(value.num)) | field.uses(field.lift(value.den))) <= allowed


def _corrected(term: Expr, factor: Value, sides: Sides, text: str) -> Correction | None:
    """The term's written coefficient times the factor, as the claim writes its names."""
    coefficient = _coefficient_factors(term)
    written = _sympy(coefficient) if coefficient else sp.Integer(1)
    if written is None:
        return None
    root = root_name(sides)
    needed = factor.as_expr().subs({sp.Symbol(ROOT): sp.Symbol(root)})
    right = sp.factor(sp.simplify(written * needed))
    written_term = " ".join(text[term.span.start : term.span.end].split())
    said = f"in the term {written_term}, the coefficient"
    right_text, written_text = _ascii(right), _ascii(written)
    return Correction(
        f"{said} is {right_text}, not {written_text}",
        f"{right_text}, not {written_text}",
        f"{sp.latex(right)}, \\text{{ not }} {sp.latex(written)}",
    )


def _ascii(expr: sp.Expr) -> str:
    # 1/sigma^2 as a reader writes it, not sigma^(-2).
    if isinstance(expr, sp.Pow) and expr.exp.is_negative:
        return printing.ascii(sp.Mul(sp.Integer(1), expr, evaluate=False))
    return printing.ascii(expr)


def _coefficient_factors(term: Expr) -> list[Expr]:
    """A product's factors of numbers and names alone: its coefficient."""
    return [f for f in factors(term) if _sympy(f) is not None]


def _sympy(expr: Expr | list[Expr]) -> sp.Expr | None:
    """A written coefficient in SymPy: numbers, plain names and arithmetic; else None."""
    if isinstance(expr, list):
        parts = [_sympy(e) for e in expr]
        return None if None in parts else sp.Mul(*parts)
    match expr:
        case Num(value=value):
            return sp.Rational(value.numerator, value.denominator)
        case Sym(name=name, index=None) if "#" not in name and gradient_of(name) is None:
            return sp.Symbol(name)
        case Apply(op=op, args=args) if op in _SYMPY:
            parts = [_sympy(a) for a in args]
            return None if None in parts else _SYMPY[op](*parts)
    return None


def root_name(sides: Sides) -> str:
    """How the claim spells sqrt(var + eps): its own name for it (sigma), else that."""
    model, names = sides.model, sides.names
    square = model.square
    if square is None or names is None:
        return ROOT
    for key, value in names.user.items():
        if isinstance(value, Apply) and value.op == Op.SQRT and value.args[0] == square.expr:
            return key
    return f"sqrt({tree_printing.ascii(square.expr)})"
