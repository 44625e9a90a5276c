"""A listing that has more pages says so: the builder hands the next cursor to the output layer when --all
was not given."""

from __future__ import annotations

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
