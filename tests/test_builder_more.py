"""A listing that has more pages says so: the builder hands the next cursor to the output layer when --all
was not given."""

from __future__ import annotations

import pytest
from loopback import Server, replying
from test_gateway_e2e import gw


def test_listing_with_more_pages_says_so(cli, sim):
    env = {"CONFCTL_GATEWAY_APP_ID": "more-app", "CONFCTL_GATEWAY_API_KEY": "more-key"}
    gw(sim, "/_sim/rooms", {"count": 3, "app_id": "more-app", "prefix": "more"})
    first = cli("gateway", "room", "list", "--limit", "2", "-o", "jsonl", env=env, check=0)
    assert len(first.stdout.splitlines()) == 2
    cursor = first.stderr.split("next cursor: ", 1)[1].split()[0]
    rest = cli("gateway", "room", "list", "--limit", "2", "--cursor", cursor, "-o", "jsonl", env=env, check=0)
    assert len(rest.stdout.splitlines()) == 1 and "next cursor" not in rest.stderr  # the last page
    whole = cli("gateway", "room", "list", "--all", "--limit", "2", "-o", "jsonl", env=env, check=0)
    assert len(whole.stdout.splitlines()) == 3 and "next cursor" not in whole.stderr


HTML = (b"<html><body>Sign in to the Wi-Fi</body></html>", "text/html")
BROKEN = (b'{"conferences": [', "application/json")
ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"


@pytest.mark.parametrize("argv,answer", [
    (["gateway", "room", "list"], HTML), (["gateway", "room", "list"], BROKEN),
    (["gateway", "room", "get", ROOM], HTML), (["gateway", "room", "get", ROOM], BROKEN),
    (["gateway", "api", "GET", "/api/v1/conferences"], BROKEN),  # the escape hatch prints a text page as text
])
def test_a_200_that_is_not_json_is_exit_7(home, monkeypatch, capsys, argv, answer):
    """Commands expect the documented JSON: a captive portal's page or broken JSON with a 200 is exit 7."""
    import json

    body, ctype = answer

    from confctl.cli import main

    portal = Server(replying(lambda handler: (200, ctype, body)))
    try:
        monkeypatch.setenv("CONFCTL_GATEWAY_URL", portal.url)
        monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "app")
        monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "key-123456")
        code = main(argv)
        captured = capsys.readouterr()
    finally:
        portal.close()
    record = json.loads(captured.err.splitlines()[-1])
    assert code == 7 and captured.out == "" and "expected JSON" in record["error"], captured
