"""Shared fixtures: a simulator on loopback and runners for `confctl`: in this process (fast) or as a real process.

Only what every vendor's tests use lives here. A vendor's own fixtures and fakes are in tests/<vendor>_support.py
(pytest takes one conftest.py per folder, and the test files stay where they are): a test module imports the
fixtures it uses from there."""

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


@pytest.fixture(scope="session", autouse=True)
def one_default_tls_context():
    """httpx loads the default CA store (about 25 ms) for every client it makes; a real confctl process makes one
    client, the in-process runner makes hundreds. Build the default context once per trust setting and share it
    (an SSLContext may serve many connections); any other `verify` goes through httpx unchanged."""
    import httpx._transports.default as transport

    made = transport.create_ssl_context
    cache: dict = {}

    def create_ssl_context(verify=True, cert=None, trust_env=True):
        if verify is not True or cert is not None:
            return made(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env and os.environ.get("SSL_CERT_FILE"), trust_env and os.environ.get("SSL_CERT_DIR"))
        if key not in cache:
            cache[key] = made(verify=verify, cert=cert, trust_env=trust_env)
        return cache[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "create_ssl_context", create_ssl_context)
        yield


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
                                stderr=subprocess.PIPE, text=True, env=merged, cwd=str(ROOT),
                                preexec_fn=default_sigint)


def default_sigint() -> None:
    """Ctrl-C tests send SIGINT to the child: give it the default disposition even when the suite itself was
    started with SIGINT ignored (as a shell does for a background job), which Python would otherwise inherit."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def reset_process_state() -> None:
    """What a fresh process would start with: the caches confctl keeps per process, emptied."""
    from confctl.core import config, redact, secrets
    from confctl.core.state import reset

    reset()
    secrets._probe = secrets._problem = None
    with redact._lock:
        redact._known.clear()
    config._warned.clear()
    config._cleaned.clear()
    if "keyring.core" in sys.modules:  # the backend is chosen once per process (PYTHON_KEYRING_BACKEND)
        sys.modules["keyring.core"]._keyring_backend = None


class InProcessCLI(CLI):
    """Runs `confctl.cli.main(argv)` in this process, the way the subprocess runner would: its own environment,
    stdin, captured stdout/stderr (no TTY), the checkout as working directory, and per-process caches reset, so
    each call starts like a new process. The requests still go over real loopback sockets. For what only a real
    process shows (signals, TTYs, broken pipes, imports, concurrent processes) use `CLI` / `popen`."""

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None, timeout: float = 60,
                 check: int | None = None) -> subprocess.CompletedProcess:
        import io
        import signal

        from confctl.cli import main

        merged = {**self.env, **(env or {})}
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        saved_streams = sys.stdin, sys.stdout, sys.stderr
        saved_signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        out, err = io.BytesIO(), io.BytesIO()
        # Like a child's pipes: UTF-8, stdout strict, stderr backslashreplace; `.buffer` works for binary output.
        stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
        stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
        sys.stdin, sys.stdout, sys.stderr = io.StringIO(input or ""), stdout, stderr
        os.environ.clear()
        os.environ.update(merged)
        os.chdir(ROOT)
        try:
            reset_process_state()
            code = main(list(args))
            stdout.flush()
            stderr.flush()
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            os.environ.clear()
            os.environ.update(saved_env)
            os.chdir(saved_cwd)
            for sig, handler in saved_signals.items():
                signal.signal(sig, handler)
            reset_process_state()
        proc = subprocess.CompletedProcess(["confctl", *args], code, out.getvalue().decode("utf-8", "replace"),
                                           err.getvalue().decode("utf-8", "replace"))
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
        return proc


def sim_env(home, sim) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()}
    env.update(sim.env())
    env["CONFCTL_CONFIG_DIR"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["CONFCTL_NO_INPUT"] = "1"
    return env


@pytest.fixture
def cli(home, sim):
    """`cli("gateway", "room", "list")` with every provider pointed at the simulator via CONFCTL_* variables,
    run in this process (fast); `cli.popen(...)` starts a real process."""
    return InProcessCLI(sim_env(home, sim))


@pytest.fixture
def proc_cli(home, sim):
    """Like `cli`, but each call is a real `python -m confctl` process: for exit codes of signals, TTY vs no TTY,
    broken pipes, lazy imports and concurrent processes."""
    return CLI(sim_env(home, sim))
