"""Fuzzing: generated formulas and mangled derivation files never crash or hang bnverify.

Three sources of input: well-formed candidates built from the formula language's
constructs (ASCII and LaTeX), byte-level mutations of the shipped derivation files, and
hostile files around them: model files with a value of every wrong type or a hostile
[notation] spelling, and symbolic links (loops, folders, devices, files outside) as
derivations and models, each checked beside a good file whose verdict must survive. Each
goes through `bnverify check` in-process. The property: exit status 0, 1 or 2, a
located message on 2, no traceback and no internal error, and no longer than the time
budget allows. The "ci" profile (tests/conftest.py) runs 2,900 inputs in all;
`--hypothesis-profile=long` runs 100,000 per test.
"""

from __future__ import annotations

import json
import os
import re
import resource
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from bnverify.cli import main
from bnverify.judge.workers import GRACE

DERIVATIONS = Path(__file__).parent.parent / "derivations"
SHIPPED = [path.read_bytes() for path in sorted(DERIVATIONS.glob("*.toml"))]
# Small settings keep each input fast; the time budget still bounds every candidate.
BUDGET = 1.0
MAX_CANDIDATES = 8
FLAGS = ("--max-symbolic-batch", "1", "--time-budget", str(BUDGET))
FLAGS += ("--max-candidates", str(MAX_CANDIDATES))
SLACK = 3.0  # seconds for reading, parsing and reporting, around the candidates' budgets
# Hypothesis warns that the nested formula strategies have a long repr: nothing about
# bnverify. (A deadline that lands in hypothesis's garbage-collector callback is dropped
# by bnverify.judge.budget and rings again, so it must not warn.)
pytestmark = [pytest.mark.filterwarnings("ignore:Generating overly large repr")]
LOCATED = re.compile(r"^\S.*:\d+:\d+: error: .+$", re.MULTILINE)


def fuzz_settings(ci_examples: int) -> settings:
    """At least `ci_examples` inputs, or the active profile's count when that is larger."""
    examples = max(settings.default.max_examples, ci_examples)
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the workers, once joined).

    Budgets count CPU time, so a busy machine running the tests does not change them."""
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in used)


def check_survives(args: list[str], candidates: int) -> Result:
    """Run `bnverify check args` and assert the fuzzing property."""
    started = cpu_seconds()
    result = CliRunner().invoke(main, ["check", *FLAGS, *args], env={"NO_COLOR": "1"})
    elapsed = cpu_seconds() - started
    output = result.output
    if currently_in_test_context():  # shown by --hypothesis-show-statistics
        event(f"exit {result.exit_code}")
        if "time budget" in output:
            event("a candidate ran out of its time budget")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), output
    assert "Traceback" not in output and "internal error" not in output, output
    if result.exit_code == 2:
        assert LOCATED.search(output), output
    # A candidate in C code is stopped by its worker's parent, GRACE after its budget.
    assert elapsed < (BUDGET + GRACE) * min(max(candidates, 1), MAX_CANDIDATES) + SLACK, elapsed
    return result


# --- Well-formed candidates, from the grammar ------------------------------------------

ASCII_NAMES = ["z", "gamma", "beta", "eps", "mu", "var", "zhat", "y", "N", "g_y", "g_zhat"]
ASCII_NAMES += ["g_mu", "g_var", "ones", "x"]  # x: not a model name, a located error
NUMBERS = st.one_of(
    st.integers(0, 1000).map(str),
    st.sampled_from(["0.5", "1e-5", "2.0", "1e300", "1e-300", "0", "1", "3"]),
    st.decimals(0, 100, places=3, allow_nan=False, allow_infinity=False).map(str),
)
EXPONENTS = st.sampled_from(["2", "-1", "1/2", "-1/2", "3", "(-3/2)", "0", "1000", "10^10"])


def _ascii(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner)
    return st.one_of(
        binary.map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda a: f"({a})"),
        inner.map(lambda a: f"-{a}"),
        st.tuples(inner, EXPONENTS).map(lambda t: f"({t[0]})^{t[1]}"),
        st.tuples(st.sampled_from(["sqrt", "sum", "mean"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"dot({t[0]}, {t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]})^T @ ({t[1]})"),
    )


ASCII_FORMULAS = st.recursive(
    st.one_of(st.sampled_from(ASCII_NAMES), NUMBERS), _ascii, max_leaves=10
)

LATEX_NAMES = ["z", r"\gamma", r"\beta", r"\epsilon", r"\mu_B", r"\sigma_B^2", r"\hat{z}"]
LATEX_NAMES += ["g_y", "N", r"g_{\hat{z}}", r"\mathbf{1}", "m", "z_i", "z_j", r"\hat{z}_j"]
LATEX_NAMES += [r"\frac{\partial L}{\partial \hat{z}}", r"\varepsilon", "x"]


def _latex(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", r"\cdot", r"\odot", " "]), inner).map(
            lambda t: f"{t[0]} {t[1]} {t[2]}"
        ),
        pair.map(lambda t: rf"\frac{{{t[0]}}}{{{t[1]}}}"),
        inner.map(lambda a: rf"\sqrt{{{a}}}"),
        inner.map(lambda a: rf"\sum_{{j}} {a}"),
        inner.map(lambda a: rf"\sum_{{i=1}}^{{N}} {a}"),
        inner.map(lambda a: rf"\left( {a} \right)"),
        inner.map(lambda a: f"{{{a}}}"),
        st.tuples(inner, EXPONENTS).map(lambda t: f"({t[0]})^{{{t[1]}}}"),
        pair.map(lambda t: f"({t[0]})^T {t[1]}"),
        inner.map(lambda a: f"-{a}"),
    )


LATEX_FORMULAS = st.recursive(
    st.one_of(st.sampled_from(LATEX_NAMES), NUMBERS, st.just(r"\frac12")), _latex, max_leaves=10
)
WRT = st.sampled_from(["z", "gamma", "beta"])


@pytest.mark.slow
@fuzz_settings(ci_examples=500)
@given(formula=ASCII_FORMULAS, wrt=WRT, equation=st.booleans())
def test_generated_ascii_candidates(formula, wrt, equation):
    text = f"g_{wrt} = {formula}" if equation else formula
    check_survives(["--wrt", wrt, "--expr", text], candidates=1)


@pytest.mark.slow
@fuzz_settings(ci_examples=400)
@given(formula=LATEX_FORMULAS, wrt=WRT)
def test_generated_latex_candidates(formula, wrt):
    check_survives(["--wrt", wrt, "--latex", formula], candidates=1)


# Terms that are defined everywhere (no division, root or power): the truth plus one of
# them minus the same one is the truth, so bnverify must say match, exactly.
TRUTH = "gamma*(N*g_y - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var+eps))"
POLYNOMIALS = st.recursive(
    st.one_of(st.sampled_from(ASCII_NAMES[:-2]), NUMBERS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(" ".join),
        st.tuples(st.sampled_from(["sum", "mean"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(inner, inner).map(lambda t: f"dot({t[0]}, {t[1]})"),
    ),
    max_leaves=8,
)


@pytest.mark.slow
@fuzz_settings(ci_examples=200)
@given(term=POLYNOMIALS)
def test_the_truth_plus_and_minus_a_term_matches(term):
    result = check_survives(["--wrt", "z", "--expr", f"{TRUTH} + ({term}) - ({term})"], 1)
    assert result.exit_code == 0, result.output


# --- Mutations of the shipped derivation files ---------------------------------------

SPLICES = [
    b"1e999999",
    b"9" * 5000,
    b"^99999999999",
    b"^(10^10^10)",
    b"(" * 300,
    b"\\frac{" * 50,
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\r\n",
    b"\r",
    b"\t\x0c\x1b",
    b"'''",
    b'"""',
    b"\\",
    b"[[candidate]]\n",
    b'[notation]\nx = "z"\n',
    b"0/0",
    b"/(z-mu)",
    b"inf",
    b"\\infty",
    "é∑√".encode(),
]


@st.composite
def mutations(draw: st.DrawFn) -> bytes:
    """A shipped derivation file with one to four byte-level edits."""
    data = bytearray(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        end = draw(st.integers(at, min(len(data), at + 200)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "truncate"]))
        piece = draw(st.one_of(st.sampled_from(SPLICES), st.binary(min_size=1, max_size=8)))
        if kind == "insert":
            data[at:at] = piece
        elif kind == "delete":
            del data[at:end]
        elif kind == "replace":
            data[at:end] = piece
        elif kind == "duplicate":
            data[end:end] = data[at:end]  # a table or a line twice, or a candidate
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.slow
@fuzz_settings(ci_examples=1300)
@given(mangled=mutations())
def test_mutated_derivation_files(mangled):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mangled.toml"
        path.write_bytes(mangled)
        check_survives([str(path)], candidates=mangled.count(b"candidate") + 1)


# --- The corpus: the nastiest inputs found, kept as regression cases -------------------

CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.toml"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.name)
def test_corpus_inputs_keep_their_outcome(path):
    # The expected exit status is in the name: deep-nesting.exit2.toml exits 2.
    expected = int(re.search(r"\.exit(\d)\.toml$", path.name).group(1))
    result = check_survives([str(path)], candidates=path.read_bytes().count(b"[[candidate]]"))
    assert result.exit_code == expected, result.output
    assert "\x1b" not in result.output


# --- Model files of every wrong type, hostile notation, symbolic links ---------------------
# One bad file never sinks the run: beside each generated file a good derivation is
# checked, and its verdict must reach the JUnit file, which must be written.

MODEL_LINES = (DERIVATIONS.parent / "bnverify/model/layers/batchnorm.toml").read_text().split("\n")
# Each line `key = value` of the model, by index: where a wrong value goes.
VALUE_LINES = [i for i, line in enumerate(MODEL_LINES) if re.match(r"^[^#\[\s][^=]*=", line)]
GOOD = 'model = "batchnorm"\n[[candidate]]\nname = "good"\nwrt = "beta"\nexpr = "sum(g_y)"\n'
USES_MODEL = 'model = "m.toml"\n[[candidate]]\nname = "g_z"\nwrt = "z"\nexpr = "g_y"\n'
# A value of every TOML type, and names that are the model's own (a retargeting).
WRONG_VALUES = st.sampled_from(
    [
        "5",
        "-1",
        "0",
        "true",
        "1.5",
        "nan",
        "inf",
        "1979-05-27",
        "07:32:00",
        "[]",
        "{}",
        "[1]",
        '["z"]',
        '[["mu"]]',
        "{ a = 1 }",
        '{ eps = ["0"] }',
        "{ eps = 5 }",
        '"z"',
        '"beta"',
        '"mu"',
        '""',
        "100000000",
        '"z^1000"',
        '"(1e999*1e999*z)^999"',
        '"zhat^1000"',
    ]
)
SPELLINGS = st.one_of(
    st.sampled_from(
        [
            r"\mu_B & ~ \\",
            r"\input{/etc/passwd}",
            r"\hat{z",
            "}{",
            "%",
            "$x$",
            r"\\",
            "z",
            "N",
            r"\sigma^2",
            r"\sigma^{2^{2}}",
            "g_y",
            "ones",
            r"\mathbf{1}",
            "::warning::x",
            "##[x]",
        ]
    ),
    st.text(max_size=12),
)


def toml_key(text: str) -> str:
    """A TOML basic-string key for any text (JSON's escapes are TOML's, mostly)."""
    return json.dumps(text)


@st.composite
def wrong_models(draw: st.DrawFn) -> str:
    """The built-in model with one value of the wrong type, or one hostile notation row."""
    lines = list(MODEL_LINES)
    if draw(st.booleans()):
        at = draw(st.sampled_from(VALUE_LINES))
        key = lines[at].split("=", 1)[0]
        lines[at] = f"{key}= {draw(WRONG_VALUES)}"
    else:
        at = lines.index("[notation]  # how notes and papers spell the model's names") + 1
        value = draw(st.one_of(WRONG_VALUES, st.sampled_from(['"mu"', '"var"'])))
        lines.insert(at, f"{toml_key(draw(SPELLINGS))} = {value}")
    return "\n".join(lines)


def check_beside_a_good_file(folder: Path, files: list[str]) -> None:
    """Check files and a good one to JUnit: the run survives and the good verdict is there."""
    (folder / "good.toml").write_text(GOOD)
    out = folder / "out.xml"
    args = ["check", *FLAGS, "--format", "junit", "-o", str(out), *files, str(folder / "good.toml")]
    result = CliRunner().invoke(main, args, env={"NO_COLOR": "1"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code in (0, 1, 2), result.output
    written = out.read_text(encoding="utf-8")
    assert "internal error" not in written and "Traceback" not in result.output, written
    assert "PATH=" not in written  # no line of /proc/self/environ, through any link
    assert re.search(r'<testcase classname="[^"]*good" name="good" />', written), written
    if result.exit_code == 2:
        assert re.search(r":\d+:\d+: error: ", written), written


@pytest.mark.slow
@fuzz_settings(ci_examples=300)
@given(model=wrong_models())
def test_model_files_of_every_wrong_type(model):
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "m.toml").write_text(model, encoding="utf-8", errors="surrogatepass")
        (folder / "d.toml").write_text(USES_MODEL)
        check_beside_a_good_file(folder, [str(folder / "d.toml")])


# Where a symbolic link may point: itself, a loop, a folder, nothing, a device, outside.
LINK_TARGETS = st.sampled_from(
    [
        "self",
        "loop",
        ".",
        "..",
        "missing.toml",
        "/dev/null",
        "/dev/zero",
        "/proc/self/environ",
        "/etc/hostname",
        "real.toml",
        "m.toml",
        "sub",
        "sub/inner.toml",
        "fifo",
    ]
)


@pytest.mark.slow
@fuzz_settings(ci_examples=200)
@given(derivation=LINK_TARGETS, model=LINK_TARGETS, walk=st.booleans())
def test_symbolic_links_as_derivations_and_models(derivation, model, walk):
    with tempfile.TemporaryDirectory() as name:
        # The checked folder is root/; ".." is the small temporary folder around it.
        (Path(name) / "outside.toml").write_text(USES_MODEL)
        folder = Path(name) / "root"
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "inner.toml").write_text(USES_MODEL)
        (folder / "real.toml").write_text(USES_MODEL)
        (folder / "real-model.toml").write_text("\n".join(MODEL_LINES))
        os.mkfifo(folder / "fifo")
        for link, target in (("link.toml", derivation), ("m.toml", model)):
            chosen = {"self": link, "loop": "loop-b.toml"}.get(target, target)
            (folder / link).symlink_to(chosen)
        (folder / "loop-b.toml").symlink_to("link.toml")
        (folder / "uses-link.toml").write_text(USES_MODEL)
        listed = (
            [str(folder)] if walk else [str(folder / "link.toml"), str(folder / "uses-link.toml")]
        )
        check_beside_a_good_file(folder, listed)
