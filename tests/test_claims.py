"""Claims are decided as verdicts must be: holds with a proof, fails with an exact point.

Each test writes a derivation with [[claim]] tables about the built-in Batch Norm and
checks it as `bnverify check` does, then looks at the verdict, its evidence and, for a
failing claim, its exact counterexample (whose sides are recomputed here) and correction.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from textwrap import dedent

import pytest
from click.testing import CliRunner, Result

from bnverify.check import check_file
from bnverify.cli import main
from bnverify.judge.records import Verdict
from bnverify.settings import Settings

HEADER = """
model = "batchnorm"
[notation]
sigma = "sqrt(var + eps)"
"""


def judged(tmp_path: Path, claims: str) -> dict[str, Verdict]:
    path = tmp_path / "claims.toml"
    path.write_text(dedent(HEADER) + dedent(claims), encoding="utf-8")
    result = check_file(path, Settings())
    assert not result.problems, result.problems
    return {v.candidate.name: v for v in result.verdicts}


def one(tmp_path: Path, latex: str, **fields: str) -> Verdict:
    extra = "".join(f"{key} = {value}\n" for key, value in fields.items())
    return judged(tmp_path, f"[[claim]]\nname = 'c'\nlatex = '{latex}'\n{extra}")["c"]


GRADIENT_SCALES = r"\nabla_z L = \frac{1}{\sigma} \nabla_{\hat z} L"


def test_the_gradient_scales_by_one_over_sigma_with_the_statistics_held(tmp_path):
    verdict = one(tmp_path, GRADIENT_SCALES, freeze='["mu", "var"]')
    assert verdict.kind == "holds"
    assert "identical" in verdict.message and "for every N" in verdict.message
    assert verdict.counterexample is None


def test_in_training_mode_it_fails_and_the_truth_is_the_projection(tmp_path):
    verdict = one(tmp_path, GRADIENT_SCALES)
    assert verdict.kind == "fails"
    assert verdict.correction is not None
    assert verdict.correction.ascii == (
        "g_z = gamma*(g_y*N - sum(g_y) - zhat*sum(g_y*zhat))/(N*sqrt(var + eps))"
    )
    ce = verdict.counterexample
    assert ce.labels == ("left side", "right side")
    assert ce.truth != ce.candidate


SANTURKAR = (
    r"\|\nabla_z L\|^2 \le \frac{\gamma^2}{\sigma^2} \left(\|g_y\|^2 "
    r"- \frac{1}{N}\langle \mathbf{1}, g_y\rangle^2 - COEF \langle g_y, \hat z\rangle^2\right)"
)


def test_santurkar_theorem_4_1_holds_by_a_proof_with_eps_positive(tmp_path):
    verdict = one(tmp_path, SANTURKAR.replace("COEF", r"\frac{1}{N}"))
    assert verdict.kind == "holds"
    assert "product of squares and positive factors" in verdict.message


def test_with_one_over_sqrt_m_it_fails_where_intervals_separate_the_sides(tmp_path):
    # sqrt(2) is irrational: at N = 2 the sides are compared in rigorous intervals.
    verdict = one(tmp_path, SANTURKAR.replace("COEF", r"\frac{1}{\sqrt{N}}"))
    assert verdict.kind == "fails"
    ce = verdict.counterexample
    assert ce.where == "N = 2"
    assert ce.truth[0].startswith("≈ ") and ce.candidate[0].startswith("≈ ")
    left, right = (float(v.removeprefix("≈ ")) for v in (ce.truth[0], ce.candidate[0]))
    assert left > right
    assert f"the left side is {ce.truth[0]} and the right side {ce.candidate[0]}" in verdict.message


def test_a_wrong_coefficient_is_corrected_in_the_claims_own_form(tmp_path):
    latex = (
        r"\langle g_y, \hat z\rangle + \|g_y\|^2 = "
        r"\frac{1}{2}\langle g_y, \hat z\rangle + \|g_y\|^2"
    )
    verdict = one(tmp_path, latex)
    assert verdict.kind == "fails"
    assert verdict.correction.said.startswith(r"in the term \frac{1}{2}\langle g_y, \hat z\rangle")
    assert verdict.correction.ascii == "1, not 1/2"


def test_a_true_inequality_with_no_proof_of_this_kind_is_undecided_and_says_what_was_tried(
    tmp_path,
):
    # Cauchy-Schwarz: true, but N sum(g^2) - sum(g)^2 is no product of squares.
    verdict = one(tmp_path, r"\|g_y\|^2 \ge \frac{1}{N}\langle \mathbf{1}, g_y\rangle^2")
    assert verdict.kind == "undecided"
    assert "no exact counterexample among N = 1, 2, 3, 4" in verdict.message


def test_a_free_number_is_any_real_unless_assumed_positive(tmp_path):
    verdicts = judged(
        tmp_path,
        r"""
        [[claim]]
        name = "any"
        latex = '\alpha \|g_y\|^2 \ge 0'
        expect = "fails"
        [[claim]]
        name = "positive"
        latex = '\alpha \|g_y\|^2 \ge 0'
        assume = ['\alpha > 0']
        """,
    )
    assert verdicts["any"].kind == "fails"
    assert verdicts["positive"].kind == "holds"
    assert "every value of alpha" in verdicts["positive"].message


@pytest.mark.parametrize(
    ("fields", "message", "under"),
    [
        (
            {"freeze": '["nosuch"]'},
            "freeze names nosuch, which is no node of batchnorm",
            '["nosuch"]',
        ),
        ({"assume": "['\\alpha < 1']"}, "an assumption says a name is positive", "\\alpha < 1"),
    ],
)
def test_a_claims_own_mistakes_are_located(tmp_path, fields, message, under):
    verdict = one(tmp_path, r"\alpha \|g_y\|^2 \ge 0", **fields)
    assert verdict.kind == "error"
    assert verdict.message.startswith(message), verdict.message
    where = verdict.problem.location
    assert where.source[where.column - 1 :].startswith(under), where


def test_a_stepped_iterate_needs_the_claims_step(tmp_path):
    verdict = one(tmp_path, r"L(\theta^{(k+1)}) \le L(\theta^{(k)})", notation="{ theta = 'z' }")
    assert verdict.kind == "error"
    assert "give the claim its step" in verdict.message
    assert verdict.problem.location.line == 7


# --- Through the command line, and the shipped derivations --------------------------

DERIVATIONS = Path(__file__).resolve().parent.parent / "derivations"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_an_inline_claim_with_its_freeze_and_notation():
    claim = r"\nabla_z L = \frac{1}{\sigma} \nabla_{\hat z} L"
    held = run(
        "check",
        "--notation",
        "sigma=sqrt(var + eps)",
        "--claim",
        claim,
        "--freeze",
        "mu",
        "--freeze",
        "var",
    )
    assert held.exit_code == 0, held.output
    assert "holds" in held.output
    training = run("check", "--notation", "sigma=sqrt(var + eps)", "--claim", claim)
    assert training.exit_code == 1  # an inline claim is expected to hold
    assert "correction: the truth, g_z, is" in training.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--claim", "a < b", "--expr", "g_y"), "give one of --expr, --latex and --claim"),
        (("--freeze", "mu", str(DERIVATIONS)), "--freeze and --assume are for an inline claim"),
    ],
)
def test_inline_claim_flags_that_do_not_go_together(args, message):
    result = run("check", *args)
    assert result.exit_code == 2 and message in result.output


def verdicts_of(name: str) -> dict[str, Verdict]:
    result = check_file(DERIVATIONS / name, Settings())
    assert not result.problems
    return {v.candidate.name: v for v in result.verdicts}


def test_the_forum_answers_claims():
    found = verdicts_of("forum-answer.toml")
    assert {name: v.kind for name, v in found.items()} == {
        "the gradient scales by 1/sigma (statistics held)": "holds",
        "the gradient scales by 1/sigma (training mode)": "fails",
        "the Hessian scales by 1/sigma": "fails",
        "the second-order expansion": "holds",
        "the expansion after Batch Norm": "fails",
        "the quadratic term is no greater than the first-order term": "fails",
    }
    assert found["the Hessian scales by 1/sigma"].correction.ascii == "1/sigma^2, not 1/sigma"
    assert found["the expansion after Batch Norm"].correction.ascii == (
        "alpha^2/(2*sigma^4), not alpha^2/(2*sigma^3)"
    )
    descent = found["the quadratic term is no greater than the first-order term"]
    ce = descent.counterexample
    assert Fraction(ce.truth[0]) > Fraction(ce.candidate[0])  # exact, and really broken
    assert any(name.startswith("H_y[") for name, _ in ce.inputs)  # H_y is part of it


def test_santurkar_theorems():
    found = verdicts_of("santurkar-2018.toml")
    assert {name: v.kind for name, v in found.items()} == {
        "Theorem 4.1, eps = 0: an identity": "holds",
        "Theorem 4.1, eps > 0: an inequality": "holds",
        "Theorem 4.1, eps > 0, as an identity": "fails",
        "Theorem 4.1 with 1/sqrt(m)": "fails",
        "Theorem 4.2, eps = 0: holds with equality": "holds",
        "Theorem 4.2, eps > 0": "fails",
    }
    assert "with eps = 0" in found["Theorem 4.2, eps = 0: holds with equality"].message


def test_layer_norm_claims_are_decided_per_sample(tmp_path):
    path = tmp_path / "ln.toml"
    path.write_text(
        dedent(
            r"""
            model = "layernorm"
            [notation]
            sigma = "sqrt(var + eps)"
            [[claim]]
            name = "held"
            latex = '\nabla_x L = \frac{1}{\sigma} \nabla_{\hat x} L'
            freeze = ["mu", "var"]
            [[claim]]
            name = "norm"
            latex = '\|\nabla_x L\|^2 \le \|\nabla_{\hat x} L\|^2'
            """
        ),
        encoding="utf-8",
    )
    found = {v.candidate.name: v for v in check_file(path, Settings()).verdicts}
    assert found["held"].kind == "holds" and "every B and D" in found["held"].message
    norm = found["norm"]
    assert norm.kind == "fails"  # sigma < 1 makes the input's gradient the larger
    assert norm.counterexample.where.startswith("B = ")


@pytest.mark.parametrize(
    "latex",
    [
        # The gradient's norm is at most |gamma|/sigma times the output's: Batch Norm's
        # backward is (gamma/sigma) times a contraction, which needs var >= 0 and the
        # centered sums to see as a sum of squares.
        r"\|\nabla_z L\|^2 \le \frac{\gamma^2}{\sigma^2}\|\nabla_y L\|^2",
        r"\|\nabla_z L\| \le \frac{|\gamma|}{\sigma}\|\nabla_y L\|",
        r"\mathbf{1}^T \nabla_z L = 0",
        r"\frac{\partial L}{\partial \gamma} = \sum_i \frac{\partial L}{\partial y_i} \hat{z}_i",
    ],
)
def test_true_statements_about_batch_norm_are_proved(tmp_path, latex):
    verdict = one(tmp_path, latex)
    assert verdict.kind == "holds", verdict.message


def test_a_hessian_compared_as_a_matrix_holds_for_every_direction(tmp_path):
    latex = r"\nabla^2_z L = \frac{\gamma^2}{\sigma^2} \nabla^2_y L"
    held = one(tmp_path, latex, freeze='["mu", "var"]')
    assert held.kind == "holds"
    assert "every direction u" in held.message
    training = one(tmp_path, latex)
    assert training.kind == "fails"
    assert "free number" not in training.message  # the direction is no number of the claim


@pytest.mark.parametrize(
    ("latex", "fields"),
    [
        # False only where sigma < 1/1000: values near zero are searched.
        (
            r"\frac{\alpha}{\sqrt{\sigma_B^2 + \epsilon}} \le 1000 \alpha",
            {"assume": "['\\alpha > 0']"},
        ),
        # u is a vector (the Hessian's), and H_y may be indefinite.
        (r"u^T (\nabla^2_z L) u \ge 0", {}),
    ],
)
def test_false_inequalities_true_on_most_inputs_are_refuted(tmp_path, latex, fields):
    verdict = one(tmp_path, latex, **fields)
    assert verdict.kind == "fails", verdict.message
    assert "free number" not in verdict.message  # sigma_B^2 is the model's, u a vector


def test_claims_in_ascii(tmp_path):
    verdicts = judged(
        tmp_path,
        """
        [[claim]]
        name = "hessian"
        expr = "u^T @ H_z @ u = gamma^2/(var + eps) * u^T @ H_y @ u"
        freeze = ["mu", "var"]
        [[claim]]
        name = "norm"
        expr = "sum(g_z^2) <= gamma^2/(var + eps) * sum(g_y^2)"
        """,
    )
    assert {name: v.kind for name, v in verdicts.items()} == {"hessian": "holds", "norm": "holds"}


def test_a_claim_relies_on_a_proved_truth_held_statistics_too(tmp_path):
    held = one(tmp_path, GRADIENT_SCALES, freeze='["mu", "var"]')
    truth = held.evidence[0]
    assert truth.name == "truth" and truth.outcome == "equal"
    assert "g_z, g_zhat are the derivative of L, proved for every N" in truth.detail
    hessian = one(tmp_path, r"\nabla^2_z L = \frac{\gamma^2}{\sigma^2} \nabla^2_y L")
    assert "the Hessian of L in z, y is SymPy's element-wise one" in hessian.evidence[0].detail
