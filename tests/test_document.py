"""The report document: forward pass, the engine's backward pass, and candidate sections."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bnverify.check import check_derivation, report_of
from bnverify.engine import printing as printing
from bnverify.files.derivation import load_derivation
from bnverify.report.printable.document import build_document
from bnverify.report.printable.passes import backward_order
from bnverify.report.printable.records import Document
from bnverify.settings import Settings

DERIVATIONS = Path(__file__).parent.parent / "derivations"
DATA = Path(__file__).parent / "data"
REPORT = Path(__file__).parent.parent / "bnverify" / "report"
# What the check computes; a report that called any of these would compute it again.
COMPUTATIONS = (
    "bnverify.check",
    "bnverify.language.parser",
    "bnverify.model.notation",
    "bnverify.engine.evaluate",
    "bnverify.engine.sampling",
    "bnverify.engine.symbolic",
)


def document_of(path: Path | str) -> Document:
    settings = Settings()
    return report_of(path, settings, "bnverify report x")[0]


@pytest.fixture(scope="module")
def forum() -> Document:
    return document_of(DERIVATIONS / "forum-post.toml")


def section(document: Document, name: str):
    return next(c for c in document.candidates if c.name == name)


def test_forward_pass_is_the_model_file(forum, model):
    assert [eq.ascii for eq in forum.forward] == [
        "mu = mean(z)",
        "var = mean((z - mu)^2)",
        "zhat = (z - mu)/sqrt(var + eps)",
        "y = gamma*zhat + beta",
    ]
    assert forum.forward[2].left == r"\hat{z}_{i}"
    assert forum.forward[0].right == r"\frac{1}{N} \sum_{j} z_{j}"


def test_backward_steps_run_in_reverse_and_cover_every_node_and_input(forum, model):
    names = [step.name for step in forum.backward]
    assert names == ["g_y", "g_zhat", "g_var", "g_mu", "g_z", "g_gamma", "g_beta"]
    nodes = {n for n, _ in model.nodes} | {n for n, _ in model.inputs}
    assert {name.removeprefix("g_") for name in names} == nodes
    assert backward_order(model)[0] == model.output


def test_each_step_is_the_engines_chain_rule_sum(forum, truth):
    steps = {step.name: step for step in forum.backward}
    assert steps["g_y"].terms == ()
    consumers = [t.consumer for t in steps["g_z"].terms]
    assert consumers == [r"\hat{z}", r"\sigma_B^2", r"\mu_B"]  # one term per consumer
    assert len(steps["g_z"].terms) == len(dict(truth.gradients.terms)["z"])
    assert steps["g_z"].left == "g_{z,i}" and steps["g_var"].left == r"g_{\sigma_B^2}"
    # Simplified, the term through the variance vanishes from g_mu: sum(z - mu) = 0.
    assert r"g_{\sigma_B^2}" in steps["g_mu"].chain
    assert r"g_{\sigma_B^2}" not in steps["g_mu"].simplified
    closed = printing.latex(truth.algebra.gradient("z"), truth.model, truth.algebra)
    assert steps["g_z"].closed_form == closed
    assert r"\underbrace" in steps["g_z"].chain and r"\text{through } \mu_B" in steps["g_z"].chain


def test_candidates_are_printed_from_their_parsed_trees(forum):
    # The author wrote \sigma_B^2; the tree prints it \sigma_{B}^{2}: no text is copied.
    assert section(forum, "g_z").written == (
        r"g_{z} = \frac{\gamma}{\sqrt{\sigma_{B}^{2} + \epsilon}} g_{y}"
    )
    assert section(forum, "g_gamma").written == r"g_{\gamma} = \hat{z}^{T} g_{y}"


def test_forum_post_g_z_section_has_the_whole_diagnosis(forum):
    g_z = section(forum, "g_z")
    assert (g_z.kind, g_z.expect, g_z.ok, g_z.line) == ("diverge", "diverge", True, 21)
    assert [row.layer for row in g_z.evidence] == ["truth", "proof", "float64"]
    assert r"\sum_{j} g_{y,j}" in g_z.residual
    assert g_z.conditions == (
        "batch statistics held constant (mu and var treated as constants, as in eval mode)",
    )
    table = g_z.counterexample
    assert table.columns == ("i", "z", "g_{y}", r"\text{truth}", r"\text{candidate}")
    assert table.rows == (("1", "0", "1", "18/125", "4/5"), ("2", "2", "0", "-18/125", "0"))
    assert dict(table.scalars) == {r"\gamma": "1", r"\beta": "0", r"\epsilon": "9/16"}
    curve = g_z.curve
    small = min(m for n, m in zip(curve.sizes, curve.median, strict=True) if n <= 4)
    assert small > 10 * curve.median[-1]


def test_only_diverging_candidates_get_a_curve(forum):
    assert section(forum, "g_gamma").curve is None
    assert section(forum, "g_beta").curve is not None
    assert section(forum, "g_beta").shape_fix == "sum"


def test_an_unparsable_candidate_is_an_error_section():
    document = document_of(DATA / "hostile.toml")
    broken = section(document, "an unknown command")
    assert broken.kind == "error" and broken.written is None and broken.curve is None
    assert broken.problem.startswith(f"{DATA / 'hostile.toml'}:14:16: error: unknown command")


def test_a_file_whose_model_is_missing_still_makes_a_document(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('title = "t"\nmodel = "nosuch"\n[[candidate]]\nname = "a"\nexpr = "z"\n')
    document = document_of(path)
    assert document.forward == () and document.backward == () and document.candidates == ()
    assert document.problems and "nosuch" in document.problems[0]


def test_footer_says_how_to_reproduce(forum):
    assert forum.footer.seed == 0 and forum.footer.command == "bnverify report x"
    assert forum.footer.version


def test_a_model_file_the_check_refuses_is_not_used_by_the_report(tmp_path):
    # The report reads the derivation once and takes its model from the check's rule: a
    # model outside the derivation's folder is refused, not loaded behind its back.
    model = Path(printing.__file__).parent.parent / "model" / "layers" / "batchnorm.toml"
    (tmp_path / "outside.toml").write_text(model.read_text())
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "d.toml").write_text(
        'title = "t"\nmodel = "../outside.toml"\n\n[[candidate]]\nname = "a"\n'
        'wrt = "beta"\nsyntax = "ascii"\nformula = \'sum(g_y)\'\nexpect = "match"\n'
    )
    document, result = report_of(folder / "d.toml", Settings(), "x")
    assert result.problems and not result.verdicts
    assert document.forward == () and document.backward == () and document.candidates == ()
    assert any("outside.toml" in p for p in document.problems)


def test_the_document_is_built_from_the_check_alone(forum, monkeypatch):
    # Once the file is checked, nothing is parsed, resolved, read from the notation,
    # loaded, evaluated or measured again: the records carry all the document shows.
    settings = Settings()
    derivation = load_derivation(DERIVATIONS / "forum-post.toml", settings.limits)
    result = check_derivation(derivation, settings)

    def computed_again(*args, **kwargs):
        raise AssertionError("the report computed again what the check computed")

    for target in (
        "bnverify.language.parser.parse",
        "bnverify.model.notation.resolve",
        "bnverify.model.notation.user_names",
        "bnverify.model.graph.load_model",
        "bnverify.engine.evaluate.evaluate",
        "bnverify.judge.error_curve.error_curve",
        "bnverify.check.check_derivation",
        "bnverify.check.model_of",
    ):
        monkeypatch.setattr(target, computed_again)
    assert build_document(derivation, result, settings, "bnverify report x") == forum


def test_the_report_imports_records_never_the_computations():
    for path in sorted(REPORT.rglob("*.py")):
        imported = _imports(path)
        judged = {m for m in imported if m.startswith("bnverify.judge.")}
        assert all(m.startswith("bnverify.judge.records") for m in judged), (path.name, judged)
        assert not imported & set(COMPUTATIONS), (path.name, imported & set(COMPUTATIONS))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bnverify"):
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found
