"""bnverify: exact, tolerance-free verdicts on hand-derived gradients.

The package reads as its pipeline: files (TOML in, with positions), language (formula
text to a tree), model (a model file to a graph, and notation), engine (the true
gradient, derived and proved), judge (a candidate against the truth: a verdict) and
report (verdicts out). `check` joins them; `cli` and `pytest_plugin` are its front ends.

The library API is `__all__`, loaded on first use so `import bnverify` (which the pytest
plugin does in every run) stays cheap:

    >>> import bnverify
    >>> v = bnverify.check_formula("gamma/sqrt(var + eps) * g_zhat", wrt="z")
    >>> v.kind
    'diverge'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Each public name, and the module that defines it.
_API = {
    "check_formula": "bnverify.check",
    "check_file": "bnverify.check",
    "check_derivation": "bnverify.check",
    "load_derivation": "bnverify.files.derivation",
    "load_model": "bnverify.model.graph",
    "exit_status": "bnverify.judge.records",
    "Settings": "bnverify.settings",
    "Limits": "bnverify.settings",
    "FileResult": "bnverify.judge.records",
    "Verdict": "bnverify.judge.records",
    "Derivation": "bnverify.files.derivation",
    "Candidate": "bnverify.files.derivation",
    "Model": "bnverify.model.graph",
    "Problem": "bnverify.problem",
    "Location": "bnverify.problem",
}

__all__ = [
    "Candidate",
    "Derivation",
    "FileResult",
    "Limits",
    "Location",
    "Model",
    "Problem",
    "Settings",
    "Verdict",
    "check_derivation",
    "check_file",
    "check_formula",
    "exit_status",
    "load_derivation",
    "load_model",
]

if TYPE_CHECKING:  # what a type checker and an editor see; at run time, __getattr__
    from bnverify.check import check_derivation, check_file, check_formula
    from bnverify.files.derivation import Candidate, Derivation, load_derivation
    from bnverify.judge.records import FileResult, Verdict, exit_status
    from bnverify.model.graph import Model, load_model
    from bnverify.problem import Location, Problem
    from bnverify.settings import Limits, Settings


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'bnverify' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value  # later lookups do not come here again
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
