"""The command line as users see it: output, exit status, JSON, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bnverify.cli import main

DERIVATIONS = Path(__file__).parent.parent / "derivations"


def run(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env or {})


def write(tmp_path: Path, text: str, name: str = "d.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_shipped_derivations_exit_0():
    result = run("check", str(DERIVATIONS))
    assert result.exit_code == 0, result.output
    assert "all as expected" in result.output


def test_forum_post_text_report():
    result = run("check", str(DERIVATIONS / "forum-post.toml"))
    assert result.exit_code == 0
    out = result.output
    assert "g_gamma" in out and "g_beta" in out and "g_z" in out
    assert "missing terms (truth - candidate):" in out
    assert "-gamma*(zhat*sum(g_y*zhat) + sum(g_y))/(N*sqrt(var + eps))" in out
    assert "matches when: batch statistics held constant" in out
    assert "\x1b[" not in out  # no colour when not a terminal


def test_json_report(tmp_path):
    result = run("check", "--format", "json", str(DERIVATIONS / "forum-post.toml"))
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["summary"] == {
        "total": 3,
        "match": 1,
        "diverge": 2,
        "error": 0,
        "holds": 0,
        "fails": 0,
        "undecided": 0,
        "ok": 3,
        "status": 0,
    }
    by_name = {r["name"]: r for r in doc["results"]}
    assert set(by_name["g_z"]) >= {
        "file",
        "line",
        "name",
        "wrt",
        "verdict",
        "expect",
        "ok",
        "message",
        "residual",
        "conditions",
        "counterexample",
    }
    g_z = by_name["g_z"]
    assert (g_z["verdict"], g_z["expect"], g_z["ok"], g_z["wrt"]) == (
        "diverge",
        "diverge",
        True,
        "z",
    )
    assert g_z["line"] == 21
    assert g_z["residual"]["ascii"].startswith("-gamma*")
    assert g_z["counterexample"]["N"] == 2
    assert by_name["g_gamma"]["residual"] is None


def test_unexpected_verdict_exits_1(tmp_path):
    path = write(
        tmp_path,
        """
model = "batchnorm"
[[candidate]]
name = "wrong"
wrt = "z"
expr = "gamma/sqrt(var + eps) * g_y"
""",
    )
    result = run("check", path)
    assert result.exit_code == 1
    assert "UNEXPECTED" in result.output


def test_bad_candidate_exits_2_and_others_still_checked(tmp_path):
    path = write(
        tmp_path,
        """model = "batchnorm"
[[candidate]]
name = "bad"
latex = 'g_z = \\frac{\\gamma}{\\foo} g_y'

[[candidate]]
name = "good"
latex = 'g_{\\beta} = \\sum_i g_y'
""",
    )
    result = run("check", path)
    assert result.exit_code == 2
    assert f"{path}:4:30: error: unknown command \\foo" in result.output
    assert " 4 | latex = 'g_z = \\frac{\\gamma}{\\foo} g_y'\n" in result.output
    assert "\n   | " + " " * 29 + "^^^^\n" in result.output
    assert "Traceback" not in result.output
    assert "good" in result.output and "match" in result.output


def test_missing_path_exits_2():
    result = run("check", "no/such/file.toml")
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_inline_candidates():
    good = run("check", "--model", "batchnorm", "--wrt", "beta", "--expr", "sum(g_y)")
    assert good.exit_code == 0 and "match" in good.output
    bad = run("check", "--wrt", "z", "--latex", r"\frac{\gamma}{\sqrt{\sigma^2+\epsilon}} g_y")
    # An inline candidate expects a match, so a divergence is "not as expected".
    assert bad.exit_code == 1 and "diverge" in bad.output


def test_same_seed_same_output():
    first = run("check", "--seed", "7", "--format", "json", str(DERIVATIONS))
    second = run("check", "--seed", "7", "--format", "json", str(DERIVATIONS))
    assert first.output == second.output


def test_the_budget_changes_no_byte_when_nothing_runs_out():
    # The verdict is decided first and the diagnosis after it; neither depends on how much
    # time was left, so a larger budget gives the same output byte for byte.
    tight = run("check", "--time-budget", "5", "--format", "json", str(DERIVATIONS))
    loose = run("check", "--time-budget", "60", "--format", "json", str(DERIVATIONS))
    assert tight.exit_code == loose.exit_code == 0
    assert tight.output == loose.output


def test_derive_prints_the_closed_form():
    result = run("derive", "--model", "batchnorm", "--wrt", "z")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "g_z = gamma*(g_y*N - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var + eps))",
        "proved equal to the derivative of L for every N ≥ 1",
    ]
    latex = run("derive", "--wrt", "z", "--latex")
    assert r"\sum_{j}" in latex.output and r"\hat{z}_{i}" in latex.output
    at2 = run("derive", "--wrt", "gamma", "--batch-size", "2")
    assert "at N = 2:" in at2.output
    z2 = run("derive", "--wrt", "z", "--batch-size", "2")
    expected = "g_z[1] = 4*gamma*eps*(g_y_1 - g_y_2)/(z_1^2 + z_2^2 + 4*eps - 2*z_1*z_2)^(3/2)"
    assert expected in z2.output


def test_derive_order_2_states_the_second_derivative_and_what_was_proved():
    frozen = run(
        "derive", "--model", "batchnorm", "--wrt", "z", "--order", "2", "--freeze", "mu,var"
    )
    assert frozen.exit_code == 0
    lines = frozen.output.splitlines()
    assert lines[0] == "u^T (∇²_z L) u = gamma^2*hess(u, u)/(var + eps)"
    assert "whose Hessian is H = H_y" in lines[1] and "mu, var held constant" in lines[1]
    assert lines[2] == "the printed form is proved equal to the engine's Q for every N"
    assert (
        lines[3] == "the engine's Q is proved equal to SymPy's element-wise one at N = 1, 2, 3, 4"
    )
    repeated = run("derive", "--wrt", "z", "--order", "2", "--freeze", "mu", "--freeze", "var")
    assert repeated.output == frozen.output
    node = run("derive", "--wrt", "var", "--order", "2")
    assert node.output.splitlines()[0] == (
        "u^T (∇²_var L) u = gamma*u^2*(gamma*hess(zhat, zhat) + 3*sum(g_y*zhat))/(4*(var + eps)^2)"
    )
    training = run("derive", "--wrt", "z", "--order", "2")
    assert "sum(g_y*zhat)" in training.output and "hess(zhat, zhat)" in training.output
    latex = run("derive", "--wrt", "z", "--order", "2", "--latex", "--freeze", "mu,var")
    assert latex.output.startswith(r"u^\top \left(\nabla^2_{z} L\right) u = ")
    assert r"u^{\top} H_{y} u" in latex.output


def test_derive_order_2_reads_back_a_form_it_cannot_prove_for_every_size():
    result = run("derive", "--model", "layernorm", "--wrt", "gamma", "--order", "2")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "u^T (∇²_gamma L) u = hess(u*xhat, u*xhat)"
    assert lines[2].startswith("the printed form is not proved for every B and D (hess(a, b)")
    assert lines[2].endswith(
        "read back, it is proved equal to Q at every B and D with at most 4 elements"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--wrt", "q", "--order", "2"), "'q' is not a name of the batchnorm model"),
        (("--wrt", "z", "--order", "2", "--freeze", "zz"), "--freeze 'zz': not a node"),
        (("--wrt", "z", "--freeze", "mu"), "--freeze applies to --order 2"),
        (("--wrt", "var", "--order", "2", "--freeze", "var"), "that is the name differentiated"),
        (("--wrt", "z", "--order", "3"), "not in the range 1<=x<=2"),
    ],
)
def test_derive_order_2_refuses_what_it_cannot_state(args, message):
    result = run("derive", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_derive_unknown_name_exits_2():
    result = run("derive", "--wrt", "w")
    assert result.exit_code == 2
    assert "not a name of the batchnorm model" in result.output


def test_models_lists_batchnorm():
    result = run("models")
    assert result.exit_code == 0
    assert result.output.startswith("batchnorm: Batch Normalization")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_internal_errors_never_show_a_traceback(monkeypatch, fmt):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("bnverify.cli.check_files", boom)
    result = run("check", "--format", fmt, str(DERIVATIONS / "forum-post.toml"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "internal error" in result.output
    debug = run("check", "--debug", str(DERIVATIONS / "forum-post.toml"))
    assert isinstance(debug.exception, RuntimeError)


def test_a_reader_that_closes_the_pipe_gets_no_complaint():
    # `bnverify derive --wrt z | head -1`: the second line meets a closed pipe.
    command = f"{sys.executable} -m bnverify derive --wrt z | head -1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert done.stdout.startswith("g_z = ")
    assert done.stderr == ""
