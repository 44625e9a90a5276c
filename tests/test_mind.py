"""The Mind provider through the real CLI against the simulator: token kinds, recordings, transcriptions,
SIP, streamings, messages, validation."""

from __future__ import annotations

import json
import os
import stat

from test_mind_helpers import control, new_conference, new_participant


def out(proc):
    return json.loads(proc.stdout)


# -- tokens -----------------------------------------------------------------------------------------------
def test_participant_token_is_shown_only_on_request(cli, tmp_path, sim):
    conf = new_conference(sim)
    hidden = cli("mind", "participant", "create", "-c", conf, "--name", "Ann", check=0)
    assert "token" not in out(hidden)
    assert "cannot be fetched again" in hidden.stderr

    shown = out(cli("mind", "participant", "create", "-c", conf, "--name", "Ben", "--show-token", check=0))
    assert len(shown["token"]) > 20

    token_file = tmp_path / "cid.token"
    kept = cli("mind", "participant", "create", "-c", conf, "--name", "Cid", "--token-file", str(token_file), check=0)
    assert "token" not in out(kept)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    assert token_file.read_text().strip() not in kept.stdout + kept.stderr


def test_token_kinds_and_what_a_403_says(cli, tmp_path, sim):
    conf = new_conference(sim)
    _, mod_token = new_participant(sim, conf, "mod", "moderator")
    att_id, att_token = new_participant(sim, conf, "att", "attendee")
    mod_file, att_file = tmp_path / "mod.token", tmp_path / "att.token"
    for path, token in ((mod_file, mod_token), (att_file, att_token)):
        path.write_text(token + "\n")
        path.chmod(0o600)

    # a moderator (token from a file) may rename the conference and start recording
    cli("mind", "conference", "update", "-c", conf, "--name", "renamed", "--as-participant", str(mod_file), check=0)
    cli("mind", "recording", "start", "-c", conf, "--as-participant", str(mod_file), check=0)

    # an attendee (token from stdin) may not; the error names the token kind needed and never the token
    denied = cli("mind", "recording", "stop", "-c", conf, "--as-participant", "-", input=att_token + "\n", check=3)
    err = json.loads(denied.stderr.strip().splitlines()[-1])
    assert err["status"] == 403 and "moderator" in err["error"] and "participant token" in err["error"]
    assert att_token not in denied.stderr

    # any participant may list; the list puts the caller first (token from an environment variable)
    listed = out(cli("mind", "participant", "list", "-c", conf, "--as-participant", "env:ATT_TOKEN",
                     env={"ATT_TOKEN": att_token}, check=0))
    assert listed[0]["id"] == att_id

    # the WebRTC session is the participant's own: the application token gets a 403 saying so ...
    sdp = tmp_path / "offer.sdp"
    sdp.write_text("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")
    refused = cli("mind", "participant", "session", att_id, "-c", conf, "--sdp", str(sdp), check=3)
    assert "participant's own token" in refused.stderr and "--as-participant" in refused.stderr
    # ... and the participant's token from CONFCTL_MIND_PARTICIPANT_TOKEN works
    answer = out(cli("mind", "participant", "session", att_id, "-c", conf, "--sdp", str(sdp),
                     env={"CONFCTL_MIND_PARTICIPANT_TOKEN": att_token}, check=0))
    assert answer["sdp"].startswith("v=0")
    assert out(cli("mind", "participant", "get", att_id, "-c", conf, check=0))["online"] is True

    # an expelled participant's token dies (401, with a hint saying why)
    cli("mind", "participant", "delete", att_id, "-c", conf, "--yes", check=0)
    dead = cli("mind", "participant", "list", "-c", conf, "--as-participant", str(att_file), check=3)
    assert "expelled" in dead.stderr


def test_a_token_is_never_taken_from_argv(cli):
    secret = "MwQU3BU3GohRrPaqYMdbt3Bh9WBtHuKh5mNEohh5CrDDMSQCkonr3mlnMRaF"
    proc = cli("mind", "participant", "list", "--as-participant", secret, check=2)
    assert "never accepted on the command line" in proc.stderr
    assert secret not in proc.stderr
    cli("mind", "participant", "list", "--as-participant", "env:NOT_SET_ANYWHERE", check=2)


def test_dry_run_and_debug_elide_the_token(cli):
    dry = cli("--dry-run", "mind", "conference", "get", "--detailed", check=0)
    assert dry.stdout.startswith("curl -X GET") and "detailed=true" in dry.stdout
    assert "demo-app-token" not in dry.stdout
    debug = cli("--debug", "mind", "participant", "create", "--name", "dbg", "--show-token", check=0)
    token = out(debug)["token"]
    assert token not in debug.stderr and "demo-app-token" not in debug.stderr


# -- recordings -------------------------------------------------------------------------------------------
def test_recording_download_to_files(cli, tmp_path, sim):
    conf = new_conference(sim)
    missing = cli("mind", "recording", "get", "-c", conf, "-O", str(tmp_path / "none.mp4"), check=4)
    assert "no recording" in missing.stderr and not list(tmp_path.iterdir())

    cli("mind", "recording", "start", "-c", conf, check=0)
    cli("mind", "recording", "stop", "-c", conf, check=0)
    mp4 = tmp_path / "rec.mp4"
    info = out(cli("mind", "recording", "get", "-c", conf, "-O", str(mp4), check=0))
    data = mp4.read_bytes()
    assert data[4:12] == b"ftypisom" and b"moov" in data and b"mdat" in data and b"avcC" in data
    assert info == {"file": str(mp4), "bytes": len(data), "content_type": "video/mp4"}

    jpg = tmp_path / "thumb.jpg"
    cli("mind", "recording", "get", "-c", conf, "--format", "jpeg", "-O", str(jpg), check=0)
    assert jpg.read_bytes()[:2] == b"\xff\xd8" and jpg.read_bytes()[-2:] == b"\xff\xd9"

    webp = tmp_path / "preview.webp"
    cli("mind", "recording", "preview", "-c", conf, "-O", str(webp), check=0)
    assert webp.read_bytes()[:4] == b"RIFF" and webp.read_bytes()[8:12] == b"WEBP"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["preview.webp", "rec.mp4", "thumb.jpg"]  # no .part


def test_transcription_partial_then_complete_with_wait(cli, sim):
    conf = new_conference(sim)
    alice = control(sim, conf, "join", name="Alice")
    cli("mind", "recording", "start", "-c", conf, check=0)
    control(sim, conf, "speak", participant="Alice", text="Hello from Alice")
    partial = cli("mind", "recording", "transcription", "-c", conf, check=0)
    assert out(partial)["complete"] is False and out(partial)["status"] == 206
    assert "partial transcription (206)" in partial.stderr
    cli("mind", "recording", "stop", "-c", conf, check=0)
    done = out(cli("mind", "recording", "transcription", "-c", conf, "--wait", "--interval", "0.2", check=0))
    assert done["complete"] is True and done["status"] == 200
    assert done["utterances"] == [{"timestamp": done["utterances"][0]["timestamp"], "participantId": alice["id"],
                                   "text": "Hello from Alice"}]
    lines = cli("mind", "recording", "transcription", "-c", conf, "-o", "jsonl", check=0).stdout.splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["Hello from Alice"]


# -- SIP ----------------------------------------------------------------------------------------------------
def test_dial_status_forward_and_hangup(cli, sim):
    conf = new_conference(sim)
    pid, _ = new_participant(sim, conf, "phone")
    dial = ("mind", "participant", "dial", pid, "-c", conf, "--from", "Desk <sip:desk@example.com>")
    assert out(cli(*dial, "--to", "sip:jane@example.com", "--timeout", "5", check=0)) == {"status": "answered"}
    cli("mind", "participant", "forward", pid, "-c", conf, "sip:reception@example.com", check=0)
    busy = cli(*dial, "--to", "Jane <sip:busy@example.com:5060>", "--proxy", "sip:proxy.example.com", check=1)
    assert out(busy) == {"status": "busy"} and "not answered: busy" in busy.stderr
    cli("mind", "participant", "hangup", pid, "-c", conf, check=0)


def test_dial_validation_happens_before_sending(cli, sim):
    conf = new_conference(sim)
    pid = "24300bf9-d9f2-4bbf-9719-8660d110bc63"
    base = ("mind", "participant", "dial", pid, "-c", conf)
    sim.app.state.requests.clear()
    for extra, field in ((("--from", "sip:a@x", "--to", "sip:b@x", "--timeout", "4"), "--timeout"),
                         (("--from", "sip:a@x", "--to", "sip:b@x", "--timeout", "31"), "--timeout"),
                         (("--from", "alice@example.com", "--to", "sip:b@x"), "--from"),
                         (("--from", "sip:a@x", "--to", "sip:b@x", "--proxy", "http://proxy"), "--proxy"),
                         (("--from", "sip:a@x"), "--to")):
        proc = cli(*base, *extra, check=2)
        assert json.loads(proc.stderr)["error"].startswith(field), proc.stderr
    cli("mind", "participant", "dial", "not-a-uuid", "-c", conf, "--from", "sip:a@x", "--to", "sip:b@x", check=2)
    assert not [r for r in sim.app.state.requests if "/dial" in r[1]]


# -- streamings, messages, validation, escape hatch -------------------------------------------------------
def test_streamings_show_which_are_alive(cli, sim):
    conf = new_conference(sim)
    cli("mind", "streaming", "create", "-c", conf, "https://example.com/live", check=2)
    live = out(cli("mind", "streaming", "create", "-c", conf, "rtmps://live.example.com/app/key", check=0))
    dead = out(cli("mind", "streaming", "create", "-c", conf, "rtmp://offline.example.com/app/key", check=0))
    listing = cli("mind", "streaming", "list", "-c", conf, "-o", "jsonl", check=0)
    assert {s["id"]: s["alive"] for s in map(json.loads, listing.stdout.splitlines())} == \
        {live["id"]: True, dead["id"]: False}
    assert f"1 of 2 streamings alive; not alive: {dead['id']}" in listing.stderr
    cli("mind", "streaming", "delete", live["id"], dead["id"], "-c", conf, "--yes", check=0)
    assert out(cli("mind", "streaming", "list", "-c", conf, check=0)) == []


def test_messages_to_conference_participant_or_application(cli, sim):
    conf = new_conference(sim)
    pid, _ = new_participant(sim, conf, "p")
    assert out(cli("mind", "message", "send", "hello all", "-c", conf, check=0))["sentTo"] == conf
    assert out(cli("mind", "message", "send", "psst", "-c", conf, "--to", pid, check=0))["sentTo"] == pid
    assert out(cli("mind", "message", "send", "to app", "-c", conf, "--to", "application", check=0))["sentTo"] == \
        "demo-app"
    cli("mind", "message", "send", "x", "-c", conf, "--to", "everyone", check=2)


def test_documented_values_are_validated(cli):
    for args in (("participant", "create", "--role", "boss"), ("participant", "create", "--priority", "-1"),
                 ("conference", "create", "--layout", "grid"), ("participant", "get", "nope"),
                 ("conference", "get", "--conference", "")):
        cli("mind", *args, check=2)


def test_transcription_start_stop_and_raw_api(cli, sim):
    conf = new_conference(sim)
    assert out(cli("mind", "transcription", "start", "-c", conf, check=0)) == {"started": True}
    assert out(cli("mind", "transcription", "get", "-c", conf, check=0)) == {"started": True}
    assert out(cli("mind", "transcription", "stop", "-c", conf, check=0)) == {"started": False}
    raw = out(cli("mind", "api", "GET", f"/demo-app/{conf}", "-q", "detailed=true", check=0))
    assert raw["id"] == conf and raw["transcription"] == {"started": False}
    cli("mind", "conference", "delete", "-c", conf, "--yes", check=0)
    cli("mind", "conference", "get", "-c", conf, check=4)


def test_profile_test_and_missing_token(cli):
    assert out(cli("profile", "test", "--provider", "mind", check=0))["conference"] == "demo-conference"
    assert out(cli("profile", "test", "--provider", "mind", env={"CONFCTL_MIND_CONFERENCE": ""},
                   check=0))["token"] == "accepted"
    cli("mind", "conference", "get", env={"CONFCTL_MIND_TOKEN": ""}, check=3)
    wrong = cli("mind", "conference", "get", env={"CONFCTL_MIND_TOKEN": "wrong-token"}, check=3)
    assert "application token was rejected" in wrong.stderr
