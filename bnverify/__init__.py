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

from typing import Any

__version__ = "0.1.0"

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


def __getattr__(name: str) -> Any:
    """A public name, loading the library on first use; later lookups do not come here."""
    if name not in __all__:
        raise AttributeError(f"module 'bnverify' has no attribute {name!r}")
    from bnverify import check, problem, settings
    from bnverify.files import derivation
    from bnverify.judge import records
    from bnverify.model import graph

    homes = (check, derivation, records, graph, problem, settings)
    api = {key: getattr(home, key) for home in homes for key in __all__ if hasattr(home, key)}
    globals().update(api)
    return api[name]


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
