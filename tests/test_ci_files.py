"""The CI examples (docs/ci) and the pre-commit hook: valid YAML, and commands that work.

Every `bnverify ...` command line in them is run through the CLI on a copy of the shipped
derivations, and the files their CI uploads must be files those commands write.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bnverify.cli import main

ROOT = Path(__file__).parent.parent
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
SHELL_OPERATORS = {"||", "&&", ";", "|"}


def load(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_lines() -> list[str]:
    steps = load(GITHUB)["jobs"]["derivations"]["steps"]
    return [line for step in steps for line in step.get("run", "").splitlines()]


def gitlab_lines() -> list[str]:
    return load(GITLAB)["bnverify"]["script"]


def bnverify_args(line: str) -> list[str] | None:
    """The arguments of the bnverify command in a shell line, if it runs bnverify."""
    words = shlex.split(line, comments=True)
    cut = next((i for i, word in enumerate(words) if word in SHELL_OPERATORS), len(words))
    words = words[:cut]
    return words[words.index("bnverify") + 1 :] if "bnverify" in words else None


def outputs(lines: list[str]) -> set[str]:
    """The files the bnverify commands in these lines write with -o."""
    written = set()
    for line in lines:
        args = bnverify_args(line) or []
        written.update(args[i + 1] for i, arg in enumerate(args) if arg == "-o")
    return written


COMMANDS = [
    pytest.param(args, id=f"{source.name}: bnverify {shlex.join(args)}")
    for source, lines in ((GITHUB, github_lines()), (GITLAB, gitlab_lines()))
    for args in map(bnverify_args, lines)
    if args is not None
]


def test_the_examples_run_check_in_each_format():
    commands = [shlex.join(p.values[0]) for p in COMMANDS]
    assert "check derivations/ --format github" in commands
    assert commands.count("check derivations/ --format junit -o bnverify.xml") == 2
    assert "check derivations/" in commands


@pytest.mark.parametrize("args", COMMANDS)
def test_each_command_works_on_the_shipped_derivations(args, tmp_path, monkeypatch):
    if args[0] not in main.commands:
        pytest.skip(f"bnverify {args[0]} is not part of this build yet")
    shutil.copytree(ROOT / "derivations", tmp_path / "derivations")
    monkeypatch.chdir(tmp_path)
    env = {"GITHUB_ACTIONS": None, "GITHUB_STEP_SUMMARY": None}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    for written in outputs([shlex.join(["bnverify", *args])]):
        assert (tmp_path / written).stat().st_size > 0


def test_github_uploads_what_the_commands_write():
    steps = load(GITHUB)["jobs"]["derivations"]["steps"]
    uploads = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(uploads) == 1
    paths = set(uploads[0]["with"]["path"].split())
    assert paths == outputs(github_lines()) == {"bnverify.xml", "report.html"}
    annotate = next(s for s in steps if "--format github" in s.get("run", ""))
    assert "if" not in annotate  # the step whose exit status fails the job


def test_gitlab_reads_the_junit_file_the_job_writes():
    job = load(GITLAB)["bnverify"]
    assert job["artifacts"]["reports"]["junit"] in outputs(gitlab_lines())
    assert job["artifacts"]["when"] == "always"  # kept when a verdict fails the job


def test_pre_commit_hook():
    (hook,) = load(HOOKS)
    assert hook["id"] == "bnverify"
    assert hook["entry"] == "bnverify check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    files = re.compile(hook["files"])
    for path in ("derivations/forum-post.toml", "notes/derivations/ch2/bn.toml"):
        assert files.search(path), path
    for path in ("pyproject.toml", "models/layer.toml", "derivations/README.md"):
        assert not files.search(path), path


def test_pre_commit_entry_accepts_changed_files_as_pre_commit_passes_them(monkeypatch):
    monkeypatch.chdir(ROOT)
    (hook,) = load(HOOKS)
    changed = ["derivations/forum-post.toml", "derivations/closed-form.toml"]
    args = [*shlex.split(hook["entry"])[1:], *changed]
    result = CliRunner().invoke(main, args, env={"GITHUB_STEP_SUMMARY": None})
    assert result.exit_code == 0, result.output
    assert "all as expected" in result.output


def test_readme_shows_the_commands_of_the_working_examples():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using bnverify in CI", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:yaml|sh)\n(.*?)```", section, re.DOTALL)
    # Shell lines as they stand in YAML (`- run: ...`, `- ...`) or alone in an sh block.
    lines = [
        line.split("run: ")[-1].strip().removeprefix("- ")
        for block in blocks
        for line in block.splitlines()
        if "bnverify " in line
    ]
    shown = {shlex.join(args) for args in map(bnverify_args, lines) if args is not None}
    assert shown == {shlex.join(p.values[0]) for p in COMMANDS}
