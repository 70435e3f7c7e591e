"""The transformer rules only the LaTeX syntax (grammar/latex.lark) has, and how it reads names.

It extends the shared rules of bnverify.language.transform with commands, sub- and
superscripts, fractions, sums and derivatives of the loss, and says which name an atom
such as \\hat{x}_i or \\sigma_B^2 stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

from lark import Lark, Token, v_args

from bnverify.language import syntax_errors
from bnverify.language.names import gradient_name, hat_name, hessian_name, statistic_name
from bnverify.language.operators import Op, signature
from bnverify.language.shapes import ITS_AXES
from bnverify.language.transform import SharedRules, span_of
from bnverify.language.tree import Apply, Expr, IndexedSum, Num, Sym, constant_value
from bnverify.problem import Rejected, Span
from bnverify.settings import Limits

# The loss, by the name the parser gives it; \mathcal{L} is L since fonts are transparent.
LOSS_NAMES = frozenset({"L", "ell"})
# A LaTeX subscript that is one of these letters indexes elements; any other stays part
# of the name (\mu_B, x_{ij}), and resolution reads its lowercase letters as indices
# where the model has no such name (bnverify.model.indices).
INDEX_LETTERS = frozenset("ijk")
# \mathbf{1} is the vector of ones, not the number one in bold.
ONES_FONTS = frozenset({"\\mathbf", "\\mathbb"})
# The commands of grammar/latex.lark's `function` rule: \ln is the natural log, as \log.
FUNCTIONS = {"\\exp": Op.EXP, "\\log": Op.LOG, "\\ln": Op.LOG}


@dataclass(frozen=True)
class _Script:
    """A sub- or superscript before it meets its base; value None means transpose."""

    mark: str
    value: Expr | None
    span: Span
    digits: str = ""  # an unbraced number of several digits: x^23
    element: str | None = None  # the j of g_{y,j}, the ds of x_{n,d,s}: letters after commas


@dataclass(frozen=True)
class _SumFrom:
    """The `_{i=1}` under a \\sum: index letter and lower bound."""

    index: str
    lower: Expr
    span: Span


_Piece = Token | Expr | _Script | _SumFrom


def atom_key(expr: Expr) -> tuple[str, str | None] | None:
    """The name and index of an atom (x_i, \\hat{x}, \\sigma_B^2 -> "sigma_B^2"), else None."""
    match expr:
        case Sym(name=name, index=index):
            return name, index
        case Apply(op=Op.POW, args=(Sym(name=name, index=index), Num(value=power))) if (
            power.denominator == 1
        ):
            return f"{name}^{power.numerator}", index
    return None


def _subscript_key(expr: Expr) -> tuple[str, str | None] | None:
    """A subscript read as part of a name: an atom, a whole number, or letters (x_{in})."""
    factors = []
    while isinstance(expr, Apply) and expr.op == Op.MUL:  # a loop: x_{abc...} may be long
        expr, right = expr.args
        factors.append(right)
    factors.append(expr)
    keys = [atom_key(f) or _whole_number(f) for f in reversed(factors)]
    if None in keys or (len(keys) > 1 and any(index for _, index in keys)):
        return None
    return keys[0] if len(keys) == 1 else ("".join(name for name, _ in keys), None)


def _whole_number(expr: Expr) -> tuple[str, None] | None:
    match expr:
        case Num(value=value) if value.denominator == 1:
            return str(value.numerator), None
    return None


def _gradient(loss: Expr, wrt: Expr, span: Span) -> Sym:
    """dL/d(atom) as the name g_<atom>, keeping the atom's element index."""
    if not (isinstance(loss, Sym) and loss.index is None and loss.name in LOSS_NAMES):
        spellings = " or ".join(n if len(n) == 1 else "\\" + n for n in sorted(LOSS_NAMES))
        message = f"only derivatives of the loss L are supported (the loss is written {spellings})"
        raise Rejected(message, loss.span)
    key = atom_key(wrt)
    if key is None:
        message = "differentiate with respect to a name, such as x, \\hat{x}_i or \\sigma_B^2"
        raise Rejected(message, wrt.span)
    return Sym(gradient_name(key[0]), key[1], span)


def _hessian(loss: Expr, wrt: Expr, power: _Script, span: Span) -> Sym:
    """d^2L/d(atom)^2 as the name H_<atom>: only the second power of a derivative."""
    if power.value is None or constant_value(power.value) != 2:
        raise Rejected("only second derivatives are supported: write \\nabla^2_x L", power.span)
    return replace(_gradient(loss, wrt, span), name=hessian_name(atom_key(wrt)[0]))  # type: ignore[index]


def _squared_atom(expr: Expr) -> Expr:
    """The x of `x^2` in the denominator of a second derivative, \\partial z^2."""
    match expr:
        case Apply(op=Op.POW, args=(base, exponent)) if constant_value(exponent) == 2:
            return base
    raise Rejected("write a second derivative as \\frac{\\partial^2 L}{\\partial x^2}", expr.span)


def _two_norm(mark: Token | None) -> None:
    if mark is not None and str(mark) != "2":
        message = f"only the Euclidean norm is supported: write \\|v\\|_2, not \\|v\\|_{mark}"
        raise Rejected(message, span_of(mark, mark))


def _differential(expr: Expr) -> Expr | None:
    """The x of `dx` (d or \\mathrm{d} times x), else None."""
    match expr:
        case Apply(op=Op.MUL, args=(Sym(name="d", index=None), rest)):
            return rest
    return None


def _script(mark: Token, item: Token | Expr) -> _Script:
    span = span_of(mark, item)
    if isinstance(item, Token):  # a bare number: TeX takes only its first digit
        if len(item) > 1:
            return _Script(str(mark), None, span, digits=str(item))
        item = Num(Fraction(int(item)), span_of(item, item))
    if mark == "^" and item == Sym("T"):
        return _Script("^", None, span)
    return _Script(str(mark), item, span)


def _checked(script: _Script, base: Span) -> _Script:
    """The script, unless it is a bare multi-digit number, which TeX would split."""
    if not script.digits:
        return script
    digits, mark = script.digits, script.mark

    def message(text: str) -> str:
        b = text[base.start : base.end] + mark
        return (
            f"LaTeX reads {b}{digits} as {b}{digits[0]} times {digits[1:]}; write {b}{{{digits}}}"
        )

    raise Rejected(message, Span(script.span.end - len(digits), script.span.end))


def _subscripted(base: Expr, sub: _Script, span: Span) -> Expr:
    power = _indexed_power(base, sub, span)
    if power is not None:
        return power
    if not isinstance(base, Sym) or base.index is not None or sub.value is None:
        raise Rejected("a subscript must follow a name, as in x_i or \\mu_B", sub.span)
    value = sub.value
    if _index_letter(value) and sub.element is None:
        return Sym(base.name, value.name, span)
    key = _subscript_key(value)
    if key is None or (sub.element is not None and key[1] is not None):
        message = "a subscript must be an index (i, j, k) or a name, as in \\mu_B or x_{in}"
        raise Rejected(message, value.span)
    if sub.element is not None and len(sub.element) > 1:  # x_{n,g,c,s}: the name x_n_gcs
        return Sym(f"{base.name}_{key[0]}_{sub.element}", span=span)
    return Sym(f"{base.name}_{key[0]}", sub.element or key[1], span)


def _index_letter(expr: Expr | None) -> bool:
    return isinstance(expr, Sym) and expr.index is None and expr.name in INDEX_LETTERS


def index_letters(expr: Expr | None) -> str | None:
    """The letters of a subscript of lowercase letters alone (j, ij, tij), else None."""
    factors = []
    while isinstance(expr, Apply) and expr.op == Op.MUL:  # a loop, as in _subscript_key
        expr, right = expr.args
        factors.append(right)
    factors.append(expr)
    names = [f.name if isinstance(f, Sym) and f.index is None else "?" for f in factors]
    letters = "".join(reversed(names))
    one_each = all(len(name) == 1 for name in names)
    return (
        letters
        if one_each and letters.isascii() and letters.isalpha() and letters.islower()
        else None
    )


def _indexed_power(base: Expr, sub: _Script, span: Span) -> Expr | None:
    """{\\sigma_B^2}_{i}, an element of a name spelled with a power, else None.

    Other letters join the name, as they do under the power: {\\sigma^2}_{ti} is
    \\sigma_{ti}^2, the name sigma_ti squared, which resolution may read as var at t, i.
    """
    letters = index_letters(sub.value) if sub.element is None else None
    match base:
        case Apply(op=Op.POW, args=(Sym(index=None) as name, Num() as power)) if letters:
            if letters in INDEX_LETTERS:
                return Apply(Op.POW, (replace(name, index=letters), power), span)
            return Apply(Op.POW, (replace(name, name=f"{name.name}_{letters}"), power), span)
    return None


def _upright_name(expr: Expr) -> str | None:
    """The one name upright letters spell (\\mathrm{Var} is Var), else None.

    One letter or number stays itself, so \\mathrm{d} and \\mathrm{1} keep their meaning.
    """
    if not (isinstance(expr, Apply) and expr.op == Op.MUL):
        return None
    key = _subscript_key(expr)
    return key[0] if key is not None and key[1] is None else None


def _operator_call(name: str, arg: Expr, span: Span) -> Expr | None:
    """\\operatorname{mean}(x) as the operator mean applied to x, when name is one."""
    op = next((op for op in Op if op.value == name), None)
    if op is None or signature(op).arity != 1:
        return None
    return Apply(op, (arg,), span)


def _sum_index(sub: _Script) -> str:
    if isinstance(sub.value, Sym) and sub.value.index is None and len(sub.value.name) == 1:
        return sub.value.name
    raise Rejected(
        "the index of \\sum must be one letter, as in \\sum_i or \\sum_{i=1}^{m} "
        "(or one letter per index, with commas: \\sum_{n,s})",
        sub.span,
    )


@v_args(inline=True)
class LatexTree(SharedRules):
    """The LaTeX rules: letters, commands, scripts, fractions, sums and derivatives."""

    def __init__(self, parser: Callable[[], Lark], limits: Limits) -> None:
        # An unknown command is explained from the parser that runs this transformer,
        # which is built after it: hence a function that returns the parser.
        super().__init__(limits)
        self._latex_parser = parser

    def letter(self, token: Token) -> Sym:
        return Sym(str(token), span=span_of(token, token))

    def letter_command(self, token: Token) -> Sym:
        return Sym(token[1:], span=span_of(token, token))

    def bare_number(self, token: Token) -> Num:
        if len(token) > 1:
            message = f"LaTeX takes only the first digit of {token} here; write {{{token}}}"
            raise Rejected(message, span_of(token, token))
        return Num(Fraction(int(token)), span_of(token, token))

    def unknown_command(self, token: Token) -> Expr:
        message = syntax_errors.command_message(str(token), self._latex_parser())
        raise Rejected(message, span_of(token, token))

    def upright(self, command: Token, arg: Expr) -> Expr:
        name = _upright_name(arg)
        if name is None:
            return self.font(command, arg)
        return Sym(name, span=span_of(command, arg))

    def call(self, command: Token, arg: Expr, open_: Token, inner: Expr, close: Token) -> Expr:
        # \operatorname{mean}(x) applies an operator; \mathrm{Var}[x], the paper's
        # statistic of x, is one name that a notation maps; anything else multiplies.
        head, span = self.upright(command, arg), span_of(command, close)
        argument = self.group(open_, inner, close)
        # \mathrm{RMS}(x) is that statistic too, as papers write it, except the differential
        # \mathrm{d}(x).
        if isinstance(head, Sym) and head.index is None:
            applied = _operator_call(head.name, argument, span)
            if applied is not None:
                return applied
            key = atom_key(argument)
            statistic = open_[-1] == "[" or head.name != "d"
            if statistic and key is not None and key[1] is None:
                return Sym(statistic_name(head.name, key[0]), span=span)
        return self.mul(head, argument)

    def brace(self, open_: Token, inner: Expr, close: Token) -> Expr:
        return replace(inner, span=span_of(open_, close))

    def hat(self, command: Token, arg: Expr) -> Sym:
        if not isinstance(arg, Sym):
            raise Rejected(f"{command} must decorate a name, as in {command}{{x}}", arg.span)
        return Sym(hat_name(arg.name), arg.index, span_of(command, arg))

    def font(self, command: Token, arg: Expr) -> Expr:
        if command in ONES_FONTS and isinstance(arg, Num) and arg.value == 1:
            return Apply(Op.ONES, (), span_of(command, arg))
        return replace(arg, span=span_of(command, arg))

    def frac(self, command: Token, num: Expr, den: Expr) -> Expr:
        span, wrt = span_of(command, den), _differential(den)
        if wrt is not None and num == Sym("d"):
            raise Rejected("write a derivative of the loss as \\frac{dL}{dx}", span)
        loss = _differential(num)
        if wrt is not None and loss is not None:  # \frac{dL}{dx}, \frac{\mathrm{d}L}{\mathrm{d}x}
            return _gradient(loss, wrt, span)
        return Apply(Op.DIV, (num, den), span)

    def frac_digits(self, token: Token) -> Apply:
        num, den = (
            Num(Fraction(int(char)), Span(token.start_pos + at, token.start_pos + at + 1))
            for at, char in enumerate(token)
            if char.isdigit()
        )
        return Apply(Op.DIV, (num, den), span_of(token, token))

    def derivative(self, command: Token, *rest: Token | Expr) -> Sym:
        # _frac { \partial loss } { \partial wrt }
        return _gradient(rest[2], rest[6], span_of(command, rest[-1]))

    def nabla(self, command: Token, mark: Token, item: Token | Expr, loss: Expr) -> Sym:
        wrt = _checked(_script(mark, item), span_of(command, command))
        return _gradient(loss, wrt.value, span_of(command, loss))

    def nabla_power(
        self, command: Token, mark: Token, item: Token | Expr, power: _Script, loss: Expr
    ) -> Sym:
        wrt = _checked(_script(mark, item), span_of(command, command))
        return _hessian(loss, wrt.value, power, span_of(command, loss))

    def power_nabla(
        self, command: Token, power: _Script, mark: Token, item: Token | Expr, loss: Expr
    ) -> Sym:
        return self.nabla_power(command, mark, item, power, loss)

    def second_derivative(self, command: Token, *rest: Token | Expr | _Script) -> Sym:
        # _frac { \partial ^2 loss } { \partial wrt^2 }
        power, loss, wrt = rest[2], rest[3], rest[7]
        assert isinstance(power, _Script) and isinstance(loss, Expr | Sym)
        return _hessian(loss, _squared_atom(wrt), power, span_of(command, rest[-1]))  # type: ignore[arg-type]

    def inner_product(self, open_: Token, a: Expr, _comma: Token, b: Expr, close: Token) -> Apply:
        return Apply(Op.DOT, (a, b), span_of(open_, close), ITS_AXES)

    def absolute(self, open_: Token, inner: Expr, close: Token) -> Apply:
        # |x| = sqrt(x^2): a root of a square, never negative, and exact for rationals.
        square = Apply(Op.POW, (inner, Num(Fraction(2))), inner.span)
        return Apply(Op.SQRT, (square,), span_of(open_, close))

    def norm(self, open_: Token, inner: Expr, close: Token, *index: Token) -> Apply:
        numbers = [t for t in index if t.type == "NUMBER"]
        _two_norm(numbers[0] if numbers else None)
        span = span_of(open_, index[-1] if index else close)
        square = Apply(Op.POW, (inner, Num(Fraction(2))), inner.span)
        squares = Apply(Op.SUM, (square,), span, ITS_AXES)
        return Apply(Op.SQRT, (squares,), span)

    def underbrace(self, command: Token, inner: Expr, *_note: Token | Expr) -> Expr:
        return replace(inner, span=span_of(command, inner))

    def sqrt(self, command: Token, arg: Expr) -> Apply:
        return Apply(Op.SQRT, (arg,), span_of(command, arg))

    def function(self, command: Token) -> Token:
        return command

    def function_apply(self, command: Token, arg: Expr) -> Apply:
        return Apply(FUNCTIONS[str(command)], (arg,), span_of(command, arg))

    def function_call(self, command: Token, open_: Token, inner: Expr, close: Token) -> Apply:
        return self.function_apply(command, self.group(open_, inner, close))

    def nth_root(self, token: Token) -> Expr:
        message = "only square roots are supported: write \\sqrt{...}, or a power such as ^{1/3}"
        raise Rejected(message, span_of(token, token))

    def subscript(self, mark: Token, *rest: Token | Expr) -> _Script:
        if len(rest) == 1:
            return _script(mark, rest[0])
        value, close = rest[1], rest[-1]  # _{y,j}, _{b,d}, _{n,g,c,s}: { value (, letters)+ }
        letters = []
        for item in rest[3:-1:2]:
            found = index_letters(item)
            if found is None:
                message = "after a comma a subscript lists index letters, as in g_{y,j} or x_{b,d}"
                raise Rejected(message, item.span)
            letters.append(found)
        return _Script("_", value, span_of(mark, close), element="".join(letters))

    def superscript(self, mark: Token, *rest: Token | Expr) -> _Script:
        if len(rest) == 3 or rest[0] in ("\\top", "\\intercal"):
            return _Script("^", None, span_of(mark, rest[-1]))
        return _script(mark, rest[0])

    def scripted(self, base: Expr, *scripts: _Script) -> Expr:
        span = span_of(base, scripts[-1])
        checked = [_checked(script, base.span) for script in scripts]
        sup = next((s for s in checked if s.mark == "^"), None)
        sub = next((s for s in checked if s.mark == "_"), None)
        if sub is not None:
            base = _subscripted(base, sub, span_of(base, sub))
        if sup is None:
            return base
        if sup.value is None:
            return Apply(Op.TRANSPOSE, (base,), span)
        return Apply(Op.POW, (base, sup.value), span)

    def sum_from(self, mark: Token, _open: Token, index: Token, *rest: Token | Expr) -> _SumFrom:
        return _SumFrom(str(index), rest[1], span_of(mark, rest[-1]))

    def indexed_sum(self, command: Token, *rest: _Piece) -> IndexedSum:
        body, index, lower, upper, more = rest[-1], None, None, None, ""
        for bound in rest[:-1]:
            if isinstance(bound, _SumFrom):
                index, lower = bound.index, bound.lower
            elif isinstance(bound, _Script) and bound.mark == "_":
                index = _sum_index(_checked(bound, span_of(command, command)))
                more = bound.element or ""
            elif isinstance(bound, _Script):
                upper = _checked(bound, span_of(command, command)).value
                if upper is None:
                    raise Rejected("the upper bound of \\sum cannot be a transpose", bound.span)
        span = span_of(command, body)
        if more and upper is not None:
            message = "a sum over several indices has no bounds: write one \\sum for each"
            raise Rejected(message, span)
        # \sum_{n,s} x is \sum_n \sum_s x: one sum per index, each over its own axis.
        for letter in reversed(more):
            body = IndexedSum(letter, body, span=span)
        return IndexedSum(index, body, lower, upper, span)
