"""The import graph of confctl/, read with `ast`: no import loop, and the core never imports a vendor.

Top-level imports must form no cycle at all. A function-level import that closes a cycle only hides the loop
until the function runs, so the graph with function-level imports counted must be acyclic too: a lazy import
is there for speed (httpx, keyring, a vendor's implementation), never to dodge a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "confctl"

def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The confctl module an imported name lives in (`from confctl.core import config` -> confctl.core.config)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _targets(module: str, path: Path, node) -> set[str]:
    names = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        names = [mod] + [f"{mod}.{a.name}" for a in node.names]
    found = {_resolve(n) for n in names if n == "confctl" or n.startswith("confctl.")}
    return {m for m in found if m and m != module}


def _graph(*, lazy: bool) -> dict[str, set[str]]:
    """module -> the confctl modules it imports: at module level (under `if`/`try` too, and in class bodies),
    plus, with `lazy`, inside functions."""
    graph = {}
    for module, path in MODULES.items():
        edges: set[str] = set()

        def walk(node, in_function: bool):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.Import, ast.ImportFrom)) and (lazy or not in_function):
                    edges.update(_targets(module, path, child))
                walk(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

        walk(ast.parse(path.read_text()), False)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_real_imports():
    graph = _graph(lazy=False)
    assert "confctl.core.errors" in graph["confctl.core.config"]
    assert "confctl.core.secrets" in graph["confctl.core.config"]


def test_top_level_imports_form_no_cycle():
    assert _cycles(_graph(lazy=False)) == []


def test_config_and_secrets_form_no_loop_even_lazily():
    graph = _graph(lazy=True)
    assert "confctl.core.config" not in graph["confctl.core.secrets"]
    assert not [c for c in _cycles(graph) if {"confctl.core.config", "confctl.core.secrets"} & c]


def test_no_function_level_import_closes_a_cycle():
    assert [sorted(c) for c in _cycles(_graph(lazy=True))] == []


def test_the_core_never_imports_a_vendor():
    """The registry lists the folders of the `confctl.vendors` package (discovery, by pkgutil and importlib);
    no core module imports a vendor's module."""
    upward = []
    for module, edges in _graph(lazy=True).items():
        if module.startswith("confctl.core"):
            upward += [f"{module} -> {t}" for t in edges if t.startswith("confctl.vendors.")]
            if "confctl.vendors" in edges and module != "confctl.core.registry":
                upward.append(f"{module} -> confctl.vendors")
    assert upward == []
