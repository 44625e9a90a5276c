"""Pexip onto the common model: the mapping against the simulator's meet.demo (through Connection + MODEL, real
loopback), `apply()` on the envelopes the follower really produces, every declared verb end to end (a
participant in a breakout room addressed in that room), and the simulator's --activity."""

from __future__ import annotations

import os
import re

import httpx
import pytest

from confctl.core.events import envelope
from confctl.core.fleet.live import Live
from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS, mapping_of
from confctl.vendors.pexip.model import MODEL, iso
from pexip_support import px, sim_state  # noqa: F401 (px: fixture)

PEXIP_SIM = {"pexip_token_ttl": 30, "deferred_delay": 0.05}
ROOM_1 = "00000000-0000-0000-0000-000000000001"
ALICE, BOB, CAROL = ("7f8bdd7f-2d39-4c3f-9236-3e95b21f21a8", "65b4af2f-657a-4081-98a8-b17667628ce3",
                     "a0196175-b462-48a1-b95c-f322c3af57c1")
HEIDI, IVAN = "1c5e2b7a-3f4d-4e8a-9b1c-2d3e4f5a6b7c", "2d6f3c8b-4a5e-4f9b-8c2d-3e4f5a6b7c8d"
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def conn(home, px, monkeypatch):
    """A Connection to the simulator's meet.demo (the environment profile), on a freshly reset simulator."""
    from conftest import reset_process_state

    from confctl.core import config
    from confctl.core.fleet.connection import Connection

    httpx.post(px.url + "/pexip/_sim/reset")
    px.app.state.requests.clear()
    for key, value in px.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    reset_process_state()
    with Connection.open(config.resolve("pexip", None)) as opened:
        yield opened
    reset_process_state()


def control(px, what, **body):
    return httpx.post(f"{px.url}/pexip/_sim/{what}", json={"conference": "meet.demo", **body}).json()


def by_name(people):
    return {p.name: p for p in people}


def sim_person(px, uid):
    for room, data in sim_state(px)["rooms"].items():
        for p in data["participants"]:
            if p["uuid"] == uid:
                return room, p
    return None, None


# -- the mapping, against the simulator -------------------------------------------------------------------
def test_meet_demo_maps_onto_the_common_model_every_room_included(conn, px):
    confs, people = MODEL.snapshot(conn)
    assert [c.id for c in confs] == ["meet.demo"]
    demo = confs[0]
    assert (demo.vendor, demo.profile, demo.name, demo.locked, demo.participants) == \
        ("pexip", conn.name, "Demo VMR", False, 5)
    assert demo.recording is None and demo.streaming is None  # the API does not say
    assert demo.raw["guests_muted"] is False  # conference_status kept as is
    who = by_name(people)
    assert set(who) == {"Alice", "Bob", "Carol", "Heidi", "Ivan"}  # confctl's own participant is not listed
    alice, heidi = who["Alice"], who["Heidi"]
    assert (alice.id, alice.role, alice.room, alice.conference) == (ALICE, "chair", None, "meet.demo")
    assert (heidi.id, heidi.role, heidi.room) == (HEIDI, "guest", "Room 1")
    assert heidi.raw["room"] == ROOM_1 and heidi.raw["room_name"] == "Room 1"
    assert who["Carol"].muted_video is None  # an audio-only call has no video to mute
    for p in people:
        assert (p.muted_audio, p.hand_raised, p.presenting) == (False, False, False)
        assert p.muted_video is (None if p.name == "Carol" else False)
        assert p.speaking is None  # not known until a stage event says so
        assert ISO_UTC.fullmatch(p.joined_at)
        assert p.raw["uuid"] == p.id and "display_name" in p.raw


def test_the_vendors_own_state_shows_in_the_mapped_fields(conn, px):
    control(px, "hand", participant="Bob")
    control(px, "present", participant="Carol")
    conn.call("pexip.participant.mute", {"participant": HEIDI})
    conn.call("pexip.participant.video_muted", {"participant": BOB})
    conn.call("pexip.conference.lock", {})
    confs, people = MODEL.snapshot(conn)
    who = by_name(people)
    assert who["Bob"].hand_raised is True and who["Bob"].muted_video is True
    assert who["Carol"].presenting is True
    assert who["Heidi"].muted_audio is True and who["Heidi"].room == "Room 1"
    assert confs[0].locked is True


def test_a_conference_named_with_c_is_mapped_too(conn, px):
    confs, people = MODEL.snapshot(conn, ("meet.scratch",))
    assert [c.id for c in confs] == ["meet.scratch"] and confs[0].name == "Scratch VMR"
    rooms = {p.name: p.room for p in people}
    assert rooms["Mallory"] == "Room A" and rooms["Niaj"] == "Room B" and rooms["Frank"] is None


def test_the_mapping_documents_every_common_field():
    own = [("conference", f) for f in CONFERENCE_FIELDS] + [("participant", f) for f in PARTICIPANT_FIELDS]
    for kind, field in own:
        if field not in ("vendor", "profile", "conference"):
            assert f"{kind}.{field}" in MODEL.mapping, (kind, field)  # said for this vendor, not left to a default
        assert mapping_of(MODEL.mapping, kind, field)
    assert "participant.raw" in MODEL.mapping  # raw carries the room beside the record: said so


def test_unix_start_time_becomes_iso_utc():
    assert iso(1441720992) == "2015-09-08T14:03:12Z"
    assert iso(0) is None and iso(None) is None and iso("x") is None


# -- apply(): the envelopes the follower produces ----------------------------------------------------------
def env(etype, data=None, breakout=None, profile="lab", conference="meet.demo"):
    event = envelope.make("pexip", profile, etype, data, conference=conference, id="x")
    if breakout:
        event["breakout"] = breakout
    return event


def record(uid, name, **kw):
    return {"uuid": uid, "display_name": name, "role": "guest", "is_muted": "NO", "is_video_muted": False,
            "is_presenting": "NO", "buzz_time": 0, "spotlight": 0, "start_time": 1441720992, "protocol": "webrtc",
            "has_media": True, "call_tag": "", **kw}


def opened(live):
    """The opening burst of a host's stream: the main roster, then Room 1's (as follow_conference yields it)."""
    me = record("c0c0c0c0-0000-4000-8000-000000000000", "confctl", role="chair", protocol="api",
                has_media=False, call_tag="confctl")
    for event in (env("participant_sync_begin"), env("participant_create", record(ALICE, "Alice", role="chair")),
                  env("participant_create", record(BOB, "Bob")), env("participant_create", me),
                  env("participant_sync_end"), env("conference_update", {"locked": False, "guests_muted": False}),
                  env("breakout_begin", {"breakout_uuid": ROOM_1, "participant_uuid": "ctl"}),
                  env("participant_sync_begin", None, ROOM_1),
                  env("participant_create", record(HEIDI, "Heidi"), ROOM_1),
                  env("participant_sync_end", None, ROOM_1),
                  env("conference_update", {"locked": False, "breakout_name": "Room 1"}, ROOM_1)):
        live.apply(event)


def test_the_opening_burst_builds_the_roster_of_every_room():
    live = Live()
    opened(live)
    people = {p.name: p for p in live.people("lab", "meet.demo")}
    assert set(people) == {"Alice", "Bob", "Heidi"}  # not confctl's own API participant
    assert people["Heidi"].room == "Room 1" and people["Bob"].room is None
    conf = live.conferences[("lab", "meet.demo")]
    assert conf.locked is False and conf.participants == 3
    assert live.health["pexip/lab"].state == "connected"


def test_stage_sets_speaking_in_its_room_and_updates_keep_it():
    live = Live()
    opened(live)
    live.apply(env("stage", [{"stage_index": 0, "participant_uuid": BOB, "vad": 100},
                             {"stage_index": 1, "participant_uuid": ALICE, "vad": 0}]))
    p = lambda uid: live.participant("lab", "meet.demo", uid)  # noqa: E731
    assert p(BOB).speaking is True and p(ALICE).speaking is False
    assert p(HEIDI).speaking is None  # another room's stage says nothing about her
    live.apply(env("participant_update", record(BOB, "Bob", is_muted="YES", buzz_time=1441720999)))
    assert p(BOB).speaking is True and p(BOB).muted_audio is True and p(BOB).hand_raised is True
    live.apply(env("stage", [{"stage_index": 0, "participant_uuid": HEIDI, "vad": 80}], ROOM_1))
    assert p(HEIDI).speaking is True and p(BOB).speaking is True


def test_a_move_between_rooms_ends_in_the_new_room():
    live = Live()
    opened(live)
    # breakout move: deleted where she was, created where she goes (the node's order)
    live.apply(env("participant_delete", {"uuid": HEIDI}, ROOM_1))
    live.apply(env("participant_create", record(HEIDI, "Heidi")))
    assert live.participant("lab", "meet.demo", HEIDI).room is None
    live.apply(env("participant_create", record(BOB, "Bob"), ROOM_1))  # the create may come first
    live.apply(env("participant_delete", {"uuid": BOB}))
    bob = live.participant("lab", "meet.demo", BOB)
    assert bob is not None and bob.room == "Room 1"


def test_conference_updates_breakout_end_and_disconnect():
    live = Live()
    opened(live)
    live.apply(env("conference_update", {"locked": True, "guests_muted": True}))
    assert live.conferences[("lab", "meet.demo")].locked is True
    live.apply(env("conference_update", {"breakout_name": "Quiet room"}, ROOM_1))
    assert live.participant("lab", "meet.demo", HEIDI).room == "Quiet room"
    live.apply(env("breakout_end", {"breakout_uuid": ROOM_1, "participant_uuid": "ctl"}))
    assert live.participant("lab", "meet.demo", HEIDI) is None
    live.apply(env("disconnect", {"reason": "Conference terminated by another participant"}))
    assert live.people("lab", "meet.demo") == []
    assert live.conferences[("lab", "meet.demo")].participants is None  # not known any more


def test_a_participant_update_of_an_unseen_conference_creates_it():
    live = Live()
    live.apply(env("participant_update", record(BOB, "Bob"), conference="meet.other"))
    assert ("lab", "meet.other") in live.conferences
    assert live.conferences[("lab", "meet.other")].participants == 1


# -- the verbs, end to end ---------------------------------------------------------------------------------
def perform(conn, verb, target):
    from confctl.core.fleet.verbs import perform as run

    return run(conn, verb, target)


def find(conn, name):
    return by_name(MODEL.participants(conn, "meet.demo"))[name]


def demo(conn):
    return MODEL.conferences(conn)[0]


def sent(px):
    return [p for m, p in px.app.state.requests if m == "POST" and "/_sim/" not in p and "token" not in p]


def test_mute_and_unmute_hold_muted_audio(conn, px):
    assert perform(conn, "mute", find(conn, "Bob")) == {"ok": True, "note": "muted"}
    assert sim_person(px, BOB)[1]["is_muted"] == "YES"
    px.app.state.requests.clear()
    assert perform(conn, "mute", find(conn, "Bob"))["already"] is True
    assert sent(px) == []  # already muted: nothing sent
    assert perform(conn, "unmute", find(conn, "Bob"))["note"] == "unmuted"
    assert sim_person(px, BOB)[1]["is_muted"] == "NO"


def test_a_participant_in_a_breakout_room_is_acted_on_in_that_room(conn, px):
    ivan = find(conn, "Ivan")
    px.app.state.requests.clear()
    perform(conn, "mute", ivan)
    assert sent(px) == [f"/pexip/api/client/v2/conferences/meet.demo/breakouts/{ROOM_1}/participants/{IVAN}/mute"]
    assert not any(p.endswith("/events") for m, p in px.app.state.requests)  # no room look-up needed
    assert sim_person(px, IVAN) == (ROOM_1, sim_person(px, IVAN)[1]) and sim_person(px, IVAN)[1]["is_muted"] == "YES"
    perform(conn, "kick", ivan)
    assert sim_person(px, IVAN) == (None, None)


def test_kick_disconnects(conn, px):
    assert perform(conn, "kick", find(conn, "Carol"))["note"] == "disconnected"
    assert sim_person(px, CAROL) == (None, None)


def test_spotlight_and_unspotlight_report_already(conn, px):
    assert perform(conn, "spotlight", find(conn, "Bob"))["note"] == "spotlighted"
    assert sim_person(px, BOB)[1]["spotlight"]
    px.app.state.requests.clear()
    assert perform(conn, "spotlight", find(conn, "Bob"))["already"] is True
    assert sent(px) == []
    assert perform(conn, "unspotlight", find(conn, "Bob"))["note"] == "not spotlighted"
    assert not sim_person(px, BOB)[1]["spotlight"]
    assert perform(conn, "unspotlight", find(conn, "Bob"))["already"] is True


def test_mute_all_mutes_the_guests(conn, px):
    perform(conn, "mute-all", demo(conn))
    people = by_name(MODEL.participants(conn, "meet.demo"))
    assert people["Bob"].muted_audio and people["Carol"].muted_audio and not people["Alice"].muted_audio
    perform(conn, "unmute-all", demo(conn))
    assert not find(conn, "Bob").muted_audio


def test_lock_and_unlock_hold_locked(conn, px):
    assert perform(conn, "lock", demo(conn))["note"] == "locked"
    assert sim_state(px)["locked"] is True
    px.app.state.requests.clear()
    assert perform(conn, "lock", demo(conn))["already"] is True and sent(px) == []
    assert perform(conn, "unlock", demo(conn))["note"] == "unlocked"
    assert sim_state(px)["locked"] is False


def test_a_verb_on_a_stale_target_still_reaches_the_participant(conn, px):
    """A long-lived connection (top's) must not act from a roster cached before someone moved rooms."""
    bob = find(conn, "Bob")  # in the main room, as the caller last saw him
    perform(conn, "mute", find(conn, "Carol"))  # caches the main roster on the session
    conn.call("pexip.breakout.move_from_main", {"participants": [BOB], "breakout_uuid": ROOM_1})
    perform(conn, "mute", bob)
    assert sim_person(px, BOB)[0] == ROOM_1 and sim_person(px, BOB)[1]["is_muted"] == "YES"


# -- the simulator's live meeting ---------------------------------------------------------------------------
def test_activity_emits_the_nodes_own_events():
    from confctl.core.sim.server import SimConfig
    from confctl.vendors.pexip.sim.state import PexipState, Subscriber

    world = PexipState(SimConfig(vendors=("pexip",)))
    demo_conf = world.conferences["meet.demo"]
    host = Subscriber("host", "chair")
    demo_conf.subscribers.append(host)
    for _ in range(24):
        world.activity()
    seen = []
    while not host.queue.empty():
        _eid, etype, data = host.queue.get_nowait()
        seen.append((data.get("event"), data.get("data")) if etype == "breakout_event" else (etype, data))
    kinds = {t for t, _ in seen}
    assert {"stage", "participant_update", "participant_create", "participant_delete"} <= kinds
    speaking = [d for t, d in seen if t == "stage" and any(s["vad"] == 100 for s in d)]
    assert speaking and any(isinstance(d, dict) and d.get("buzz_time") for t, d in seen if t == "participant_update")
    seeded = {ALICE, BOB, CAROL, HEIDI, IVAN}
    left = {d["uuid"] for t, d in seen if t == "participant_delete"}
    assert left and not left & seeded  # only visitors leave
    assert seeded <= {u for room in demo_conf.rooms() for u in room.participants}


def test_activity_is_off_unless_asked():
    from confctl.core.sim.server import SimConfig

    assert SimConfig().activity is None


def test_sim_serve_activity_streams_live_events(home, monkeypatch):
    """With --activity the running simulator's meet.demo changes on its own: `pexip events` sees it."""
    from conftest import InProcessCLI

    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(vendors=("pexip",), activity=0.05)) as running:
        cli = InProcessCLI({**os.environ, **running.env(), "CONFCTL_NO_INPUT": "1"})
        out = cli("pexip", "events", "-o", "jsonl", "--count", "4", "--timeout", "20", check=0).stdout
    live = [line for line in out.splitlines() if '"_sync"' not in line]
    assert len(live) >= 4 and any('"type":"stage"' in line.replace(" ", "") for line in live)


def test_apply_folds_a_real_stream(conn, px):
    """The follower's envelopes (opening burst, then live changes) into the live model, end to end."""
    import threading

    from confctl.core.vendor import FollowOptions
    from confctl.vendors.pexip.events import follow_conference

    stop = threading.Event()
    live = Live()
    session = conn.ensure_session()
    events = follow_conference(session, "meet.demo", FollowOptions(conference=("meet.demo",), stop=stop), conn.name)

    def until(test):
        for event in events:
            live.apply(event)
            if test():
                return True
        return False

    assert until(lambda: {p.name for p in live.people()} >= {"Alice", "Bob", "Carol", "Heidi", "Ivan"})
    control(px, "speak", participant="Bob")
    assert until(lambda: live.participant(conn.name, "meet.demo", BOB).speaking is True)
    control(px, "hand", participant="Heidi")
    assert until(lambda: live.participant(conn.name, "meet.demo", HEIDI).hand_raised is True)
    assert live.participant(conn.name, "meet.demo", HEIDI).room == "Room 1"
    control(px, "leave", participant="Carol")
    assert until(lambda: live.participant(conn.name, "meet.demo", CAROL) is None)
    stop.set()
    events.close()


# -- the cross-vendor commands on Pexip ----------------------------------------------------------------------
@pytest.fixture
def fleet(home, px):
    """The real CLI (in this process) with a `sim-pexip` profile on the simulator, nothing from the environment."""
    import json

    from conftest import InProcessCLI

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    cli = InProcessCLI(env)
    sim = px.env()
    cli("profile", "add", "sim-pexip", "--provider", "pexip", "--url", sim["CONFCTL_PEXIP_URL"], "--conference",
        "meet.demo", "--secret-stdin", "--secret-store", "file", input=sim["CONFCTL_PEXIP_PIN"] + "\n", check=0)
    httpx.post(px.url + "/pexip/_sim/reset")
    px.app.state.requests.clear()
    cli.json = lambda *args, check=0: json.loads(cli(*args, "-o", "json", check=check).stdout)  # noqa: E731
    return cli


def test_cli_participants_lists_every_room(fleet, px):
    people = {p["name"]: p for p in fleet.json("participants", "-p", "sim-pexip")}
    assert set(people) == {"Alice", "Bob", "Carol", "Heidi", "Ivan"}
    assert people["Ivan"]["room"] == "Room 1" and people["Ivan"]["vendor"] == "pexip"
    assert people["Ivan"]["raw"]["room"] == ROOM_1


def test_cli_mute_in_a_breakout_room_then_already(fleet, px):
    first = fleet.json("mute", "sim-pexip:meet.demo/Ivan")
    assert [(i["name"], i["note"]) for i in first] == [("Ivan", "muted")]
    assert sim_person(px, IVAN)[1]["is_muted"] == "YES"
    again = fleet.json("mute", "sim-pexip:meet.demo/Ivan")
    assert again[0]["note"] == "already muted" and again[0]["already"] is True


def test_cli_conference_verbs(fleet, px):
    assert fleet.json("lock", "sim-pexip:meet.demo")[0]["note"] == "locked"
    assert fleet.json("lock", "sim-pexip:meet.demo")[0]["note"] == "already locked"
    assert sim_state(px)["locked"] is True
    fleet.json("mute-all", "sim-pexip:meet.demo")
    people = {p["name"]: p for p in fleet.json("participants", "-p", "sim-pexip")}
    assert people["Bob"]["muted_audio"] and not people["Alice"]["muted_audio"]
    fleet.json("unlock", "sim-pexip:meet.demo")
    assert sim_state(px)["locked"] is False


def test_cli_spotlight_and_kick(fleet, px):
    assert fleet.json("spotlight", "sim-pexip:meet.demo/Bob")[0]["note"] == "spotlighted"
    assert fleet.json("spotlight", "sim-pexip:meet.demo/Bob")[0]["note"] == "already spotlighted"
    assert fleet.json("kick", "sim-pexip:meet.demo/Carol", "--yes")[0]["note"] == "disconnected"
    assert sim_person(px, CAROL) == (None, None)
