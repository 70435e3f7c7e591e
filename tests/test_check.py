"""`bnverify check` from Python: a file (or one formula) in, verdicts out, nothing printed.

What a caller relies on: a right candidate matches and a wrong one diverges; a file
that cannot be read is a located problem, not an exception; and a broken candidate is
an error verdict of its own while the others are judged as if it were not there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bnverify.check import check_candidate, check_derivation, check_file
from bnverify.files.derivation import inline_candidate, parse_derivation
from bnverify.model.notation import Names
from bnverify.settings import Settings

FAST = Settings(
    max_symbolic_batch=3,
    float_sizes=(16,),
    float_channels=2,
)

RIGHT = "gamma/(N*sqrt(var + eps)) * (N*g_y - sum(g_y) - zhat*sum(g_y*zhat))"
EVAL_MODE = "gamma/sqrt(var + eps) * g_y"  # right only with the statistics held constant

MIXED = f"""\
title = "Right, wrong and broken"
model = "batchnorm"

[notation]
m = "N"

[[candidate]]
name = "right"
wrt = "z"
expr = "{RIGHT.replace("N", "m")}"

[[candidate]]
name = "broken"
wrt = "z"
expr = "gamma*(g_y - "

[[candidate]]
name = "eval mode, known to be wrong"
latex = 'g_z = \\frac{{\\gamma}}{{\\sqrt{{\\sigma_B^2 + \\epsilon}}}} g_y'
expect = "diverge"

[[candidate]]
name = "unknown name"
wrt = "z"
expr = "gamma*q"

[[candidate]]
name = "no formula"
wrt = "z"

[[candidate]]
name = "wrong"
wrt = "beta"
expr = "sum(g_y) + 1"
"""


def write(folder: Path, text: str, name: str = "derivation.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def outcomes(result) -> list[tuple[str, str, bool]]:
    return [(v.candidate.name, v.kind, v.ok) for v in result.verdicts]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("check"), MIXED)
    return path, check_file(path, FAST)


def test_every_candidate_gets_its_verdict_in_order(mixed):
    path, result = mixed
    assert result.path == str(path)
    assert result.title == "Right, wrong and broken"
    assert result.problems == ()
    assert outcomes(result) == [
        ("right", "match", True),
        ("broken", "error", False),
        ("eval mode, known to be wrong", "diverge", True),  # as the file expects
        ("unknown name", "error", False),
        ("no formula", "error", False),
        ("wrong", "diverge", False),
    ]


def test_a_verdict_says_what_it_is_the_gradient_of(mixed):
    _, result = mixed
    right, _, eval_mode, _, _, wrong = result.verdicts
    assert (right.wrt, eval_mode.wrt, wrong.wrt) == ("z", "z", "beta")
    assert wrong.message.startswith("proved different: a counterexample at N = 2, checked exactly")
    assert right.message == "proved equal for every N ≥ 1"


def test_a_broken_candidate_is_located_in_the_file(mixed):
    path, result = mixed
    broken = result.verdicts[1].problem
    assert broken.location.path == str(path)
    assert broken.location.line == 15
    assert broken.location.source == 'expr = "gamma*(g_y - "'
    assert broken.location.source[broken.location.column - 1] == "("  # the unclosed one
    unknown = result.verdicts[3].problem
    assert unknown.message.startswith("unknown name 'q'")
    assert (unknown.location.line, unknown.location.column) == (25, 15)


def test_check_derivation_is_check_file_without_the_reading(mixed):
    path, result = mixed
    again = check_derivation(parse_derivation(MIXED, str(path)), FAST)
    assert again.path == result.path and again.problems == ()
    assert outcomes(again) == outcomes(result)


def test_a_file_that_is_not_toml_is_a_located_problem(tmp_path):
    result = check_file(write(tmp_path, 'title = "unclosed\nmodel = "batchnorm"\n'), FAST)
    assert result.verdicts == ()
    (problem,) = result.problems
    assert problem.message.startswith("invalid TOML")
    assert problem.location.line == 1


def test_a_missing_file_is_a_problem_not_an_exception(tmp_path):
    result = check_file(tmp_path / "nothing.toml", FAST)
    assert result.verdicts == ()
    assert len(result.problems) == 1
    assert result.problems[0].location.path == str(tmp_path / "nothing.toml")


@pytest.mark.parametrize(
    ("model_line", "line", "word"),
    [('model = "nosuch"\n', 2, "nosuch"), ("", 1, "model")],
)
def test_a_file_without_a_usable_model_judges_nothing(tmp_path, model_line, line, word):
    text = f'title = "t"\n{model_line}[[candidate]]\nname = "a"\nwrt = "z"\nexpr = "z"\n'
    result = check_file(write(tmp_path, text), FAST)
    assert result.verdicts == ()
    (problem,) = result.problems
    assert word in problem.message and problem.location.line == line


def test_a_bad_notation_entry_does_not_stop_the_candidates(tmp_path):
    text = MIXED.replace('m = "N"', 'm = "N"\nq = "nosuch"')
    result = check_file(write(tmp_path, text), FAST)
    (problem,) = result.problems
    assert "'q'" in problem.message and problem.location.line == 6
    assert [kind for _, kind, _ in outcomes(result)] == [
        "match",
        "error",
        "diverge",
        "error",
        "error",
        "diverge",
    ]


# --- one formula, from Python --------------------------------------------------------


@pytest.fixture(scope="module")
def names(model):
    return Names(model, {})


@pytest.mark.parametrize(
    ("text", "syntax", "wrt", "kind"),
    [
        (RIGHT, "ascii", "z", "match"),
        (EVAL_MODE, "ascii", "z", "diverge"),
        ("sum(g_y*zhat)", "ascii", "gamma", "match"),
        ("g_y", "ascii", "beta", "diverge"),  # the wrong shape: one number per sample
        (r"g_{\beta} = \sum_{i=1}^{N} g_{y_i}", "latex", None, "match"),
        ("gamma*(", "ascii", "z", "error"),
        ("gamma", "ascii", "w", "error"),  # w is not a name of the model
    ],
)
def test_check_candidate(model, names, text, syntax, wrt, kind):
    verdict = check_candidate(inline_candidate(text, syntax, wrt), names, model, FAST)
    assert verdict.kind == kind
    assert verdict.ok == (kind == "match")  # an inline candidate expects a match


def test_a_candidate_known_to_be_broken_is_not_parsed(model, names):
    candidate = inline_candidate("\x00", "ascii", "z")
    assert candidate.problem is not None
    verdict = check_candidate(candidate, names, model, FAST)
    assert verdict.kind == "error"
    assert verdict.problem == candidate.problem
