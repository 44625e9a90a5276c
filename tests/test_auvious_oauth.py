"""Auvious OAuth 2.0 client credentials end to end: token caching (0600, shared by concurrent commands), the
one re-fetch on a 401, expiry, bad secrets, and the token command that never shows the token by accident."""

from __future__ import annotations

import json
import stat
import subprocess
import time

import httpx

TOKEN_PATH = "/auvious/security/oauth/token"


def token_requests(sim) -> int:
    return sum(1 for m, p in sim.app.state.requests if m == "POST" and p == TOKEN_PATH)


def cache_files(home):
    return sorted((home / "cache").glob("auvious-token-*.json"))


def control(sim, path: str) -> dict:
    return httpx.post(f"{sim.url}/auvious/_sim/{path}", timeout=5).json()


def test_token_is_fetched_once_and_cached_privately(cli, sim, home):
    sim.app.state.requests.clear()
    cli("auvious", "conference", "active", check=0)
    cli("auvious", "conference", "get", "demo-room", check=0)
    assert token_requests(sim) == 1
    [cache] = cache_files(home)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    text = cache.read_text()
    assert "demo-secret" not in text  # the client secret is never cached
    assert json.loads(text)["access_token"]


def test_401_fetches_a_new_token_once_and_retries(cli, sim, home):
    cli("auvious", "conference", "active", check=0)
    old = json.loads(cache_files(home)[0].read_text())["access_token"]
    control(sim, "tokens/revoke")  # the cached token is now refused with 401
    sim.app.state.requests.clear()
    proc = cli("auvious", "conference", "active", check=0)
    assert json.loads(proc.stdout)  # the command succeeded after the re-fetch
    sent = list(sim.app.state.requests)
    assert sent.count(("GET", "/auvious/rtc-api/conferences/active")) == 2  # refused, then retried
    assert token_requests(sim) == 1
    assert json.loads(cache_files(home)[0].read_text())["access_token"] != old


def test_expired_cache_is_refreshed_before_use(cli, sim, home):
    cli("auvious", "conference", "active", check=0)
    [cache] = cache_files(home)
    record = json.loads(cache.read_text())
    record["expires_at"] = time.time() - 1  # expired a second ago
    cache.write_text(json.dumps(record))
    sim.app.state.requests.clear()
    cli("auvious", "conference", "active", check=0)
    assert token_requests(sim) == 1
    assert sim.app.state.requests.count(("GET", "/auvious/rtc-api/conferences/active")) == 1  # no 401 round trip
    # still valid, but within the safety margin (a tenth of its lifetime): refreshed too
    record = json.loads(cache.read_text())
    now = time.time()
    record["obtained_at"], record["expires_at"] = now - 57, now + 3
    cache.write_text(json.dumps(record))
    cli("auvious", "conference", "active", check=0)
    assert token_requests(sim) == 2


def test_concurrent_commands_share_one_token(cli, sim, home):
    sim.app.state.requests.clear()
    procs = [cli.popen("auvious", "conference", "active") for _ in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    assert token_requests(sim) == 1


def test_bad_secret_exits_3_without_leaking_it(cli, sim):
    proc = cli("auvious", "conference", "active", env={"CONFCTL_AUVIOUS_CLIENT_SECRET": "not-the-secret"}, check=3)
    assert "rejected client 'demo-client'" in proc.stderr
    assert "not-the-secret" not in proc.stderr + proc.stdout
    assert json.loads(proc.stderr.splitlines()[-1])["status"] == 401


def test_missing_secret_exits_3(cli, sim):
    proc = cli("auvious", "token", env={"CONFCTL_AUVIOUS_CLIENT_SECRET": ""}, check=3)
    assert "CONFCTL_AUVIOUS_CLIENT_SECRET" in proc.stderr


def test_token_command_prints_metadata_never_the_token(cli, sim, home):
    sim.app.state.requests.clear()
    proc = cli("auvious", "token", check=0)
    info = json.loads(proc.stdout)
    token = json.loads(cache_files(home)[0].read_text())["access_token"]
    assert token not in proc.stdout + proc.stderr
    assert info["source"] == "token endpoint" and info["token_type"] == "bearer"
    assert 0 < info["expires_in"] <= 60 and info["fingerprint"].startswith("sha256:")
    assert token_requests(sim) == 1
    # --cached reuses the valid token without a request
    again = json.loads(cli("auvious", "token", "--cached", check=0).stdout)
    assert again["source"] == "cache" and again["fingerprint"] == info["fingerprint"]
    assert token_requests(sim) == 1


def test_token_on_request_to_a_pipe_or_a_private_file(cli, sim, home, tmp_path):
    proc = cli("auvious", "token", "--show-token", check=0)
    token = proc.stdout.strip()
    assert token and "\n" not in token
    assert httpx.get(f"{sim.url}/auvious/rtc-api/conferences/active",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in proc.stderr
    target = tmp_path / "token.txt"
    proc = cli("auvious", "token", "--token-file", str(target), check=0)
    assert json.loads(proc.stdout)["token_file"] == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().strip() not in proc.stdout


def test_show_token_refuses_a_terminal(cli, sim):
    import os
    import pty
    import sys

    # stdout on a pseudo-terminal: the token must not be printed
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "confctl", "auvious", "token", "--show-token"],
                              stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cli.env,
                              timeout=60, text=True)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 2
    assert "refusing to print the access token on a terminal" in proc.stderr


def test_dry_run_sends_nothing_and_shows_no_secret(cli, sim):
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "auvious", "token", check=0)
    assert proc.stdout.splitlines()[-1].startswith("curl -X POST") and TOKEN_PATH in proc.stdout
    assert "grant_type=client_credentials" in proc.stdout
    assert "demo-secret" not in proc.stdout
    assert '-u "$CONFCTL_AUVIOUS_CLIENT_ID:$CONFCTL_AUVIOUS_CLIENT_SECRET"' in proc.stdout
    proc = cli("--dry-run", "auvious", "conference", "active", check=0)
    assert '-H "Authorization: Bearer $CONFCTL_AUVIOUS_TOKEN"' in proc.stdout
    assert "demo-secret" not in proc.stdout
    assert sim.app.state.requests == []


def test_custom_token_url(cli, sim, home):
    sim.app.state.requests.clear()
    env = {"CONFCTL_AUVIOUS_URL": f"{sim.url}/nowhere", "CONFCTL_AUVIOUS_TOKEN_URL": f"{sim.url}{TOKEN_PATH}"}
    proc = cli("auvious", "token", env=env, check=0)
    assert json.loads(proc.stdout)["source"] == "token endpoint"
    assert token_requests(sim) == 1


def test_profile_test_makes_one_authenticated_call(cli, sim):
    proc = cli("profile", "test", "--provider", "auvious", check=0)
    result = json.loads(proc.stdout)
    assert result["ok"] is True and result["active_conferences"] >= 1
    assert "access_token" not in proc.stdout
