"""The CI examples install bnverify from a git repository, never by a package name.

bnverify is not published on a package index, so `pip install bnverify` in a copied
workflow would fail, or install whoever registers the name later.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("docs/ci/github-actions.yml", ("env",)),
        ("docs/ci/gitlab-ci.yml", ("bnverify", "variables")),
    ],
)
def test_ci_examples_install_from_git(path, where):
    document = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    for key in where:
        document = document[key]
    assert document["BNVERIFY"].startswith("git+")


def test_readme_never_installs_by_name():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install bnverify" not in readme
    assert '"bnverify==' not in readme and "`bnverify==" not in readme
