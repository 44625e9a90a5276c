"""`--dry-run` on Auvious prints runnable requests: the client-credentials request that puts a token into
$CONFCTL_AUVIOUS_TOKEN (kept when already set), then the request reading it; the token request itself uses
-u "$CONFCTL_AUVIOUS_CLIENT_ID:$CONFCTL_AUVIOUS_CLIENT_SECRET". Run by bash against the simulator, they
succeed. A token the user exports as CONFCTL_AUVIOUS_TOKEN is used by confctl as it is."""

from __future__ import annotations

import json
import subprocess

TOKEN_PATH = "/auvious/security/oauth/token"


def run_printed(text: str, env: dict) -> str:
    proc = subprocess.run(["bash", "-c", text], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 0, (text, proc.stderr)
    return proc.stdout


def shell_env(cli, **extra) -> dict:
    env = {k: v for k, v in cli.env.items() if k not in ("CONFCTL_AUVIOUS_TOKEN", "CONFCTL_AUVIOUS_CLIENT_ID")}
    return {**env, **extra}


def test_a_bearer_request_comes_with_the_steps_to_obtain_its_token(cli, sim):
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "auvious", "conference", "get", "demo-room", check=0)
    assert sim.app.state.requests == []
    assert "demo-secret" not in proc.stdout and "<redacted>" not in proc.stdout
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("#") and "CONFCTL_AUVIOUS_TOKEN" in lines[0]
    assert '-u "$CONFCTL_AUVIOUS_CLIENT_ID:$CONFCTL_AUVIOUS_CLIENT_SECRET"' in proc.stdout
    assert lines[-1].endswith('-H "Authorization: Bearer $CONFCTL_AUVIOUS_TOKEN"')
    body = run_printed(proc.stdout, shell_env(cli))
    assert json.loads(body)["id"] == "demo-room"
    assert ("POST", TOKEN_PATH) in sim.app.state.requests  # the printed steps fetched the token themselves


def test_the_token_request_itself_runs(cli, sim):
    proc = cli("--dry-run", "auvious", "token", check=0)
    setup, curl = proc.stdout.strip().splitlines()  # this request is the token step: only the client id first
    assert setup.startswith('[ -n "$CONFCTL_AUVIOUS_CLIENT_ID" ]') and curl.startswith("curl -X POST")
    assert json.loads(run_printed(proc.stdout, shell_env(cli)))["access_token"]


def test_an_exported_token_is_used_as_it_is(cli, sim):
    token = cli("auvious", "token", "--show-token", check=0).stdout.strip()
    sim.app.state.requests.clear()
    proc = cli("auvious", "conference", "active", "-o", "json", env={"CONFCTL_AUVIOUS_TOKEN": token,
                                                                      "CONFCTL_CONFIG_DIR": cli.env[
                                                                          "CONFCTL_CONFIG_DIR"] + "-fresh"},
               check=0)
    assert isinstance(json.loads(proc.stdout), list)
    assert ("POST", TOKEN_PATH) not in sim.app.state.requests  # no fetch: the exported token was used
    proc = cli("auvious", "conference", "active", env={"CONFCTL_AUVIOUS_TOKEN": "not-a-real-token-1234"}, check=3)
    assert "CONFCTL_AUVIOUS_TOKEN" in proc.stderr and "not-a-real-token-1234" not in proc.stderr
