"""Registry invariants for every provider: each inventory row has exactly one endpoint entry, and the entry's
example argv sends exactly that method and path — against a catch-all server that knows no names (so an
example that needs a simulator-only name fails here), and against the simulator, where it must succeed (exit 0).
"""

from __future__ import annotations

import importlib
import json
import os
import re

import httpx
import pytest

from conftest import InProcessCLI, load_inventory
from loopback import Handler, Server
from confctl.core.registry import PROVIDERS


def implemented():
    out = []
    for name, info in PROVIDERS.items():
        try:
            importlib.import_module(info.module)
        except ModuleNotFoundError:
            continue
        out.append(name)
    return out


def path_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@pytest.mark.parametrize("provider", implemented())
def test_every_inventory_row_has_one_endpoint(provider):
    endpoints = PROVIDERS[provider].load().endpoints
    ids = [ep.id for ep in endpoints]
    assert len(ids) == len(set(ids)), "duplicate endpoint ids"
    inventory = {row["id"]: row for row in load_inventory(provider)}
    assert set(ids) == set(inventory)
    for ep in endpoints:
        assert (ep.method, ep.path) == (inventory[ep.id]["method"], inventory[ep.id]["path"]), ep.id


def _rows():
    for provider in implemented():
        for row in load_inventory(provider):
            yield pytest.param(provider, row, id=row["id"])


_EXAMPLES: dict[str, list] = {}


def example(cli, provider: str, row: dict) -> list[str]:
    if provider not in _EXAMPLES:
        _EXAMPLES[provider] = json.loads(cli(provider, "endpoints", "-o", "json", check=0).stdout)
    entry = next(e for e in _EXAMPLES[provider] if e["id"] == row["id"])
    assert entry["command"].split() == entry["example"][: len(entry["command"].split())]
    return entry["example"]


# ---------------------------------------------------------------------------------------------------------
# A catch-all server: plausible JSON for anything, no names known, every request recorded
# ---------------------------------------------------------------------------------------------------------
TOKEN = {"token": "catch-all-token-0001", "expires": "120", "participant_uuid": "9f1e2d3c-0000-4000-8000-00000000c0de",
         "role": "HOST", "display_name": "confctl", "conference_name": "any"}


class CatchAll(Handler):
    requests: list = []

    def _answer(self):
        self.read_body()
        path = self.path.split("?", 1)[0]
        self.requests.append((self.command, path))
        if path.endswith("/events") and "/api/client/v2/" in path:  # Pexip server-sent events
            body = b'id: 1\nevent: conference_update\ndata: {"locked": false}\n\n'
            return self.send(200, body, "text/event-stream")
        if "/api/client/v2/" in path:  # Pexip: {"status", "result"}
            if path.endswith(("/request_token", "/refresh_token")):
                result = TOKEN
            elif self.command == "GET":
                result = []
            else:
                result = True
            return self.send_json({"status": "success", "result": result})
        if path.endswith("/oauth/token"):
            return self.send_json({"access_token": "catch-all-access", "token_type": "bearer", "expires_in": 3600})
        return self.send_json({})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture(scope="module")
def catch_all():
    with Server(CatchAll) as server:
        yield server.url


@pytest.fixture
def catch_cli(home, catch_all):
    """Every provider pointed at the catch-all server (same credentials as for the simulator)."""
    from confctl.core.sim.server import env_vars

    env = dict(os.environ)
    env.update(env_vars(catch_all))
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    return InProcessCLI(env)


@pytest.mark.parametrize("provider,row", list(_rows()))
def test_example_sends_exactly_that_request_to_any_server(cli, catch_cli, provider, row):
    argv = example(cli, provider, row)
    CatchAll.requests.clear()
    proc = catch_cli(*argv[1:], "--yes", timeout=30)
    assert proc.returncode != 2, proc.stderr  # the example passes the command's own validation
    wanted = path_regex(f"/{provider}" + row["path"])
    sent = list(CatchAll.requests)
    assert any(m == row["method"] and wanted.match(p) for m, p in sent), (row, sent, proc.stderr)


@pytest.mark.parametrize("provider,row", list(_rows()))
def test_example_succeeds_against_the_simulator(cli, sim, provider, row):
    argv = example(cli, provider, row)
    httpx.post(f"{sim.url}/{provider}/_sim/reset")  # each example starts from the seeded state
    sim.app.state.requests.clear()
    proc = cli(*argv[1:], "--yes")
    wanted = path_regex(f"/{provider}" + row["path"])
    sent = list(sim.app.state.requests)
    assert any(m == row["method"] and wanted.match(p) for m, p in sent), (row, sent, proc.stderr)
    assert proc.returncode == 0, (row["id"], proc.returncode, proc.stderr)
