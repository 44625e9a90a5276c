"""`confctl top` end to end against the Pexip simulator over real loopback: the real sources (the Pexip event
stream and its opening roster), the real verbs and connections, driven headless by Textual's pilot. A key
mutes someone on the simulator; a change made on the simulator reaches the screen; quitting releases every
token (the simulator then holds no API participant of confctl's)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pexip_support import api_participants, px, sim_state  # noqa: F401 (px: fixture)

pytest.importorskip("textual")

PEXIP_SIM = {"pexip_token_ttl": 30, "deferred_delay": 0.05}
BOB = "65b4af2f-657a-4081-98a8-b17667628ce3"


@pytest.fixture
def env(home, px, monkeypatch):
    from conftest import reset_process_state

    httpx.post(px.url + "/pexip/_sim/reset")
    for key, value in px.env().items():
        if key.startswith("CONFCTL_PEXIP_"):  # the Pexip environment profile only
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    reset_process_state()
    yield
    reset_process_state()


def bob_muted(px) -> bool:
    for room in sim_state(px)["rooms"].values():
        for p in room["participants"]:
            if p["uuid"] == BOB:
                return p["is_muted"] == "YES"
    raise AssertionError("Bob is not in the simulator")


def test_top_shows_the_simulator_and_its_keys_act_on_it(env, px):
    from confctl.core.fleet.top.app import TopApp
    from confctl.core.fleet.top.command import _live_engine
    from test_top import rows, text_of, until

    engine, banner = _live_engine([], False, None)

    async def go():
        app = TopApp(engine, banner=banner)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "Bob" in [r[0] for r in rows(app, "participants")], timeout=15)
            assert "pexip/env connected" in text_of(app, "#health")
            names = [r[0] for r in rows(app, "participants")]
            assert names[:3] == ["Alice", "Bob", "Carol"] and "confctl" not in names  # its own token hidden
            await pilot.press("tab", "down", "m")  # Bob
            await until(pilot, lambda: "muted Bob" in text_of(app, "#outcome"), timeout=15)
            assert bob_muted(px)
            bob_row = lambda: next(r for r in rows(app, "participants") if r[0] == "Bob")  # noqa: E731
            await until(pilot, lambda: bob_row()[3] == "muted")  # the event came back through the stream
            httpx.post(f"{px.url}/pexip/_sim/join",
                       json={"conference": "meet.demo", "name": "Zoe", "role": "guest", "protocol": "webrtc"})
            await until(pilot, lambda: "Zoe" in [r[0] for r in rows(app, "participants")])
            assert api_participants(px)  # the stream's token (and the actions' connection) are held
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, timeout=15)
        assert api_participants(px) == []  # every token released
    asyncio.run(go())
