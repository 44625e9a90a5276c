"""Shared fixtures: a simulator on loopback and a runner for the real `confctl` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def load_inventory(provider: str) -> list[dict]:
    """Rows of tests/data/<provider>.tsv (a copy of the vendor inventory) as dicts."""
    rows, header = [], None
    for line in (DATA / f"{provider}.tsv").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        rows.append(dict(zip(header, cells)))
    return rows


@pytest.fixture(scope="session")
def sim():
    """All simulators on one loopback port, with short clocks so tests stay fast."""
    from confctl.core.sim.server import RunningSim, SimConfig

    config = SimConfig(cooldown_scale=0.05, deferred_delay=0.05, playback_seconds=60, pexip_token_ttl=30, poll_wait=1.0,
                       auvious_token_ttl=60)
    with RunningSim(config) as running:
        yield running


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated config folder and environment with no CONFCTL_* leaking in from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("CONFCTL_") or key == "NO_COLOR":
            monkeypatch.delenv(key, raising=False)
    cfg = tmp_path / "config"
    monkeypatch.setenv("CONFCTL_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return cfg


class CLI:
    """Runs the real `confctl` in a subprocess (real argv parsing, real exit codes, real sockets)."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60,
                 check: int | None = None) -> subprocess.CompletedProcess:
        merged = {**self.env, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "confctl", *args], input=input, capture_output=True, text=True,
                              errors="replace",
                              env=merged, timeout=timeout, cwd=str(ROOT))
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        merged = {**self.env, **(env or {})}
        return subprocess.Popen([sys.executable, "-m", "confctl", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=merged, cwd=str(ROOT))


@pytest.fixture
def cli(home, sim):
    """`cli("gateway", "room", "list")` with every provider pointed at the simulator via CONFCTL_* variables."""
    env = {k: v for k, v in os.environ.items()}
    env.update(sim.env())
    env["CONFCTL_CONFIG_DIR"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["CONFCTL_NO_INPUT"] = "1"
    return CLI(env)
