"""Shared fixtures (the built-in Batch Norm model and its truth) and hypothesis profiles.

Profiles: "ci" (the default) runs the fuzz tests of tests/test_fuzz.py on their CI
counts, 2,900 inputs in all; "long" (`pytest --hypothesis-profile=long`) runs every
property and fuzz test on 100,000 inputs. Neither has a per-example deadline: the fuzz
tests assert their own, bnverify's time budget.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings

from bnverify.engine.truth import Truth, truth_of
from bnverify.language.parser import parse
from bnverify.language.tree import Expr
from bnverify.model.graph import Model, load_model
from bnverify.model.notation import Names, resolve
from bnverify.problem import Problem

# tests/data and tests/corpus hold derivation files (many deliberately broken) that tests
# read; the bnverify pytest plugin would otherwise collect them as tests of their own.
collect_ignore = ["data", "corpus"]

settings.register_profile("ci", deadline=None, print_blob=True)
settings.register_profile("long", max_examples=100_000, deadline=None, print_blob=True)
settings.load_profile("ci")


@pytest.fixture(scope="session")
def model() -> Model:
    loaded = load_model("batchnorm")
    assert isinstance(loaded, Model), loaded
    return loaded


@pytest.fixture(scope="session")
def truth(model: Model) -> Truth:
    return truth_of(model)


@pytest.fixture(scope="session")
def formula(model: Model) -> Callable[..., Expr]:
    """Resolve a formula in the model's names (fails loudly on a problem)."""

    def resolved(text: str, syntax: str = "ascii", wrt: str = "z") -> Expr:
        result = resolve(parse(text, syntax), Names(model, {}), wrt)
        assert not isinstance(result, Problem), result
        return result.expr

    return resolved
