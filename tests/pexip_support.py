"""Shared fixtures and helpers for the Pexip end-to-end tests (test_pexip_commands / _tokens / _events).

A test module imports `px` and `pcli` and sets `PEXIP_SIM` (the SimConfig keyword arguments: its own clocks).
`px` stays module-scoped, so each module (on each xdist worker) still gets its own simulator and no state is
shared across modules."""

from __future__ import annotations

import os

import httpx
import pytest

from conftest import InProcessCLI


@pytest.fixture(scope="module")
def px(request):
    """A running simulator configured by the requesting module's `PEXIP_SIM`."""
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(**request.module.PEXIP_SIM)) as running:
        yield running


@pytest.fixture
def pcli(home, px):
    """A CLI pointed at `px`, after resetting the simulator so every test starts from the seeded state."""
    env = dict(os.environ)
    env.update(px.env())
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    httpx.post(px.url + "/pexip/_sim/reset")  # also restores the configured token lifetime
    px.app.state.requests.clear()  # so a test's request log holds only its own requests
    return InProcessCLI(env)


def sim_state(px, conference="meet.demo") -> dict:
    return httpx.get(px.url + "/pexip/_sim/state", params={"conference": conference}).json()


def api_participants(px, conference="meet.demo") -> list[dict]:
    """The participants that confctl itself holds (its API tokens), across every room of the conference (not
    the control participants the node gives a Host in each breakout room)."""
    state = sim_state(px, conference)
    controls = set(state["controls"])
    return [p for r in state["rooms"].values() for p in r["participants"]
            if p["protocol"] == "api" and p["uuid"] not in controls]
