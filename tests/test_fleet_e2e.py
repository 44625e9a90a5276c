"""The cross-vendor commands end to end: the real CLI (in this process) against all four simulators over loopback,
one profile per vendor. One simulator per module, reset before each test."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import InProcessCLI
from meeting_support import meeting_sim, profile_env, reset

PROFILES = ("sim-gateway", "sim-pexip", "sim-mind", "sim-auvious")
GW_ROOM = "town-hall"
GW_SESSION = "tHall-2b8d4f63-0c1e-4a7b-9d2f-3e4a5b6c7d8e"  # joined unmuted


@pytest.fixture(scope="module")
def fsim():
    with meeting_sim() as running:
        yield running


def _reset(fsim) -> None:
    reset(fsim)


@pytest.fixture
def fleet(home, fsim, monkeypatch):
    """A CLI with one profile per vendor pointed at the simulator (secrets in the 0600 file), nothing else
    from the environment."""
    return InProcessCLI(profile_env(home, fsim, monkeypatch))


def everyone(cli, *args, profiles=PROFILES) -> list[dict]:
    proc = cli("participants", *[a for p in profiles for a in ("-p", p)], "-o", "json", *args, check=0)
    return json.loads(proc.stdout)


def who(people, vendor, name):
    return next(p for p in people if p["vendor"] == vendor and p["name"] == name)


def sent(fsim, vendor=None) -> list[tuple[str, str]]:
    return [r for r in fsim.app.state.requests if "/_sim/" not in r[1] and (vendor is None or f"/{vendor}/" in r[1])]


# -- listings ------------------------------------------------------------------------------------------------
def test_participants_of_every_vendor_in_the_common_schema(fleet):
    from confctl.core.fleet.model import PARTICIPANT_FIELDS

    people = everyone(fleet)
    assert {p["vendor"] for p in people} == {"gateway", "pexip", "mind", "auvious"}
    for p in people:
        assert set(PARTICIPANT_FIELDS) | {"raw"} == set(p), p
        assert p["raw"] is not None
    heidi = who(people, "pexip", "Heidi")
    assert heidi["room"] == "Room 1"  # a Pexip breakout room, listed with the main room
    assert who(people, "pexip", "Bob")["room"] is None
    gw = {p["id"]: p for p in people if p["vendor"] == "gateway"}
    assert gw[GW_SESSION]["muted_audio"] is False and gw[GW_SESSION]["conference"].startswith("tHall-room")


def test_participants_table_jsonl_and_ids(fleet):
    table = fleet("participants", "-p", "sim-pexip", "-p", "sim-gateway", "-o", "table", "--color", "never",
                  check=0).stdout
    head = table.splitlines()[0]
    for col in ("vendor", "profile", "conference", "id", "name", "role", "muted_audio", "room"):
        assert col in head
    assert "Room 1" in table and "\x1b[" not in table
    lines = fleet("participants", "-p", "sim-pexip", "-o", "jsonl", check=0).stdout.splitlines()
    assert all(json.loads(line)["vendor"] == "pexip" for line in lines) and len(lines) >= 5
    ids = fleet("participants", "-p", "sim-pexip", "--where", "name==Bob", "-o", "id", check=0).stdout.split()
    assert ids == ["sim-pexip:meet.demo/65b4af2f-657a-4081-98a8-b17667628ce3"]  # an address the verbs take


def test_where_filters_and_their_errors(fleet):
    guests = everyone(fleet, "--where", "vendor==pexip", "--where", "role==guest")
    assert guests and {p["role"] for p in guests} == {"guest"} and {p["vendor"] for p in guests} == {"pexip"}
    bo = everyone(fleet, "--where", "name~=^Bo")
    assert {p["name"] for p in bo} == {"Bob"} and len(bo) >= 2  # Pexip's and Mind's Bob (and others)
    unmuted = everyone(fleet, "--where", "muted_audio==false", "--where", "vendor==gateway")
    assert GW_SESSION in {p["id"] for p in unmuted} and all(p["muted_audio"] is False for p in unmuted)
    bad = fleet("participants", "-p", "sim-pexip", "--where", "colour==red")
    assert bad.returncode == 2 and "colour" in bad.stderr and "muted_audio" in bad.stderr
    assert fleet("participants", "-p", "sim-pexip", "--where", "joined_at>=soon").returncode == 2


def test_conferences_of_every_vendor(fleet):
    confs = json.loads(fleet("conferences", "--all-profiles", "-o", "json", check=0).stdout)
    by_vendor = {c["vendor"] for c in confs}
    assert by_vendor == {"gateway", "pexip", "mind", "auvious"}
    pexip = next(c for c in confs if c["vendor"] == "pexip")
    assert pexip["id"] == "meet.demo" and pexip["locked"] is False and pexip["participants"] >= 5
    only = json.loads(fleet("conferences", "--all-profiles", "-c", f"sim-gateway:{GW_ROOM}", "-o", "json",
                            check=0).stdout)
    assert [c["name"] for c in only if c["vendor"] == "gateway"] == [GW_ROOM]
    plain = json.loads(fleet("conferences", "--all-profiles", "-c", GW_ROOM, "-o", "json", check=0).stdout)
    assert [(c["vendor"], c["name"]) for c in plain] == [("gateway", GW_ROOM)]  # the others do not have it
    nowhere = fleet("conferences", "--all-profiles", "-c", "no-such-room")
    assert nowhere.returncode == 2 and "no-such-room" in nowhere.stderr


def test_one_failing_profile_keeps_the_others_and_exits_8(fleet, fsim):
    fleet("profile", "add", "broken-gw", "--provider", "gateway", "--url", f"{fsim.url}/gateway", "--app-id",
          "demo-app", "--secret-stdin", "--secret-store", "file", input="wrong-key\n", check=0)
    proc = fleet("participants", "-p", "sim-pexip", "-p", "broken-gw", "-o", "json")
    assert proc.returncode == 8, proc.stderr
    assert {p["vendor"] for p in json.loads(proc.stdout)} == {"pexip"}  # the partial listing is printed
    assert "broken-gw" in proc.stderr
    alone = fleet("participants", "-p", "broken-gw")
    assert alone.returncode == 3 and alone.stdout == ""  # the only profile failed: its own code (auth)


# -- verbs ---------------------------------------------------------------------------------------------------
def test_mute_across_vendors_then_already(fleet, fsim):
    targets = ("sim-pexip:meet.demo/Bob", f"sim-gateway:{GW_ROOM}/tHall-2")
    first = fleet("mute", *targets, "-o", "json", check=0)
    items = json.loads(first.stdout)
    assert [(i["vendor"], i["ok"], i["note"]) for i in items] == [("pexip", True, "muted"), ("gateway", True, "muted")]
    # The report says it once: the vendor commands' own progress lines are not repeated on stderr.
    assert "participant mute: ok" not in first.stderr and "muting" not in first.stderr, first.stderr
    people = everyone(fleet)
    assert who(people, "pexip", "Bob")["muted_audio"] is True
    assert next(p for p in people if p["id"] == GW_SESSION)["muted_audio"] is True
    again = fleet("mute", *targets, "-o", "json", check=0)
    assert [(i["ok"], i.get("already"), i["note"]) for i in json.loads(again.stdout)] == [
        (True, True, "already muted"), (True, True, "already muted")]
    assert _confctl_tokens(fsim) == []  # every Pexip token confctl took was released


def _confctl_tokens(fsim) -> list:
    state = httpx.get(f"{fsim.url}/pexip/_sim/state", params={"conference": "meet.demo"}).json()
    controls = set(state["controls"])
    return [p["uuid"] for r in state["rooms"].values() for p in r["participants"]
            if p["protocol"] == "api" and p["uuid"] not in controls]


def _supported() -> list[tuple[str, str]]:
    from confctl.core.fleet.verbs import VERBS
    from confctl.core.registry import PROVIDERS

    return [(vendor, verb) for vendor, spec in PROVIDERS.items() for verb in VERBS if spec.verb(verb)]


# A target per vendor for participant verbs (someone who is not a host) and conference verbs.
PERSON = {"gateway": f"sim-gateway:{GW_ROOM}/tHall-2", "pexip": "sim-pexip:meet.demo/Bob",
          "mind": "sim-mind:demo-conference/Erin", "auvious": "sim-auvious:demo-room/Bob"}
ROOM = {"gateway": f"sim-gateway:{GW_ROOM}", "pexip": "sim-pexip:meet.demo",
        "mind": "sim-mind:demo-conference", "auvious": "sim-auvious:demo-room"}
# What the common model shows after the verb: (field, value) on the target (None: the participant is gone).
AFTER = {"mute": ("muted_audio", True), "unmute": ("muted_audio", False), "kick": None}


@pytest.mark.parametrize("vendor,verb", _supported())
def test_every_verb_on_every_vendor_that_supports_it(fleet, fsim, vendor, verb):
    from confctl.core.fleet.verbs import VERBS

    kind = VERBS[verb][0]
    target = PERSON[vendor] if kind == "participant" else ROOM[vendor]
    if verb in ("unmute", "unspotlight", "unlock", "unmute-all"):  # make the goal not hold first
        fleet(verb[2:] if verb.startswith("un") else verb, target, "-y", check=0)
    proc = fleet(verb, target, "-y", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    [item] = json.loads(proc.stdout)
    assert item["ok"] is True and item["vendor"] == vendor, item
    assert not item.get("already"), item
    if kind == "participant" and verb in AFTER:
        name = item["name"]
        people = [p for p in everyone(fleet, profiles=[f"sim-{vendor}"]) if p["name"] == name]
        if AFTER[verb] is None:
            assert not people or all(p["id"] not in item["target"] for p in people)
        else:
            field, value = AFTER[verb]
            assert any(p[field] is value for p in people), people
    if verb in ("lock", "unlock"):
        confs = json.loads(fleet("conferences", "-p", target.split(":")[0], "-o", "json", check=0).stdout)
        assert confs[0]["locked"] is (verb == "lock")
    if verb == "mute-all" and vendor == "gateway":  # done member by member: each one shows it
        guests = [p for p in everyone(fleet, profiles=[f"sim-{vendor}"]) if p["conference"] in item["target"]
                  and (p["role"] or "") not in ("chair", "host", "moderator")]
        assert guests and all(p["muted_audio"] is True for p in guests)


def test_a_verb_the_vendor_lacks_is_refused_before_anything_is_sent(fleet, fsim):
    unsupported = [(vendor, verb) for vendor in PERSON for verb in ("mute", "lock", "spotlight")
                   if (vendor, verb) not in _supported()]
    assert unsupported, "every vendor supports everything: nothing to refuse"
    for vendor, verb in unsupported:
        target = PERSON[vendor] if verb != "lock" else ROOM[vendor]
        fsim.app.state.requests.clear()
        proc = fleet(verb, target)
        assert proc.returncode == 2, (vendor, verb, proc.stderr)
        assert vendor in proc.stderr and "confctl capabilities" in proc.stderr
        assert sent(fsim) == [], (vendor, verb)
    # by filter: every profile whose vendor lacks it is refused, unless the filter leaves it out
    fsim.app.state.requests.clear()
    broad = fleet("mute", "--all-profiles", "--where", "role==guest")
    assert broad.returncode == 2 and "vendor!=" in broad.stderr and sent(fsim) == []
    narrowed = fleet("mute", "--all-profiles", "--where", "role==guest", "--where", "vendor==pexip", "-o", "json")
    assert narrowed.returncode == 0 and {i["vendor"] for i in json.loads(narrowed.stdout)} == {"pexip"}
    # a mix: the supported target is not sent either
    vendor, verb = unsupported[0]
    other = PERSON["pexip"] if verb != "lock" else ROOM["pexip"]
    fsim.app.state.requests.clear()
    assert fleet(verb, other, PERSON[vendor] if verb != "lock" else ROOM[vendor]).returncode == 2
    assert sent(fsim) == []


def test_targets_by_filter_and_bad_addresses(fleet, fsim):
    proc = fleet("mute", "-p", "sim-pexip", "--where", "role==guest", "--where", "room==null", "-o", "json", check=0)
    assert {i["name"] for i in json.loads(proc.stdout)} == {"Bob", "Carol"}
    by_name = fleet("unmute", "sim-pexip:Demo VMR/bob", "sim-gateway:tHall/tHall-2", "-o", "json", check=0)
    assert [i["target"] for i in json.loads(by_name.stdout)] == [  # conference by name or id prefix
        "sim-pexip:meet.demo/65b4af2f-657a-4081-98a8-b17667628ce3",
        f"sim-gateway:tHall-room-6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b/{GW_SESSION}"]
    ambiguous = fleet("mute", "sim-pexip:meet.demo/nobody")
    assert ambiguous.returncode == 2 and "Alice" in ambiguous.stderr  # the candidates are listed
    assert fleet("mute", "no-such-profile:x/y").returncode == 2
    assert fleet("mute", "meet.demo/Bob").returncode == 2  # no profile and no single -p
    assert fleet("mute").returncode == 2
    nothing = fleet("mute", "-p", "sim-pexip", "--where", "name==Zed")
    assert nothing.returncode == 0 and "nothing matches" in nothing.stderr


def test_partial_failure_exits_8_and_all_failing_that_code(fleet, fsim):
    httpx.post(f"{fsim.url}/gateway/_sim/throttle", json={"count": 50, "retry_after": 5}).raise_for_status()
    proc = fleet("--max-wait", "0", "mute", "sim-pexip:meet.demo/Bob", f"sim-gateway:{GW_ROOM}/tHall-2", "-o", "json")
    assert proc.returncode == 8, proc.stderr
    items = json.loads(proc.stdout)
    assert [i["ok"] for i in items] == [True, False] and items[1]["error"]
    alone = fleet("--max-wait", "0", "mute", f"sim-gateway:{GW_ROOM}/tHall-1", "-o", "json")
    assert alone.returncode == 6, alone.stderr  # rate limited, the failure's own code


def test_kick_asks_first_and_dry_run_sends_nothing(fleet, fsim):
    refused = fleet("kick", "sim-pexip:meet.demo/Carol")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert who(everyone(fleet), "pexip", "Carol")
    fsim.app.state.requests.clear()
    dry = fleet("--dry-run", "mute", "sim-pexip:meet.demo/Bob", f"sim-gateway:{GW_ROOM}/tHall-2", check=0)
    assert "/participants/65b4af2f-657a-4081-98a8-b17667628ce3/mute" in dry.stdout
    assert f"/sessions/{GW_SESSION}/commands/conference/mute" in dry.stdout
    assert not [r for r in sent(fsim) if r[1].endswith("/mute")]
    assert who(everyone(fleet), "pexip", "Bob")["muted_audio"] is False


def test_capabilities_json_agrees_with_the_specs(fleet):
    rows = json.loads(fleet("capabilities", "-o", "json", check=0).stdout)
    pairs = {(r["vendor"], r["verb"]) for r in rows if r["supported"]}
    assert pairs == set(_supported())
    table = fleet("capabilities", "-o", "table", "--color", "never", check=0).stdout
    assert "pexip.participant.mute" in table and "verb" in table.splitlines()[0]


# -- participants --watch ------------------------------------------------------------------------------------
def _envelope(vendor, profile, etype, data, conference=None, second=0):
    return {"time": f"2026-12-01T10:00:{second:02d}.000Z", "provider": vendor, "profile": profile,
            "conference": conference, "type": etype, "id": None, "data": data}


def test_watch_replay_feeds_the_roster_as_live_events_would(fleet, tmp_path):
    bob = {"uuid": "65b4af2f-657a-4081-98a8-b17667628ce3", "display_name": "Bob", "role": "guest", "is_muted": "NO"}
    ann = {"uuid": "11111111-2222-4333-8444-555555555555", "display_name": "Ann", "role": "guest", "is_muted": "YES"}
    snapshot = {"conferences": [{"vendor": "gateway", "profile": "gw", "id": "room-1", "name": "town-hall"}],
                "participants": [{"vendor": "gateway", "profile": "gw", "conference": "room-1", "id": "s-1",
                                  "name": "+15550100", "muted_audio": False}], "covers": ["room-1"]}
    events = [_envelope("gateway", "gw", "snapshot", snapshot),
              _envelope("pexip", "px", "participant_create", bob, "meet.demo", 1),
              _envelope("pexip", "px", "participant_create", ann, "meet.demo", 2),
              _envelope("pexip", "px", "participant_update", {**bob, "is_muted": "YES"}, "meet.demo", 3),
              _envelope("pexip", "px", "participant_delete", {"uuid": ann["uuid"]}, "meet.demo", 4)]
    rec = tmp_path / "meeting.jsonl"
    rec.write_text("".join(json.dumps(e) + "\n" for e in events))
    proc = fleet("participants", "--watch", "--replay", str(rec), "--speed", "max", "-o", "json", check=0)
    people = {(p["vendor"], p["name"]): p for p in json.loads(proc.stdout)}
    assert set(people) == {("gateway", "+15550100"), ("pexip", "Bob")}
    assert people[("pexip", "Bob")]["muted_audio"] is True and people[("pexip", "Bob")]["raw"]["is_muted"] == "YES"
    only = fleet("participants", "--watch", "--replay", str(rec), "--speed", "max", "--where", "vendor==pexip",
                 "-o", "id", check=0).stdout.split()
    assert only == ["px:meet.demo/65b4af2f-657a-4081-98a8-b17667628ce3"]
    assert fleet("participants", "--replay", str(rec)).returncode == 2  # --replay goes with --watch
    assert fleet("participants", "--watch", "--replay", str(tmp_path / "missing.jsonl")).returncode == 2


def test_watch_without_a_terminal_prints_the_roster_when_it_ends(fleet):
    proc = fleet("participants", "--watch", "-p", "sim-gateway", "--timeout", "2.5", "-o", "json", check=0)
    people = json.loads(proc.stdout)
    assert GW_SESSION in {p["id"] for p in people} and {p["vendor"] for p in people} == {"gateway"}


def test_a_protected_profile_asks_before_any_verb(fleet, fsim):
    fleet("profile", "add", "prod-pexip", "--provider", "pexip", "--url", f"{fsim.url}/pexip", "--conference",
          "meet.demo", "--protected", "--secret-stdin", "--secret-store", "file",
          input=fsim.env()["CONFCTL_PEXIP_PIN"] + "\n", check=0)
    fsim.app.state.requests.clear()
    refused = fleet("mute", "prod-pexip:meet.demo/Bob", f"sim-gateway:{GW_ROOM}/tHall-2")
    assert refused.returncode == 2 and "protected" in refused.stderr and "prod-pexip" in refused.stderr
    assert not [r for r in sent(fsim) if r[1].endswith("/mute")]  # neither target: nothing was sent
    done = fleet("mute", "-y", "prod-pexip:meet.demo/Bob", "-o", "json", check=0)
    assert json.loads(done.stdout)[0]["note"] == "muted"


def test_watch_at_a_terminal_draws_the_live_table(fleet, tmp_path):
    from tests.test_terminal import run_in_pty

    people = [{"uuid": f"0000000{i}-2222-4333-8444-555555555555", "display_name": name, "role": "guest",
               "is_muted": "YES" if i % 2 else "NO"} for i, name in enumerate(("Bob", "Carol", "Dana"))]
    rec = tmp_path / "meeting.jsonl"
    rec.write_text("".join(json.dumps(_envelope("pexip", "px", "participant_create", p, "meet.demo", i)) + "\n"
                           for i, p in enumerate(people)))
    code, text = run_in_pty(["participants", "--watch", "--replay", str(rec), "--speed", "max", "--color", "never"],
                            fleet.env, 160)
    assert code == 0, text
    assert all(name in text for name in ("Bob", "Carol", "Dana")) and "3 participants" in text
    assert "muted_audio" in text and "pexip/px: connected" in text
    code, narrow = run_in_pty(["participants", "--watch", "--replay", str(rec), "--speed", "max", "--color",
                               "never"], fleet.env, 70)
    assert code == 0 and "hidden at this width" in narrow and "Carol" in narrow
