"""The JSON report's schema: shipped, printed by `bnverify schema`, and true of every report."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from bnverify.cli import main
from bnverify.report.schema import report_schema

DERIVATIONS = Path(__file__).parent.parent / "derivations"
DATA = Path(__file__).parent / "data"
SCHEMA = json.loads(report_schema())
VALIDATOR = Draft202012Validator(SCHEMA)


def report(*args: str) -> dict:
    result = CliRunner().invoke(main, ["check", *args, "--format", "json"])
    document = json.loads(result.stdout)
    VALIDATOR.validate(document)
    assert document["summary"]["status"] == result.exit_code
    return document


def test_schema_command_prints_the_shipped_schema():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == SCHEMA
    Draft202012Validator.check_schema(SCHEMA)


def test_shipped_derivations():
    document = report(str(DERIVATIONS))
    written = sum(
        p.read_text(encoding="utf-8").count("[[candidate]]")
        + p.read_text(encoding="utf-8").count("[[claim]]")
        for p in DERIVATIONS.glob("*.toml")
    )
    assert document["summary"]["total"] == written
    assert {r["verdict"] for r in document["results"]} == {"match", "diverge", "holds", "fails"}


def test_failing_and_error_candidates():
    document = report(str(DATA / "unexpected.toml"))
    verdicts = [(r["verdict"], r["ok"]) for r in document["results"]]
    assert verdicts == [
        ("diverge", False),
        ("diverge", True),
        ("match", False),
        ("error", False),
        ("error", False),
    ]


def test_file_problems_and_missing_paths(tmp_path):
    broken = DATA / "broken.toml"
    other = tmp_path / "other.toml"
    other.write_text('model = "nope"\n[[candidate]]\nname = "a"\nexpr = "g_y"\n')
    document = report(str(broken), str(other), str(tmp_path / "gone"))
    assert len(document["problems"]) == 3
    assert document["problems"][-1]["line"] is None


@pytest.mark.parametrize(
    "args",
    [
        ("--expr", "gamma/sqrt(var+eps)*g_y", "--wrt", "z"),
        ("--latex", "\\hat{z}^T g_y", "--wrt", "gamma"),
        ("--expr", "gamma *", "--wrt", "z"),
    ],
)
def test_inline_candidates(args):
    document = report(*args)
    assert len(document["results"]) == 1


@cache
def forum_post() -> dict:
    result = CliRunner().invoke(
        main, ["check", str(DERIVATIONS / "forum-post.toml"), "--format", "json"]
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["results"][0].pop("line"),
        lambda d: d["results"][0].update(verdict="wrong"),
        lambda d: d["results"][2].update(counterexample={"N": 2}),
        lambda d: d["results"][2]["counterexample"]["truth"].append("0.5"),
        lambda d: d["results"][0].update(error={"file": None, "line": None, "column": None}),
        lambda d: d["results"][1]["evidence"][0].update(outcome="maybe"),
        lambda d: d["summary"].update(status=3),
        lambda d: d.pop("problems"),
    ],
)
def test_the_schema_rejects_a_damaged_report(damage):
    document = copy.deepcopy(forum_post())
    VALIDATOR.validate(document)
    damage(document)
    assert not VALIDATOR.is_valid(document)


def test_new_keys_may_be_added():
    # README: keys are stable, new ones may be added; the schema must not forbid them.
    document = copy.deepcopy(forum_post())
    document["added later"] = 1
    document["results"][0]["added later"] = 1
    VALIDATOR.validate(document)
