"""The JSON Schema of `bnverify check --format json`, shipped with the package.

`bnverify schema` prints it; README.md ("JSON output") documents the same layout.
"""

from __future__ import annotations

from importlib import resources

REPORT_SCHEMA = "report.schema.json"


def report_schema() -> str:
    """The text of the JSON report's schema."""
    return resources.files(__name__).joinpath(REPORT_SCHEMA).read_text(encoding="utf-8")
