"""The layout names the architecture: the core never imports a vendor (vendors are found by the registry),
and `confctl --help` stays cheap: it reads each vendor's spec, and imports no vendor implementation, httpx or
keyring."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import confctl

PACKAGE = Path(confctl.__file__).resolve().parent


def _imports(path: Path) -> list[str]:
    """Absolute names of the modules a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]
    return names


def test_no_core_module_imports_a_vendor():
    core = sorted((PACKAGE / "core").rglob("*.py")) + [PACKAGE / "cli.py"]
    assert len(core) > 10
    # The registry imports the `confctl.vendors` package itself to list its folders; nothing imports a vendor.
    upward = {str(p.relative_to(PACKAGE)): name for p in core for name in _imports(p)
              if name.startswith("confctl.vendors.")}
    assert upward == {}


def test_each_vendor_init_holds_only_its_spec():
    """A vendor's __init__ imports nothing but the spec types (so discovery is cheap)."""
    vendors = [p for p in (PACKAGE / "vendors").iterdir() if (p / "__init__.py").is_file()]
    assert {p.name for p in vendors} >= {"gateway", "pexip", "mind", "auvious"}
    for folder in vendors:
        names = _imports(folder / "__init__.py")
        assert names and all(n == "confctl.core.vendor" or n.startswith("confctl.core.vendor.") for n in names), \
            folder
        assert (folder / "provider.py").is_file(), folder


def test_help_imports_no_vendor_implementation_httpx_or_keyring():
    code = ("import sys, json\nfrom confctl.cli import main\nimport io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    code = main(['--help'])\n"
            "print(json.dumps([code, sorted(sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    code, modules = json.loads(out.stdout)
    assert code == 0
    assert [m for m in modules if m.split(".")[0] in ("httpx", "keyring")] == []
    vendor_modules = {m for m in modules if m.startswith("confctl.vendors.")}
    assert vendor_modules <= {"confctl.vendors.gateway", "confctl.vendors.pexip", "confctl.vendors.mind",
                              "confctl.vendors.auvious"}  # the four specs at most (none: from the help cache)


def test_the_registry_discovers_the_vendors_from_their_specs():
    from confctl.core import registry

    assert list(registry.PROVIDERS) == ["gateway", "pexip", "mind", "auvious"]
    for name, spec in registry.PROVIDERS.items():
        assert spec.name == name and spec.load().info is spec
    documented = dict(registry.env_vars())
    assert "CONFCTL_PEXIP_CALL_TAG" in documented and "CONFCTL_GATEWAY_API_KEY" in documented
    assert documented["CONFCTL_AUVIOUS_TOKEN"].endswith("; secret")


def test_no_core_module_lists_vendor_names():
    """Vendors are found, not listed: no string in the core's code (docstrings aside) is a vendor's name."""
    names = {p.name for p in (PACKAGE / "vendors").iterdir() if (p / "__init__.py").is_file()}
    found = []
    for path in sorted((PACKAGE / "core").rglob("*.py")) + [PACKAGE / "cli.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings]
    assert found == []


def test_profile_add_and_edit_take_every_non_secret_field_of_every_spec_as_a_flag():
    import typer

    from confctl.core import profiles
    from confctl.core.registry import PROVIDERS

    group = typer.main.get_command(profiles.app)
    wanted = {f.cli_flag for spec in PROVIDERS.values() for f in spec.fields if not f.secret}
    secret = {f.cli_flag for spec in PROVIDERS.values() for f in spec.fields if f.secret}
    for name in ("add", "edit"):
        flags = {opt for param in group.commands[name].params for opt in param.opts}
        assert wanted <= flags and not secret & flags, name


def test_events_follow_plans_a_typed_follow_options_per_profile(tmp_path, monkeypatch):
    """The one follow signature: each provider gets FollowOptions (its conferences and only the follow options
    its spec declares, defaults filled in); a declared check refuses a bad value before anything starts."""
    import os

    import pytest

    from confctl.core.errors import ConfctlError
    from confctl.core.events import command
    from confctl.core.vendor import FollowOptions

    for key in list(os.environ):
        if key.startswith("CONFCTL_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CONFCTL_CONFIG_DIR", str(tmp_path))
    for key, value in {"GATEWAY_URL": "http://127.0.0.1:9/gw", "GATEWAY_APP_ID": "a", "GATEWAY_API_KEY": "k",
                       "PEXIP_URL": "http://127.0.0.1:9/px", "PEXIP_CONFERENCE": "meet.x"}.items():
        monkeypatch.setenv("CONFCTL_" + key, value)

    planned = {label: own for label, _, _, own in command.plan(None, [], ["pexip:meet.y"], {"forward_to": None})}
    assert set(planned) == {"gateway/env", "pexip/env"}
    gateway, pexip = planned["gateway/env"], planned["pexip/env"]
    assert isinstance(gateway, FollowOptions) and isinstance(pexip, FollowOptions)
    assert gateway.conference == () and dict(gateway.values) == {"listen": "127.0.0.1:8099", "forward_to": None}
    assert pexip.conference == ("meet.y",) and dict(pexip.values) == {"save_frames": None, "connect_rate": None}

    with pytest.raises(ConfctlError, match="--forward-to"):
        command.plan(None, [], [], {"forward_to": "ftp://x"})
    with pytest.raises(ConfctlError, match="--cursor-file applies to auvious"):
        command.plan(None, [], [], {"cursor_file": "c.json"})
