"""Shared fixtures and helpers for the Pexip end-to-end tests (test_pexip_commands / _tokens / _events).

A test module imports `px` and `pcli` and sets `PEXIP_SIM` (the SimConfig keyword arguments: its own clocks).
`px` stays module-scoped, so each module (on each xdist worker) still gets its own simulator and no state is
shared across modules.

For unit tests of the SSE follower: `fake_node` (a MockTransport serving scripted event streams),
`pexip_session` (a real PexipSession on it) and `FakeClock`."""

from __future__ import annotations

import os

import httpx
import pytest

from clock_support import FakeClock  # noqa: F401 (for the follower tests)
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


# -- a fake node for unit tests of the SSE follower (no simulator, no sockets, no sleeping) ----------------------

def sse(event: str, data=None, id=None) -> str:
    """One server-sent event as the node writes it."""
    import json

    lines = [f"id: {id}"] if id is not None else []
    lines += [f"event: {event}", f"data: {json.dumps(data) if data is not None else ''}"]
    return "\n".join(lines) + "\n\n"


class DROP:
    """Marks a stream that ends with a connection reset instead of a clean end."""


class EventStream(httpx.SyncByteStream):
    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        for item in self.items:
            if item is DROP:
                raise httpx.ReadError("connection reset by peer")
            yield item.encode()


def fake_node(streams, stop, requests=None):
    """A MockTransport for GET .../events: each connection gets the next script (a list of `sse()` strings,
    optionally ending in DROP) or, for an exception instance, raises it (a refused connection). When the
    scripts run out the test is over: `stop` is set and the connection refused."""
    scripts = list(streams)

    def handler(request: httpx.Request) -> httpx.Response:
        if requests is not None:
            requests.append(request)
        assert request.url.path.endswith("/events"), request.url
        if not scripts:
            stop.set()
            raise httpx.ConnectError("connection refused")
        script = scripts.pop(0)
        if isinstance(script, BaseException):
            raise script
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=EventStream(script))

    return httpx.MockTransport(handler)


def pexip_session(monkeypatch, transport, alias="meet.demo"):
    """A real PexipSession whose HTTP goes to `transport`, with a user token (CONFCTL_PEXIP_TOKEN: used as
    is, never requested, refreshed or released)."""
    from confctl.core import config
    from confctl.vendors.pexip.provider import PexipSession

    monkeypatch.setenv("CONFCTL_PEXIP_URL", "https://node.example.com")
    monkeypatch.setenv("CONFCTL_PEXIP_CONFERENCE", alias)
    monkeypatch.setenv("CONFCTL_PEXIP_TOKEN", "user-token-0123456789")
    session = PexipSession(config.resolve("pexip", None))
    session._client = httpx.Client(transport=transport, timeout=5.0)
    return session
