"""Nothing in the package can run code from its input: no eval, no sympify, no pickle.

Derivation files come from strangers. The scan reads every module of the package with
`ast`, so a word in a comment or a docstring never trips it, and a plain-text scan for
call syntax backs it up (it would catch code the AST checks do not model).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "bnverify"
MODULES = sorted(PACKAGE.rglob("*.py"))

BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
FUNCTIONS = {"sympify", "parse_expr", "lambdify", "unsafe_load"}
MODULES_BANNED = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
SHELL_CALLS = {("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp")}
# Call syntax only: prose that names these words (without a bracket) passes.
TEXT_PATTERNS = [
    r"\b(eval|exec|__import__|sympify|parse_expr)\s*\(",
    r"^\s*(import|from)\s+(pickle|cPickle|marshal|shelve|dill)\b",
    r"\bos\.(system|popen)\s*\(",
    r"shell\s*=\s*True",
    r"\byaml\.(unsafe_)?load\s*\(",
]


def _name(node: ast.expr) -> str:
    """The dotted name a call refers to: `sp.sympify` -> "sp.sympify"."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _is_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant)


def findings(tree: ast.AST) -> list[str]:
    """Every construct that could run code from data, as `line: what`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            modules.append(getattr(node, "module", None) or "")
            imported = {a.name for a in node.names}
            parsers = any(m.startswith("sympy.parsing") for m in modules)  # eval inside
            if parsers or {m.split(".")[0] for m in modules} & MODULES_BANNED:
                found.append(f"{node.lineno}: imports {modules}")
            if imported & (FUNCTIONS | BUILTINS):
                found.append(f"{node.lineno}: imports {sorted(imported & FUNCTIONS)}")
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        last = name.rsplit(".", 1)[-1]
        where = f"{node.lineno}: {name}(...)"
        if name in BUILTINS or last in FUNCTIONS:
            found.append(where)
        elif last == "S" and node.args and not _is_constant(node.args[0]):
            found.append(f"{where} of a non-constant")
        elif last == "S" and node.args and isinstance(node.args[0].value, str):
            found.append(f"{where} of a string")
        elif name in {"yaml.load"} or tuple(name.split(".")[-2:]) in SHELL_CALLS:
            found.append(where)
        elif last in {"import_module"} and not (node.args and _is_constant(node.args[0])):
            found.append(f"{where} of a non-constant")
        elif any(k.arg == "shell" and not _is_false(k.value) for k in node.keywords):
            found.append(f"{where} with shell=")
    return found


def _is_false(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_can_run_code_from_its_input(path):
    assert findings(ast.parse(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_spells_a_dangerous_call(path):
    text = path.read_text(encoding="utf-8")
    hits = [p for p in TEXT_PATTERNS if re.search(p, text, re.MULTILINE)]
    assert hits == []


@pytest.mark.parametrize(
    "source",
    [
        "eval(text)",
        "exec(code)",
        "compile(text, 'f', 'exec')",
        "__import__(name)",
        "import pickle",
        "from marshal import loads",
        "import shelve as s",
        "sympy.sympify(text)",
        "from sympy import sympify",
        "from sympy.parsing.sympy_parser import parse_expr",
        "from sympy.parsing.latex import parse_latex",
        "sp.S(text)",
        "S('x + 1')",
        "yaml.load(stream)",
        "subprocess.run(command, shell=True)",
        "subprocess.Popen(command, shell=flag)",
        "os.system(command)",
        "importlib.import_module(name)",
    ],
)
def test_the_scan_finds_each_dangerous_construct(source):
    assert findings(ast.parse(source)) != []


@pytest.mark.parametrize(
    "source",
    [
        "re.compile('x+')",
        "sp.S(1)",
        "subprocess.run(['ls'], shell=False)",
        "importlib.import_module('bnverify.cli')",
        '"""Never eval(text) or sympify it."""',
        "# eval(text) would be wrong here",
    ],
)
def test_the_scan_passes_safe_code_and_prose(source):
    assert findings(ast.parse(source)) == []
