"""Mind against hostile or broken servers: a participant or application token echoed back is never printed,
and an HTML page or broken JSON answered with 200 is exit 7 naming what came back (not printed as a string)."""

from __future__ import annotations

import json

import pytest

from test_auvious_faults import server  # noqa: F401 - the loopback server fixture

APP_TOKEN = "app-token-" + "a1" * 12
PARTICIPANT_TOKEN = "participant-" + "p9" * 16
PID = "6f1c2b7e-0000-4000-8000-000000000001"


def mind_env(url: str) -> dict:
    return {"CONFCTL_MIND_URL": url, "CONFCTL_MIND_APP_ID": "app", "CONFCTL_MIND_TOKEN": APP_TOKEN,
            "CONFCTL_MIND_CONFERENCE": "conf-1", "PT": PARTICIPANT_TOKEN}


def echo(handler):
    auth = handler.headers.get("Authorization", "")
    return 401, "application/json", json.dumps({"error": f"token rejected: {auth}", "sent": auth})


@pytest.mark.parametrize("debug", [(), ("--debug",)])
def test_an_echoed_participant_token_is_not_printed(cli, server, debug):  # noqa: F811
    srv = server(echo)
    proc = cli(*debug, "mind", "participant", "update", PID, "--name", "x", "--as-participant", "env:PT",
               env=mind_env(srv.url), check=3)
    printed = proc.stdout + proc.stderr
    assert "token rejected" in printed and PARTICIPANT_TOKEN not in printed


def test_an_echoed_application_token_is_not_printed(cli, server):  # noqa: F811
    srv = server(echo)
    proc = cli("mind", "conference", "get", env=mind_env(srv.url), check=3)
    assert "token rejected" in proc.stderr and APP_TOKEN not in proc.stdout + proc.stderr


@pytest.mark.parametrize("ctype,body,named", [
    ("text/html", "<html><body>Proxy error</body></html>", "text/html"),
    ("application/json", "{not json", "JSON"),
])
def test_a_200_that_is_not_json_is_exit_7(cli, server, ctype, body, named):  # noqa: F811
    srv = server(lambda handler: (200, ctype, body))
    proc = cli("mind", "conference", "get", env=mind_env(srv.url), check=7)
    assert proc.stdout == "" and named in proc.stderr
    proc = cli("mind", "participant", "list", env=mind_env(srv.url), check=7)
    assert proc.stdout == ""


def test_a_transcription_that_is_not_json_is_exit_7(cli, server):  # noqa: F811
    srv = server(lambda handler: (206, "text/html", "<html>gateway timeout page</html>"))
    proc = cli("mind", "recording", "transcription", env=mind_env(srv.url), check=7)
    assert "text/html" in proc.stderr
