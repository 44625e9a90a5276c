"""Pexip participants in breakout rooms (listed, found by name, addressed in their room without --breakout),
--breakout by short id or room name, dry runs that print what is really sent, and the requests the doc
requires (fecc target, presentation frame event id, ask-for-help inside a breakout), against the simulator."""

from __future__ import annotations

import json
import shlex

from pexip_support import pcli, px, sim_state  # noqa: F401 (pcli, px: fixtures)

PEXIP_SIM = {"pexip_token_ttl": 30, "deferred_delay": 0.05}
ROOM_1 = "00000000-0000-0000-0000-000000000001"
HEIDI = "1c5e2b7a-3f4d-4e8a-9b1c-2d3e4f5a6b7c"


def person(px, name, conference="meet.demo"):
    for room, data in sim_state(px, conference)["rooms"].items():
        for p in data["participants"]:
            if p["display_name"] == name:
                return room, p
    return None, None


def sent(px) -> list[tuple[str, str]]:
    return [(m, p) for m, p in px.app.state.requests if "/_sim/" not in p]


def test_participants_of_every_room_are_listed_with_their_room(pcli, px):
    created = json.loads(pcli("pexip", "breakout", "create", "Room 4", "--participant", "Carol", check=0).stdout)
    room4 = created["breakout_uuid"]
    people = json.loads(pcli("pexip", "participants", "-o", "json", check=0).stdout)
    where = {p["display_name"]: (p["room"], p["room_name"]) for p in people}
    assert where["Carol"] == (room4, "Room 4")
    assert where["Heidi"] == (ROOM_1, "Room 1") and where["Alice"] == ("main", None)
    ids = pcli("pexip", "participants", "-o", "id", check=0).stdout.split()
    assert HEIDI in ids


def test_a_participant_in_a_breakout_room_is_found_by_name_and_addressed_there(pcli, px):
    pcli("pexip", "participant", "mute", "Heidi", check=0)
    assert person(px, "Heidi")[1]["is_muted"] == "YES"
    assert ("POST", f"/pexip/api/client/v2/conferences/meet.demo/breakouts/{ROOM_1}/participants/{HEIDI}/mute") \
        in sent(px)
    pcli("pexip", "participant", "mute", HEIDI[:8], check=0)  # a UUID prefix works across rooms too
    missing = pcli("pexip", "participant", "mute", "Nobody")
    assert missing.returncode == 4 and "Heidi" in missing.stderr  # the hint lists every room's people


def test_breakout_takes_the_short_id_or_the_room_name(pcli, px):
    pcli("pexip", "participant", "spotlight-on", "Ivan", "--breakout", ROOM_1[:8], check=0)
    pcli("pexip", "participant", "raise-hand", "Ivan", "--breakout", "room 1", check=0)
    _room, ivan = person(px, "Ivan")
    assert ivan["spotlight"] and ivan["buzz_time"]
    pcli("pexip", "breakout", "move", "--from", "Room 1", "--to", "main", "Ivan", check=0)
    assert person(px, "Ivan")[0] == "main"
    unknown = pcli("pexip", "participant", "mute", "Heidi", "--breakout", "Room 9")
    assert unknown.returncode == 4 and "Room 1 (00000000)" in unknown.stderr


def test_dry_run_prints_the_resolved_uuid_and_the_body_as_sent(pcli, px):
    dry = pcli("pexip", "participant", "mute", "Heidi", "--dry-run", check=0).stdout.strip().splitlines()
    assert dry[-1].split()[3] == f"http://{px.host}:{px.port}/pexip/api/client/v2/conferences/meet.demo/breakouts/" \
        f"{ROOM_1}/participants/{HEIDI}/mute"
    assert person(px, "Heidi")[1]["is_muted"] == "NO"  # nothing but look-ups was sent
    assert not [r for r in sent(px) if r[1].endswith("/mute")]
    dry = pcli("pexip", "breakout", "create", "Room 5", "--participant", "Heidi", "--participant", "Bob",
               "--dry-run", check=0).stdout.strip().splitlines()[-1]
    body = json.loads(shlex.split(dry)[shlex.split(dry).index("--data-raw") + 1])
    assert body == {"name": "Room 5", "participants": {ROOM_1: [HEIDI],
                                                       "main": ["65b4af2f-657a-4081-98a8-b17667628ce3"]}}
    assert not [p for p in sim_state(px)["rooms"].values() if p["name"] == "Room 5"]
    assert not [p for p in sim_state(px)["rooms"]["main"]["participants"] if p["protocol"] == "api"]  # released


def test_dry_run_lines_run_as_printed(pcli, px, tmp_path):
    import shutil
    import subprocess

    if not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")):
        import pytest

        pytest.skip("needs curl, jq and bash")
    script = pcli("pexip", "participant", "mute", "Bob", "--dry-run", check=0).stdout
    assert "1234" not in script
    env = {"PATH": "/usr/bin:/bin", "CONFCTL_PEXIP_PIN": "1234"}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"status": "success", "result": True}, out.stderr
    assert person(px, "Bob")[1]["is_muted"] == "YES"
    script = pcli("pexip", "participant", "take-floor", "--dry-run", check=0).stdout  # `self`: its own participant
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    assert json.loads(out.stdout.strip().splitlines()[-1])["result"] is True, out.stderr


def test_fecc_names_its_target_and_frames_need_the_event_id(pcli, px):
    dry = pcli("pexip", "participant", "fecc", "Bob", "--action", "start", "--pan", "left", "--dry-run",
               check=0).stdout.strip().splitlines()[-1]
    body = json.loads(shlex.split(dry)[shlex.split(dry).index("--data-raw") + 1])
    assert body["target"] == "65b4af2f-657a-4081-98a8-b17667628ce3" and body["movement"] == [
        {"axis": "pan", "direction": "left"}]
    pcli("pexip", "participant", "fecc", "Bob", "--action", "start", "--pan", "left", check=0)
    px.app.state.requests.clear()
    missing = pcli("pexip", "presentation", "frame", "-O", "/dev/null")
    assert missing.returncode == 2 and "--id" in missing.stderr and not sent(px)
    pcli("pexip", "presentation", "frame-high", "--id", "MTAuNDQuOTkuMl8xOA==", "-O", "/dev/null", check=0)


def test_ask_for_help_inside_a_breakout_room(pcli, px):
    pcli("pexip", "breakout", "ask-for-help", "--breakout", "Room 1", check=0)
    assert ("POST", f"/pexip/api/client/v2/conferences/meet.demo/breakouts/{ROOM_1}/breakoutbuzz") in sent(px)
    status = json.loads(pcli("pexip", "conference", "status", "--breakout", ROOM_1, check=0).stdout)
    assert status["breakoutbuzz"]["value"] is True
    pcli("pexip", "breakout", "dismiss-help-room", "Room 1", check=0)
    status = json.loads(pcli("pexip", "conference", "status", "--breakout", ROOM_1[:8], check=0).stdout)
    assert status["breakoutbuzz"]["value"] is False


def test_layouts_are_listed_once_and_every_group_has_help(pcli):
    from confctl.vendors.pexip.rules import LAYOUTS

    text = pcli("pexip", "conference", "set-layout", "--help", env={"COLUMNS": "200"}, check=0).stdout
    assert text.count("one_main_twelve_around") == 1 and all(layout in text for layout in LAYOUTS)
    top = pcli("pexip", "--help", env={"COLUMNS": "200"}, check=0).stdout
    for group in ("token", "conference", "participant", "breakout", "call", "video-mix", "presentation", "node"):
        line = next(ln for ln in top.splitlines() if ln.strip().startswith(group + " "))
        assert "commands" not in line and len(line.split()) > 3, line


def test_hosts_get_a_control_participant_in_each_breakout_room(pcli, px):
    """The doc: breakout_begin carries "the participant uuid that they have been allocated inside the breakout
    as a control participant"; emptying the rooms "leaves the Host API control participants present"."""
    pcli("pexip", "token", "request", check=0)  # a kept token: a Host for the whole test
    try:
        room = json.loads(pcli("pexip", "breakout", "create", "Room 6", "--participant", "Bob", check=0).stdout)
        state = sim_state(px)
        inside = {p["uuid"]: p for p in state["rooms"][room["breakout_uuid"]]["participants"]}
        controls = [u for u in state["controls"] if u in inside]
        assert len(controls) == 1 and inside[controls[0]]["protocol"] == "api"
        pcli("pexip", "breakout", "empty", check=0)
        left = [p["display_name"] for p in sim_state(px)["rooms"][room["breakout_uuid"]]["participants"]]
        assert left == ["confctl"] and person(px, "Bob")[0] == "main"
        table = pcli("pexip", "participants", "-o", "json", check=0).stdout
        assert "Room 6" in table
    finally:
        pcli("pexip", "token", "release", check=0)
    assert not sim_state(px)["controls"]  # released with the host's token
