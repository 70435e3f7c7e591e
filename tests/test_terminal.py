"""Text output on a terminal: lines fit its width, broken only between words, no trailing
spaces; and every command's --help is complete, with an example and the exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bnverify.cli import main

FILES = ["derivations/forum-post.toml", "derivations/ioffe-szegedy-2015.toml"]
FAST = ["--max-symbolic-batch", "2"]


def text_output(columns: str | None) -> str:
    env = {"COLUMNS": columns} if columns else {"COLUMNS": ""}
    return CliRunner(env=env).invoke(main, ["check", *FILES, *FAST]).stdout


@pytest.mark.parametrize("width", [60, 120])
def test_lines_fit_the_terminal_and_break_between_words(width):
    wrapped = text_output(str(width))
    assert max(map(len, wrapped.splitlines())) <= width
    # The same words in the same order: a line is only ever broken at a space.
    assert wrapped.split() == text_output(None).split()


def test_no_line_ends_in_a_space():
    for text in (text_output("60"), text_output(None)):
        assert all(line == line.rstrip() for line in text.splitlines())


def test_a_pipe_keeps_whole_lines():
    assert max(map(len, text_output(None).splitlines())) > 120


COMMANDS = ["check", "report", "derive", "models", "schema", "merge"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_exit_codes(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"bnverify {command}" in result.output
    assert "Exit status" in result.output


def test_top_level_help_lists_every_command_whole():
    result = CliRunner(env={"COLUMNS": "80"}).invoke(main, ["--help"])
    for command in COMMANDS:
        line = next(line for line in result.output.splitlines() if line.strip().startswith(command))
        assert "..." not in line, line


def test_every_option_has_help():
    for command in COMMANDS:
        for param in main.commands[command].params:
            if param.param_type_name == "option" and param.name not in ("help",):
                assert param.help, f"{command} {param.opts[0]} has no help"
