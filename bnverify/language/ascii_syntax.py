"""The transformer rules only the ASCII syntax (grammar/ascii.lark) has: names, calls, powers.

It extends the shared rules of bnverify.language.transform, and knows the functions a
formula may call by name.
"""

from __future__ import annotations

from lark import Token, v_args

from bnverify.language.operators import SIGNATURES, Op, signature
from bnverify.language.transform import SharedRules, span_of
from bnverify.language.tree import Apply, Expr, Sym
from bnverify.problem import Rejected

# Function name -> number of arguments: the operators the ASCII syntax writes name(args).
ASCII_FUNCTIONS = {op: sig.arity for op, sig in SIGNATURES.items() if sig.called}


@v_args(inline=True)
class AsciiTree(SharedRules):
    """The ASCII rules: names, calls, ^ and ** powers, ^T."""

    def name(self, token: Token) -> Sym:
        return Sym(str(token), span=span_of(token, token))

    def pow(self, base: Expr, _op: Token, exponent: Expr) -> Apply:
        return Apply(Op.POW, (base, exponent), span_of(base, exponent))

    def transpose(self, base: Expr, _op: Token, mark: Token) -> Apply:
        return Apply(Op.TRANSPOSE, (base,), span_of(base, mark))

    def call(self, name: Token, _open: Token, *rest: Token | Expr) -> Apply:
        args = tuple(arg for arg in rest[:-1] if not isinstance(arg, Token))
        arity = ASCII_FUNCTIONS.get(str(name))
        if arity is None:
            accepted = ", ".join(ASCII_FUNCTIONS)
            message = f"unknown function {name}; accepted: {accepted} (did you mean {name}*(...)?)"
            raise Rejected(message, span_of(name, name))
        axes: tuple[str, ...] = ()
        if signature(str(name)).reduces and len(args) > arity:
            # sum(e, d), mean(e, n, s): the names after the arguments are the axes removed.
            args, axes = args[:arity], _axis_names(args[arity:])
        if len(args) != arity:
            message = f"{name} takes {arity} argument{'s' * (arity != 1)}, found {len(args)}"
            raise Rejected(message, span_of(name, rest[-1]))
        return Apply(str(name), args, span_of(name, rest[-1]), axes)


def _axis_names(written: tuple[Expr, ...]) -> tuple[str, ...]:
    for arg in written:
        if not isinstance(arg, Sym) or arg.index is not None:
            message = "after a reduction's argument come the names of the axes it sums over"
            raise Rejected(f"{message}, as in sum(x, d)", arg.span)
    return tuple(arg.name for arg in written)  # type: ignore[union-attr]
