"""The oracle's findings as text: PyTorch's cross-check of the engine, labelled as one.

The section follows the verdicts (or stands alone, `bnverify oracle`) and says what was
compared and how closely; it never reads as a verdict, whose evidence is proof.
"""

from __future__ import annotations

from bnverify.judge.records import Agreement, ModelOracle, OracleReport, Quantity, Sizes


def render(report: OracleReport) -> str:
    """The section: a heading, one block per model, and a closing line."""
    lines = [
        f"oracle: PyTorch {report.version} at float64, a cross-check of the engine, "
        "never a verdict",
        f"  each model's forward pass runs op by op in PyTorch (a built-in layer also as "
        f"PyTorch's own functional) at {report.draws} random points of each shape; a value "
        f"agrees within {_number(report.tolerance)} relative, or within twice the engine's "
        "float64 rounding bound where it cancels to near 0",
    ]
    for model in report.models:
        lines += _model(model)
    lines.append(_closing(report))
    return "\n".join(lines) + "\n"


def _model(model: ModelOracle) -> list[str]:
    axes = ", ".join(axis for axis, _ in model.shapes[0])
    shapes = " ".join(f"({', '.join(str(n) for _, n in sizes)})" for sizes in model.shapes)
    width = max((len(q.name) for q in model.quantities), default=0)
    plural = "" if len(model.shapes) == 1 else "s"
    lines = [f"{model.model}: {len(model.shapes)} shape{plural} ({axes}) = {shapes}"]
    lines += [f"  {q.name:<{width}}  {_quantity(q)}" for q in model.quantities]
    if not model.quantities:
        lines.append("  nothing compared: the engine has a value at none of these shapes")
    return lines + [f"  note: {note}" for note in model.notes]


def _quantity(quantity: Quantity) -> str:
    agreeing = [a for a in quantity.agreements if a.agrees]
    differing = [a for a in quantity.agreements if not a.agrees]
    parts = [f"DISAGREES with {_differs(a)}" for a in differing]
    if agreeing:
        parts.append("agrees with " + " and ".join(_agrees(a) for a in agreeing))
    return "; ".join(parts)


def _agrees(agreement: Agreement) -> str:
    if agreement.within_rounding:
        return (
            f"{agreement.against} (max rel {_number(agreement.difference)} at "
            f"{_sizes(agreement.at)}, where the value cancels: within rounding)"
        )
    return f"{agreement.against} (max rel {_number(agreement.difference)})"


def _differs(agreement: Agreement) -> str:
    return (
        f"{agreement.against}: {_number(agreement.excess)} times what agreement allows at "
        f"{_sizes(agreement.worst)} (max rel {_number(agreement.difference)})"
    )


def _number(x: float) -> str:
    # 2.4e-10, not 2.4e-010 or 0.00000000024; exactly 0 as 0.
    return "0" if x == 0 else f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e+")


def _sizes(sizes: Sizes) -> str:
    return ", ".join(f"{axis} = {size}" for axis, size in sizes)


def _closing(report: OracleReport) -> str:
    differing = [f"{m.model} {q.name}" for m in report.models for q in m.quantities if not q.agrees]
    models = f"{len(report.models)} model" + ("" if len(report.models) == 1 else "s")
    if not report.models:
        return "oracle: no model to cross-check (none of them could be read)"
    if not differing:
        return f"oracle: every value of {models} agrees with PyTorch"
    return (
        f"oracle: PyTorch disagrees on {', '.join(differing)}: a bug in bnverify's engine, "
        "a model file or the oracle, not in a candidate (please report it); no verdict "
        "depends on the oracle"
    )
