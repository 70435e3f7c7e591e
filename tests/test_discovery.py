"""Which files a run checks: model files set apart by their keys, and a derivation's project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bnverify.files.access import model_file_refusal, project_of
from bnverify.files.derivation import TOP_LEVEL_KEYS
from bnverify.files.discovery import MODEL_MARKS, discover, is_model
from bnverify.model.sections import MODEL_KEYS

MODEL = 'name = "m"\noutput = "y"\n[inputs]\nx = "batch"\n[nodes]\ny = "x"\n'
DERIVATION = 'model = "batchnorm"\n[[candidate]]\nname = "c"\nwrt = "beta"\nexpr = "sum(g_y)"\n'


def test_the_marks_of_a_model_file_are_its_keys_and_no_derivations():
    assert set(MODEL_MARKS) <= set(MODEL_KEYS.keys)
    assert not set(MODEL_MARKS) & set(TOP_LEVEL_KEYS)


@pytest.mark.parametrize(
    ("keys", "model"),
    [
        ({"name", "output", "inputs", "nodes"}, True),
        ({"name", "output", "inputs", "nodez"}, True),  # a typo: still a model, said so
        ({"title", "model", "candidate"}, False),
        ({"title", "model", "candidates"}, False),  # a derivation's typo: reported as one
        ({"output", "candidate"}, False),  # a candidate makes it a derivation
        ({"title", "name"}, False),
        (set(), False),
    ],
)
def test_a_model_file_is_told_by_its_keys(keys, model):
    assert is_model(keys) is model


def test_a_walk_sets_model_files_apart(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "layer.toml").write_text(MODEL)
    (tmp_path / "models" / "typo.toml").write_text(MODEL.replace("[nodes]", "[nodez]"))
    (tmp_path / "a.toml").write_text(DERIVATION)
    (tmp_path / "broken.toml").write_text("this is = not toml [")
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "huge.toml").write_text(MODEL + "#" * 2000)
    found = discover([tmp_path], max_bytes=1000)
    names = [p.relative_to(tmp_path).as_posix() for p in found.derivations]
    assert names == ["a.toml", "broken.toml", "empty.toml", "huge.toml"]
    assert [p.relative_to(tmp_path).as_posix() for p in found.models] == [
        "models/layer.toml",
        "models/typo.toml",
    ]
    assert found.problems == []


def test_a_named_model_file_is_set_apart_too(tmp_path):
    (tmp_path / "layer.toml").write_text(MODEL)
    found = discover([tmp_path / "layer.toml"], max_bytes=10_000)
    assert (found.derivations, found.models) == ([], [tmp_path / "layer.toml"])


def test_the_project_is_the_widest_of_folder_searched_folder_and_repository(tmp_path):
    subs = tmp_path / "course" / "hw" / "subs"
    subs.mkdir(parents=True)
    derivation = subs / "ann.toml"
    assert project_of(derivation) == subs
    assert project_of(derivation, [tmp_path / "course" / "hw"]) == tmp_path / "course" / "hw"
    assert project_of(derivation, [tmp_path / "elsewhere"]) == subs  # does not hold it
    (tmp_path / "course" / ".git").write_text("gitdir: ../.git/worktrees/course\n")
    assert project_of(derivation) == tmp_path / "course"  # a worktree's .git is a file
    assert project_of(derivation, [subs]) == tmp_path / "course"


@pytest.mark.parametrize(
    ("reference", "refused"),
    [
        ("../models/layer.toml", None),
        ("../../outside.toml", "it is outside the derivation's project"),
        ("/etc/passwd.toml", "it is outside the derivation's project"),
        ("../models/out.toml", "leads outside"),  # a link out of the project
        ("../models/layer.txt", "a model file must be a .toml file"),
    ],
)
def test_a_model_file_may_be_anywhere_in_the_project_and_never_outside(
    tmp_path, reference, refused
):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "subs").mkdir()
    (project / "models" / "layer.toml").write_text(MODEL)
    (tmp_path / "outside.toml").write_text(MODEL)
    (project / "models" / "out.toml").symlink_to(tmp_path / "outside.toml")
    why = model_file_refusal(reference, project / "subs", project)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why, why
        assert str(project) in why or "must be a .toml" in why


def test_without_a_project_a_model_file_stays_in_the_derivations_folder(tmp_path):
    (tmp_path / "d").mkdir()
    why = model_file_refusal("../m.toml", tmp_path / "d")
    assert why is not None and "outside the derivation's folder" in why
    assert "symbolic link" not in why  # it is a path that leads out, not a link


def test_a_walk_never_follows_a_link_out_to_decide_what_a_file_is(tmp_path):
    (tmp_path / "top").mkdir()
    (tmp_path / "secret.toml").write_text(MODEL)
    os.symlink(tmp_path / "secret.toml", tmp_path / "top" / "link.toml")
    found = discover([tmp_path / "top"], max_bytes=10_000)
    assert found.derivations == found.models == []
    assert "leads outside" in found.problems[0].message
    assert Path(found.problems[0].location.path).name == "link.toml"
