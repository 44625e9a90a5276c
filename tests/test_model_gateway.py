"""The gateway onto the common model: the mapping against the simulator's rooms and members (through Connection +
MODEL, real loopback, every page followed), `apply()` on the webhook envelopes the receiver makes, each declared
verb end to end (lock and spotlight refused: the API has none), the polled live source, and the simulator's
--meeting / --activity."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from confctl.core.errors import UsageError
from confctl.core.fleet.live import Live
from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS, mapping_of
from confctl.vendors.gateway.model import MODEL
from confctl.vendors.gateway.sim.state import EXAMPLE_ROOM, EXAMPLE_SESSION, MEETING_CALLERS, MEETING_ROOM
from confctl.vendors.gateway.webhooks import to_event

CALLER = {sid: (caller, muted) for sid, caller, muted in MEETING_CALLERS}
UNMUTED = [sid for sid, _c, muted in MEETING_CALLERS if not muted]


@pytest.fixture(scope="module")
def gw():
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(vendors=("gateway",), meeting=True, cooldown_scale=0.01, deferred_delay=0.05)) as running:
        yield running


@pytest.fixture
def conn(home, gw, monkeypatch):
    from conftest import reset_process_state

    from confctl.core import config
    from confctl.core.fleet.connection import Connection

    httpx.post(gw.url + "/gateway/_sim/reset")
    gw.app.state.requests.clear()
    for key, value in gw.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    reset_process_state()
    with Connection.open(config.resolve("gateway", None)) as opened:
        yield opened
    reset_process_state()


def members(gw, room=MEETING_ROOM) -> dict:
    from confctl.core.sim.server import CREDENTIALS

    creds = CREDENTIALS["gateway"]
    body = httpx.get(f"{gw.url}/gateway/api/v1/conferences/{room}/members",
                     headers={"X-App-ID": creds["app_id"], "X-API-Key": creds["api_key"]}).json()
    return {m["uuid"]: m for m in body["members"]}


def sent(gw):
    return [p for m, p in gw.app.state.requests if m == "POST" and "/_sim/" not in p]


# -- the mapping -------------------------------------------------------------------------------------------
def test_rooms_and_members_map_onto_the_common_model(conn):
    confs, people = MODEL.snapshot(conn)
    rooms = {c.name: c for c in confs}
    assert set(rooms) == {"example-room", "town-hall"}
    hall = rooms["town-hall"]
    assert (hall.vendor, hall.profile, hall.id, hall.participants) == ("gateway", conn.name, MEETING_ROOM, 4)
    assert hall.locked is None and hall.recording is None and hall.streaming is None
    assert hall.raw["room_id"] == MEETING_ROOM and hall.raw["members"] == 4
    assert rooms["example-room"].participants == 1
    in_hall = {p.id: p for p in people if p.conference == MEETING_ROOM}
    assert set(in_hall) == set(CALLER)
    for sid, p in in_hall.items():
        assert (p.name, p.muted_audio) == CALLER[sid]
        assert (p.role, p.muted_video, p.speaking, p.hand_raised, p.presenting, p.room, p.joined_at) == (None,) * 7
        assert p.raw == {"uuid": sid, "did": p.raw["did"], "caller_id": CALLER[sid][0], "muted": CALLER[sid][1]}
    assert [p.id for p in people if p.conference == EXAMPLE_ROOM] == [EXAMPLE_SESSION]


def test_every_page_of_rooms_is_read(conn, gw):
    httpx.post(gw.url + "/gateway/_sim/rooms", json={"prefix": "bulk", "count": 230})
    gw.app.state.requests.clear()
    rooms = MODEL.conferences(conn)
    assert len(rooms) == 232 and len({r.id for r in rooms}) == 232
    assert sum(1 for m, p in gw.app.state.requests if p.endswith("/api/v1/conferences")) == 2  # 200 a page


def test_the_mapping_documents_every_common_field():
    for kind, fields in (("conference", CONFERENCE_FIELDS), ("participant", PARTICIPANT_FIELDS)):
        for field in fields:
            if field not in ("vendor", "profile", "conference"):
                assert MODEL.mapping.get(f"{kind}.{field}"), (kind, field)
            assert mapping_of(MODEL.mapping, kind, field)
    assert MODEL.streams is False and MODEL.poll_interval >= 1.0


# -- apply(): webhook envelopes ----------------------------------------------------------------------------
def hook(event, data, stamp="2026-05-06T12:34:56.000Z"):
    """One delivery as the gateway POSTs it, through the receiver's own mapping to an envelope."""
    return to_event("lab", {"id": "d-1", "event": event, "app_id": "demo-app", "timestamp": stamp, "data": data})


def test_webhooks_fold_into_the_live_model():
    live = Live()
    sid = "acW68-11111111-2222-4333-8444-555555555555"
    live.apply(hook("conference.created", {"room_id": MEETING_ROOM, "name": "town-hall"}))
    conf = live.conferences[("lab", MEETING_ROOM)]
    assert conf.name == "town-hall" and conf.participants == 0
    live.apply(hook("conference.member.joined", {"room_id": MEETING_ROOM, "uuid": sid, "did": "747713001",
                                                 "muted": True}))
    person = live.participant("lab", MEETING_ROOM, sid)
    assert person.muted_audio is True and person.joined_at == "2026-05-06T12:34:56.000Z"
    assert person.name is None  # the joined webhook carries no caller_id: not guessed
    assert conf.participants == 1
    live.apply(hook("conference.member.unmuted", {"room_id": MEETING_ROOM, "uuid": sid}))
    assert live.participant("lab", MEETING_ROOM, sid).muted_audio is False
    live.apply(hook("conference.member.muted", {"room_id": MEETING_ROOM, "uuid": sid}))
    assert live.participant("lab", MEETING_ROOM, sid).raw["muted"] is True
    live.apply(hook("conference.play.started", {"room_id": MEETING_ROOM, "urls": [], "operation_id": "op"}))
    live.apply(hook("conference.member.left", {"room_id": MEETING_ROOM, "uuid": sid}))
    assert live.participant("lab", MEETING_ROOM, sid) is None and conf.participants == 0
    live.apply(hook("conference.destroyed", {"room_id": MEETING_ROOM}))
    assert ("lab", MEETING_ROOM) not in live.conferences


def test_a_joined_webhook_keeps_what_a_snapshot_knew():
    live = Live()
    sid = "acW68-11111111-2222-4333-8444-555555555555"
    live.apply({"time": "t", "provider": "gateway", "profile": "lab", "conference": None, "type": "snapshot", "id": None,
                "data": {"conferences": [], "participants": [
                    {"vendor": "gateway", "profile": "lab", "conference": MEETING_ROOM, "id": sid, "name": "+1555",
                     "muted_audio": False, "raw": {"uuid": sid, "caller_id": "+1555", "muted": False}}]}})
    live.apply(hook("conference.member.joined", {"room_id": MEETING_ROOM, "uuid": sid, "muted": True}))
    person = live.participant("lab", MEETING_ROOM, sid)
    assert person.name == "+1555" and person.muted_audio is True


def test_the_webhooks_the_simulator_sends_fold_in(conn, gw):
    """Real deliveries (the simulator's records) through the receiver's mapping into the live model."""
    from confctl.core.fleet.verbs import perform

    live = Live()
    hall = {p.id: p for p in MODEL.participants(conn, MEETING_ROOM)}
    perform(conn, "mute", hall[UNMUTED[0]])
    perform(conn, "kick", hall[UNMUTED[1]])
    live.apply({"time": "t", "provider": "gateway", "profile": "lab", "conference": None, "type": "snapshot",
                "id": None, "data": {"conferences": [], "participants": [
                    {**p.to_dict(), "profile": "lab", "muted_audio": False} for p in hall.values()]}})
    for _ in range(100):
        records = httpx.get(gw.url + "/gateway/_sim/deliveries").json()["deliveries"]
        if {r["event"] for r in records} >= {"conference.member.muted", "conference.member.left"}:
            break
        time.sleep(0.05)
    for record in records:
        live.apply(to_event("lab", record))
    assert live.participant("lab", MEETING_ROOM, UNMUTED[0]).muted_audio is True
    assert live.participant("lab", MEETING_ROOM, UNMUTED[1]) is None


# -- the verbs, end to end ---------------------------------------------------------------------------------
def perform(conn, verb, target):
    from confctl.core.fleet.verbs import perform as run

    return run(conn, verb, target)


def hall(conn):
    return {p.id: p for p in MODEL.participants(conn, MEETING_ROOM)}


def town_hall(conn):
    return next(c for c in MODEL.conferences(conn) if c.id == MEETING_ROOM)


def test_mute_and_unmute_a_session(conn, gw):
    sid = UNMUTED[0]
    assert perform(conn, "mute", hall(conn)[sid])["note"] == "muted"
    assert members(gw)[sid]["muted"] is True
    gw.app.state.requests.clear()
    assert perform(conn, "mute", hall(conn)[sid])["already"] is True
    assert sent(gw) == []  # known muted: nothing sent
    time.sleep(0.05)  # the documented per-session mute cooldown (scaled)
    assert perform(conn, "unmute", hall(conn)[sid])["note"] == "unmuted"
    assert members(gw)[sid]["muted"] is False


def test_a_stale_target_is_already_muted_by_the_gateways_answer(conn, gw):
    target = hall(conn)[UNMUTED[1]]
    perform(conn, "mute", target)  # target still says unmuted
    time.sleep(0.05)
    assert perform(conn, "mute", target) == {"ok": True, "already": True, "note": "already muted"}  # 409 "already"


def test_kick_takes_the_session_out_of_the_room(conn, gw):
    sid = UNMUTED[2]
    assert perform(conn, "kick", hall(conn)[sid])["note"] == "disconnected"
    assert sid not in members(gw)


def test_mute_all_mutes_each_member(conn, gw):
    result = perform(conn, "mute-all", town_hall(conn))
    assert result["note"] == f"muted {len(UNMUTED)} of {len(MEETING_CALLERS)}"
    assert all(m["muted"] for m in members(gw).values())
    assert perform(conn, "mute-all", town_hall(conn))["already"] is True
    time.sleep(0.05)
    assert perform(conn, "unmute-all", town_hall(conn))["note"] == "unmuted 4 of 4"
    assert not any(m["muted"] for m in members(gw).values())


@pytest.mark.parametrize("verb, target", [("lock", "conference"), ("unlock", "conference"),
                                          ("spotlight", "participant"), ("unspotlight", "participant")])
def test_what_the_gateway_lacks_is_refused_naming_it(conn, gw, verb, target):
    gw.app.state.requests.clear()
    item = town_hall(conn) if target == "conference" else hall(conn)[UNMUTED[0]]
    gw.app.state.requests.clear()
    with pytest.raises(UsageError) as refused:
        perform(conn, verb, item)
    assert "gateway does not support" in refused.value.message and gw.app.state.requests == []


# -- the live model polls ----------------------------------------------------------------------------------
def test_the_polled_source_keeps_the_live_model_current(conn, gw):
    from confctl.core.fleet.sources import polled

    stop = threading.Event()
    live = Live()
    source = polled(conn, (), stop, 0.05)
    live.apply(next(source))
    assert {p.id for p in live.people(conn.name, MEETING_ROOM)} == set(CALLER)
    assert live.health[f"gateway/{conn.name}"].state == "polling"
    httpx.post(gw.url + "/gateway/_sim/sessions", json={"count": 1, "room_id": MEETING_ROOM})
    live.apply(next(source))
    assert len(live.people(conn.name, MEETING_ROOM)) == 5
    assert live.conferences[(conn.name, MEETING_ROOM)].participants == 5
    stop.set()
    source.close()


# -- the simulator's meeting and activity -----------------------------------------------------------------
def test_the_meeting_is_seeded_only_when_asked():
    from confctl.core.sim.server import SimConfig
    from confctl.vendors.gateway.sim.state import GatewayState

    assert MEETING_ROOM not in GatewayState(SimConfig(vendors=("gateway",))).rooms
    assert MEETING_ROOM in GatewayState(SimConfig(vendors=("gateway",), meeting=True)).rooms


def test_activity_brings_callers_in_and_out_with_their_webhooks():
    from confctl.core.sim.server import SimConfig
    from confctl.vendors.gateway.sim.state import GatewayState

    world = GatewayState(SimConfig(vendors=("gateway",), meeting=True))

    async def beats():
        for _ in range(9):
            world.activity()
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)

    asyncio.run(beats())
    events = [d["event"] for d in world.deliveries]
    assert "conference.member.joined" in events and "conference.member.left" in events
    assert {s.uuid for s in world.members_of(MEETING_ROOM)} >= set(CALLER)  # the seeded callers stay


# -- the cross-vendor commands on the gateway --------------------------------------------------------------
@pytest.fixture
def fleet(home, gw):
    """The real CLI (in this process) with a `sim-gateway` profile on the simulator, nothing from the environment."""
    import json
    import os

    from conftest import InProcessCLI

    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    cli = InProcessCLI(env)
    sim = gw.env()
    cli("profile", "add", "sim-gateway", "--provider", "gateway", "--url", sim["CONFCTL_GATEWAY_URL"], "--app-id",
        sim["CONFCTL_GATEWAY_APP_ID"], "--secret-stdin", "--secret-store", "file",
        input=sim["CONFCTL_GATEWAY_API_KEY"] + "\n", check=0)
    httpx.post(gw.url + "/gateway/_sim/reset")
    gw.app.state.requests.clear()
    cli.json = lambda *args, check=0: json.loads(cli(*args, "-o", "json", check=check).stdout)  # noqa: E731
    return cli


def test_cli_participants_shows_the_meeting(fleet):
    people = [p for p in fleet.json("participants", "-p", "sim-gateway") if p["conference"] == MEETING_ROOM]
    assert {p["id"]: (p["name"], p["muted_audio"]) for p in people} == CALLER


def test_cli_mute_by_room_name_and_session_prefix_then_already(fleet, gw):
    first = fleet.json("mute", "sim-gateway:town-hall/tHall-2")
    assert [(i["target"], i["note"]) for i in first] == [(f"sim-gateway:{MEETING_ROOM}/{UNMUTED[1]}", "muted")]
    assert members(gw)[UNMUTED[1]]["muted"] is True
    again = fleet.json("mute", "sim-gateway:town-hall/tHall-2")
    assert again[0]["note"] == "already muted"


def test_cli_mute_all_and_kick(fleet, gw):
    assert fleet.json("mute-all", "sim-gateway:town-hall")[0]["note"] == "muted 3 of 4"
    assert all(m["muted"] for m in members(gw).values())
    assert fleet.json("kick", "sim-gateway:town-hall/tHall-4", "--yes")[0]["note"] == "disconnected"
    assert UNMUTED[2] not in members(gw)


def test_cli_lock_on_the_gateway_is_refused_with_nothing_sent(fleet, gw):
    gw.app.state.requests.clear()
    proc = fleet("lock", "sim-gateway:town-hall")
    assert proc.returncode == 2 and "gateway does not support `lock`" in proc.stderr
    assert sent(gw) == [] and not any("/api/" in p for m, p in gw.app.state.requests)
