"""Auvious onto the common model: the mapping against the simulator (through Connection + MODEL, real loopback),
`apply()` on the envelopes the long-poll follower really builds, the kick verb end to end (MODEL.act, perform,
the CLI), the verbs the RTC API cannot do refused with nothing sent, and --activity."""

from __future__ import annotations

import re
import threading
import uuid

import pytest

from confctl.core.events import envelope
from confctl.core.fleet.live import Live
from confctl.vendors.auvious import SPEC
from confctl.vendors.auvious.events import _envelope
from confctl.vendors.auvious.model import MODEL
from auvious_support import Direct

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


@pytest.fixture(scope="module")
def sim():
    """This module's own Auvious simulator (kicks change it), demo-room live every 50 ms."""
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(vendors=("auvious",), poll_wait=0.5, activity=0.05)) as running:
        yield running


@pytest.fixture(scope="module")
def direct(sim):
    d = Direct(sim)
    yield d
    d.client.close()


@pytest.fixture
def conn(home, sim, monkeypatch):
    from conftest import reset_process_state

    from confctl.core import config
    from confctl.core.fleet.connection import Connection

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    reset_process_state()
    with Connection.open(config.resolve("auvious", None)) as opened:
        yield opened
    reset_process_state()


def meeting(direct) -> str:
    """A fresh conference: Alice publishes a camera and her screen, Bob a microphone, Dave nothing; Bob's
    client has no display name."""
    conf = direct.post("create", {"conferenceId": f"model-{uuid.uuid4().hex[:8]}", "creatorEndpoint": "ep-a"})["id"]
    for ep, meta in (("ep-a", {"displayName": "Alice"}), ("ep-b", {}), ("ep-d", {"displayName": "Dave"})):
        direct.post("join", {"conferenceId": conf, "userEndpointId": ep, "metadata": meta})
    for ep, kind in (("ep-a", "CAM"), ("ep-a", "SCREEN"), ("ep-b", "MIC")):
        direct.post("publishStream", {"conferenceId": conf, "userEndpointId": ep, "conferenceStreamType": kind,
                                      "sdpOffer": SDP})
    return conf


# -- the mapping, against the simulator -------------------------------------------------------------------
def test_a_conference_and_its_endpoints_map_onto_the_common_model(conn, direct):
    conf = meeting(direct)
    confs, people = MODEL.snapshot(conn, (conf,))
    [c] = confs
    assert (c.vendor, c.profile, c.id, c.name, c.locked, c.participants, c.recording, c.streaming) == \
        ("auvious", conn.name, conf, None, None, 3, None, None)
    assert c.raw["creatorEndpoint"] == "ep-a" and "participants" not in c.raw
    who = {p.id: p for p in people}
    assert set(who) == {"ep-a", "ep-b", "ep-d"}
    # the client-credentials user id names an endpoint without a displayName
    assert (who["ep-a"].name, who["ep-b"].name, who["ep-d"].name) == ("Alice", "demo-client", "Dave")
    assert (who["ep-a"].presenting, who["ep-b"].presenting, who["ep-d"].presenting) == (True, False, False)
    for p in people:  # no mute state, roles, speaking, hands or rooms in the RTC API
        assert (p.role, p.muted_audio, p.muted_video, p.speaking, p.hand_raised, p.room) == (None,) * 6
        assert ISO_UTC.fullmatch(p.joined_at)
    record = next(r for r in direct.get(conf)["participants"] if r["id"] == "ep-b")
    assert who["ep-b"].raw == record  # the vendor's record, unchanged
    joins = {e["userEndpointId"]: e["timestamp"] for e in direct.feed(conf) if e["type"] == "ConferenceJoinedEvent"}
    assert {p.id: p.joined_at for p in people} == joins
    assert sorted(p.id for p in MODEL.participants(conn, conf)) == sorted(who)


def test_the_conferences_are_the_active_ones_and_the_demo_room_has_people_in_it(conn, direct):
    conf = meeting(direct)
    ids = [c.id for c in MODEL.conferences(conn)]
    assert {"demo-room", "demo-room-old", conf} <= set(ids)
    direct.post("end", {"conferenceId": conf, "userEndpointId": "ep-a"})
    assert conf not in [c.id for c in MODEL.conferences(conn)]  # ended: no longer active
    confs, people = MODEL.snapshot(conn, ("demo-room",))
    assert [c.id for c in confs] == ["demo-room"]
    assert {"Alice", "Bob", "Dave"} <= {p.name for p in people}  # Gina comes and goes with --activity


# -- apply(): events as the follower turns them into envelopes ----------------------------------------------
def feed_event(etype: str, version: int, **fields) -> dict:
    event = {"id": str(uuid.uuid4()), "type": etype, "timestamp": "2026-01-02T03:04:05.678Z",
             "conferenceId": "c1", "organizationId": "org", "conferenceVersion": version, **fields}
    return _envelope("a", "c1", event, None)


def live_with() -> Live:
    live = Live()
    live.apply(envelope.make("auvious", "a", "snapshot", {
        "conferences": [{"vendor": "auvious", "profile": "a", "id": "c1", "participants": 0,
                         "raw": {"id": "c1", "metadata": {}, "version": 1}}],
        "participants": [], "covers": ["c1"]}))
    return live


def test_apply_folds_joins_streams_metadata_and_leaves():
    live = live_with()
    live.apply(feed_event("ConferenceJoinedEvent", 2, userId="u1", userEndpointId="ep-1",
                          metadata={"displayName": "Gina"}))
    [p] = live.people()
    assert (p.id, p.name, p.conference, p.presenting, p.joined_at) == \
        ("ep-1", "Gina", "c1", False, "2026-01-02T03:04:05.678Z")
    assert live.conferences[("a", "c1")].participants == 1
    live.apply(feed_event("ConferenceStreamPublishedEvent", 3, userId="u1", userEndpointId="ep-1", streamId="s1",
                          streamType="SCREEN", metadata={}))
    live.apply(feed_event("ConferenceStreamPublishedEvent", 4, userId="u1", userEndpointId="ep-1", streamId="s2",
                          streamType="MIC", metadata={}))
    [p] = live.people()
    assert p.presenting is True and [s["id"] for s in p.raw["streams"]] == ["s1", "s2"]
    assert p.muted_audio is None  # a MIC stream says nothing about muting
    live.apply(feed_event("ConferenceStreamMetadataUpdatedEvent", 5, userId="u1", userEndpointId="ep-1",
                          streamId="s2", metadata={"label": "headset"}))
    live.apply(feed_event("ConferenceStreamUnpublishedEvent", 6, userId="u1", userEndpointId="ep-1", streamId="s1",
                          streamType="SCREEN"))
    [p] = live.people()
    assert p.presenting is False and p.raw["streams"] == [{"id": "s2", "type": "MIC", "metadata": {"label": "headset"}}]
    live.apply(feed_event("ConferenceParticipantMetadataUpdatedEvent", 7, userId="u1", userEndpointId="ep-1",
                          metadata={"displayName": "Gina R."}))
    [p] = live.people()
    assert (p.name, p.joined_at, len(p.raw["streams"])) == ("Gina R.", "2026-01-02T03:04:05.678Z", 1)
    live.apply(feed_event("ConferenceMetadataUpdatedEvent", 8, operation="SET", key="topic", value="Q4",
                          userEndpointId="ep-1"))
    assert live.conferences[("a", "c1")].raw["metadata"]["topic"]["value"] == "Q4"
    live.apply(feed_event("ConferenceLeftEvent", 9, userId="u1", userEndpointId="ep-1", reason="bye"))
    assert live.people() == [] and live.conferences[("a", "c1")].participants == 0
    live.apply(feed_event("ConferenceEndedEvent", 10, userEndpointId="ep-0", reason="done"))
    assert ("a", "c1") not in live.conferences


# -- verbs ------------------------------------------------------------------------------------------------
def test_kick_makes_the_endpoint_leave_and_a_second_kick_is_already(conn, direct, sim):
    from confctl.core.fleet.verbs import perform

    conf = meeting(direct)
    dave = next(p for p in MODEL.participants(conn, conf) if p.id == "ep-d")
    outcome = perform(conn, "kick", dave)
    assert outcome["ok"] is True and outcome["note"] == "disconnected" and not outcome.get("already")
    left = [e for e in direct.feed(conf) if e["type"] == "ConferenceLeftEvent"]
    assert [(e["userEndpointId"], e["reason"]) for e in left] == [("ep-d", "removed by an operator")]
    assert "ep-d" not in {p.id for p in MODEL.participants(conn, conf)}
    assert MODEL.act(conn, SPEC.verb("kick"), dave) == {"already": True}  # 400 "not a member": gone already


def test_what_the_rtc_api_cannot_do_is_refused_naming_the_vendor_with_nothing_sent(conn, direct, sim):
    from confctl.core.errors import UsageError
    from confctl.core.fleet.verbs import perform

    conf = meeting(direct)
    confs, people = MODEL.snapshot(conn, (conf,))
    assert [v.name for v in SPEC.verbs] == ["kick"]
    before = len(sim.app.state.requests)
    for verb, target in (("mute", people[0]), ("unmute", people[0]), ("spotlight", people[0]),
                         ("lock", confs[0]), ("mute-all", confs[0])):
        with pytest.raises(UsageError, match=r"^auvious does not support"):
            perform(conn, verb, target)
    assert len(sim.app.state.requests) == before


def test_the_cli_kick_and_the_mute_refusal(cli, direct):
    conf = meeting(direct)
    cli("profile", "add", "sim-auvious", "--provider", "auvious", "--url", direct.base.split("/rtc-api")[0],
        "--client-id", "demo-client", "--secret-stdin", "--secret-store", "file", input="demo-secret\n", check=0)
    refused = cli("mute", f"sim-auvious:{conf}/Alice", check=2)
    assert "auvious does not support `mute`" in refused.stderr
    cli("kick", f"sim-auvious:{conf}/Dave", "--yes", check=0)
    listed = cli("participants", "-p", "sim-auvious", "-c", f"sim-auvious:{conf}", "-o", "jsonl", check=0).stdout
    assert '"ep-d"' not in listed and '"ep-a"' in listed


# -- --activity: demo-room changes by itself, as real events -------------------------------------------------
def test_activity_makes_the_demo_room_live(conn):
    from confctl.core.fleet.sources import snapshot_event
    from confctl.core.vendor import FollowOptions

    live = Live()
    live.apply(snapshot_event(conn, ("demo-room",)))
    stop = threading.Event()
    seen = []
    timer = threading.Timer(20, stop.set)  # a safety net only: the loop ends as soon as the cycle is seen
    timer.start()
    try:
        for event in conn.provider.follow(conn.profile, FollowOptions(conference=("demo-room",), stop=stop)):
            live.apply(event)
            gina = live.participant(conn.name, "demo-room", "ep-gina")
            seen.append((event["type"], event["data"].get("streamType"), gina.presenting if gina else None))
            types = [s[0] for s in seen]
            if "ConferenceJoinedEvent" in types and types[-1] == "ConferenceLeftEvent":
                break  # a whole visit seen (the follow may have started in the middle of one)
    finally:
        stop.set()
        timer.cancel()
    visit = seen[[s[0] for s in seen].index("ConferenceJoinedEvent"):]
    assert ("ConferenceStreamPublishedEvent", "MIC", False) in visit  # in, with a microphone
    assert ("ConferenceStreamPublishedEvent", "SCREEN", True) in visit  # presenting
    assert ("ConferenceStreamUnpublishedEvent", "SCREEN", False) in visit  # stopped
    assert visit[-1][0] == "ConferenceLeftEvent"
    assert live.participant(conn.name, "demo-room", "ep-gina") is None  # left: out of the live model


def test_the_live_model_follows_the_active_conferences_when_none_is_named(conn):
    """`participants --watch` / `top` on an Auvious profile with no conference: the active ones are followed
    (`events follow` still wants them named)."""
    from confctl.core.fleet.sources import live_sources

    [(label, factory)] = live_sources([conn.profile])
    assert label == f"auvious/{conn.name}"
    stop = threading.Event()
    events = factory(stop)
    try:
        first = next(events)
        assert first["type"] == "snapshot" and {"demo-room", "demo-room-old"} <= set(first["data"]["covers"])
        live = next(e for e in events if e["type"].startswith("Conference"))  # demo-room's --activity
        assert live["conference"] == "demo-room"
    finally:
        stop.set()
        events.close()
