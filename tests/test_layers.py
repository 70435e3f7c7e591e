"""The subpackages form a pipeline, and each imports only the steps below it.

files -> language -> model -> engine -> judge -> report: a module may import from its own
subpackage, from any subpackage before it, and from the shared records at the top
(`bnverify.problem`, `bnverify.settings`). The front ends (`check`, `cli`, the pytest
plugin) sit above them all. Imports inside functions count too: a deferred import is
still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bnverify"
PIPELINE = ["files", "language", "model", "engine", "judge", "report"]
SHARED = {"problem", "settings"}  # records every step uses; they import no step
# models finds, reads and proves the models a check uses: a part of the check front end.
FRONT_ENDS = {"check", "models", "cli", "pytest_plugin", "__main__", "__init__"}


def layer(module: str) -> int:
    """The rank of a bnverify module: shared records lowest, front ends highest."""
    first = module.split(".")[1] if "." in module else "__init__"
    if first in SHARED:
        return -1
    if first in PIPELINE:
        return PIPELINE.index(first)
    assert first in FRONT_ENDS, f"bnverify.{first} is in no layer: add it to tests/test_layers.py"
    return len(PIPELINE)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """The bnverify modules a file imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "bnverify":
                found |= {f"bnverify.{alias.name}" for alias in node.names}
            elif node.module.startswith("bnverify."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bnverify.")}
    return found - {"bnverify.__version__"}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    here = module_name(path)
    upward = sorted(m for m in imports(path) if layer(m) > layer(here))
    assert not upward, f"{here} (layer {layer(here)}) imports upward: {upward}"


def test_every_pipeline_step_is_a_subpackage():
    assert [p for p in PIPELINE if not (PACKAGE / p / "__init__.py").is_file()] == []
