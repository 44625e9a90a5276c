"""Auvious long-poll events: exactly-once across runs with --cursor-file, cut-offs that lose nothing,
following from now, reconnecting, and exit 9 when the stream cannot be resumed."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest

from auvious_support import Direct, direct  # noqa: F401 (direct: a fixture)

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
# only the Auvious profile: `events follow` would otherwise follow every provider with a URL in the environment
ONLY_AUVIOUS = {"CONFCTL_GATEWAY_URL": "", "CONFCTL_PEXIP_URL": "", "CONFCTL_MIND_URL": ""}


@pytest.fixture
def room(direct):
    conf = f"ev-{uuid.uuid4().hex[:8]}"
    direct.post("create", {"conferenceId": conf})
    direct.post("join", {"conferenceId": conf, "userEndpointId": "ep-a"})
    direct.post("publishStream", {"conferenceId": conf, "userEndpointId": "ep-a", "conferenceStreamType": "MIC",
                                  "sdpOffer": SDP})
    direct.post("sendEvent", {"conferenceId": conf, "qos": "BEST_EFFORT",
                              "event": {"type": "HandRaisedEvent", "timestamp": "2026-01-01T00:00:00Z"}})
    return conf


def lines(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def ids(proc) -> list[str]:
    return [e["id"] for e in lines(proc)]


def follow(cli, *args, check=0):
    return cli("events", "follow", "-o", "jsonl", *args, env=ONLY_AUVIOUS, check=check)


def wait_polling(sim, conf: str, after: int = 0) -> None:
    """Until a follower has long-polled this conference (so it has its starting point)."""
    path = f"/auvious/rtc-api/conferences/{conf}/events"
    deadline = time.monotonic() + 30
    while sum(1 for m, p in list(sim.app.state.requests) if p == path) <= after:
        assert time.monotonic() < deadline, "the follower never polled"
        time.sleep(0.05)


def test_two_cursor_runs_print_every_event_exactly_once(cli, direct, room, tmp_path):
    cursor = tmp_path / "auvious.cursor"
    first = follow(cli, "-c", room, "--cursor-file", str(cursor), "--timeout", "3")
    seen = ids(first)
    assert seen and seen == direct.feed_ids(room)[: len(seen)]  # from the start, in order
    assert oct(cursor.stat().st_mode)[-3:] == "600"
    direct.change(room, 3)
    direct.post("leave", {"conferenceId": room, "userEndpointId": "ep-a", "reason": "done"})
    remaining = len(direct.feed_ids(room)) - len(seen)
    second = follow(cli, "-c", room, "--cursor-file", str(cursor), "--count", str(remaining), "--timeout", "60")
    assert len(ids(second)) == remaining
    # every event exactly once across the runs, in the feed's order
    assert seen + ids(second) == direct.feed_ids(room)
    assert {e["type"] for e in lines(second)} >= {"ConferenceMetadataUpdatedEvent", "ConferenceLeftEvent"}
    # a third run has nothing new; the conference comes from the cursor file
    third = cli("auvious", "events", "--cursor-file", str(cursor), "--timeout", "2", "-o", "jsonl", check=0)
    assert third.stdout == ""


def test_count_cut_off_loses_nothing(cli, direct, room, tmp_path):
    cursor = tmp_path / "c.json"
    total = direct.feed_ids(room)
    assert len(total) >= 4  # one poll returns them all; only two are printed
    first = follow(cli, "-c", room, "--cursor-file", str(cursor), "--count", "2", "--timeout", "60")
    assert ids(first) == total[:2]
    second = follow(cli, "-c", room, "--cursor-file", str(cursor), "--count", str(len(total) - 2),
                    "--timeout", "60")
    assert ids(first) + ids(second) == total


def test_envelope_carries_the_vendor_payload(cli, direct, room, tmp_path):
    proc = cli("auvious", "events", "-c", room, "--cursor-file", str(tmp_path / "c"), "--count", "2",
               "--timeout", "60", "-o", "jsonl", check=0)
    created, joined = lines(proc)
    assert created["provider"] == "auvious" and created["conference"] == room
    assert created["type"] == "ConferenceCreatedEvent" and created["data"]["conferenceVersion"] is None
    assert joined["type"] == "ConferenceJoinedEvent" and joined["data"]["userEndpointId"] == "ep-a"
    assert joined["id"] == joined["data"]["id"] and joined["time"] == joined["data"]["timestamp"]
    assert set(created) == {"time", "provider", "profile", "conference", "type", "id", "data"}


def test_without_cursor_it_follows_from_now(cli, sim, direct, room):
    sim.app.state.requests.clear()
    proc = cli.popen("auvious", "events", "-c", room, "--count", "1", "--timeout", "60", "-o", "jsonl")
    try:
        wait_polling(sim, room)
        direct.post("interaction", {"conferenceId": room, "interactionId": "INT-9"})
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    [event] = [json.loads(line) for line in out.splitlines()]
    assert event["type"] == "ConferenceInteractionIdSetEvent"  # nothing from before it started


def test_ended_conference_finishes_then_cannot_resume(cli, direct, room, tmp_path):
    cursor = tmp_path / "c.json"
    direct.post("end", {"conferenceId": room, "userEndpointId": "ep-a", "reason": "over"})
    proc = follow(cli, "-c", room, "--cursor-file", str(cursor), "--timeout", "60")
    assert lines(proc)[-1]["type"] == "ConferenceEndedEvent"  # the stream finished by itself, exit 0
    assert ids(proc) == direct.feed_ids(room)
    proc = follow(cli, "-c", room, "--cursor-file", str(cursor), "--timeout", "10", check=9)
    assert "has ended" in proc.stderr


def test_unknown_conference_exits_9(cli, tmp_path):
    proc = cli("auvious", "events", "-c", "no-such-conference", "--timeout", "20", check=9)
    assert "cannot follow conference no-such-conference" in proc.stderr
    proc = cli("auvious", "events", "-c", "no-such-conference", "--cursor-file", str(tmp_path / "c"),
               "--timeout", "20", check=9)


def test_corrupt_cursor_file_exits_9(cli, room, tmp_path):
    cursor = tmp_path / "c.json"
    cursor.write_text("{not json")
    proc = cli("auvious", "events", "-c", room, "--cursor-file", str(cursor), "--timeout", "5", check=9)
    assert "is not a confctl cursor" in proc.stderr
    assert cursor.read_text() == "{not json"  # left alone for the user to inspect


def test_no_conference_is_a_usage_error(cli):
    proc = cli("auvious", "events", "--timeout", "5", check=2)
    assert "--conference" in proc.stderr


def test_one_cursor_file_one_follower(cli, sim, room, tmp_path):
    cursor = tmp_path / "c.json"
    sim.app.state.requests.clear()
    first = cli.popen("auvious", "events", "-c", room, "--cursor-file", str(cursor), "--timeout", "30",
                      "-o", "jsonl")
    try:
        wait_polling(sim, room)
        proc = cli("auvious", "events", "-c", room, "--cursor-file", str(cursor), "--timeout", "5", check=2)
        assert "in use by another" in proc.stderr
    finally:
        first.kill()
        first.communicate(timeout=30)


def test_reconnects_after_the_server_comes_back(cli, tmp_path):
    """The simulator goes away and comes back on the same port: a `reconnected` record, then new events."""
    from confctl.core.sim.server import RunningSim, SimConfig

    config = SimConfig(poll_wait=0.5, auvious_token_ttl=60)
    first = RunningSim(config).start()
    port = first.port
    env = {**first.env(), **ONLY_AUVIOUS}
    proc = cli.popen("--max-wait", "30", "events", "follow", "-c", "demo-room", "--cursor-file",
                     str(tmp_path / "c"), "--until", "ConferenceInteractionIdSetEvent", "--timeout", "90",
                     "-o", "jsonl", env=env)
    second = None
    try:
        wait_polling(first, "demo-room", after=1)  # it has read the history and is waiting for more
        first.stop()
        time.sleep(2)  # down long enough that the follower's next poll finds nobody there
        second = RunningSim(config, port=port).start()
        wait_polling(second, "demo-room")
        Direct(second).post("interaction", {"conferenceId": "demo-room", "interactionId": "INT-1"})
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
        if second is not None:
            second.stop()
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["type"] for e in events]
    assert "reconnected" in kinds
    assert kinds[-1] == "ConferenceInteractionIdSetEvent"
    assert kinds.index("reconnected") < len(kinds) - 1
    assert len({e["id"] for e in events if e["id"]}) == len([e for e in events if e["id"]])


def test_gives_up_with_exit_9_when_it_cannot_reconnect(cli, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"CONFCTL_AUVIOUS_URL": f"http://127.0.0.1:{port}/auvious"}
    proc = cli("--max-wait", "1", "auvious", "events", "-c", "demo-room", "--cursor-file", str(tmp_path / "c"),
               "--timeout", "60", env=env, check=9)
    assert "lost the event stream" in proc.stderr
