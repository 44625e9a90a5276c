"""A fifth vendor is one folder: the gateway's folder copied as `acme` (gateway/Gateway/GATEWAY replaced inside
the copy only) works end to end with no other file edited — its commands and endpoint list, its simulator
mounted by `confctl sim serve`, `profile add --provider acme` and `events follow`. The copy is made in a
temporary copy of the whole package, put first on PYTHONPATH, so the repository is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import confctl

PACKAGE = Path(confctl.__file__).resolve().parent


def _copy_vendor(src: Path, dst: Path) -> None:
    for path in src.rglob("*"):
        if "__pycache__" in path.parts:
            continue
        target = dst / path.relative_to(src)
        target = target.with_name(target.name.replace("gateway", "acme"))
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        target.write_text(text.replace("gateway", "acme").replace("Gateway", "Acme").replace("GATEWAY", "ACME"),
                          encoding="utf-8")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("fifth")
    shutil.copytree(PACKAGE, root / "confctl", ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(p.relative_to(root) for p in (root / "confctl").rglob("*"))
    _copy_vendor(PACKAGE / "vendors" / "gateway", root / "confctl" / "vendors" / "acme")
    after = sorted(p.relative_to(root) for p in (root / "confctl").rglob("*"))
    added = set(after) - set(before)
    assert added and all(p.parts[:3] == ("confctl", "vendors", "acme") for p in added)  # nothing else edited
    return root


@pytest.fixture(scope="module")
def env(tree, tmp_path_factory):
    home = tmp_path_factory.mktemp("fifth-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    # Run from the copy's folder too: `python -m` puts the working directory first on sys.path.
    env.update({"PYTHONPATH": str(tree), "FIFTH_TREE": str(tree), "CONFCTL_CONFIG_DIR": str(home / "cfg"), "NO_COLOR": "1",
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    return env


def run(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "confctl", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=env["FIFTH_TREE"])


@pytest.fixture(scope="module")
def served(env, tree, tmp_path_factory):
    """`confctl sim serve --port 0 --env-file F` of the copy: the environment it writes, acme included."""
    env_file = tmp_path_factory.mktemp("fifth-sim") / "sim.env"
    proc = subprocess.Popen([sys.executable, "-m", "confctl", "sim", "serve", "--port", "0", "--env-file",
                             str(env_file)], env=env, cwd=str(tree), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while not env_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert env_file.exists(), proc.stderr.read() if proc.poll() is not None else "sim did not start"
        values = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
        yield {**env, **values}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_copy_is_imported_instead_of_the_checkout(env, tree):
    out = subprocess.run([sys.executable, "-c", "import confctl; print(confctl.__file__)"], capture_output=True,
                         text=True, env=env, cwd=str(tree), check=True)
    assert out.stdout.strip() == str(tree / "confctl" / "__init__.py")


def test_acme_is_a_vendor_in_help_and_lists_its_endpoints(env):
    root = run(env, "--help")
    assert root.returncode == 0 and "acme" in root.stdout
    listed = run(env, "acme", "endpoints", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert "acme.room.list" in listed.stdout  # the ids were replaced with the name: its own table


def test_sim_serve_serves_acme_and_acme_room_list_reaches_it(served):
    assert served["CONFCTL_ACME_URL"].endswith("/acme")
    assert served["CONFCTL_ACME_APP_ID"] == "demo-app"
    rooms = run(served, "acme", "room", "list", "-o", "json")
    assert rooms.returncode == 0, rooms.stderr
    assert rooms.stdout.strip().startswith(("[", "{"))


def test_profile_add_and_events_follow_with_acme(served):
    env = {k: v for k, v in served.items() if k not in ("CONFCTL_ACME_URL", "CONFCTL_ACME_APP_ID")}
    added = run(env, "profile", "add", "x", "--provider", "acme", "--url", served["CONFCTL_ACME_URL"],
                "--app-id", "demo-app", "--secret-store", "env")
    assert added.returncode == 0, added.stderr
    shown = run(env, "profile", "show", "x", "-o", "json")
    assert shown.returncode == 0 and '"provider": "acme"' in shown.stdout
    tested = run(env, "profile", "test", "x", "-o", "json")
    assert tested.returncode == 0, tested.stderr
    followed = run(env, "-p", "x", "events", "follow", "--timeout", "1", "--listen", "127.0.0.1:0")
    assert followed.returncode == 0, followed.stderr
    assert "listening for acme webhooks" in followed.stderr
