"""The models a check uses: found where they are named, read, and what they state proved.

A derivation names its model (a built-in name, or a model file in its project), and the
command line may name one (`--model`). Either way the model is read (model.graph), a
model file kept inside the derivation's project (files.access), and what the model
states proved for every size (engine.identities) before any candidate is judged by it.
Every problem is a located Problem, and a model with one judges nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from bnverify.engine.identities import unproved
from bnverify.files.access import model_file_refusal, project_of
from bnverify.files.derivation import Derivation
from bnverify.judge import budget
from bnverify.model.graph import Model, load_model
from bnverify.problem import Location, Problem, location_in_text
from bnverify.settings import Settings, flag

MODEL_FLAG = "--model"  # where a problem with the command line's model is shown


def usable(model: Model, settings: Settings) -> Model | tuple[Problem, ...]:
    """The model once what it states is proved; else every problem, located in its file."""
    problems = _proved(model, settings.limits.time_budget, settings.debug)
    return problems or model


def load_usable(
    ref: str, settings: Settings, base: Path | None = None
) -> Model | tuple[Problem, ...]:
    """A model by name or path (relative to `base`), read and proved, or its problems."""
    model = load_model(ref, base)
    return model if isinstance(model, tuple) else usable(model, settings)


def command_line_model(ref: str, settings: Settings) -> Model | tuple[Problem, ...]:
    """The model `--model` names; a problem with no place in a model file points at it."""
    model = load_usable(ref, settings)
    if isinstance(model, Model):
        return model
    where = location_in_text(MODEL_FLAG, ref, 0, len(ref))
    return tuple(p if p.location is not None else p.at(where) for p in model)


def model_of(
    derivation: Derivation, settings: Settings, searched: Iterable[Path] = ()
) -> Model | tuple[Problem, ...] | None:
    """The model a derivation names (None when it names none), or why it cannot be used.

    Every problem with it is placed where the derivation names it, unless it has a place
    in the model file. A model file must stay in the derivation's project: the widest of
    its folder, a folder in `searched` (the run's) that holds it, and its repository.
    """
    if not derivation.model:
        return None
    folder = Path(derivation.path).parent
    ref, here = derivation.model, derivation.model_location
    if ref.endswith(".toml"):  # a built-in name is never a file: see load_model
        project = project_of(Path(derivation.path), searched)
        refused = model_file_refusal(ref, folder, project)
        if refused is not None:
            return (Problem(f"model {ref!r} is not read: {refused}", location=here),)
    model = load_usable(ref, settings, folder)
    if isinstance(model, Model):
        return model
    return tuple(_placed(problem, here) for problem in model)


def _placed(problem: Problem, where: Location | None) -> Problem:
    if problem.location is not None or where is None:
        return problem
    return problem.at(where)


@cache
def _proved(model: Model, seconds: float | None, debug: bool) -> tuple[Problem, ...]:
    """unproved(model) within the time budget; running out is a problem of the model."""
    try:
        done = budget.within(seconds, lambda: unproved(model))
    except Exception as err:  # a bug must not cost the files that do not use this model
        if debug:
            raise
        message = (
            f"internal error while proving what model {model.name!r} states: {err!r}; this "
            "is a bug in bnverify (run with --debug for the traceback)"
        )
        return (Problem(message, location=Location(model.path, 1, 1)),)
    if isinstance(done, budget.Overrun):
        message = (
            f"proving what model {model.name!r} states (its nodes and identities, for every "
            f"size) ran out of its {seconds:g} s time budget; raise it with {flag('time_budget')}"
        )
        return (Problem(message, location=Location(model.path, 1, 1)),)
    return done
