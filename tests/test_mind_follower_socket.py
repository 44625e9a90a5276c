"""The Mind follower's real WebSocket (against the simulator on loopback): opened with the sync client's
documented context-manager form, so receiving on it raises no DeprecationWarning, and it delivers
notifications."""

from __future__ import annotations

import json
import threading
import warnings

from test_mind_helpers import control, listeners, new_conference, wait_for


def test_the_socket_is_opened_the_documented_way_and_delivers(home, sim, monkeypatch):
    from confctl.core import config
    from confctl.vendors.mind.events import ConferenceFollower

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    conf = new_conference(sim)
    follower = ConferenceFollower(config.resolve("mind", None), conf, threading.Event())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ws = follower.connect()
        try:
            wait_for(lambda: listeners(sim, conf) == 1, what="the socket")
            control(sim, conf, "join", name="Carol")
            notification = json.loads(ws.recv(timeout=10))
        finally:
            ws.close()
            follower.session.close()
    assert notification["type"] == "created" and notification["location"].startswith("/participants/")
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
