"""Dry runs print what would really be sent: one plain curl line per batch item after the vendor's setup
lines, resolved values (resolvers run), and a note naming the variable to export when the secret lives in the
keyring or a file. The printed gateway line, run with real curl, works."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from test_gateway_e2e import calls, new_room

from confctl.core import builder
from confctl.cli import main
from confctl.core.http import DryRunResult, stop_for_dry_run
from confctl.core.provider import Call, Provider
from confctl.core.registry import PROVIDERS
from confctl.core.spec import PATH, Endpoint, Param


def test_batch_dry_run_prints_one_curl_line_per_item(cli, sim):
    room = new_room(cli, "dry-batch")
    members = calls(sim, 3, room)
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "gateway", "session", "unmute", *members, check=0)
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("curl -X POST ") for line in lines), proc.stdout
    for member, line in zip(members, lines):  # in input order, one per item
        assert f"/api/v1/sessions/{member}/commands/conference/unmute" in line
    assert "[" not in proc.stdout.split("--data-raw")[0] and '\\"' not in proc.stdout  # not a JSON array
    assert sim.app.state.requests == []
    jsonl = cli("--dry-run", "-o", "jsonl", "gateway", "session", "unmute", *members, check=0)
    assert len(jsonl.stdout.splitlines()) == 3 and jsonl.stdout.startswith("curl ")  # whatever the format


def test_setup_lines_come_once_before_the_batch(home, monkeypatch, capsys):
    from confctl.vendors.gateway.provider import GatewaySession

    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "app")
    monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "key-123456")
    monkeypatch.setattr(GatewaySession, "dry_run_setup", lambda self: ["# obtain the token first:", "TOKEN=x"],
                        raising=False)
    assert main(["--dry-run", "gateway", "session", "mute", "abcde-1", "abcde-2", "abcde-3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["# obtain the token first:", "TOKEN=x"]
    assert len(out) == 5 and all(line.startswith("curl ") for line in out[2:])


class _FakeSession:
    """Records look-ups; a non-look-up request under --dry-run ends the command with a DryRunResult."""

    def __init__(self):
        self.lookups = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def request(self, method, path, lookup=False, **kw):
        from confctl.core.state import state

        if state.dry_run and not lookup:
            stop_for_dry_run(DryRunResult(f"curl -X {method} http://example.test{path}"))
        self.lookups.append(path)
        return None

    def dry_run_setup(self):
        return []


class _FakeProvider(Provider):
    info = PROVIDERS["gateway"]
    endpoints = (Endpoint("gateway.thing.poke", "POST", "/things/{thing}/poke", "Poke a thing.",
                          params=(Param("thing", PATH, required=True, resolve="thing", example="Bob"),)),)

    def __init__(self):
        self.fake = _FakeSession()

    @property
    def resolvers(self):
        def by_name(call, value):
            call.session.request("GET", "/things", lookup=True)
            return {"Bob": "0f8c1e2a-0000-4000-8000-000000000001"}[value]

        return {"thing": by_name}

    def session(self, profile):
        return self.fake


def test_resolvers_run_under_dry_run(home, monkeypatch, capsys):
    """The printed request carries the resolved id, not the name; the look-up itself was sent."""
    from confctl.core.state import reset, state

    reset()
    state.dry_run = True
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "http://127.0.0.1:9")
    provider = _FakeProvider()
    builder.run_endpoint(provider, provider.endpoints[0], {"thing": "Bob"}, {})
    out = capsys.readouterr().out
    assert out.strip() == "curl -X POST http://example.test/things/0f8c1e2a-0000-4000-8000-000000000001/poke"
    assert provider.fake.lookups == ["/things"]
    reset()


def _file_profile(cli, sim, name: str) -> dict:
    """A gateway profile whose key lives in the secrets file; the environment no longer carries it."""
    env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_GATEWAY_")}
    url = sim.env()["CONFCTL_GATEWAY_URL"]
    cli("profile", "add", name, "--provider", "gateway", "--url", url, "--app-id", "demo-app", "--secret-stdin",
        "--secret-store", "file", input="demo-key\n", env=env, check=0)
    return env


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_printed_gateway_line_runs_with_real_curl(cli, sim, tmp_path):
    room = new_room(cli, "dry-curl")
    member = calls(sim, 1, room)[0]
    base = _file_profile(cli, sim, "dry-file")
    run = subprocess.run  # the CLI fixture merges env; here the variable must really be absent
    proc = run([*cli_argv(), "-p", "dry-file", "--dry-run", "gateway", "session", "unmute", member],
               env=base, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("curl ") and '-H "X-API-Key: $CONFCTL_GATEWAY_API_KEY"' in line
    assert "demo-key" not in proc.stdout + proc.stderr
    assert "CONFCTL_GATEWAY_API_KEY" in proc.stderr and "secrets file" in proc.stderr  # which variable, where
    sim.app.state.requests.clear()
    shell = subprocess.run(["bash", "-c", line + " -sS -o /dev/stderr -w '%{http_code}'"],
                           env={**os.environ, "CONFCTL_GATEWAY_API_KEY": "demo-key"}, capture_output=True,
                           text=True, timeout=30)
    assert shell.stdout == "202", (shell.stdout, shell.stderr)
    assert json.loads(shell.stderr)["status"] == "unmuted"
    member_now = json.loads(cli("gateway", "room", "members", room, "-o", "json", check=0).stdout)["members"]
    assert [m["muted"] for m in member_now if m["uuid"] == member] == [False]


def test_keyring_profile_names_the_variable():
    """The note for a keyring profile says which variable to export and how (never the secret)."""
    from confctl.core.config import Profile

    profile = Profile("lab-kr", PROVIDERS["gateway"], {}, secret_store="keyring", from_file=True)
    hint = builder._export_hint(profile, "api_key", "CONFCTL_GATEWAY_API_KEY")
    assert "export CONFCTL_GATEWAY_API_KEY=" in hint and "keyring get confctl lab-kr:api_key" in hint


def cli_argv() -> list[str]:
    import sys

    return [sys.executable, "-m", "confctl"]
