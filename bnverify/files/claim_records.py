"""What a [[claim]] takes as given, beside its relation: the records claim_tables makes.

They sit apart from claim_tables so that a Candidate (candidate_tables) can carry a
Claim without the two table readers importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from bnverify.files.notation_table import NotationEntry
from bnverify.files.toml_strings import TextOrigin
from bnverify.problem import Location


@dataclass(frozen=True)
class Written:
    """A formula in one of a claim's own fields (an assumption, the step), located."""

    text: str
    origin: TextOrigin


@dataclass(frozen=True)
class Claim:
    """What a claim may take as given, beside its relation (the candidate's text)."""

    freeze: tuple[str, ...] = ()  # nodes held constant, as a probe's freeze
    freeze_location: Location | None = None
    set: tuple[tuple[str, Written], ...] = ()  # names set to a number: eps = "0"
    assume: tuple[Written, ...] = ()  # '\alpha > 0': signs the relation may rely on
    step: Written | None = None  # theta^{(k+1)} = theta^{(k)} + step
    notation: tuple[NotationEntry, ...] = ()  # names for this claim alone
    iterate: str | None = None  # the name L(theta^{(k+1)}) steps, when not theta's own
