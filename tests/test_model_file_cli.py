"""A model file with a mistyped key, end to end: `bnverify check` refuses it where it is written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bnverify.cli import main

DERIVATIONS = Path(__file__).parent.parent / "derivations"
MODEL = """\
name = "affine"
output = "y"
nodez = "x"
[inputs]
x = "batch"
a = "scalar"
[nodes]
y = "a*x"
"""
DERIVATION = """\
model = "models/affine.toml"
[[candidate]]
name = "g_x"
expr = "a*g_y"
wrt = "x"
"""


def test_an_unknown_model_key_exits_2_at_its_line_and_column(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "affine.toml").write_text(MODEL, encoding="utf-8")
    (tmp_path / "d.toml").write_text(DERIVATION, encoding="utf-8")
    shipped = str(DERIVATIONS / "forum-post.toml")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "d.toml"), shipped], env={})
    assert result.exit_code == 2, result.output
    where = f"{tmp_path / 'models' / 'affine.toml'}:3:1: error: "
    assert where + 'unknown key "nodez" at the top level of a model file' in result.output
    assert 'did you mean "nodes"?' in result.output
    assert "g_gamma" in result.output  # the rest of the run is still checked


def test_every_problem_of_a_model_file_is_reported_not_only_the_first(tmp_path):
    (tmp_path / "models").mkdir()
    broken = MODEL + '[[probes]]\ncondition = "x = 0"\n'
    (tmp_path / "models" / "affine.toml").write_text(broken, encoding="utf-8")
    (tmp_path / "d.toml").write_text(DERIVATION, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(tmp_path / "d.toml")], env={})
    assert result.exit_code == 2, result.output
    model = tmp_path / "models" / "affine.toml"
    assert f'{model}:3:1: error: unknown key "nodez"' in result.output
    assert f'{model}:9:1: error: unknown key "probes"' in result.output
    assert 'did you mean "probe"?' in result.output


def test_a_broken_model_given_on_the_command_line_is_located_too(tmp_path):
    (tmp_path / "affine.toml").write_text(MODEL, encoding="utf-8")
    for command in (["check", "--expr", "a*g_y", "--wrt", "x"], ["derive", "--wrt", "x"]):
        args = [*command, "--model", str(tmp_path / "affine.toml")]
        result = CliRunner().invoke(main, args, env={})
        assert result.exit_code == 2, result.output
        assert f"{tmp_path / 'affine.toml'}:3:1: error: unknown key" in result.output
        assert "Traceback" not in result.output
