"""Auvious commands end to end against the simulator: metadata, send-event rules, streams and SDP, views.
Each test works on its own conference so tests stay independent of each other and of the seeded examples."""

from __future__ import annotations

import json
import stat
import time
import uuid

import pytest

from auvious_support import direct  # noqa: F401 (a fixture)

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n"
CANDIDATE = "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host"


@pytest.fixture
def room(direct):
    """A fresh conference with alice (ep-a, a CAM stream) and bob (ep-b) joined."""
    conf = f"t-{uuid.uuid4().hex[:8]}"
    direct.post("create", {"conferenceId": conf, "metadata": {"topic": "test"}})
    direct.post("join", {"conferenceId": conf, "userEndpointId": "ep-a", "metadata": {"displayName": "A"}})
    direct.post("join", {"conferenceId": conf, "userEndpointId": "ep-b"})
    direct.post("publishStream", {"conferenceId": conf, "userEndpointId": "ep-a", "conferenceStreamType": "CAM",
                                  "sdpOffer": SDP, "streamId": "cam-a"})
    return conf


def sent(sim, path: str) -> int:
    return sum(1 for m, p in sim.app.state.requests if p == "/auvious/rtc-api/conferences/" + path)


# -- metadata --------------------------------------------------------------------------------------------
def test_conference_metadata_set_and_remove(cli, room, direct):
    proc = cli("auvious", "conference", "metadata", "set", room, "color", "blue", "-e", "ep-a", check=0)
    assert "metadata 'color' set" in proc.stderr
    entry = direct.get(room)["metadata"]["color"]
    assert entry["value"] == "blue" and entry["userEndpointId"] == "ep-a"
    cli("auvious", "conference", "metadata", "remove", room, "color", "-e", "ep-a", check=0)
    assert "color" not in direct.get(room)["metadata"]


def test_metadata_verbs_validate_before_sending(cli, sim, room):
    sim.app.state.requests.clear()
    proc = cli("auvious", "conference", "metadata", "remove", room, "color", "blue", "-e", "ep-a", check=2)
    assert "VALUE" in proc.stderr
    proc = cli("auvious", "conference", "metadata", "set", room, "color", "-e", "ep-a", check=2)
    assert "VALUE: is required" in proc.stderr
    proc = cli("auvious", "conference", "metadata", "set", room, "color", "blue", check=2)
    assert "--endpoint: is required" in proc.stderr
    assert sent(sim, "updateMetadata") == 0


def test_participant_metadata_from_pairs_json_file_and_stdin(cli, room, tmp_path, direct):
    cli("auvious", "participant", "set-metadata", room, "displayName=Alice", "age:=42", "tags:=[\"x\"]",
        "-e", "ep-a", "--data", '{"role": "host", "displayName": "ignored"}', check=0)
    [alice] = [p for p in direct.get(room)["participants"] if p["id"] == "ep-a"]
    assert alice["metadata"] == {"role": "host", "displayName": "Alice", "age": 42, "tags": ["x"]}
    path = tmp_path / "meta.json"
    path.write_text('{"fromFile": true}')
    cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", "--data", f"@{path}", check=0)
    [alice] = [p for p in direct.get(room)["participants"] if p["id"] == "ep-a"]
    assert alice["metadata"] == {"fromFile": True}
    cli("auvious", "stream", "set-metadata", room, "cam-a", "-e", "ep-a", "--data", "-",
        input='{"label": "front"}', check=0)
    [alice] = [p for p in direct.get(room)["participants"] if p["id"] == "ep-a"]
    assert alice["streams"][0]["metadata"] == {"label": "front"}


def test_malformed_metadata_is_rejected_with_its_position(cli, sim, room):
    sim.app.state.requests.clear()
    proc = cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", "--data", '{"a": 1,\n "b": }', check=2)
    assert "--data: malformed JSON at line 2 column 7" in proc.stderr
    proc = cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", "n:=[1,", check=2)
    assert "malformed JSON at line 1 column" in proc.stderr
    proc = cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", "justakey", check=2)
    assert "KEY=VALUE" in proc.stderr
    proc = cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", "--data", "[1, 2]", check=2)
    assert "must be a JSON object" in proc.stderr
    proc = cli("auvious", "participant", "set-metadata", room, "-e", "ep-a", check=2)
    assert "at least one metadata entry" in proc.stderr
    proc = cli("auvious", "conference", "create", "--meta", "n:=1", check=2)
    assert "values must be strings" in proc.stderr
    assert sent(sim, "updateParticipantMetadata") == 0 and sent(sim, "create") == 0


# -- send-event ------------------------------------------------------------------------------------------
def test_send_event_reports_members_and_masks(cli, room):
    proc = cli("auvious", "conference", "send-event", room, "CustomerVerifiedEvent", "-f", "phone=6912345678",
               "-f", "score:=7", "--mask", "$.phone", "--qos", "AT_LEAST_ONCE",
               "--timestamp", "2026-01-02T03:04:05+02:00", check=0)
    assert json.loads(proc.stdout) == {"eventsSent": 2}
    assert "delivered to 2 members" in proc.stderr
    feed = json.loads(cli("auvious", "conference", "events", room, "--since", "0", check=0).stdout)
    event = next(e for e in feed if e["type"] == "CustomerVerifiedEvent")  # through the CLI's one-shot poll
    assert event["timestamp"] == "2026-01-02T01:04:05.000Z"  # normalised to a UTC instant
    assert event["phone"] == "*" * 10 and event["score"] == 7 and event["qos"] == "AT_LEAST_ONCE"


def test_send_event_defaults_timestamp_to_now(cli, room, direct):
    cli("auvious", "conference", "send-event", room, "HandRaisedEvent", check=0)
    event = next(e for e in direct.feed(room) if e["type"] == "HandRaisedEvent")
    assert event["timestamp"].endswith("Z") and event["qos"] == "BEST_EFFORT"


@pytest.mark.parametrize("args,message", [
    (["handRaisedEvent"], "must start with a capital letter, end with 'Event'"),
    (["HandRaised"], "end with 'Event'"),
    (["Hand_RaisedEvent"], "CamelCase"),
    (["HandEvent"], "at least a noun and a verb"),
    (["HandRaisedEvent", "--timestamp", "2026-01-02 03:04"], "--timestamp: must be an ISO-8601 instant"),
    (["HandRaisedEvent", "--timestamp", "2026-01-02T03:04:05"], "--timestamp: must be an ISO-8601 instant"),
    (["HandRaisedEvent", "--qos", "EXACTLY_ONCE"], "--qos: must be one of BEST_EFFORT, AT_LEAST_ONCE"),
    (["HandRaisedEvent", "--mask", "phone"], "--mask: not a JSONPath expression: must start with '$'"),
    (["HandRaisedEvent", "--mask", "$.a[1"], "unclosed '['"),
    (["HandRaisedEvent", "--data", '{"timestamp": "yesterday"}'], "--data timestamp"),
])
def test_send_event_rules_are_checked_before_sending(cli, sim, args, message):
    sim.app.state.requests.clear()
    proc = cli("auvious", "conference", "send-event", "demo-room", *args, check=2)
    assert message in proc.stderr
    assert sent(sim, "sendEvent") == 0


def test_jsonpath_masks_accept_the_usual_syntax(cli, room):
    masks = ["$.customer.phone", "$..email", "$['a b'].c", "$.items[0].card", "$.items[*].pan", "$.x[0:2]",
             "$.list[?(@.type == 'secret')].value"]
    args = [a for m in masks for a in ("--mask", m)]
    cli("auvious", "conference", "send-event", room, "CardCapturedEvent", *args, check=0)


# -- streams ---------------------------------------------------------------------------------------------
def test_publish_view_and_answers(cli, room, tmp_path, direct):
    offer = tmp_path / "offer.sdp"
    offer.write_text(SDP)
    proc = cli("auvious", "stream", "publish", room, "-e", "ep-b", "-t", "MIC", "--sdp", str(offer),
               "--meta", "muted:=false", "--answer", "-", check=0)
    assert proc.stdout.startswith("v=0") and "m=audio" in proc.stdout and "a=recvonly" in proc.stdout
    stream_id = proc.stderr.split("streamId: ")[1].split()[0]
    answer = tmp_path / "answer.sdp"
    proc = cli("auvious", "stream", "view", room, stream_id, "-e", "ep-a", "--sdp", "-", "--answer", str(answer),
               input=SDP, check=0)
    viewer = json.loads(proc.stdout)["viewerId"]
    assert answer.read_text().startswith("v=0") and stat.S_IMODE(answer.stat().st_mode) == 0o600
    cli("auvious", "stream", "view-ice", room, stream_id, "-e", "ep-a", "--viewer", viewer,
        "--candidate", CANDIDATE, check=0)
    cli("auvious", "stream", "stop-view", room, stream_id, "-e", "ep-a", "--viewer", viewer, check=0)
    # stopping twice: the simulator, like the API, answers 400 -> exit 1
    cli("auvious", "stream", "stop-view", room, stream_id, "-e", "ep-a", "--viewer", viewer, check=1)
    [bob] = [p for p in direct.get(room)["participants"] if p["id"] == "ep-b"]
    assert bob["streams"][0]["type"] == "MIC" and bob["streams"][0]["metadata"] == {"muted": False}


def test_bitrate_ice_and_unpublish(cli, room, tmp_path, direct):
    cli("auvious", "stream", "set-bitrate", room, "-e", "ep-a", "--bitrate", "250000", check=0)
    [alice] = [p for p in direct.get(room)["participants"] if p["id"] == "ep-a"]
    assert alice["streams"][0]["videoBitrate"] == 250000
    cands = tmp_path / "cands.json"
    cands.write_text(json.dumps([{"candidate": CANDIDATE, "sdpMid": "0", "sdpMLineIndex": 0},
                                 {"candidate": "a=" + CANDIDATE.replace("54400", "54401"), "sdpMid": "0"}]))
    proc = cli("auvious", "stream", "publish-ice", room, "cam-a", "-e", "ep-a", "--candidates", str(cands), check=0)
    assert "2 ICE candidates added" in proc.stderr
    proc = cli("auvious", "stream", "publish-ice", room, "cam-a", "-e", "ep-a", "--candidates", "-",
               input=CANDIDATE + "\n\n" + CANDIDATE.replace("udp", "tcp") + "\n", check=0)
    assert "2 ICE candidates added" in proc.stderr
    proc = cli("auvious", "stream", "unpublish", room, "cam-a", "-e", "ep-a", check=0)
    assert "done: stream unpublish cam-a" in proc.stderr
    assert direct.get(room)["participants"][0]["streams"] == []
    # a missing stream is the documented 404 for the bitrate endpoint -> exit 4
    cli("auvious", "stream", "set-bitrate", room, "-e", "ep-a", "--bitrate", "1000", "--stream", "cam-a", check=4)


@pytest.mark.parametrize("args,message", [
    (["publish", "C", "-e", "e", "-t", "VIDEO", "--sdp", SDP], "--type: must be one of MIC, CAM, SCREEN, MIC_AND_CAM"),
    (["publish", "C", "-e", "e", "-t", "CAM", "--sdp", "@/nonexistent.sdp"], "--sdp: cannot read"),
    (["publish", "C", "-e", "e", "-t", "CAM", "--sdp", "-"], "--sdp: the SDP offer is empty"),
    (["publish", "C", "-e", "e", "-t", "CAM", "--sdp", SDP, "--bitrate", "0"], "--bitrate: must be a positive"),
    (["view", "C", "S", "-e", "e"], "--sdp: is required"),
    (["set-bitrate", "C", "-e", "e", "--bitrate", "-5"], "--bitrate: must be a positive"),
    (["publish-ice", "C", "S", "-e", "e"], "give at least one ICE candidate"),
    (["publish-ice", "C", "S", "-e", "e", "--candidate", "host 192.0.2.1"], "starts with 'candidate:'"),
    (["view-ice", "C", "S", "-e", "e", "--viewer", "v", "--candidates", "-"], "no ICE candidates"),
])
def test_stream_input_is_validated_before_sending(cli, sim, args, message, tmp_path):
    sim.app.state.requests.clear()
    proc = cli("auvious", "stream", *args, input="", check=2)
    assert message in proc.stderr
    assert not [p for m, p in sim.app.state.requests if "/rtc-api/" in p]


def test_sdp_that_is_not_sdp_is_rejected(cli, tmp_path):
    bad = tmp_path / "offer.txt"
    bad.write_text("hello\n")
    proc = cli("auvious", "stream", "publish", "C", "-e", "e", "-t", "CAM", "--sdp", str(bad), check=2)
    assert "is not an SDP offer" in proc.stderr


# -- conference lifecycle and views ----------------------------------------------------------------------
def test_conference_get_is_a_readable_table(cli, room):
    proc = cli("auvious", "conference", "get", room, "-o", "table", env={"COLUMNS": "160"}, check=0)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"conference {room} · mode ROUTER · version ")
    header = next(line for line in lines if "participant" in line)
    for col in ("endpoint", "state", "stream", "type", "bitrate"):
        assert col in header
    alice = next(line for line in lines if "ep-a" in line)
    assert "cam-a" in alice and "CAM" in alice and "30000" in alice and "HEALTHY" in alice
    assert "topic" in proc.stdout  # the conference metadata table
    raw = json.loads(cli("auvious", "conference", "get", room, "-o", "json", check=0).stdout)
    assert raw["id"] == room and {p["id"] for p in raw["participants"]} == {"ep-a", "ep-b"}


def test_simple_view_and_active(cli, room):
    view = json.loads(cli("auvious", "conference", "simple-view", room, check=0).stdout)
    assert [e["id"] for p in view["participants"] for e in p["endpoints"]] == ["ep-a", "ep-b"]
    table = cli("auvious", "conference", "simple-view", room, "-o", "table", env={"COLUMNS": "160"}, check=0).stdout
    assert "cam-a" in table and "ep-b" in table
    active = json.loads(cli("auvious", "conference", "active", check=0).stdout)
    assert room in [c["id"] for c in active]
    rows = cli("auvious", "conference", "active", "-o", "table", env={"COLUMNS": "160"}, check=0).stdout
    assert any(room in line and "ROUTER" in line for line in rows.splitlines())
    ids = cli("auvious", "conference", "active", "-o", "id", check=0).stdout.split()
    assert room in ids


def test_join_leave_end_and_their_errors(cli, room, direct):
    proc = cli("auvious", "conference", "join", room, "-e", "ep-a", check=1)  # already joined: 422
    assert "Already Joined" in proc.stderr
    cli("auvious", "conference", "join", "no-such-conference", "-e", "ep-x", check=4)  # documented 404
    cli("auvious", "conference", "leave", room, "-e", "ep-b", "--reason", "bye", check=0)
    cli("auvious", "conference", "leave", room, "-e", "ep-b", check=1)  # 400: not a member
    cli("auvious", "conference", "set-interaction", room, "INT-1", check=0)
    assert direct.get(room)["interactionId"] == "INT-1"
    proc = cli("auvious", "conference", "end", room, "-e", "ep-a", check=2)  # destructive: needs --yes
    assert "--yes" in proc.stderr
    cli("auvious", "conference", "end", room, "-e", "ep-a", "--yes", check=0)
    active = json.loads(cli("auvious", "conference", "active", check=0).stdout)
    assert room not in [c["id"] for c in active]


def test_api_errors_carry_the_field_messages(cli, room):
    proc = cli("auvious", "conference", "create", "--id", room, check=1)
    assert f"conferenceId: conference {room} already exists" in proc.stderr
    proc = cli("auvious", "conference", "get", "no-such-conference", check=1)
    assert "id: conference no-such-conference not found" in proc.stderr


def test_raw_api_shares_auth(cli, room):
    proc = cli("auvious", "api", "GET", f"/rtc-api/conferences/{room}/simpleView", check=0)
    assert json.loads(proc.stdout)["id"] == room


def test_sim_controls_drive_the_simulator(cli, room, direct):
    proc = cli("sim", "auvious", "activity", room, "--user", "erin", "--delay", "0", check=0)
    assert proc.stdout.strip() == "ep-erin"
    state = json.loads(cli("sim", "auvious", "state", check=0).stdout)
    assert state["conferences"][room]["events"] >= 5 and state["tokens_issued"] >= 1
    deadline = time.monotonic() + 30
    while "ConferenceLeftEvent" not in [e["type"] for e in direct.feed(room)]:  # erin's short visit
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert json.loads(cli("auvious", "oauth", "token", check=0).stdout)["source"] == "token endpoint"
