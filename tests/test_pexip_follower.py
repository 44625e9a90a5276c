"""The Pexip SSE follower against a fake node (httpx.MockTransport) and a fake clock: a dropped stream is
reconnected, the re-sync becomes a `gap`, the diff and a `reconnected` record; an event id seen before the drop
is not printed twice; a node that does not re-sync still gets a gap; the resume window ends it with exit 9; a
token that lapsed unrefreshed ends it with exit 3. No simulator, no sleeping."""

from __future__ import annotations

import threading

import pytest

from confctl.core.errors import AuthError, StreamEnded, exit_code_for
from confctl.core.vendor import FollowOptions
from confctl.vendors.pexip.events import follow_conference
from pexip_support import DROP, FakeClock, fake_node, pexip_session, sse

ALIAS = "meet.demo"
ALICE = {"uuid": "p-alice", "display_name": "Alice", "is_muted": "NO"}
ALICE_MUTED = {**ALICE, "is_muted": "YES"}
BOB = {"uuid": "p-bob", "display_name": "Bob", "is_muted": "NO"}


def opening(*people, start=1):
    """The roster the node sends when a stream opens, ids from `start`."""
    items = [sse("participant_sync_begin", id=start)]
    items += [sse("participant_create", p, id=start + 1 + i) for i, p in enumerate(people)]
    return items + [sse("participant_sync_end", id=start + 1 + len(people))]


def run(monkeypatch, streams, *, resume_timeout=30, requests=None):
    stop = threading.Event()
    clock = FakeClock()
    session = pexip_session(monkeypatch, fake_node(streams, stop, requests))
    options = FollowOptions(conference=(ALIAS,), stop=stop, values={"resume_timeout": resume_timeout})
    events = follow_conference(session, ALIAS, options, "lab", clock=clock, wait=clock.wait)
    return session, events, clock


def kinds(events):
    return [(e["type"], bool(e.get("_sync"))) for e in events]


def test_a_dropped_stream_is_resynced_into_a_gap_the_changes_and_reconnected(home, monkeypatch):
    session, events, clock = run(monkeypatch, [
        [*opening(ALICE), sse("participant_update", ALICE_MUTED, id=4), DROP],
        # the node re-sends the roster (Alice muted, as we knew; Bob joined meanwhile), then an event we had
        [*opening(ALICE_MUTED, BOB, start=10), sse("participant_update", ALICE_MUTED, id=4),
         sse("message_received", {"payload": "hi"}, id=14)],
    ])
    got = list(events)
    assert kinds(got) == [
        ("participant_sync_begin", True), ("participant_create", True), ("participant_sync_end", True),
        ("participant_update", False),
        ("gap", False), ("participant_create", False), ("reconnected", False),
        ("message_received", False)]
    gap, bob, back = got[4:7]
    assert gap["data"]["resynced"] is True and "messages" in gap["data"]["lost"]
    assert bob["data"]["display_name"] == "Bob"  # only what changed: Alice was already known muted
    assert back["data"]["participants"] == 2 and back["data"]["created"] == 1 and back["data"]["updated"] == 0
    ids = [e["id"] for e in got if e.get("id")]
    assert len(ids) == len(set(ids))  # the re-sent event 4 was not printed again
    session.close()


def test_a_participant_who_left_during_the_outage_is_reported_deleted(home, monkeypatch):
    session, events, _ = run(monkeypatch, [
        [*opening(ALICE, BOB), DROP],
        opening(ALICE, start=20),
    ])
    got = list(events)
    after = [(e["type"], e["data"].get("uuid")) for e in got[4:]]
    assert after == [("gap", None), ("participant_delete", "p-bob"), ("reconnected", None)]
    session.close()


def test_a_node_that_does_not_resync_still_gets_a_gap(home, monkeypatch):
    session, events, _ = run(monkeypatch, [
        [*opening(ALICE), DROP],
        [sse("message_received", {"payload": "after"}, id=30)],
    ])
    got = list(events)
    assert [e["type"] for e in got[3:]] == ["gap", "reconnected", "message_received"]
    assert got[3]["data"]["resynced"] is False and got[4]["data"] == {"resynced": False}
    session.close()


def test_reconnecting_backs_off_and_the_resume_window_ends_it_with_exit_9(home, monkeypatch):
    import httpx

    refused = [httpx.ConnectError("connection refused") for _ in range(40)]
    requests: list = []
    session, events, clock = run(monkeypatch, [[*opening(ALICE), DROP], *refused], resume_timeout=10,
                                 requests=requests)
    got = []
    with pytest.raises(StreamEnded) as caught:
        for event in events:
            got.append(event)
    assert exit_code_for(caught.value) == 9
    assert "could not be resumed within 10 s" in caught.value.message
    assert len(got) == 3  # the opening roster; no gap was ever closed
    assert clock.waits and all(w <= 5.0 for w in clock.waits)  # backoff, capped
    assert clock.now - 1000.0 <= 10.0 + 5.0  # gave up once the window was spent (at most one pause later)
    assert all(r.headers["token"] == "user-token-0123456789" for r in requests)
    session.close()


def test_a_token_that_lapsed_unrefreshed_ends_the_stream_with_exit_3(home, monkeypatch):
    stop = threading.Event()
    clock = FakeClock()
    session = pexip_session(monkeypatch, fake_node([[*opening(ALICE), DROP]], stop))
    options = FollowOptions(conference=(ALIAS,), stop=stop, values={"resume_timeout": 30})
    events = follow_conference(session, ALIAS, options, "lab", clock=clock, wait=clock.wait)
    assert next(events)["type"] == "participant_sync_begin"
    session.lease(ALIAS).failure = AuthError("token refresh failed: the node refused to refresh it")
    with pytest.raises(AuthError) as caught:
        list(events)
    assert exit_code_for(caught.value) == 3
    session.close()
