"""Report documents built by hand, for the tests of the report printers."""

from __future__ import annotations

from bnverify.report.printable.records import (
    BackwardStep,
    CandidateSection,
    ChainTerm,
    CounterexampleTable,
    Document,
    EvidenceRow,
    Footer,
    ForwardStep,
)


def section(**changes) -> CandidateSection:
    fields = {
        "name": "g_z",
        "line": 7,
        "wrt": "z",
        "written": r"g_z = \frac{\gamma}{\sqrt{\sigma_B^2 + \epsilon}} \odot g_y",
        "note": "",
        "kind": "diverge",
        "expect": "diverge",
        "ok": True,
        "message": "proved different at N = 1",
        "evidence": (EvidenceRow("symbolic", "different", "proved different at N = 1"),),
        "residual": r"- \frac{\gamma \sum_{j} g_{y,j}}{N \sqrt{\sigma_B^2 + \epsilon}}",
        "correction": None,
        "shape_fix": None,
        "conditions": ("N = 1",),
        "counterexample": CounterexampleTable(
            2, ("i", "z", r"\text{truth}"), (("1", "0", "18/125"),), ((r"\gamma", "1"),)
        ),
        "curve": None,
        "problem": None,
    }
    return CandidateSection(**(fields | changes))


def document(**changes) -> Document:
    fields = {
        "title": "Batch Norm by hand",
        "source": "a notebook",
        "path": "derivations/by-hand.toml",
        "model": "Batch Normalization, training mode, one channel",
        "forward": (ForwardStep(r"\mu_B", r"\frac{1}{N} \sum_{j} z_{j}", "mu = mean(z)"),),
        "backward": (
            BackwardStep("g_y", "g_{y}", (), None, None),
            BackwardStep(
                "g_beta", r"g_{\beta}", (ChainTerm("y", r"\sum_{j} g_{y,j}"),), None, None
            ),
        ),
        "candidates": (section(),),
        "problems": (),
        "footer": Footer("0.1.0", 0, "bnverify report derivations/by-hand.toml -o by-hand.html"),
    }
    return Document(**(fields | changes))
