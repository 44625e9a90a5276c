"""Pexip commands: --breakout on every conference, participant and call command, participants by name,
validation before sending (exit 2), `result: false` (exit 1), friendly verbs and binary results."""

from __future__ import annotations

import json
import re
import shlex

import httpx
import pytest

from pexip_support import pcli, px, sim_state  # noqa: F401 (pcli, px: fixtures)
from confctl.core.registry import PROVIDERS

BREAKOUT = "00000000-0000-0000-0000-000000000001"

# This module's own simulator clocks (pexip_support.px starts one per module).
PEXIP_SIM = {"pexip_token_ttl": 10, "deferred_delay": 0.05}


def roster(px, conference="meet.demo", room="main") -> dict:
    return {p["display_name"]: p for p in sim_state(px, conference)["rooms"][room]["participants"]}


def scoped_endpoints():
    from confctl.core.builder import example_argv
    from confctl.vendors.pexip.endpoints import BREAKOUT_SCOPED

    provider = PROVIDERS["pexip"].load()
    return [pytest.param(ep, example_argv(provider, ep), id=ep.id) for ep in provider.endpoints
            if ep.id.startswith(BREAKOUT_SCOPED)]


def test_every_conference_participant_and_call_command_is_scoped_by_breakout(home, monkeypatch, capsys):
    """In-process dry runs: the same request, under /breakouts/{uuid}/, for every scoped command."""
    from confctl.cli import main

    monkeypatch.setenv("CONFCTL_PEXIP_URL", "https://pexip.example.com")
    monkeypatch.setenv("CONFCTL_PEXIP_CONFERENCE", "meet.demo")
    params = scoped_endpoints()
    assert len(params) >= 70
    for param in params:
        ep, argv = param.values
        code = main([*argv[1:], "--breakout", BREAKOUT, "--dry-run", "--yes"])
        out = capsys.readouterr()
        assert code == 0, (ep.id, out.err)
        curl = shlex.split(out.out.strip().splitlines()[-1])
        assert curl[curl.index("-X") + 1] == ep.method, ep.id
        url = next(a for a in curl if a.startswith("https://"))
        tail = ep.path.split("{alias}", 1)[1]
        pattern = re.escape(f"/api/client/v2/conferences/meet.") + r"[a-z]+" + re.escape(f"/breakouts/{BREAKOUT}") \
            + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(tail)) + r"(\?.*)?$"
        assert re.search(pattern, url), (ep.id, url)
    assert main(["pexip", "participant", "mute", "Bob", "--breakout", "room/4", "--dry-run"]) == 2


def test_breakout_scoped_commands_act_inside_the_room(pcli, px):
    pcli("pexip", "participant", "mute", "heidi", "--breakout", BREAKOUT, check=0)
    pcli("pexip", "participant", "spotlight", "Ivan", "--breakout", BREAKOUT, check=0)
    room = roster(px, room=BREAKOUT)
    assert room["Heidi"]["is_muted"] == "YES" and room["Ivan"]["spotlight"]
    pcli("pexip", "conference", "lock", "--breakout", BREAKOUT, check=0)
    status = json.loads(pcli("pexip", "conference", "status", "--breakout", BREAKOUT, "-o", "json", check=0).stdout)
    assert status["locked"] is True and status["breakout_name"] == "Room 1"
    main = json.loads(pcli("pexip", "conference", "status", "-o", "json", check=0).stdout)
    assert main["locked"] is False
    # Bob is in the main room, not in the breakout: the name does not resolve there.
    missing = pcli("pexip", "participant", "mute", "Bob", "--breakout", BREAKOUT)
    assert missing.returncode == 4 and "Heidi, Ivan" in missing.stderr


def test_breakout_workflow_create_move_back_and_close(pcli, px):
    created = json.loads(pcli("pexip", "breakout", "create", "Team A", "--participant", "Bob", "--participant",
                              "carol", "--end-action", "transfer", "-o", "json", check=0).stdout)
    room = created["breakout_uuid"]
    assert set(roster(px, room=room)) == {"Bob", "Carol"}
    pcli("pexip", "breakout", "move", "--from", room, "--to", "main", "Bob", check=0)
    assert "Bob" in roster(px) and set(roster(px, room=room)) == {"Carol"}
    pcli("pexip", "breakout", "move-from-main", "--to", room, "Alice", check=0)
    pcli("pexip", "breakout", "move", "--from", room, "--to", "previous", check=0)  # everyone back
    assert roster(px, room=room) == {} and {"Alice", "Carol"} <= set(roster(px))
    pcli("pexip", "breakout", "close", room, "--yes", check=0)
    refused = pcli("pexip", "breakout", "close-all")  # destructive: no TTY to confirm on
    assert refused.returncode == 2 and "--yes" in refused.stderr


def test_names_prefixes_and_ambiguity(pcli, px):
    httpx.post(px.url + "/pexip/_sim/join", json={"conference": "meet.demo", "name": "Bob"})
    two = pcli("pexip", "participant", "mute", "Bob")
    assert two.returncode == 2
    err = json.loads(two.stderr.strip().splitlines()[-1])
    assert len(err["detail"]["candidates"]) == 2 and "65b4af2f-657a-4081-98a8-b17667628ce3" in err["error"]
    pcli("pexip", "participant", "mute", "65b4af2f", check=0)  # a unique UUID prefix picks one
    bobs = [p for p in httpx.get(px.url + "/pexip/_sim/state").json()["rooms"]["main"]["participants"]
            if p["display_name"] == "Bob"]
    assert sorted(p["is_muted"] for p in bobs) == ["NO", "YES"]
    assert pcli("pexip", "participant", "mute", "nobody-here").returncode == 4


def test_validation_happens_before_anything_is_sent(pcli, px):
    bad = [
        ("conference", "set-layout", "--layout", "7x7"),
        ("conference", "set-layout"),
        ("conference", "silent-video-detection", "--silent-after", "121"),
        ("conference", "silent-video-detection", "--reactivate-after", "0"),
        ("participant", "aspect-ratio", "Bob", "2.5"),
        ("participant", "set-role", "Bob", "owner"),
        ("participant", "dtmf", "Bob", "12x"),
        ("participant", "fecc", "Bob", "--action", "start"),
        ("participant", "fecc", "Bob", "--action", "start", "--pan", "up"),
        ("participant", "message", "Bob"),
        ("conference", "message", "hi", "--json", "{}"),
        ("conference", "message", "--json", "{oops"),
        ("video-mix", "create", "personal"),
        ("participant", "receive-from-audio-mix", "Bob", "main..fr"),
        ("participant", "send-to-audio-mixes", "Bob", "--mix", "fr.main"),
        ("conference", "dial", "sip:x@example.com", "--role", "boss"),
        ("conference", "dial", "sip:x@example.com", "--presentation-url", "rtmp://cdn/x"),
        ("conference", "guests-can-see-guests", "sometimes"),
        ("conference", "guests-can-unmute", "maybe"),
        ("breakout", "move", "--from", BREAKOUT, "--to", "lobby", "Ivan"),
        ("breakout", "create", "R", "--duration", "-5"),
        ("breakout", "control", BREAKOUT, "make_coffee"),
        ("call", "dtmf", "Bob", "not-a-uuid", "1"),
        ("conference", "theme-resource", "../secrets"),
    ]
    for args in bad:
        proc = pcli("pexip", *args)
        assert proc.returncode == 2, (args, proc.stderr)
        error = json.loads(proc.stderr.strip().splitlines()[-1])["error"]
        assert re.match(r"(--[a-z/-]+|[A-Z_]+): ", error), (args, error)  # names the field, then the rule
    assert px.app.state.requests == []


def test_result_false_is_exit_1_and_friendly_verbs(pcli, px):
    false = pcli("pexip", "conference", "set-pinning-config", "no-such-config")
    assert false.returncode == 1 and "result: false" in false.stderr
    pcli("pexip", "conference", "mute-all-guests", check=0)
    assert roster(px)["Bob"]["is_muted"] == "YES" and roster(px)["Alice"]["is_muted"] == "NO"
    pcli("pexip", "participant", "raise-hand", "Carol", check=0)
    pcli("pexip", "participant", "set-role", "Carol", "host", check=0)
    pcli("pexip", "participant", "overlay-text", "Carol", "Carol (chair)", check=0)
    carol = roster(px)["Carol"]
    assert carol["buzz_time"] and carol["role"] == "chair" and carol["overlay_text"] == "Carol (chair)"
    pcli("pexip", "participant", "lower-hand", "Carol", check=0)
    pcli("pexip", "participant", "send-to-audio-mixes", "Bob", "--mix", "main:prominent", "--mix", "main.fr", check=0)
    assert roster(px)["Bob"]["send_to_audio_mixes"] == [{"mix_name": "main", "prominent": True},
                                                        {"mix_name": "main.fr", "prominent": False}]
    pcli("pexip", "participant", "receive-from-audio-mix", "Bob", "none", check=0)
    assert roster(px)["Bob"]["receive_from_audio_mix"] is None
    pcli("pexip", "conference", "set-layout", "--layout", "ac", "--overlay-text", "--streaming-layout", "1:0",
         check=0)
    pcli("pexip", "participant", "transfer", "Grace", "--to", "meet.guests", "--role", "guest", "--pin-file", "-",
         "-c", "meet.scratch", input="2222\n", check=0)
    assert "Grace" in roster(px, "meet.guests")
    wrong = pcli("pexip", "participant", "transfer", "Judy", "--to", "meet.guests", "--role", "guest", "-c",
                 "meet.scratch")
    assert wrong.returncode == 1  # no PIN for a PIN-protected target: result false
    attestation = json.loads(pcli("pexip", "participant", "attestation", "-o", "json", check=0).stdout)
    assert attestation["claims"]["role"] == "host" and attestation["jwt"].count(".") == 2


def test_binary_results_go_to_a_file_or_a_pipe(pcli, tmp_path):
    target = tmp_path / "bob.jpg"
    pcli("pexip", "participant", "avatar", "Bob", "-O", str(target), check=0)
    assert target.read_bytes()[:2] == b"\xff\xd8"
    piped = pcli("pexip", "presentation", "frame", "--id", "MTAuMC4wLjFfMQ==", check=0)
    assert piped.stdout.encode("utf-8", "surrogateescape")[:1] or piped.stdout  # bytes went to the pipe
    assert "refusing" not in piped.stderr


def test_endpoints_table_lists_every_row_with_examples(pcli):
    rows = json.loads(pcli("pexip", "endpoints", "-o", "json", check=0).stdout)
    assert len(rows) == 90
    assert {"pexip.participant.mute", "pexip.breakout.move_from_main", "pexip.node.jwk"} <= {r["id"] for r in rows}
    mute = next(r for r in rows if r["id"] == "pexip.participant.mute")
    assert mute["command"] == "confctl pexip participant mute" and mute["example"][-1] == "65b4af2f-657a-4081-98a8-b17667628ce3"


def test_lock_waiting_room_and_admit(pcli, px):
    pcli("pexip", "conference", "lock", check=0)
    httpx.post(px.url + "/pexip/_sim/join", json={"conference": "meet.demo", "name": "Visitor"})
    assert roster(px)["Visitor"]["service_type"] == "waiting_room"
    pcli("pexip", "participant", "admit", "visitor", check=0)
    assert roster(px)["Visitor"]["service_type"] == "conference"
    again = pcli("pexip", "participant", "admit", "Visitor")
    assert again.returncode == 1  # not waiting any more: result false
    pcli("pexip", "conference", "unlock", check=0)
