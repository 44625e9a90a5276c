"""Mind onto the common model: the mapping against the simulator (through Connection + MODEL, real loopback),
`apply()` on the envelopes the follower really builds from the doc's notification shapes, the kick verb end to
end (MODEL.act, perform, the CLI), the verbs Mind cannot do refused with nothing sent, and --activity."""

from __future__ import annotations

import threading

import httpx
import pytest

from confctl.core.events import envelope
from confctl.core.fleet.live import Live
from confctl.vendors.mind import SPEC
from confctl.vendors.mind.events import to_event
from confctl.vendors.mind.model import MODEL

APP, TOKEN, DEMO = "demo-app", "demo-app-token", "demo-conference"
EX_CONF, JOHN = "1cf69ae4-4c54-47cf-b409-97e88f62fe12", "24300bf9-d9f2-4bbf-9719-8660d110bc63"


@pytest.fixture(scope="module")
def sim():
    """This module's own Mind simulator (kicks and joins change it), its demo meeting live every 50 ms."""
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(vendors=("mind",), activity=0.05)) as running:
        yield running


@pytest.fixture
def conn(home, sim, monkeypatch):
    from conftest import reset_process_state

    from confctl.core import config
    from confctl.core.fleet.connection import Connection

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    reset_process_state()
    with Connection.open(config.resolve("mind", None)) as opened:
        yield opened
    reset_process_state()


def api(sim, method: str, path: str, body=None):
    response = httpx.request(method, f"{sim.url}/mind/{APP}{path}", json=body,
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def control(sim, conf: str, action: str, **body):
    response = httpx.post(f"{sim.url}/mind/_sim/{conf}/{action}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def meeting(sim) -> tuple[str, dict]:
    """A fresh conference: Alice (moderator) presents, Bob (speaker) sends no camera, Erin is an attendee,
    Frank was created but never joined."""
    conf = api(sim, "POST", "", {"name": "Model test"})["id"]
    ids = {}
    for name, role in (("Alice", "moderator"), ("Bob", "speaker"), ("Erin", "attendee")):
        ids[name] = control(sim, conf, "join", name=name, role=role)["id"]
    control(sim, conf, "media", participant="Alice", screen=True)
    control(sim, conf, "media", participant="Bob", video=False)
    ids["Frank"] = api(sim, "POST", f"/{conf}/participants", {"name": "Frank", "role": "speaker"})["id"]
    return conf, ids


def fields(p) -> tuple:
    return (p.role, p.muted_audio, p.muted_video, p.speaking, p.hand_raised, p.presenting, p.room, p.joined_at)


# -- the mapping, against the simulator -------------------------------------------------------------------
def test_a_conference_and_who_is_in_it_map_onto_the_common_model(conn, sim):
    conf, ids = meeting(sim)
    confs, people = MODEL.snapshot(conn, (conf,))
    assert len(confs) == 1
    c = confs[0]
    assert (c.vendor, c.profile, c.id, c.name, c.locked, c.participants, c.recording, c.streaming) == \
        ("mind", conn.name, conf, "Model test", None, 3, False, False)
    assert "participants" not in c.raw and c.raw["recording"] == {"started": False}
    who = {p.name: p for p in people}
    assert set(who) == {"Alice", "Bob", "Erin"}  # Frank is offline: created, never joined, so not in
    assert fields(who["Alice"]) == ("moderator", False, False, None, None, True, None, None)
    assert fields(who["Bob"]) == ("speaker", False, None, None, None, False, None, None)  # no camera: unknown
    assert fields(who["Erin"]) == ("attendee", True, True, None, None, False, None, None)  # left out by role
    assert who["Bob"].raw == api(sim, "GET", f"/{conf}/participants/{ids['Bob']}")  # the vendor's record
    assert all(p.conference == conf and p.vendor == "mind" and p.id == ids[p.name] for p in people)
    # the participant listing gives the same people
    assert sorted(p.to_dict()["id"] for p in MODEL.participants(conn, conf)) == sorted(p.id for p in people)

    api(sim, "POST", f"/{conf}/recording/start")
    api(sim, "POST", f"/{conf}/streamings", {"url": "rtmp://live.example.com/app/key"})
    c = MODEL.snapshot(conn, (conf,))[0][0]
    assert (c.recording, c.streaming) == (True, True)


def test_the_demo_meeting_is_the_profiles_conference_with_people_in_it(conn):
    assert [c.id for c in MODEL.conferences(conn)] == [DEMO]  # Mind cannot list conferences
    confs, people = MODEL.snapshot(conn)
    assert [c.id for c in confs] == [DEMO]
    names = {p.name for p in people}
    assert {"Alice", "Bob", "Erin"} <= names and "Frank" not in names  # Grace comes and goes with --activity


def test_a_named_conference_that_does_not_exist_is_an_error(conn):
    from confctl.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        MODEL.snapshot(conn, ("no-such-conference",))


def test_the_mapping_table_covers_every_common_field():
    from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS

    wanted = {f"conference.{f}" for f in CONFERENCE_FIELDS if f not in ("vendor", "profile")}
    wanted |= {f"participant.{f}" for f in PARTICIPANT_FIELDS if f not in ("vendor", "profile", "conference")}
    assert wanted <= set(MODEL.mapping)
    assert MODEL.streams is True and MODEL.stream_opens_with_state is False


# -- apply(): notifications as the follower turns them into envelopes ------------------------------------------
def live_with(conf="c1", recording=False) -> Live:
    live = Live()
    live.apply(envelope.make("mind", "m", "snapshot", {
        "conferences": [{"vendor": "mind", "profile": "m", "id": conf, "name": "Old", "participants": 0,
                         "recording": recording, "streaming": False,
                         "raw": {"id": conf, "name": "Old", "recording": {"started": recording}, "streamings": []}}],
        "participants": [], "covers": [conf]}))
    return live


def person(pid="p1", online=True, role="speaker", audio=True, video=True, screen=False) -> dict:
    return {"id": pid, "online": online, "name": "John Doe", "role": role, "priority": 1, "layout": "mosaic",
            "media": {"audio": audio, "video": video}, "secondaryMedia": {"audio": False, "video": screen}}


def notify(live, kind, location, resource=None, conf="c1"):
    message = {"type": kind, "location": location}
    if resource is not None:
        message["resource"] = resource
    live.apply(to_event("m", conf, message))


def test_apply_folds_the_participant_lifecycle():
    live = live_with()
    # the doc's example: a participant is created offline -- not in yet
    notify(live, "created", "/participants/p1", person(online=False, audio=False, video=False))
    assert live.people() == []
    notify(live, "updated", "/participants/p1", person())
    [p] = live.people()
    assert (p.id, p.name, p.conference, p.muted_audio, p.presenting) == ("p1", "John Doe", "c1", False, False)
    joined = p.joined_at
    assert joined == live.tail[-1]["time"]  # the notification that brought them online
    assert live.conferences[("m", "c1")].participants == 1
    notify(live, "updated", "/participants/p1", person(audio=False, role="presenter", screen=True))
    [p] = live.people()
    assert (p.role, p.muted_audio, p.muted_video, p.presenting) == ("presenter", None, False, True)
    assert p.joined_at == joined  # a later change is not a new join
    notify(live, "updated", "/participants/p1", person(online=False))  # went offline: left
    assert live.people() == [] and live.conferences[("m", "c1")].participants == 0
    resynced = to_event("m", "c1", {"type": "updated", "location": "/participants/p1", "resource": person()})
    live.apply({**resynced, "resynced": True})  # found by the re-read after a reconnect: when is unknown
    assert live.people()[0].joined_at is None
    notify(live, "deleted", "/participants/p1")  # expelled (a deleted notification has no resource)
    assert live.people() == []


def test_apply_folds_conference_recording_and_streaming_changes():
    live = live_with()
    notify(live, "updated", "/participants/p1", person())
    notify(live, "updated", "/", {"id": "c1", "name": "Renamed", "layout": "mosaic",
                                  "recording": {"started": True}, "endingAt": 1663792395})
    conf = live.conferences[("m", "c1")]
    assert (conf.name, conf.recording, conf.participants, conf.streaming) == ("Renamed", True, 1, False)
    notify(live, "created", "/streamings/s1", {"id": "s1", "url": "rtmp://x/y", "alive": True})
    assert live.conferences[("m", "c1")].streaming is True
    notify(live, "updated", "/streamings/s1", {"id": "s1", "url": "rtmp://x/y", "alive": False})
    assert live.conferences[("m", "c1")].streaming is False
    notify(live, "created", "/messages/m1", {"id": "m1", "text": "hi"})  # not part of the model: ignored
    live.apply(envelope.make("mind", "m", "conference.ended", {"code": 4000, "reason": "limit"}, conference="c1"))
    assert ("m", "c1") not in live.conferences and live.people() == []


# -- verbs ------------------------------------------------------------------------------------------------
def test_kick_expels_end_to_end_and_a_second_kick_is_already(conn, sim):
    from confctl.core.fleet.verbs import perform

    conf, ids = meeting(sim)
    bob = next(p for p in MODEL.participants(conn, conf) if p.name == "Bob")
    verb = SPEC.verb("kick")
    outcome = perform(conn, "kick", bob)
    assert outcome["ok"] is True and outcome["note"] == "disconnected" and not outcome.get("already")
    assert ("DELETE", f"/mind/{APP}/{conf}/participants/{ids['Bob']}") in sim.app.state.requests
    assert "Bob" not in {p.name for p in MODEL.participants(conn, conf)}
    assert MODEL.act(conn, verb, bob) == {"already": True}  # gone already, the conference is still there


def test_what_mind_cannot_do_is_refused_naming_the_vendor_with_nothing_sent(conn, sim):
    from confctl.core.errors import UsageError
    from confctl.core.fleet.verbs import perform

    conf, _ = meeting(sim)
    people = MODEL.participants(conn, conf)
    [c] = MODEL.snapshot(conn, (conf,))[0]
    assert [v.name for v in SPEC.verbs] == ["kick"]
    before = len(sim.app.state.requests)
    for verb, target in (("mute", people[0]), ("unmute", people[0]), ("spotlight", people[0]),
                         ("lock", c), ("mute-all", c)):
        with pytest.raises(UsageError, match=r"^mind does not support"):
            perform(conn, verb, target)
    assert len(sim.app.state.requests) == before


def test_the_cli_kick_and_the_mute_refusal(cli, sim):
    conf, ids = meeting(sim)
    cli("profile", "add", "sim-mind", "--provider", "mind", "--url", f"{sim.url}/mind", "--app-id", APP,
        "--conference", conf, "--secret-stdin", "--secret-store", "file", input=TOKEN + "\n", check=0)
    refused = cli("mute", f"sim-mind:{conf}/Erin", check=2)
    assert "mind does not support `mute`" in refused.stderr
    cli("kick", f"sim-mind:{conf}/Erin", "--yes", check=0)
    listed = cli("participants", "-p", "sim-mind", "-c", f"sim-mind:{conf}", "-o", "jsonl", check=0).stdout
    assert "Erin" not in listed and "Alice" in listed and "Grace" not in listed  # this conference only


# -- --activity: the demo meeting changes by itself, as real notifications ------------------------------------
def test_activity_makes_the_demo_meeting_live(conn, sim):
    from confctl.core.fleet.sources import snapshot_event
    from confctl.core.vendor import FollowOptions

    live = Live()
    live.apply(snapshot_event(conn, (DEMO,)))
    stop = threading.Event()
    seen = []
    timer = threading.Timer(20, stop.set)  # a safety net only: the loop ends as soon as the cycle is seen
    timer.start()
    try:
        for event in conn.provider.follow(conn.profile, FollowOptions(conference=(DEMO,), stop=stop)):
            pid = (event.get("data") or {}).get("id", "")
            was_in = live.participant(conn.name, DEMO, pid) is not None
            live.apply(event)
            person = live.participant(conn.name, DEMO, pid)
            seen.append((event["type"], event["data"].get("name"), event["data"].get("online"),
                         person.muted_audio if person else None, person.joined_at if person else None, was_in))
            arrived = [i for i, s in enumerate(seen) if s[1] == "Grace" and s[2] is True and not s[5]]
            if arrived and any(s[1] == "Grace" and s[2] is False for s in seen[arrived[0]:]):
                break  # a whole visit seen, from her arrival (the follow may have started in the middle of one)
    finally:
        stop.set()
        timer.cancel()
    visit = seen[next(i for i, s in enumerate(seen) if s[1] == "Grace" and s[2] is True and not s[5]):]
    assert visit[0][0] in ("participant.created", "participant.updated")  # Grace came online: in
    assert visit[0][4] is not None  # joined at the time of that notification
    assert ("participant.updated", "Bob", True, None) in [s[:4] for s in visit]  # no audio sent: unknown
    assert visit[-1][:4] == ("participant.updated", "Grace", False, None)  # Grace left
    assert "Grace" not in {p.name for p in live.people(conn.name, DEMO)}  # out of the live model


def test_top_rereads_a_mind_conference_after_acting_as_mind_does_not_notify_it(conn, sim):
    """Mind sends no notification for the application's own changes: after a kick, `top`'s live model re-reads
    the conference, so the kicked participant leaves the screen."""
    from confctl.core.fleet.sources import snapshot_event
    from confctl.core.fleet.top.engine import Engine
    from confctl.core.fleet.verbs import Connections

    conf, ids = meeting(sim)
    live = Live()
    live.apply(snapshot_event(conn, (conf,)))
    bob = live.participant(conn.name, conf, ids["Bob"])
    with Connections([conn.profile]) as connections:
        engine = Engine(live, [], profiles={conn.name: conn.profile}, connections=connections)
        assert engine.perform("kick", bob)["note"] == "disconnected"
    assert live.participant(conn.name, conf, ids["Bob"]) is None
    assert live.conferences[(conn.name, conf)].participants == 2
