"""The Auvious long-poll follower against a fake RTC API (httpx.MockTransport) and a fake clock: the version
cursor advances (either reading of `v=N`), an outage is retried with backoff and ends in a `reconnected`
record, the retry budget ends it with exit 9, a refused token with exit 3, and a cursor file resumes exactly
where the delivered events stopped. No simulator, no sleeping.

(The RTC API has no way to say that events were dropped, so the follower has no `gap` record: the version
cursor itself is the resume point.)"""

from __future__ import annotations

import threading

import httpx
import pytest

from auvious_support import FakeProvider, FakeRTC, auvious_profile, rtc_event
from clock_support import FakeClock
from confctl.core.errors import AuthError, StreamEnded, exit_code_for
from confctl.core.vendor import FollowOptions
from confctl.vendors.auvious.events import Poller, follow


def poller(monkeypatch, rtc: FakeRTC, start=None):
    halt = threading.Event()
    rtc.halt = halt.set
    clock = FakeClock()
    p = Poller(FakeProvider(rtc), auvious_profile(monkeypatch), "c1", start, halt, clock=clock, wait=clock.wait)
    return p, clock


def test_the_version_cursor_advances_and_repeats_are_dropped(home, monkeypatch):
    rtc = FakeRTC([[rtc_event("a", 4), rtc_event("b", 4)],
                   [rtc_event("a", 4), rtc_event("b", 4), rtc_event("c", 5)]], version=3)
    p, _ = poller(monkeypatch, rtc)
    assert [e["id"] for e in p.events()] == ["a", "b", "c"]
    # from now (version 3); then the server showed v=N includes N: from then on it asks for N+1
    assert rtc.asked == [3, 4, 6]


def test_an_outage_is_retried_with_backoff_then_reconnected(home, monkeypatch):
    rtc = FakeRTC([[rtc_event("a", 1)], httpx.ConnectError("connection refused"), 503,
                   [rtc_event("a", 1), rtc_event("b", 2)]])
    p, clock = poller(monkeypatch, rtc)
    events = list(p.events())
    assert [e["type"] for e in events] == ["ConferenceMetadataUpdatedEvent", "reconnected",
                                           "ConferenceMetadataUpdatedEvent"]
    back = events[1]["data"]
    assert back["attempts"] == 2 and back["resumed_from_version"] == 1
    assert [e["id"] for e in events if e["type"] != "reconnected"] == ["a", "b"]
    assert rtc.asked[1:4] == [1, 1, 1]  # the same cursor after each failure
    first, second, *idle = clock.waits  # a pause before each retry, growing; then the idle pause at the end
    assert 0 < first <= second and idle == [1.0]


def test_the_retry_budget_ends_the_stream_with_exit_9(home, monkeypatch):
    from confctl.core.state import state

    rtc = FakeRTC([httpx.ConnectError("connection refused")] * 200)
    p, clock = poller(monkeypatch, rtc, start={"version": 0, "seen": []})
    with pytest.raises(StreamEnded) as caught:
        list(p.events())
    assert exit_code_for(caught.value) == 9 and "lost the event stream of conference c1" in caught.value.message
    assert clock.now - 1000.0 <= state.max_wait  # gave up within the budget, not after it


def test_a_refused_token_is_exit_3_not_a_reconnect(home, monkeypatch):
    rtc = FakeRTC([401])
    p, clock = poller(monkeypatch, rtc, start={"version": 0, "seen": []})
    with pytest.raises(AuthError) as caught:
        list(p.events())
    assert exit_code_for(caught.value) == 3 and clock.waits == []


def test_a_cursor_file_resumes_after_the_last_delivered_event(home, monkeypatch, tmp_path):
    cursor = str(tmp_path / "auvious.cursor")
    feed = [rtc_event("created", None, "ConferenceCreatedEvent"), rtc_event("m1", 1), rtc_event("m2", 2),
            rtc_event("end", 3, "ConferenceEndedEvent")]
    profile = auvious_profile(monkeypatch)

    def run(rtc, take=None):
        clock = FakeClock()
        options = FollowOptions(conference=("c1",), values={"cursor_file": cursor})
        got = []
        source = follow(FakeProvider(rtc), profile, options, clock=clock, wait=clock.wait)
        try:
            for event in source:
                if take is not None and len(got) == take:
                    break  # like --count: this event was never printed, so it is not acknowledged
                event["_ack"]()  # the runner acknowledges each event once printed
                got.append(event["id"])
        finally:
            source.close()
        return got

    # the server returns the events at version >= v (one reading of `v=N`)
    first = FakeRTC([[e for e in feed if (e["conferenceVersion"] or 0) >= 0]], version=3)
    assert run(first, take=2) == ["created", "m1"]
    second = FakeRTC([[e for e in feed if (e["conferenceVersion"] or 0) >= 1]], version=3)
    assert run(second) == ["m2", "end"]
    assert second.asked == [1]  # from the cursor: version 1, with m1 already delivered
    with pytest.raises(StreamEnded) as caught:  # an ended conference has nothing more to resume
        run(FakeRTC([], version=3))
    assert exit_code_for(caught.value) == 9 and "has ended" in caught.value.message
