"""`bnverify models`: a model as its file declares it, in plain text.

Each model is shown by its name and title, its axes (name, size, and the word messages
use), its inputs with the axes they vary over, its constants with the typical value
float64 sweeps use, its nodes as formulas in bnverify's ASCII language, and its output,
whose upstream gradient is given. A model file may come from a stranger: its text is
shown through `visible`, so no terminal or CI runner obeys it.
"""

from __future__ import annotations

from bnverify.language.tree_printing import ascii
from bnverify.model.graph import Model
from bnverify.report.inert import inert_lines, visible


def listing(model: Model) -> str:
    """The model in lines: a heading, then one indented line per fact."""
    lines = [f"{model.name}: {model.title}" if model.title else model.name]
    if model.reference:
        lines.append(f"  reference: {model.reference}")
    lines.append("  axes:")
    lines += [f"    {a.name}  of size {a.size}, one per {a.word}" for a in model.axes]
    if model.per:
        lines.append(f"  one model per {model.per}")
    lines.append("  inputs:")
    width = max(len(name) for name in model.leaves)
    for name, shape in model.inputs:
        over = f"over {', '.join(model.in_order(shape))}" if shape else "scalar"
        positive = ", positive" if name in model.positive else ""
        lines.append(f"    {name:<{width}}  {over}: {model.describe(shape)}{positive}")
    if model.constants:
        shown = ", ".join(f"{name} = {value:g}" for name, value in model.constants)
        lines.append(f"  constants (positive; typical values): {shown}")
    lines.append("  nodes:")
    lines += [f"    {name} = {ascii(expr)}" for name, expr in model.nodes]
    lines.append(f"  output: {model.output}, with upstream gradient {model.upstream} given")
    return inert_lines("\n".join(visible(line) for line in lines)) + "\n"
