"""Pexip live events end to end: SSE through token expiries and dropped streams (gap / reconnected records, no
duplicates, exit 9 when it cannot resume), breakout_event unwrapped, disconnect reported, --save-frames,
dial --wait and the live roster."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from pexip_support import api_participants, pcli, px  # noqa: F401 (pcli, px: fixtures)

# This module's own simulator clocks (pexip_support.px starts one per module).
PEXIP_SIM = {"pexip_token_ttl": 1, "deferred_delay": 0.05, "extra": {"pexip_dial_timeout": 0.5}}


# `events follow` follows every provider configured in the environment: keep it to Pexip.
PEXIP_ONLY = {"CONFCTL_GATEWAY_URL": "", "CONFCTL_MIND_URL": "", "CONFCTL_AUVIOUS_URL": ""}


def control(px, what, **body):
    response = httpx.post(px.url + "/pexip/_sim/" + what, json=body)
    response.raise_for_status()
    return response.json()


def read_until(proc, predicate, limit=200):
    events = []
    for _ in range(limit):
        line = proc.stdout.readline()
        if not line:
            break
        events.append(json.loads(line))
        if predicate(events[-1]):
            break
    return events


def test_follow_survives_token_expiries_and_a_dropped_stream(pcli, px):
    """Tokens live 1 s here: 6 s of following spans 5+ expiries, refreshed every expires/3 s."""
    px.app.state.requests.clear()
    proc = pcli.popen("events", "follow", "-o", "jsonl", "--timeout", "9", env=PEXIP_ONLY)
    events = read_until(proc, lambda e: e["type"] == "participant_sync_end" and not e.get("breakout"))
    me = api_participants(px)
    assert len(me) == 1
    control(px, "join", name="Early")
    time.sleep(5.5)
    assert [p["uuid"] for p in api_participants(px)] == [me[0]["uuid"]]  # still the same participant
    refreshes = [p for m, p in list(px.app.state.requests) if p.endswith("/refresh_token")]
    assert len(refreshes) >= 5 * 3 - 2  # every expires/3 s across 5+ token lifetimes
    assert sum(p.endswith("/request_token") for m, p in list(px.app.state.requests)) == 1
    control(px, "drop", down=1.0)
    control(px, "join", name="Latecomer")    # happens while the stream is down
    control(px, "leave", participant="Carol")
    control(px, "speak", participant="Alice")  # lost in the gap: only the roster can be re-synced
    events += read_until(proc, lambda e: e["type"] == "reconnected")
    control(px, "join", name="After")
    events += read_until(proc, lambda e: e["type"] == "participant_create" and e["data"]["display_name"] == "After")
    proc.terminate()
    proc.wait(timeout=10)
    types = [e["type"] for e in events]
    assert "disconnect" not in types
    gap, reconnected = types.index("gap"), types.index("reconnected")
    assert gap < reconnected
    resynced = events[gap + 1: reconnected]
    assert {(e["type"], (e["data"].get("display_name") or e["data"]["uuid"])) for e in resynced} == {
        ("participant_create", "Latecomer"), ("participant_delete", "a0196175-b462-48a1-b95c-f322c3af57c1")}
    assert events[reconnected]["data"]["created"] == 1 and events[reconnected]["data"]["deleted"] == 1
    creates = [e["data"]["uuid"] for e in events if e["type"] == "participant_create" and not e.get("breakout")]
    assert len(creates) == len(set(creates)), "a participant was reported twice"
    ids = [e["id"] for e in events if e["id"]]
    assert len(ids) == len(set(ids))
    main_types = [e["type"] for e in events if not e.get("breakout")]
    assert types.count("breakout_begin") == 1 and main_types.count("conference_update") == 1
    assert api_participants(px) == []


def test_exit_9_when_the_stream_cannot_resume(pcli, px):
    proc = pcli.popen("pexip", "events", "-o", "jsonl", env={"CONFCTL_PEXIP_RESUME_TIMEOUT": "1.5"})
    read_until(proc, lambda e: e["type"] == "participant_sync_end")
    control(px, "drop", down=30)
    try:
        assert proc.wait(timeout=20) == 9
        err = json.loads(proc.stderr.read().strip().splitlines()[-1])
        assert "could not be resumed" in err["error"]
    finally:
        control(px, "drop", down=0)
    assert api_participants(px) == []


def test_breakout_events_are_unwrapped_and_disconnect_is_reported(pcli, px):
    proc = pcli.popen("pexip", "events", "-o", "jsonl")
    read_until(proc, lambda e: e["type"] == "participant_sync_end" and e.get("breakout"))
    created = json.loads(pcli("pexip", "breakout", "create", "Room 9", "--participant", "Bob", "-o", "json",
                              check=0).stdout)
    room = created["breakout_uuid"]
    pcli("pexip", "conference", "message", "--json", '{"poll": "yes?"}', check=0)
    pcli("pexip", "conference", "disconnect-all", "--yes", check=0)
    events = read_until(proc, lambda e: e["type"] == "disconnect")
    assert proc.wait(timeout=10) == 9
    moved = [e for e in events if e.get("breakout") == room and e["type"] == "participant_create"
             and e["data"].get("protocol") != "api"]  # not the Hosts' control participants
    assert [e["data"]["display_name"] for e in moved] == ["Bob"]
    assert not any(e["type"] == "breakout_event" for e in events)
    message = next(e for e in events if e["type"] == "message_received")
    assert message["data"]["type"] == "application/json" and json.loads(message["data"]["payload"]) == {"poll": "yes?"}
    assert events[-1]["data"]["reason"] == "API initiated conference disconnect"


def test_save_frames_fetches_a_jpeg_per_presentation_frame(pcli, px, tmp_path):
    frames = tmp_path / "frames"
    proc = pcli.popen("events", "follow", "-o", "jsonl", "--save-frames", str(frames), "--until", "presentation_stop", env=PEXIP_ONLY)
    read_until(proc, lambda e: e["type"] == "participant_sync_end")
    control(px, "present", participant="Alice", frames=2, stop=True)
    events = read_until(proc, lambda e: e["type"] == "presentation_stop")
    assert proc.wait(timeout=10) == 0
    saved = [e["file"] for e in events if e["type"] == "presentation_frame"]
    assert len(saved) == 2 and all(open(f, "rb").read()[:2] == b"\xff\xd8" for f in saved)


def test_dial_wait_connected_rejected_and_unanswered(pcli):
    answered = pcli("pexip", "conference", "dial", "sip:carol@example.com", "--protocol", "sip", "--wait", "-o",
                    "json", check=0)
    assert json.loads(answered.stdout)["service_type"] == "conference"
    rejected = pcli("pexip", "conference", "dial", "sip:reject@example.com", "--wait")
    assert rejected.returncode == 1 and "rejected or failed" in rejected.stderr
    unanswered = pcli("pexip", "conference", "dial-out", "sip:noanswer@example.com", "--wait")
    assert unanswered.returncode == 1
    plain = json.loads(pcli("pexip", "conference", "dial", "sip:dan@example.com", "-o", "json", check=0).stdout)
    assert plain[0]["service_type"] == "connecting" and plain[0]["uri"] == "sip:dan@example.com"


def test_watch_roster_follows_speaking_muting_and_hands(pcli, px):
    proc = pcli.popen("pexip", "participants", "--watch", "-o", "jsonl", "--timeout", "6")
    first = json.loads(proc.stdout.readline())
    assert {r["name"] for r in first} >= {"Alice", "Bob", "Carol"}
    assert "confctl" not in {r["name"] for r in first}  # confctl's own control participant is not shown
    control(px, "join", name="Walt")
    control(px, "speak", participant="Walt")
    pcli("pexip", "participant", "mute", "Walt", check=0)
    control(px, "hand", participant="Walt")
    walt = None
    for line in proc.stdout:
        rows = {r["name"]: r for r in json.loads(line)}
        walt = rows.get("Walt")
        if walt and walt["speaking"] and walt["muted"] and walt["hand"]:
            break
    proc.terminate()
    proc.wait(timeout=10)
    assert walt and walt["speaking"] and walt["muted"] and walt["hand"] and walt["role"] == "guest"


def test_refer_is_reported_and_ends_the_stream(pcli, px):
    proc = pcli.popen("pexip", "events", "-o", "jsonl")
    read_until(proc, lambda e: e["type"] == "participant_sync_end")
    control(px, "refer", conference="meet.demo", to="meet.other")
    events = read_until(proc, lambda e: e["type"] == "refer")
    assert events[-1]["data"] == {"alias": "meet.other"}
    assert proc.wait(timeout=10) == 9
    assert "--conference meet.other" in proc.stderr.read()
    assert api_participants(px) == []


def test_several_conferences_merge_into_one_timeline(pcli, px):
    proc = pcli.popen("events", "follow", "-o", "jsonl", "-c", "meet.demo", "-c", "meet.scratch", "--timeout", "6",
                      env=PEXIP_ONLY)
    seen = set()
    read_until(proc, lambda e: seen.add(e["conference"]) or seen == {"meet.demo", "meet.scratch"})
    control(px, "join", conference="meet.scratch", name="Scratcher")
    events = read_until(proc, lambda e: e["type"] == "participant_create"
                        and e["data"].get("display_name") == "Scratcher")
    assert events[-1]["conference"] == "meet.scratch"
    proc.terminate()
    proc.wait(timeout=10)
    assert api_participants(px) == [] and api_participants(px, "meet.scratch") == []
