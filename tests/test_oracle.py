"""The oracle: the engine's gradients against PyTorch's autograd and PyTorch's own layers.

Every test that runs PyTorch runs it in another interpreter, started as a plain
subprocess: PyTorch imported here, or the threads of a process pool, would leave this
process hundreds of megabytes more address space, which each worker a later test forks
inherits against its 1,000 MB limit (numpy then fails to map its libraries there). One
child serves the module; the command line runs as a process of its own. Without PyTorch
these tests skip, saying so; CI installs it (.ci/run).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from fractions import Fraction
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.engine import backprop
from bnverify.engine.arithmetic import FLOAT
from bnverify.engine.evaluate import Hessian, Point, evaluate
from bnverify.engine.truth import truth_of
from bnverify.judge import oracle
from bnverify.judge.oracle_torch import FUNCTIONALS, TORCH, Layout, in_torch
from bnverify.language import build
from bnverify.language.names import hessian_name
from bnverify.language.operators import SIGNATURES, Op
from bnverify.language.tree import Apply, Num, Sym
from bnverify.model.graph import Model, builtin_models, load_model, parse_model
from bnverify.report import oracle as oracle_report

ROOT = Path(__file__).parent.parent
USER_MODEL = ROOT / "tests" / "data" / "oracle-two-axes.toml"
FORUM_POST = ROOT / "derivations" / "forum-post.toml"

needs_torch = pytest.mark.skipif(
    find_spec("torch") is None,
    reason="PyTorch is not installed (pip install torch==2.13.0, the CPU build; CI does)",
)


# --- what the child runs: functions of this module, called by name -------------------


def _loaded(ref: str) -> Model:
    model = load_model(ref)
    assert isinstance(model, Model), model
    return model


def _report(refs: list[str], seed: int = 0) -> oracle.OracleReport:
    return oracle.run([_loaded(ref) for ref in refs], seed)


def _report_of_text(text: str, path: str) -> oracle.OracleReport:
    model = parse_model(text, path)
    assert isinstance(model, Model), model
    return oracle.run([model])


def _with_a_wrong_sqrt_rule(ref: str) -> oracle.OracleReport:
    """The oracle's report when the engine's rule for sqrt forgets its factor 1/2."""
    right = backprop.VJP[Op.SQRT]
    backprop.VJP[Op.SQRT] = (lambda g, a, n: build.div(g, build.sqrt(a[0])),)
    truth_of.cache_clear()
    try:
        return _report([ref])
    finally:
        backprop.VJP[Op.SQRT] = right
        truth_of.cache_clear()


SIZES = {"p": 3, "q": 2}  # the per-operator points: two axes, two draws
DRAWS = 2
EXPONENT = Fraction(-3, 2)  # a root and a reciprocal in one power


def _operator_differences() -> dict[str, float]:
    """Each row of TORCH against the engine's float64 value of the same operator."""
    import torch

    rng = np.random.default_rng(0)
    arrays = {  # a0 varies over both axes and is positive (roots, powers); a1 over q only
        "a0": rng.uniform(0.5, 2.0, size=(3, 2, DRAWS)),
        "a1": rng.uniform(-2.0, 2.0, size=(1, 2, DRAWS)),
    }
    h = rng.uniform(-1.0, 1.0, size=(DRAWS, 6, 6))  # hess: over both axes, one per draw
    hessian = Hessian(("p", "q"), h + h.transpose(0, 2, 1))
    leaves = arrays | {hessian_name("y"): hessian}
    point = Point(FLOAT, SIZES, DRAWS, leaves, {}, {"p": "P", "q": "Q"})
    layout = Layout(torch, SIZES, DRAWS, hessian)
    tensors = {name: torch.tensor(a) for name, a in arrays.items()}
    differences = {}
    for op, axes in _operator_cases():
        signature = SIGNATURES[op]
        args = tuple(
            Num(EXPONENT) if i == signature.exponent else Sym(f"a{i}")
            for i in range(signature.arity)
        )
        tree = Apply(op, args, axes=axes)
        ours = point.full(evaluate(tree, point))
        theirs = np.broadcast_to(in_torch(tree, tensors, layout).numpy(), ours.shape)
        differences[f"{op} over {axes or 'every axis'}"] = float(np.abs(ours - theirs).max())
    return differences


def _operator_cases() -> list[tuple[Op, tuple[str, ...]]]:
    cases = []
    for op in TORCH:
        some = SIGNATURES[op].reduces and not SIGNATURES[op].every_axis
        reductions = [("p",), ("q",), ()] if some else [()]
        cases += [(op, axes) for axes in reductions]
    return cases


def _cli(args: list[str], wrong_sqrt_in_torch: bool = False) -> tuple[int, str, str]:
    """The command line in this (child) process, PyTorch's sqrt made wrong if asked."""
    if wrong_sqrt_in_torch:
        TORCH[Op.SQRT] = lambda t, a: t.torch.sqrt(a) * (1 + 1e-6)
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.stdout, result.stderr


# The child: reads (function name, arguments) pickled on its standard input, calls that
# function of this module and writes ("ok", result) or ("raised", traceback) back; what
# the function prints goes to standard error. Only this test module's own data passes.
CHILD = """
import pickle, sys, traceback
sys.path.insert(0, sys.argv[1])
import test_oracle
answers, sys.stdout = sys.stdout.buffer, sys.stderr
while True:
    try:
        name, args = pickle.load(sys.stdin.buffer)
    except EOFError:
        break
    try:
        answer = ("ok", getattr(test_oracle, name)(*args))
    except BaseException:
        answer = ("raised", traceback.format_exc())
    pickle.dump(answer, answers)
    answers.flush()
"""


class _Child:
    """Another Python interpreter that runs this module's functions (see CHILD)."""

    def __init__(self) -> None:
        command = [sys.executable, "-c", CHILD, str(Path(__file__).parent)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def __call__(self, fn, *args):
        pickle.dump((fn.__name__, args), self.process.stdin)
        self.process.stdin.flush()
        outcome, value = pickle.load(self.process.stdout)
        assert outcome == "ok", value
        return value

    def close(self) -> None:
        self.process.stdin.close()
        self.process.stdout.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def child():
    """One child for the module: it imports PyTorch once."""
    running = _Child()
    yield running
    running.close()


def _in_fresh_child(fn, *args):
    """A function called in a child of its own (it may fork workers: no PyTorch there yet)."""
    running = _Child()
    try:
        return running(fn, *args)
    finally:
        running.close()


def _bnverify(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "bnverify", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)


# --- every built-in model, and a model file of one's own ------------------------------


@needs_torch
@pytest.mark.parametrize("name", sorted(builtin_models()))
def test_every_builtin_model_is_the_layer_pytorch_implements(child, name):
    [found] = child(_report, [name]).models
    functional = FUNCTIONALS[name]
    assert found.agrees, found
    assert found.functional == functional.name
    compared = {q.name: {a.against for a in q.agreements} for q in found.quantities}
    model = _loaded(name)
    assert compared[model.output] == {"the model in PyTorch", functional.name}
    for leaf in model.leaves:
        against = {"autograd"} | (
            {f"autograd of {functional.name}"} if leaf in functional.inputs else set()
        )
        assert compared[f"g_{leaf}"] == against, leaf
    # PyTorch may refuse a shape (BatchNorm in training at N = 1), the engine never.
    refusals = ("Expected more than 1 value per", "Expected more than 1 spatial element")
    assert all(any(r in note for r in refusals) for note in found.notes), found.notes


@needs_torch
def test_a_model_file_of_ones_own_agrees_with_autograd(child):
    [found] = child(_report, [str(USER_MODEL)]).models
    assert found.agrees, found
    assert found.functional is None and found.notes == ()
    assert [q.name for q in found.quantities] == ["y", "g_x", "g_w", "g_s", "g_eps"]


@needs_torch
def test_each_operator_is_the_same_in_pytorch(child):
    differences = child(_operator_differences)
    assert len(differences) == len(_operator_cases())
    assert {case: d for case, d in differences.items() if d > 1e-14} == {}


# --- it has teeth: a wrong engine, a model file that is not the layer -------------------


@needs_torch
def test_a_wrong_rule_of_the_engine_is_caught(child):
    [found] = child(_with_a_wrong_sqrt_rule, "layernorm").models
    differing = {q.name for q in found.quantities if not q.agrees}
    assert {"g_x", "g_eps"} <= differing and "y" not in differing
    g_x = next(q for q in found.quantities if q.name == "g_x")
    assert {a.against for a in g_x.agreements if not a.agrees} == {
        "autograd",
        "autograd of F.layer_norm",
    }


@needs_torch
def test_a_model_file_that_is_not_the_layer_disagrees_with_the_functional(child):
    # The unbiased variance (torch.var's default) where LayerNorm takes the biased one.
    text = (resources.files("bnverify.model.layers") / "layernorm.toml").read_text()
    unbiased = text.replace('var = "mean((x - mu)^2, d)"', 'var = "sum((x - mu)^2, d)/(D - 1)"')
    assert unbiased != text
    [found] = child(_report_of_text, unbiased, "<builtin>/layernorm.toml").models
    by_name = {q.name: q for q in found.quantities}
    y = {a.against: a.agrees for a in by_name["y"].agreements}
    assert y == {"the model in PyTorch": True, "F.layer_norm": False}
    assert all(a.agrees for a in by_name["g_x"].agreements if a.against == "autograd")
    # At D = 1 the model divides by zero: left out, not counted as agreeing or not.
    assert any("d = 1" in note and "no value" in note for note in found.notes)


def test_a_model_file_taking_a_builtin_name_is_not_compared_with_its_layer():
    from bnverify.judge.oracle_torch import functional_of

    text = (resources.files("bnverify.model.layers") / "layernorm.toml").read_text()
    own = parse_model(text, "my/layernorm.toml")
    assert isinstance(own, Model) and functional_of(own) is None
    assert functional_of(_loaded("layernorm")) is FUNCTIONALS["layernorm"]


# --- the tables and the measure, without PyTorch --------------------------------------


def test_every_functional_is_a_builtin_layer_file():
    layers = resources.files("bnverify.model.layers").iterdir()
    names = {p.name.removesuffix(".toml") for p in layers if p.name.endswith(".toml")}
    assert set(FUNCTIONALS) == names


def test_every_builtin_model_has_a_functional():
    assert set(builtin_models()) <= set(FUNCTIONALS)


@pytest.mark.parametrize("name", [*sorted(builtin_models()), str(USER_MODEL)])
def test_the_shapes_have_sizes_1_and_2_on_every_axis_and_a_larger_one(name):
    model = _loaded(name)
    shapes = [dict(sizes) for sizes in oracle.shapes_of(model)]
    for axis in model.order:
        assert {1, 2} <= {sizes[axis] for sizes in shapes}, axis
    assert max(int(np.prod(list(sizes.values()))) for sizes in shapes) >= oracle.LARGE / 2
    if len(model.order) > 1:  # one shape where every axis has its own size
        assert any(len(set(sizes.values())) == len(sizes) for sizes in shapes)


def test_the_gap_is_relative_or_within_twice_the_rounding_bound():
    ones = np.ones((2, 1))
    assert oracle.gap(ones, 0 * ones, ones) == oracle.Gap(0.0, 0.0)
    assert oracle.gap(ones * (1 + 1e-12), 0 * ones, ones).excess < 1
    assert oracle.gap(ones * (1 + 1e-6), 0 * ones, ones).excess > 1
    # A value that cancels to 0 in the engine and to 2e-14 in PyTorch: rounding, if the
    # engine's bound there is at least 1e-14.
    zero, noise = np.zeros((1, 1)), np.full((1, 1), 2e-14)
    assert oracle.gap(zero, np.full((1, 1), 1e-14), noise).excess == pytest.approx(1.0)
    assert oracle.gap(zero, np.full((1, 1), 1e-15), noise).excess > 1
    assert oracle.gap(zero, np.full((1, 1), 1e-14), noise).difference == 1.0


def test_the_gap_of_another_shape_or_of_a_value_only_one_side_lacks_is_infinite():
    assert oracle.gap(np.ones((3, 1)), 0.0, np.ones((2, 1))).excess == np.inf
    assert oracle.gap(np.array([[np.nan]]), 0.0, np.ones((1, 1))).excess == np.inf
    both = oracle.gap(np.array([[np.inf], [1.0]]), 0.0, np.array([[np.nan], [1.0]]))
    assert both == oracle.Gap(0.0, 0.0, undefined=True)


# --- the printed section ---------------------------------------------------------------


def _agreement(against, difference, excess, worst=(("b", 2), ("d", 1))):
    return oracle.Agreement(against, difference, worst, excess, worst)


def test_the_section_is_labelled_a_cross_check_and_names_what_disagrees():
    g_x = oracle.Quantity(
        "g_x", (_agreement("autograd", 0.5, 5e8), _agreement("autograd of F.layer_norm", 1.0, 0.2))
    )
    y = oracle.Quantity("y", (_agreement("the model in PyTorch", 0.0, 0.0),))
    model = oracle.ModelOracle("layernorm", ((("b", 2), ("d", 1)),), (y, g_x), "F.layer_norm")
    lines = oracle_report.render(oracle.OracleReport("2.13.0", (model,))).splitlines()
    assert lines[0] == (
        "oracle: PyTorch 2.13.0 at float64, a cross-check of the engine, never a verdict"
    )
    assert "agrees within 1.0e-9 relative" in lines[1]
    assert lines[2:5] == [
        "layernorm: 1 shape (b, d) = (2, 1)",
        "  y    agrees with the model in PyTorch (max rel 0)",
        "  g_x  DISAGREES with autograd: 5.0e+8 times what agreement allows at b = 2, d = 1 "
        "(max rel 5.0e-1); agrees with autograd of F.layer_norm (max rel 1.0e+0 at b = 2, "
        "d = 1, where the value cancels: within rounding)",
    ]
    assert lines[5].startswith("oracle: PyTorch disagrees on layernorm g_x: a bug in bnverify")
    assert lines[5].endswith("no verdict depends on the oracle")


# --- the command line ------------------------------------------------------------------


@needs_torch
@pytest.mark.slow  # a process of its own that imports PyTorch: about 10 s
def test_bnverify_oracle_checks_every_builtin_model_and_exits_0():
    result = _bnverify("oracle")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("oracle: PyTorch 2.") and "never a verdict" in lines[0]
    for name in builtin_models():
        assert any(line.startswith(f"{name}: ") for line in lines), name
    assert lines[-1] == f"oracle: every value of {len(builtin_models())} models agrees with PyTorch"
    assert "DISAGREES" not in result.stdout


@needs_torch
@pytest.mark.slow  # a process of its own that imports PyTorch: about 10 s
def test_check_prints_the_oracle_after_the_verdicts_and_keeps_their_status():
    result = _bnverify("check", str(FORUM_POST), "--oracle", "torch")
    assert result.returncode == 0, result.stderr
    verdicts, _, section = result.stdout.partition("\noracle: PyTorch")
    assert "3 candidates: 1 match, 2 diverge, 0 error; all as expected" in verdicts
    assert "\nbatchnorm: 3 shapes (n)" in section
    assert "oracle: every value of 1 model agrees with PyTorch" in section


@needs_torch
@pytest.mark.slow  # a process of its own that imports PyTorch: about 10 s
def test_with_a_format_for_programs_the_oracle_goes_to_standard_error():
    result = _bnverify("check", str(FORUM_POST), "--oracle", "torch", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["status"] == 0
    assert "oracle: every value of 1 model agrees with PyTorch" in result.stderr


@needs_torch
@pytest.mark.slow  # a process of its own that imports PyTorch: about 10 s
def test_a_disagreement_exits_1_and_leaves_the_verdicts_as_they_are():
    args = ["check", str(FORUM_POST), "--oracle", "torch", "--jobs", "1"]
    status, out, _ = _in_fresh_child(_cli, args, True)
    assert status == 1, out
    assert "3 candidates: 1 match, 2 diverge, 0 error; all as expected" in out
    assert "DISAGREES with autograd" in out
    assert "oracle: PyTorch disagrees on batchnorm y, batchnorm g_z" in out
    assert "no verdict depends on the oracle" in out


def test_without_pytorch_the_oracle_says_how_to_install_it_and_exits_2(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # find_spec and import both fail
    for args in (["oracle"], ["check", str(FORUM_POST), "--oracle", "torch"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "needs PyTorch 2.4 or newer, which is not installed: pip install torch" in (
            result.stderr
        )
        assert "candidates" not in result.stdout  # said before checking anything


def test_a_pytorch_older_than_2_4_is_refused(monkeypatch):
    monkeypatch.setattr(oracle.importlib.metadata, "version", lambda name: "2.3.1+cpu")
    if find_spec("torch") is None:
        monkeypatch.setattr(oracle.importlib.util, "find_spec", lambda name: object())
    assert oracle.unavailable().startswith("the oracle needs PyTorch 2.4 or newer, not 2.3.1")


def test_the_oracle_has_help_with_examples_and_exit_codes():
    # As tests/test_terminal.py asks of every command.
    result = CliRunner().invoke(main, ["oracle", "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and "bnverify oracle" in result.output
    assert "Exit status: 0 when every" in result.output
    assert "--oracle" in CliRunner().invoke(main, ["check", "--help"]).output


def test_an_unknown_model_is_a_located_error_exit_2():
    result = CliRunner().invoke(main, ["oracle", "no-such-model"])
    assert result.exit_code == 2
    assert "no model 'no-such-model'" in result.stderr
