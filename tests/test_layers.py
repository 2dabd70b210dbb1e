"""The layers point one way: ir -> nothing of ours; machine -> ir; passes -> ir, machine.

Read from the source with `ast`, so an import hidden inside a function
counts too: a layer that reaches up lazily is still reaching up.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = ("ir", "machine", "passes")
MAY_IMPORT = {"ir": {"ir"}, "machine": {"ir", "machine"}, "passes": {"ir", "machine", "passes"}}
TEST_ONLY = ("hypothesis", "pytest", "syrupy")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def imported(path: Path, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import in the file; top_level_only: those run when it is imported."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("package", OURS)
def test_each_layer_imports_only_the_layers_below_it(package):
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in modules(package) for line, name in imported(path)
             if name.split(".")[0] in OURS and name.split(".")[0] not in MAY_IMPORT[package]]
    assert wrong == []


def test_the_check_sees_a_layer_reaching_up(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def later():\n    from passes.parse import parse_program\n")
    assert imported(bad) == [(2, "passes.parse")]
    assert imported(bad, top_level_only=True) == []


@pytest.mark.parametrize("package", OURS)
def test_no_module_imports_a_test_dependency_when_imported(package):
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {name}"
             for path in modules(package) for line, name in imported(path, top_level_only=True)
             if name.split(".")[0] in TEST_ONLY]
    assert wrong == []


def test_importing_every_module_loads_no_test_dependency():
    names = [".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
             for package in OURS for path in modules(package) if path.name != "__main__.py"]
    script = ("import importlib, sys\n"
              f"for name in {names!r}: importlib.import_module(name)\n"
              f"print(sorted(m for m in {TEST_ONLY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
