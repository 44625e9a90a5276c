"""The Mind follower under faults: a reconnect reset during the opening handshake is retried (not
`unexpected error: ConnectionClosedError`), the resume window ends it with exit 9, a `gap` record precedes
`reconnected`, and a participant who joins while the conference is re-read is printed once.

Unit tests drive ConferenceFollower with a fake socket, a fake connector and a fake clock (no sleeping); one
end-to-end test has the simulator reset the reconnect handshakes."""

from __future__ import annotations

import json
import threading

import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.frames import Close

from confctl.core.errors import ServerError, StreamEnded, exit_code_for
from confctl.vendors.mind.events import ConferenceFollower

CONF = "conf-1"


def person(pid: str, name: str, online: bool = True) -> dict:
    return {"id": pid, "name": name, "online": online, "role": "speaker"}


def detailed(*people) -> dict:
    return {"id": CONF, "name": "standup", "participants": list(people)}


def note(kind: str, pid: str, resource=None) -> str:
    body = {"type": kind, "location": f"/participants/{pid}"}
    if resource is not None:
        body["resource"] = resource
    return json.dumps(body)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return False


class Reply:
    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class FakeSession:
    """Answers the conference re-reads from a script: a dict is a body, an exception is raised."""

    base_url, app_id, app_token, timeout = "http://mind.test", "app", "app-token", 5.0

    def __init__(self, reads):
        self.reads = list(reads)

    def request(self, method, path, **kw):
        item = self.reads.pop(0)
        if isinstance(item, BaseException):
            raise item
        return Reply(item)

    def json(self, response):
        return response.json()

    def close(self):
        pass


class FakeSocket:
    """recv() returns the scripted frames, raises scripted exceptions; when the script runs out the test is
    over: the stop flag is set."""

    def __init__(self, script, stop):
        self.script, self.stop = list(script), stop

    def recv(self, timeout=None):
        if not self.script:
            self.stop.set()
            raise TimeoutError
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self):
        pass


class Profile:
    name = "lab-mind"

    def get(self, name, default=None):
        return default


def dropped(code=1012):
    return ConnectionClosedError(Close(code, "going away"), None)


def handshake_reset():
    return ConnectionClosedError(None, None)  # what websockets raises when the reset hits the handshake


def run(reads, connects, window=30.0):
    stop = threading.Event()
    clock = Clock()
    outcomes = [c(stop) if callable(c) and not isinstance(c, BaseException) else c for c in connects]

    def connector():
        item = outcomes.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    follower = ConferenceFollower(Profile(), CONF, stop, session=FakeSession(reads), connector=connector,
                                  clock=clock, wait=clock.wait, window=window)
    return follower, clock


def socket(*script):
    return lambda stop: FakeSocket(script, stop)


def test_a_handshake_reset_is_retried_and_the_outage_is_reported_as_a_gap():
    alice, bob = person("p1", "Alice"), person("p2", "Bob")
    follower, _ = run(
        reads=[detailed(alice), detailed(alice, bob)],
        connects=[socket(dropped()), handshake_reset(), handshake_reset(), socket()],
    )
    events = list(follower.run())
    assert [e["type"] for e in events] == ["gap", "participant.created", "reconnected"]
    gap, joined, back = events
    assert "messages" in gap["data"]["lost"] and gap["conference"] == CONF
    assert joined["data"] == bob and joined["resynced"] is True
    assert back["data"]["attempts"] == 3 and back["data"]["resynced"] == 1


def test_a_reread_that_fails_after_the_socket_is_back_is_retried():
    alice = person("p1", "Alice")
    follower, _ = run(
        reads=[detailed(alice), ServerError("cannot reach mind.test"), detailed(alice)],
        connects=[socket(dropped()), socket(), socket()],
    )
    events = list(follower.run())
    assert [e["type"] for e in events] == ["gap", "reconnected"]
    assert events[1]["data"]["attempts"] == 2


def test_the_resume_window_ends_the_stream_with_exit_9():
    connects = [socket(dropped())] + [handshake_reset() for _ in range(50)]
    follower, clock = run(reads=[detailed()], connects=connects, window=10.0)
    with pytest.raises(StreamEnded) as caught:
        list(follower.run())
    assert exit_code_for(caught.value) == 9
    assert "could not reconnect" in caught.value.message
    assert clock.now - 1000.0 <= 10.0  # gave up within the window, not after it


def test_a_participant_who_joins_during_the_reread_is_printed_once():
    alice, dave = person("p1", "Alice"), person("p4", "Dave")
    dave_later = {**dave, "online": False}
    follower, _ = run(
        # Dave joined after the socket was back but before the re-read answered: he is in the re-read, and
        # his notification is waiting on the socket.
        reads=[detailed(alice), detailed(alice, dave)],
        connects=[socket(dropped()), socket(note("created", "p4", dave), note("updated", "p4", dave_later))],
    )
    events = list(follower.run())
    assert [(e["type"], e.get("resynced", False)) for e in events] == [
        ("gap", False), ("participant.created", True), ("reconnected", False), ("participant.updated", False)]
    assert events[-1]["data"]["online"] is False


def test_a_different_change_for_a_resynced_participant_is_still_printed():
    alice, dave = person("p1", "Alice"), person("p4", "Dave")
    follower, _ = run(
        reads=[detailed(alice), detailed(alice, dave)],
        connects=[socket(dropped()), socket(note("deleted", "p4"))],
    )
    types = [e["type"] for e in follower.run()]
    assert types == ["gap", "participant.created", "reconnected", "participant.deleted"]


def test_the_simulator_resetting_reconnect_handshakes(cli, sim):
    from test_mind_helpers import Lines, control, listeners, new_conference, wait_for

    conf = new_conference(sim)
    proc = cli.popen("mind", "events", "-o", "jsonl", "-c", conf)
    try:
        wait_for(lambda: listeners(sim, conf) == 1 or proc.poll() is not None, what="the follower's socket")
        lines = Lines(proc)
        control(sim, conf, "drop", reset_handshakes=2, then=[{"action": "join", "name": "Carol"}])
        gap = lines.until("gap")
        carol = lines.until("participant.created")
        back = lines.until("reconnected")
        assert gap["conference"] == conf and carol["data"]["name"] == "Carol" and carol["resynced"] is True
        assert back["data"]["attempts"] >= 3  # the drop, then two reset handshakes
        assert proc.poll() is None  # still following
        control(sim, conf, "end")
        lines.until("conference.ended")
        proc.wait(timeout=20)
        stderr = proc.stderr.read()
        assert proc.returncode == 0, stderr
        assert "unexpected error" not in stderr and "reconnecting to conference" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_certificate_failure_is_not_retried():
    import ssl

    bad_cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    bad_cert.verify_message = "self-signed certificate"
    follower, clock = run(reads=[detailed()], connects=[bad_cert])
    with pytest.raises(ServerError) as caught:
        list(follower.run())
    assert exit_code_for(caught.value) == 7 and "self-signed" in caught.value.message
    assert clock.now == 1000.0  # no waiting: it was not retried
