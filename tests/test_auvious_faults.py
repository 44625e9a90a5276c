"""Auvious against hostile or broken servers: credentials a server echoes back are never printed (in any
encoding), and an HTML page or broken JSON answered with 200 is exit 7 naming what came back."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import pytest
from loopback import Server, replying

SECRET = "s3cret+with/odd=chars"
CLIENT = "echo-client"


@pytest.fixture
def server():
    made = []

    def make(reply):
        made.append(Server(replying(reply)))
        return made[-1]

    yield make
    for s in made:
        s.close()


def auvious_env(url: str) -> dict:
    return {"CONFCTL_AUVIOUS_URL": url, "CONFCTL_AUVIOUS_CLIENT_ID": CLIENT,
            "CONFCTL_AUVIOUS_CLIENT_SECRET": SECRET, "CONFCTL_AUVIOUS_TOKEN": ""}


def forms(secret: str) -> list[str]:
    basic = base64.b64encode(f"{quote(CLIENT, safe='')}:{quote(secret, safe='')}".encode()).decode()
    return [secret, quote(secret, safe=""), basic, f"{CLIENT}:{secret}"]


def test_basic_credentials_echoed_by_the_token_endpoint_are_not_printed(cli, server):
    def echo(handler):
        auth = handler.headers.get("Authorization", "")
        decoded = base64.b64decode(auth.split(" ", 1)[1]).decode() if auth.startswith("Basic ") else ""
        return 401, "application/json", json.dumps({
            "error": "invalid_client",
            "error_description": f"bad credentials {auth} ({decoded}) body={handler.body}",
            "received": {"authorization": auth, "decoded": decoded}})

    srv = server(echo)
    for debug in ((), ("--debug",)):
        proc = cli(*debug, "auvious", "conference", "active", env=auvious_env(srv.url), check=3)
        printed = proc.stdout + proc.stderr
        assert "invalid_client" in printed  # the error itself is shown ...
        for form in forms(SECRET):
            assert form not in printed, form  # ... without the credentials in any encoding


def test_an_access_token_echoed_in_an_error_is_not_printed(cli, server):
    token = "tok-" + "x7" * 20

    def reply(handler):
        if handler.path.endswith("/oauth/token"):
            return 200, "application/json", json.dumps({"access_token": token, "expires_in": 300})
        return 403, "application/json", json.dumps({"message": f"token {token} may not do this"})

    srv = server(reply)
    proc = cli("auvious", "conference", "active", env=auvious_env(srv.url), check=3)
    assert "may not do this" in proc.stderr and token not in proc.stdout + proc.stderr


@pytest.mark.parametrize("ctype,body", [
    ("text/html", "<html><body>Please log in to the hotel Wi-Fi</body></html>"),
    ("application/json", '{"broken": '),
])
def test_a_200_that_is_not_json_is_exit_7(cli, server, ctype, body):
    def reply(handler):
        if handler.path.endswith("/oauth/token"):
            return 200, "application/json", json.dumps({"access_token": "t" * 30, "expires_in": 300})
        return 200, ctype, body

    srv = server(reply)
    proc = cli("auvious", "conference", "get", "demo-room", env=auvious_env(srv.url), check=7)
    assert proc.stdout == ""
    assert ("text/html" in proc.stderr) if ctype == "text/html" else ("JSON" in proc.stderr)


def test_an_html_token_endpoint_is_exit_7(cli, server):
    srv = server(lambda handler: (200, "text/html", "<html>captive portal</html>"))
    proc = cli("auvious", "conference", "active", env=auvious_env(srv.url), check=7)
    assert "text/html" in proc.stderr
