"""The pytest plugin, run by pytest itself (pytester): derivation files become tests."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

# The inner runs are in this process, and pytester puts sys.modules back after each: a C
# extension first imported inside one (python-flint, through the check) cannot be loaded
# again in the next. Imported here, once, they stay.
import bnverify.check

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"
FORUM_POST = (Path(__file__).parent.parent / "derivations" / "forum-post.toml").read_text()


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Hypothesis' plugin would import itself into every inner run; bnverify's never needs it.
    return pytester.runpytest("-p", "no:hypothesispytest", *args)


def test_registered_through_the_pytest11_entry_point():
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("bnverify") == "bnverify.pytest_plugin"


def test_a_passing_file_is_one_passing_test_per_candidate(pytester: pytest.Pytester):
    pytester.makefile(".toml", **{"forum-post": FORUM_POST})
    result = run(pytester, "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["forum-post.toml::g_gamma PASSED*", "forum-post.toml::g_beta PASSED*", "*::g_z PASSED*"]
    )


def test_an_unexpected_verdict_fails_with_the_diagnosis(pytester: pytest.Pytester):
    pytester.makefile(".toml", unexpected=(DATA / "unexpected.toml").read_text())
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(
        [
            "*_ candidate g_z, eval mode: no batch terms _*",
            "g_z, eval mode: no batch terms: diverge, but the file expects match",
            "  missing terms (truth - candidate):",
            "  matches when: batch statistics held constant*",
            "unexpected match: match, but the file expects diverge",
            "typo: could not be checked",
            "unexpected.toml:23:9: error: unknown name 'gama'*",
            "FAILED unexpected.toml::typo - typo: could not be checked",
        ]
    )
    assert "Traceback" not in result.stdout.str()  # the diagnosis, not bnverify's insides


def test_a_broken_file_fails_instead_of_vanishing(pytester: pytest.Pytester):
    pytester.makefile(".toml", broken=(DATA / "broken.toml").read_text())
    pytester.makefile(".toml", model="model = 'nope'\n[[candidate]]\nname = 'a'\nexpr = 'g_y'\n")
    result = run(pytester)
    result.assert_outcomes(failed=3)  # each file's own test, and the candidate "a"
    result.stdout.fnmatch_lines_random(
        [
            "FAILED broken.toml::broken.toml - broken.toml:5:*: error: invalid TOML*",
            "FAILED model.toml::model.toml - model.toml:1:9: error: no model 'nope'*",
            "FAILED model.toml::a - a: not checked",
        ]
    )


def test_other_toml_files_are_left_alone(pytester: pytest.Pytester):
    pytester.makefile(".toml", pyproject="[project]\nname = 'x'\n[tool.other]\ncandidate = 1\n")
    pytester.makefile(".toml", settings="candidate_count = 3\n")
    pytester.makefile(".toml", notes="[[candidates]]\nname = 'not ours'\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_minus_k_selects_candidates_by_name(pytester: pytest.Pytester):
    pytester.makefile(".toml", **{"forum-post": FORUM_POST})
    result = run(pytester, "-v", "-k", "g_z")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["forum-post.toml::g_z PASSED*"])


def test_the_location_is_the_candidate_line(pytester: pytest.Pytester):
    pytester.makefile(".toml", unexpected=(DATA / "unexpected.toml").read_text())
    items, _ = pytester.inline_genitems("-p", "no:hypothesispytest")
    assert [(item.name, item.location[1]) for item in items] == [
        ("g_z, eval mode: no batch terms", 4),  # 0-based: the header on line 5
        ("as expected", 8),
        ("unexpected match", 14),
        ("typo", 20),
        ("no formula", 25),
    ]


def test_minus_p_no_bnverify_turns_it_off(pytester: pytest.Pytester):
    pytester.makefile(".toml", unexpected=(DATA / "unexpected.toml").read_text())
    result = run(pytester, "-p", "no:bnverify")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_no_file_interrupts_the_host_session(pytester: pytest.Pytester, monkeypatch):
    # tomllib recurses on deep arrays; before, that was a collection error, and pytest
    # then ran no test at all, the host's own included.
    deep = "a = " + "[" * 3000 + "]" * 3000
    pytester.makefile(".toml", deep=f"{deep}\n[[candidate]]\nname = 'a'\nexpr = 'g_y'\n")
    pytester.makefile(".toml", **{"forum-post": FORUM_POST})
    pytester.makepyfile(test_host="def test_host():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["FAILED deep.toml::deep.toml - deep.toml:1:*invalid TOML*"])


def test_a_bug_reading_a_file_is_a_failing_test_of_that_file(
    pytester: pytest.Pytester, monkeypatch
):
    def broken(*args, **kwargs):
        raise TypeError("unhashable type: 'Array'")

    monkeypatch.setattr(bnverify.check, "check_derivation", broken)
    pytester.makefile(".toml", **{"forum-post": FORUM_POST})
    pytester.makepyfile(test_host="def test_host():\n    pass\n")
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*forum-post.toml:1:1: error: internal error while reading this file: TypeError*"]
    )


def test_a_file_of_claims_alone_is_collected(pytester: pytest.Pytester):
    claims = (Path(__file__).parent.parent / "derivations" / "santurkar-2018.toml").read_text()
    pytester.makefile(".toml", **{"santurkar-2018": claims})
    run(pytester).assert_outcomes(passed=claims.count("[[claim]]"))
