"""The HTTP layer as a user sees it: `confctl` (run in-process, over real sockets) against a hostile server on
loopback — one that echoes credentials, drip-feeds its answer, redirects, or is not there at all."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from conftest import InProcessCLI
from loopback import Handler, Server

ROOT = Path(__file__).resolve().parent.parent
KEY = "e2e-Key/+=secret"


class Hostile(Handler):
    """The first path segment picks the misbehaviour; everything else is the API path."""

    seen: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server naming
        Hostile.seen.append(self.path)
        mode = self.path.split("/")[1]
        key = self.headers.get("X-API-Key", "")
        if mode == "echo":
            body = json.dumps({"error": f"invalid key {key!r}", "detail": {
                "received": dict(self.headers), "encoded": quote(key, safe=""), "plus": quote_plus(key),
                "b64": base64.b64encode(key.encode()).decode()}}).encode()
            self.send(401, body, "application/json")
        elif mode == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(400):
                    self.wfile.write(b"[1, ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"https://login.example/portal?next={quote(key)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send(200, b'{"conferences": []}', "application/json")

    do_POST = do_GET


@pytest.fixture(scope="module")
def hostile():
    with Server(Hostile) as server:
        yield server.url


def run(*args, url, key=KEY, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_GATEWAY_URL": url, "CONFCTL_GATEWAY_APP_ID": "app-1", "CONFCTL_GATEWAY_API_KEY": key,
                "CONFCTL_NO_INPUT": "1", "CONFCTL_CONFIG_DIR": str(ROOT / "build" / "no-such-config"),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    return InProcessCLI(env)(*args, timeout=timeout)


def secret_forms(key=KEY):
    return {key, quote(key, safe=""), quote(key), quote_plus(key), base64.b64encode(key.encode()).decode()}


def test_echoed_key_is_never_printed(hostile):
    for args in (("gateway", "room", "list"), ("--debug", "gateway", "room", "list")):
        proc = run(*args, url=hostile + "/echo", key=KEY)
        assert proc.returncode == 3, proc.stderr
        printed = proc.stdout + proc.stderr
        assert not [f for f in secret_forms() if f in printed], printed
        assert "<redacted>" in printed


def test_drip_feeding_server_cannot_stretch_the_timeout(hostile):
    started = time.monotonic()
    proc = run("--timeout", "1", "gateway", "room", "list", url=hostile + "/drip", timeout=30)
    assert proc.returncode == 7, proc.stderr
    assert "within --timeout 1s" in json.loads(proc.stderr.splitlines()[-1])["error"]
    assert time.monotonic() - started < 30  # (the old behaviour: 40 s of drip-feed; no finer timing claim)


def test_redirect_is_reported_not_an_empty_success(hostile):
    proc = run("gateway", "room", "list", url=hostile + "/redirect")
    assert proc.returncode == 7 and proc.stdout == ""
    error = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert "redirected to login.example/portal" in error and "not followed" in error
    assert not [f for f in secret_forms() if f in proc.stderr]


@pytest.mark.parametrize("bad", ["abc\rdef", "abc\ndef", "abc\x1bdef"])
def test_control_character_in_the_key_is_exit_2_naming_the_variable_and_nothing_sent(hostile, bad):
    Hostile.seen.clear()
    proc = run("gateway", "room", "list", url=hostile + "/ok", key=bad)
    assert proc.returncode == 2, proc.stderr
    error = json.loads(proc.stderr.splitlines()[-1])["error"]
    assert "CONFCTL_GATEWAY_API_KEY" in error and "abc" not in proc.stderr
    assert Hostile.seen == []


def test_connection_refused_exits_7(hostile):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = run("gateway", "room", "list", url=f"http://127.0.0.1:{port}")
    assert proc.returncode == 7 and "cannot reach" in proc.stderr


@pytest.mark.parametrize("kind", ["missing", "directory", "not-pem"])
def test_bad_ca_bundle_is_exit_2_naming_the_file_before_any_request(hostile, tmp_path, kind):
    path = {"missing": tmp_path / "nope.pem", "directory": tmp_path, "not-pem": tmp_path / "x.pem"}[kind]
    if kind == "not-pem":
        path.write_text("hello\n")
    Hostile.seen.clear()
    proc = run("--ca-bundle", str(path), "gateway", "room", "list", url=hostile + "/ok")
    assert proc.returncode == 2, proc.stderr
    assert str(path) in json.loads(proc.stderr.splitlines()[-1])["error"]
    assert Hostile.seen == []
