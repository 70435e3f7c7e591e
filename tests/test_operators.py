"""Every operator is declared once, every table has its row, and every row means the operator.

The coverage tests find each table keyed by `Op` in the package and name any operator it
misses. The systematic tests (after autograd's tests/test_systematic.py) take each operator
in turn: its VJP is SymPy's derivative; its exact value is SymPy's where that is rational
and Inexact where it is not; an interval encloses it and float64 is close to it.
"""

from __future__ import annotations

import importlib
import inspect
import operator
import pkgutil
from collections.abc import Callable
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

import bnverify
from bnverify.engine.algebra import CLOSED_FORMS, Hess, Reducer
from bnverify.engine.arithmetic import EXACT, FLOAT, INTERVAL, Arithmetic, Inexact
from bnverify.engine.backprop import VJP, NoVJP
from bnverify.engine.evaluate import OPERATIONS, Hessian, Point, evaluate
from bnverify.engine.second_check import SYMPY as SYMPY_ARITHMETIC
from bnverify.judge.oracle_torch import TORCH
from bnverify.language.names import hessian_name
from bnverify.language.operators import SIGNATURES, MissingRow, Op, row
from bnverify.language.shapes import DEFAULT_AXIS
from bnverify.language.tree import Apply, Expr, Num, Sym
from bnverify.language.tree_printing import ASCII, LATEX

N = 3  # the batch size of the systematic tests

# Which operators each table covers. A table of resolved trees has no transpose, which
# resolution turns into a dot product; the parsed-tree tables (limits, printers) have all.
EVERY = frozenset(Op)
RESOLVED = frozenset(op for op in Op if not SIGNATURES[op].syntax_only)
COVERS: dict[str, frozenset[Op]] = {
    "bnverify.language.operators.SIGNATURES": EVERY,
    "bnverify.language.shapes.RULES": RESOLVED,
    "bnverify.language.limits.DEGREES": EVERY,
    "bnverify.language.tree_printing.LATEX": EVERY,
    "bnverify.language.tree_printing.ASCII": EVERY,
    "bnverify.language.ascii_syntax.ASCII_FUNCTIONS": frozenset(
        op for op in Op if SIGNATURES[op].called
    ),
    # Constant folding: the operators whose value on rationals is rational.
    "bnverify.language.tree._FOLDS": frozenset({Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.NEG}),
    "bnverify.engine.backprop.VJP": RESOLVED,
    "bnverify.engine.forward.JVP": RESOLVED,
    "bnverify.engine.evaluate.OPERATIONS": RESOLVED,
    "bnverify.engine.algebra.CLOSED_FORMS": RESOLVED,
    "bnverify.engine.general.GENERAL": RESOLVED,
    "bnverify.engine.rounding.ROUNDING": RESOLVED,
    "bnverify.engine.signs.SIGNS": RESOLVED,
    # The reductions of one argument over the batch, which may fix a candidate's shape.
    "bnverify.judge.diagnosis.REDUCTIONS": frozenset(
        op for op in Op if SIGNATURES[op].reduces and SIGNATURES[op].arity == 1
    ),
    "bnverify.judge.oracle_torch.TORCH": RESOLVED,
    # A claim's written coefficient in SymPy: numbers and names under arithmetic and roots.
    "bnverify.judge.corrections._SYMPY": frozenset(
        {Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.POW, Op.NEG, Op.SQRT}
    ),
}


def _tables() -> dict[str, dict]:
    """Every module-level dict of the package whose keys are operators, by qualified name."""
    found: dict[str, dict] = {}
    for info in pkgutil.walk_packages(bnverify.__path__, "bnverify."):
        module = importlib.import_module(info.name)
        for attr, value in vars(module).items():
            if isinstance(value, dict) and value and all(isinstance(k, Op) for k in value):
                found[f"{info.name}.{attr}"] = value
    return found


TABLES = _tables()


@pytest.mark.parametrize("name", sorted(COVERS))
def test_each_table_has_a_row_for_each_operator_it_covers(name):
    assert name in TABLES, f"{name} is gone or no longer keyed by Op: update COVERS"
    keys = set(TABLES[name])
    missing = sorted(COVERS[name] - keys)
    assert not missing, f"{name} has no row for {', '.join(missing)}"
    extra = sorted(keys - COVERS[name])
    assert not extra, f"{name} has rows for {', '.join(extra)}, outside what it covers"


def test_every_table_keyed_by_op_says_what_it_covers():
    # A table is found under each module that imports it: one declared name is enough.
    by_table: dict[int, set[str]] = {}
    for name, table in TABLES.items():
        by_table.setdefault(id(table), set()).add(name)
    undeclared = [sorted(names) for names in by_table.values() if not names & set(COVERS)]
    assert not undeclared, f"declare in COVERS which operators these cover: {undeclared}"


def test_a_missing_row_names_the_table_and_the_operator():
    with pytest.raises(MissingRow, match=r"^evaluate\.OPERATIONS has no row for operator 'sqrt'$"):
        row({}, Op.SQRT, "evaluate.OPERATIONS")


def test_a_row_is_found_by_the_operator_or_its_spelling():
    assert row(OPERATIONS, "sqrt", "evaluate.OPERATIONS") is OPERATIONS[Op.SQRT]


def test_a_tree_holds_the_operator_itself_and_refuses_an_unknown_one():
    assert Apply("sqrt", (Sym("x"),)).op is Op.SQRT
    assert Apply("sqrt", (Sym("x"),)) == Apply(Op.SQRT, (Sym("x"),))
    with pytest.raises(ValueError, match="'frobnicate' is not a valid Op"):
        Apply("frobnicate", (Sym("x"),))


# Table -> how many arguments each row takes before the operator's own.
LEADING: dict[str, tuple[dict, int]] = {
    "evaluate.OPERATIONS": (OPERATIONS, 1),  # the point
    "algebra.CLOSED_FORMS": (CLOSED_FORMS, 1),  # the reducer
    "tree_printing.LATEX": (LATEX, 1),  # the printer
    "tree_printing.ASCII": (ASCII, 1),  # the operator
    "oracle_torch.TORCH": (TORCH, 1),  # the layout of PyTorch's tensors
}


AXES_LAST = {"evaluate.OPERATIONS", "algebra.CLOSED_FORMS", "oracle_torch.TORCH"}


@pytest.mark.parametrize("name", sorted(LEADING))
def test_each_row_takes_the_operators_arguments(name):
    table, leading = LEADING[name]
    for op, rule in table.items():
        # A reduction's row in a table that computes also gets the axes it removes, last.
        axes = int(SIGNATURES[op].reduces and name in AXES_LAST)
        arguments = [None] * (leading + SIGNATURES[op].arity + axes)
        inspect.signature(rule).bind(*arguments)  # raises TypeError naming the mismatch


def test_a_vjp_has_one_rule_per_argument_and_none_for_an_exponent():
    for op, rules in VJP.items():
        exponent = SIGNATURES[op].exponent
        assert len(rules) == SIGNATURES[op].arity, op
        assert [i for i, rule in enumerate(rules) if rule is None] == (
            [] if exponent is None else [exponent]
        ), op


# --- systematic tests: each operator against SymPy's meaning of it ---------------------


def _each(fn: Callable[..., sp.Expr]) -> Callable[..., list[sp.Expr]]:
    """An elementwise operator on batches given as lists of elements."""
    return lambda *batches: [fn(*elements) for elements in zip(*batches, strict=True)]


# The downstream Hessian H_y the systematic tests give hess(a, b): symmetric, indefinite.
HESSIAN = [
    [Fraction(2), Fraction(-1, 2), Fraction(1, 3)],
    [Fraction(-1, 2), Fraction(5), Fraction(0)],
    [Fraction(1, 3), Fraction(0), Fraction(-3, 4)],
]


def _hess(a: list, b: list) -> list[sp.Expr]:
    h = [[sp.Rational(v.numerator, v.denominator) for v in line] for line in HESSIAN]
    return [sp.Add(*(a[i] * h[i][j] * b[j] for i in range(N) for j in range(N)))]


# Operator -> its meaning in SymPy, on batches of N elements (a reduction gives one). An
# exponent comes as a SymPy rational. This is the reference every table is tested against.
SYMPY: dict[Op, Callable[..., list[sp.Expr]]] = {
    Op.ADD: _each(operator.add),
    Op.SUB: _each(operator.sub),
    Op.MUL: _each(operator.mul),
    Op.DIV: _each(operator.truediv),
    Op.POW: lambda base, exponent: [element**exponent for element in base],
    Op.NEG: _each(operator.neg),
    Op.SQRT: _each(sp.sqrt),
    Op.EXP: _each(sp.exp),
    Op.LOG: _each(sp.log),
    Op.SUM: lambda a: [sp.Add(*a)],
    Op.MEAN: lambda a: [sp.Add(*a) / N],
    Op.DOT: lambda a, b: [sp.Add(*(x * y for x, y in zip(a, b, strict=True)))],
    Op.ONES: lambda: [sp.Integer(1)] * N,
    Op.HESS: _hess,
}
EXPONENTS = [Fraction(2), Fraction(3), Fraction(-1), Fraction(0), Fraction(1, 2), Fraction(-3, 2)]


def test_the_sympy_reference_covers_every_resolved_operator():
    missing = sorted(RESOLVED - set(SYMPY))
    assert not missing, f"tests/test_operators.py SYMPY has no row for {', '.join(missing)}"


def _cases() -> list:
    cases = []
    for op in SYMPY:
        exponents = [None] if SIGNATURES[op].exponent is None else EXPONENTS
        cases += [
            pytest.param(op, e, id=f"{op}" + ("" if e is None else f"^{e}")) for e in exponents
        ]
    return cases


CASES = _cases()


def _tree(op: Op, exponent: Fraction | None) -> Apply:
    """op applied to the names a0, a1, ..., with the exponent in its place."""
    at = SIGNATURES[op].exponent
    args = [Num(exponent) if i == at else Sym(f"a{i}") for i in range(SIGNATURES[op].arity)]
    return Apply(op, tuple(args))


def _value_arguments(op: Op) -> list[int]:
    return [i for i in range(SIGNATURES[op].arity) if i != SIGNATURES[op].exponent]


def _arguments(op: Op, exponent: Fraction | None, values: dict[int, object]) -> list:
    """The arguments of op: the given values, and the exponent as a SymPy rational."""
    rational = None if exponent is None else sp.Rational(exponent.numerator, exponent.denominator)
    return [values.get(i, rational) for i in range(SIGNATURES[op].arity)]


def _reference(op: Op, exponent: Fraction | None, batches: dict[int, list]) -> list[sp.Expr]:
    """SymPy's value of the operator on the given batches (one per value argument)."""
    return SYMPY[op](*_arguments(op, exponent, batches))


def _evaluate(expr: Expr, arith: Arithmetic, leaves: dict[str, list]) -> list:
    """The value of a tree for batches of N given as lists, as a list of N elements."""
    columns = {
        name: np.array([[arith.scalar(v) if isinstance(v, Fraction) else v] for v in values])
        for name, values in leaves.items()
    }
    matrix = np.array([[arith.scalar(v) for v in line] for line in HESSIAN], dtype=arith.dtype)
    columns[hessian_name("y")] = Hessian((DEFAULT_AXIS,), matrix)
    value = evaluate(expr, Point(arith, N, 1, columns, {}))
    return list(np.broadcast_to(value, (N, 1))[:, 0])


def _symbols(name: str, count: int = N) -> list[sp.Symbol]:
    return [sp.Symbol(f"{name}_{k}", positive=True) for k in range(count)]


def test_hess_has_no_vjp_and_says_so():
    tree = _tree(Op.HESS, None)
    for rule in VJP[Op.HESS]:
        with pytest.raises(NoVJP, match="no VJP in the formula language"):
            rule(Sym("g"), tree.args, Sym("N"))


@pytest.mark.parametrize(("op", "exponent"), [c for c in CASES if c.values[0] != Op.HESS])
def test_the_vjp_is_sympys_derivative(op, exponent):
    batches = {i: _symbols(f"a{i}") for i in _value_arguments(op)}
    out = _reference(op, exponent, batches)
    upstream = _symbols("g", len(out))
    loss = sp.Add(*(g * y for g, y in zip(upstream, out, strict=True)))
    leaves = {f"a{i}": batch for i, batch in batches.items()} | {"g": upstream}
    tree = _tree(op, exponent)
    for i, batch in batches.items():
        flow = VJP[op][i](Sym("g"), tree.args, Sym("N"))
        found = _evaluate(flow, SYMPY_ARITHMETIC, leaves)
        for k, element in enumerate(batch):
            assert sp.simplify(found[k] - sp.diff(loss, element)) == 0, (op, i, k)


# Points where every operator is defined: positive squares, so roots are rational, and
# ones, where log is rational too (exp is rational only at 0, where 1/x is not defined).
POINTS = [
    (
        [Fraction(4), Fraction(9, 4), Fraction(1, 16)],
        [Fraction(1, 4), Fraction(25), Fraction(16, 9)],
    ),
    (
        [Fraction(1), Fraction(49, 25), Fraction(100)],
        [Fraction(9), Fraction(1, 9), Fraction(36, 49)],
    ),
    (
        [Fraction(1), Fraction(1), Fraction(1)],
        [Fraction(1), Fraction(4), Fraction(1, 4)],
    ),
]


def _at(op: Op, point: tuple[list, list]) -> dict[int, list[Fraction]]:
    return {i: point[n] for n, i in enumerate(_value_arguments(op))}


def _expected(op: Op, exponent: Fraction | None, point: tuple[list, list]) -> list[sp.Expr]:
    """SymPy's value of the operator at a point, one per element (a reduction repeated)."""
    rationals = {
        i: [sp.Rational(v.numerator, v.denominator) for v in b] for i, b in _at(op, point).items()
    }
    expected = _reference(op, exponent, rationals)
    return expected * N if len(expected) == 1 else expected


def _leaves(op: Op, point: tuple[list, list]) -> dict[str, list[Fraction]]:
    return {f"a{i}": values for i, values in _at(op, point).items()}


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize(("op", "exponent"), CASES)
def test_the_exact_value_is_sympys_or_inexact(op, exponent, point):
    expected = _expected(op, exponent, point)
    if not all(value.is_rational for value in expected):
        with pytest.raises(Inexact):  # exp(4), log(9/4): the caller moves to intervals
            _evaluate(_tree(op, exponent), EXACT, _leaves(op, point))
        return
    exact = _evaluate(_tree(op, exponent), EXACT, _leaves(op, point))
    assert [sp.Rational(int(v.numerator), int(v.denominator)) for v in exact] == expected


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize(("op", "exponent"), CASES)
def test_an_interval_encloses_sympys_value(op, exponent, point):
    enclosures = _evaluate(_tree(op, exponent), INTERVAL, _leaves(op, point))
    with mpmath.workprec(1024):
        for enclosure, value in zip(enclosures, _expected(op, exponent, point), strict=True):
            precise = mpmath.mpf(str(sp.N(value, 200)))
            assert enclosure.a <= precise <= enclosure.b, (op, value, enclosure)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize(("op", "exponent"), CASES)
def test_float64_agrees_with_sympys_value(op, exponent, point):
    floats = _evaluate(_tree(op, exponent), FLOAT, _leaves(op, point))
    expected = [float(value) for value in _expected(op, exponent, point)]
    assert np.allclose(np.array(floats, dtype=float), expected, rtol=1e-14)


@pytest.mark.parametrize(("op", "exponent"), CASES)
def test_the_closed_form_is_sympys_for_every_element(op, exponent):
    # The closed form speaks of one element x_i; a reduction sums it over the batch.
    batches = {i: _symbols(f"a{i}") for i in _value_arguments(op)}
    elements = {i: sp.Symbol(f"x{i}", positive=True) for i in batches}

    def at(k: int, expr: sp.Expr) -> sp.Expr:  # element k of the batch
        return expr.subs({elements[i]: batches[i][k] for i in batches})

    reducer = Reducer(
        lambda expr, axes: sp.Add(*(at(k, expr) for k in range(N))), lambda axes: sp.Integer(N)
    )
    # Hess of two element expressions, given the test's H_y: the sum over pairs of elements.
    hessians = {
        Hess: lambda a, b: _hess([at(k, a) for k in range(N)], [at(k, b) for k in range(N)])[0]
    }
    axes = [()] if SIGNATURES[op].reduces else []  # () is every axis: the batch
    form = CLOSED_FORMS[op](reducer, *_arguments(op, exponent, elements), *axes)
    form = form.replace(Hess, hessians[Hess])
    found = [form] if SIGNATURES[op].reduces else [at(k, form) for k in range(N)]
    expected = _reference(op, exponent, batches)
    assert [sp.simplify(f - e) for f, e in zip(found, expected, strict=True)] == [0] * len(found)
