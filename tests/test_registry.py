"""Registry invariants for every provider: each inventory row has exactly one endpoint entry, and the entry's
example argv, run against the simulator, sends exactly that method and path."""

from __future__ import annotations

import importlib
import re

import pytest

from conftest import load_inventory
from confctl.providers import PROVIDERS


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


@pytest.mark.parametrize("provider,row", list(_rows()))
def test_example_sends_exactly_that_request(cli, sim, provider, row):
    import json

    listing = json.loads(cli(provider, "endpoints", "-o", "json", check=0).stdout)
    entry = next(e for e in listing if e["id"] == row["id"])
    assert entry["command"].split() == entry["example"][: len(entry["command"].split())]
    sim.app.state.requests.clear()
    proc = cli(*entry["example"][1:], "--yes")
    assert proc.returncode != 2, proc.stderr  # the example passes the command's own validation
    wanted = path_regex(f"/{provider}" + row["path"])
    sent = list(sim.app.state.requests)
    assert any(m == row["method"] and wanted.match(p) for m, p in sent), (row, sent, proc.stderr)
