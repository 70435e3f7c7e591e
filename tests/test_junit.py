"""`check --format junit`: a JUnit XML file CI servers accept, one testcase per candidate."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from click.testing import CliRunner

from bnverify.cli import main
from bnverify.report.junit import classname

DERIVATIONS = Path(__file__).parent.parent / "derivations"
TABLES = ("[[candidate]]", "[[claim]]")  # each is one testcase
DATA = Path(__file__).parent / "data"
SCHEMA = xmlschema.XMLSchema(DATA / "junit.xsd")


def junit(tmp_path: Path, *paths: str) -> tuple[int, ET.Element, str]:
    """Run check --format junit -o into tmp_path; the exit code, the parsed XML and its text."""
    out = tmp_path / "bnverify.xml"
    result = CliRunner().invoke(main, ["check", *paths, "--format", "junit", "-o", str(out)])
    text = out.read_text(encoding="utf-8")
    SCHEMA.validate(text)  # raises, naming the element, when the file is not valid JUnit
    return result.exit_code, ET.fromstring(text), text


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in root.iter("testcase")}


def test_shipped_derivations_pass(tmp_path):
    status, root, _ = junit(tmp_path, str(DERIVATIONS))
    assert status == 0
    files = sorted(DERIVATIONS.glob("*.toml"))
    total = sum(path.read_text(encoding="utf-8").count(table) for path in files for table in TABLES)
    assert len(list(root.iter("testcase"))) == total
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(total), "0", "0")
    assert [s.get("name") for s in root.iter("testsuite")] == [
        str(DERIVATIONS / name) for name in [path.name for path in files]
    ]
    assert not [e for e in root.iter() if e.tag in ("failure", "error", "skipped")]
    g_z = cases(root)["g_z"]  # expected to diverge, and does: a pass
    assert g_z.get("classname").endswith("derivations.forum-post")


def test_unexpected_verdicts_fail_with_the_diagnosis(tmp_path):
    path = DATA / "unexpected.toml"
    status, root, _ = junit(tmp_path, str(path))
    assert status == 2  # two could not be checked
    found = cases(root)
    failure = found["g_z, eval mode: no batch terms"].find("failure")
    message = failure.get("message")
    assert message.startswith(
        "diverge, expected match: proved different: a counterexample at N = 2, checked exactly"
    )
    assert "missing terms (truth - candidate):" in failure.text
    assert "counterexample at N = 2" in failure.text
    assert found["unexpected match"].find("failure").get("type") == "unexpected match"
    assert list(found["as expected"]) == []  # expected to diverge, and does: a pass
    error = found["typo"].find("error")
    assert "gama" in error.get("message")
    assert f"{path}:23:9: error: unknown name 'gama'" in error.text  # located, with a caret
    assert "has no formula" in found["no formula"].find("error").get("message")
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "2", "2")
    assert suite.get("skipped") == "0" and root.find(".//skipped") is None


def test_file_problems_and_missing_paths_are_errors_not_dropped(tmp_path):
    broken = DATA / "broken.toml"
    unknown_model = tmp_path / "other.toml"
    unknown_model.write_text('model = "nope"\n[[candidate]]\nname = "a"\nexpr = "g_y"\n')
    status, root, _ = junit(tmp_path, str(broken), str(unknown_model), str(tmp_path / "gone"))
    assert status == 2
    found = cases(root)
    assert "invalid TOML" in found["broken.toml"].find("error").get("message")
    assert "no model 'nope'" in found["other.toml"].find("error").get("message")
    missing = [c for c in root.iter("testcase") if c.get("classname") == "bnverify"]
    assert len(missing) == 1 and "no such file or directory" in missing[0].get("name")
    assert root.get("errors") == "3"


def test_hostile_text_stays_well_formed(tmp_path):
    # Names are free text: markup, quotes and a control character must not break the XML.
    path = tmp_path / "hostile.toml"
    path.write_text(
        'model = "batchnorm"\n[[candidate]]\nname = "<b>&\\"]]>\\u0001"\nexpr = "g_y"\nwrt = "z"\n',
        encoding="utf-8",
    )
    status, root, text = junit(tmp_path, str(path))
    assert status == 1
    assert '<b>&"]]>\\x01' in cases(root)
    assert "\x01" not in text


def test_inline_candidate(tmp_path):
    out = tmp_path / "inline.xml"
    args = ["check", "--expr", "gamma*g_y", "--wrt", "beta", "--format", "junit", "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    SCHEMA.validate(str(out))
    assert ET.parse(out).getroot().find(".//failure") is not None


def test_same_seed_same_file(tmp_path):
    _, _, first = junit(tmp_path, str(DERIVATIONS / "forum-post.toml"))
    _, _, second = junit(tmp_path, str(DERIVATIONS / "forum-post.toml"))
    assert first == second


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("derivations/forum-post.toml", "derivations.forum-post"),
        ("notes.toml", "notes"),
        ("a/b/ioffe-szegedy-2015.toml", "a.b.ioffe-szegedy-2015"),
    ],
)
def test_classname_is_the_dotted_path(path, expected):
    assert classname(path) == expected


@pytest.mark.parametrize(
    "document",
    [
        '<testsuites><testsuite name="s" failures="0" errors="0"/></testsuites>',
        '<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
        '<testcase classname="c"/></testsuite></testsuites>',
        '<testsuites><testsuite name="s" tests="one" failures="0" errors="0"/></testsuites>',
        '<testsuites><testcase classname="c" name="n"/></testsuites>',
    ],
)
def test_the_schema_rejects_what_ci_servers_reject(document):
    # The schema must be able to fail: no count, no testcase name, a word for a count,
    # a testcase outside a suite.
    assert not SCHEMA.is_valid(document)
