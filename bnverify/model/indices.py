"""Element indices of LaTeX formulas: the one axis each index letter of a formula runs over.

Notes index a name by its axes in declaration order (with x over (b, d), x_{ij} is x at
sample i and feature j), bound a sum by an axis's size (\\sum_{k=1}^{D} runs over the axis
of size D), and may name an axis itself (\\sum_{d}); a derivation's [notation] may also map
a letter to an axis (j = "d"). `bind` reads those facts off one formula and gives every
letter its axis, or a located Problem where two facts disagree or none decides, never a
guess; `atom_problem` and `clash` then check each indexed name and each term against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from bnverify.model.graph import Model
from bnverify.problem import Problem, Span

_POWER = re.compile(r"(.*?)((?:\^\d+)?)")


@dataclass(frozen=True)
class Indexed:
    """A name as written with its index letters, and the axes of the value it stands for."""

    name: str  # as the formula spells it, without the letters: x for x_{ij}
    axes: tuple[str, ...]  # the value's axes in declaration order
    letters: str  # one letter per index: "ij"
    span: Span


@dataclass(frozen=True)
class Summed:
    """A sum's index letter, and the axis its bound names (\\sum_{k=1}^{D}: k and d)."""

    letter: str
    axis: str | None  # None without a bound (or with one that names no axis)
    size: str | None
    span: Span


Written = Indexed | Summed


@dataclass(frozen=True)
class _Fact:
    """That a letter runs over an axis, and what says so, for a message."""

    axis: str
    why: str


def readings(name: str, index: str | None) -> Iterator[tuple[str, str]]:
    """The ways to read a spelled name, longest name first: as written, then with each
    trailing subscript of lowercase letters taken as indices (x_ij is x at i and j,
    g_y_ik is g_y at i and k, g_sigma_ij^2 is g_sigma^2 at i and j)."""
    letters = index or ""
    yield name, letters
    match = _POWER.fullmatch(name)
    base, power = match.groups() if match else (name, "")
    while True:
        head, _, tail = base.rpartition("_")
        if not head or not (tail.isascii() and tail.isalpha() and tail.islower()):
            return
        base, letters = head, tail + letters
        yield base + power, letters


def bind(
    written: Sequence[Written], model: Model, given: Mapping[str, str]
) -> dict[str, str] | Problem:
    """Letter -> axis for one formula, from what it writes and the [notation]'s letters.

    A model with one axis has every letter run over it, as Batch Norm's x_i and \\sum_j.
    """
    facts = {
        letter: _Fact(axis, f"[notation] maps {letter} to {axis}") for letter, axis in given.items()
    }
    for item in written:
        for letter, axis, why in _claims(item):
            if letter not in facts and letter in model.order:
                facts[letter] = _Fact(letter, f"{letter} is the name of an axis")
            known = facts.get(letter)
            if axis is None or (known is not None and known.axis == axis):
                continue
            if known is not None and len(model.order) > 1:
                return Problem(_conflict(letter, _Fact(axis, why), known, model), item.span)
            facts.setdefault(letter, _Fact(axis, why))
    if len(model.order) == 1:
        seen = {letter for item in written for letter, _, _ in _claims(item)}
        return dict.fromkeys(seen | set(facts), model.order[0])
    bound = {letter: fact.axis for letter, fact in facts.items()}
    return _unbound(written, bound, model) or bound


def _claims(item: Written) -> Iterator[tuple[str, str | None, str]]:
    """(letter, axis or None, why) for each letter an item writes."""
    if isinstance(item, Summed):
        yield item.letter, item.axis, f"the bound {item.size} of its sum"
        return
    full = len(item.letters) == len(item.axes)
    for position, letter in enumerate(item.letters):
        if full:
            yield (
                letter,
                item.axes[position],
                f"the {_ordinal(position, item)} index of {item.name}",
            )
        else:
            yield letter, None, ""


def _ordinal(position: int, item: Indexed) -> str:
    if len(item.axes) == 1:
        return "only"
    return ("1st", "2nd", "3rd")[position] if position < 3 else f"{position + 1}th"


def _conflict(letter: str, here: _Fact, there: _Fact, model: Model) -> str:
    return (
        f"index {letter} runs over {_axis(here.axis, model)} here, as {here.why}, but over "
        f"{_axis(there.axis, model)}, as {there.why}; use one letter per axis"
    )


def _axis(name: str, model: Model) -> str:
    word = next((a.word for a in model.axes if a.name == name), name)
    return f"axis {name} ({word})"


def _unbound(written: Sequence[Written], bound: Mapping[str, str], model: Model) -> Problem | None:
    """A located Problem for the first letter that indexes a name and runs over no axis:
    at the sum over that letter, when there is one."""
    sums = {}
    for item in written:
        if isinstance(item, Summed):
            sums.setdefault(item.letter, item.span)
    for item in written:
        if not isinstance(item, Indexed) or len(item.letters) > len(item.axes):
            continue  # too many indices: refused where the name is resolved
        for letter in item.letters:
            if letter not in bound:
                summed = sums.get(letter)
                return Problem(
                    _ambiguous(letter, item, model, summed is not None), summed or item.span
                )
    return None


def _ambiguous(letter: str, item: Indexed, model: Model, summed: bool) -> str:
    choices = " or ".join(_axis(axis, model) for axis in item.axes)
    example = item.axes[-1]
    bound = f"bound its sum by the axis's size (\\sum_{{{letter}=1}}^{{{model.sizes[example]}}}), "
    return (
        f"which axis does {letter} run over? it indexes {item.name}, "
        f"{model.describe(frozenset(item.axes))}, so it could be {choices}, and nothing "
        f"else in the formula says which: give {item.name} one index per axis, "
        f'{bound if summed else ""}or map the letter in [notation], e.g. {letter} = "{example}"'
    )


def atom_problem(item: Indexed, bound: Mapping[str, str], model: Model) -> str | None:
    """Why a name cannot take the indices written on it, or None.

    One index per axis reads in declaration order; fewer (Ba et al.'s a_i on a value
    over samples and features) only when each letter runs over one of its axes, known
    from elsewhere, and the letters over different ones.
    """
    count, have = len(item.letters), len(item.axes)
    shape = model.describe(frozenset(item.axes))
    if count > have and have == 0:
        return f"{item.name} is {shape}, so it has no element {item.letters}"
    if count > have:
        takes = "one index" if have == 1 else f"{have} indices, in the order {', '.join(item.axes)}"
        return f"{item.name} is {shape}: it takes {takes}, not {count} ({item.letters})"
    if count == have:
        return None
    unbound = next((letter for letter in item.letters if letter not in bound), None)
    if unbound is not None:  # a sum's bound, say, read before the formula's letters
        return _ambiguous(unbound, item, model, summed=False)
    axes = [bound[letter] for letter in item.letters]
    for letter, axis in zip(item.letters, axes, strict=True):
        if axis not in item.axes:
            return (
                f"{letter} runs over {_axis(axis, model)}, but {item.name} is "
                f"{model.describe(frozenset(item.axes))}: it has no index on that axis"
            )
    if len(set(axes)) < len(axes):
        return f"two indices of {item.name} run over the same axis"
    return None


def clash(free: frozenset[str], bound: Mapping[str, str], model: Model) -> str | None:
    """Why one term's free letters cannot be read as one value, or None.

    Two letters over one axis in one term (z_i z_j, \\gamma_j y_{ik}) are an outer product,
    which the vector language has no value for.
    """
    by_axis: dict[str, list[str]] = {}
    for letter in sorted(free):
        by_axis.setdefault(bound.get(letter, letter), []).append(letter)
    mixed = next((letters for letters in by_axis.values() if len(letters) > 1), None)
    if mixed is None:
        return None
    if len(model.order) == 1:
        return (
            f"this term mixes the indices {' and '.join(mixed)}; "
            "bnverify handles terms that depend on one index at a time (split the sum)"
        )
    axis = _axis(bound[mixed[0]], model)
    return (
        f"this term mixes the indices {' and '.join(mixed)}, which both run over {axis}; "
        "bnverify handles terms with one index per axis at a time (split the sum)"
    )
