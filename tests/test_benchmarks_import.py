"""The benchmarks are not run by the suite (they measure time), but what they import from confctl must exist:
a moved name would otherwise only show up as an ERROR row the next time someone runs them."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def confctl_imports():
    for path in sorted(BENCH.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("confctl"):
                for alias in node.names:
                    yield pytest.param(node.module, alias.name, id=f"{path.name}:{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("confctl"):
                        yield pytest.param(alias.name, None, id=f"{path.name}:{alias.name}")


@pytest.mark.parametrize("module,name", list(confctl_imports()))
def test_benchmark_imports_resolve(module, name):
    loaded = importlib.import_module(module)
    if name is not None:
        assert hasattr(loaded, name) or importlib.util.find_spec(f"{module}.{name}"), f"{module} has no {name}"
