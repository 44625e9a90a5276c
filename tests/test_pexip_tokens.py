"""Pexip token lifecycle end to end: request / refresh / release, the shared 0600 cache, no ghost participant
after commands that succeed, fail or are interrupted, PINs (host, guest, 'none'), Virtual Reception, SSO."""

from __future__ import annotations

import json
import signal
import stat
import time

import httpx
import pytest

from pexip_support import api_participants, pcli, px, sim_state  # noqa: F401 (pcli, px: fixtures)

# This module's own simulator clocks (pexip_support.px starts one per module).
PEXIP_SIM = {"pexip_token_ttl": 3, "deferred_delay": 0.05}


def test_twenty_commands_leave_no_ghost(pcli, px):
    commands = [
        ("pexip", "participant", "mute", "Bob"), ("pexip", "participant", "unmute", "bob"),
        ("pexip", "conference", "status"), ("pexip", "participants", "-o", "json"),
        ("pexip", "conference", "lock"), ("pexip", "conference", "unlock"),
        ("pexip", "participant", "spotlight", "65b4af2f"), ("pexip", "participant", "spotlight-off", "Bob"),
        ("pexip", "participant", "raise-hand", "Carol"), ("pexip", "conference", "lower-all-hands"),
        ("pexip", "conference", "set-layout", "--layout", "2:21"), ("pexip", "conference", "message", "hi"),
        ("pexip", "participant", "overlay-text", "Bob", "Robert"),
        ("pexip", "participant", "admit", "Bob"),                     # result false → exit 1
        ("pexip", "participant", "mute", "Nobody"),                   # no such participant → exit 4
        ("pexip", "conference", "set-pinning-config", "nope"),        # result false → exit 1
        ("pexip", "participant", "set-role", "Carol", "host"),
        ("pexip", "breakout", "participant-control", "00000000-0000-0000-0000-000000000001", "Heidi", "mute"),
        ("pexip", "conference", "get-classification"), ("pexip", "participant", "attestation"),
    ]
    assert len(commands) == 20
    codes = [pcli(*c).returncode for c in commands]
    assert codes.count(0) == 17 and codes[13] == 1 and codes[14] == 4 and codes[15] == 1, codes
    assert api_participants(px) == []
    assert sim_state(px)["tokens"] == 0


def test_ctrl_c_releases_the_token(pcli, px):
    proc = pcli.popen("pexip", "events", "-o", "jsonl")
    assert json.loads(proc.stdout.readline())["type"] == "participant_sync_begin"
    assert len(api_participants(px)) == 1
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 130
    assert api_participants(px) == []


def test_token_request_is_kept_reused_refreshed_and_released(pcli, px, home):
    httpx.post(px.url + "/pexip/_sim/ttl", json={"seconds": 6})  # a kept token lives `expires` s unrefreshed
    out = pcli("pexip", "token", "request", "-o", "json", check=0)
    info = json.loads(out.stdout)
    assert "token" not in info and info["kept"] is True and info["role"] == "HOST"
    cache = [p for p in (home / "cache").iterdir() if p.suffix == ".json"]
    assert len(cache) == 1 and stat.S_IMODE(cache[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "cache").stat().st_mode) == 0o700
    for _ in range(2):
        pcli("pexip", "participant", "mute", "Bob", check=0)
    time.sleep(1.0)  # past expires/3: the next command refreshes the cached token instead of requesting one
    pcli("pexip", "conference", "status", check=0)
    refreshed = json.loads(pcli("pexip", "token", "refresh", "-o", "json", check=0).stdout)
    assert refreshed["participant_uuid"] == info["participant_uuid"]
    ghosts = api_participants(px)
    assert [p["uuid"] for p in ghosts] == [info["participant_uuid"]]  # one participant, reused throughout
    released = json.loads(pcli("pexip", "token", "release", "-o", "json", check=0).stdout)
    assert released["participant_uuid"] == info["participant_uuid"]
    assert api_participants(px) == [] and not [p for p in (home / "cache").iterdir() if p.suffix == ".json"]
    for line in (out.stdout, out.stderr):
        assert sim_state(px)["tokens"] == 0 and "1234" not in line


def test_concurrent_commands_share_one_cache_and_leave_nothing(pcli, px):
    procs = [pcli.popen("pexip", "participant", "mute" if i % 2 else "unmute", "Bob") for i in range(6)]
    assert [p.wait(timeout=30) for p in procs] == [0] * 6
    assert api_participants(px) == []


def test_a_killed_holder_is_cleaned_up_by_the_next_command(pcli, px):
    proc = pcli.popen("pexip", "events", "-o", "jsonl")
    proc.stdout.readline()
    uuid = api_participants(px)[0]["uuid"]
    proc.kill()  # no cleanup possible: the token and its participant stay behind...
    proc.wait(timeout=5)
    assert [p["uuid"] for p in api_participants(px)] == [uuid]
    pcli("pexip", "conference", "status", check=0)  # ...until the next command reuses and releases it
    assert api_participants(px) == []


def test_guest_without_pin_sends_none_and_host_commands_explain(pcli, px):
    proc = pcli("pexip", "conference", "lock", env={"CONFCTL_PEXIP_PIN": ""})
    assert proc.returncode == 3, proc.stderr
    assert "joined meet.demo as a guest" in proc.stderr
    err = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "host PIN" in err["hint"]
    ok = pcli("pexip", "conference", "status", "-o", "json", env={"CONFCTL_PEXIP_PIN": ""}, check=0)
    assert json.loads(ok.stdout)["locked"] is False
    assert api_participants(px) == []


@pytest.mark.parametrize("conference,pin,words", [
    ("meet.guests", "", "requires a PIN for hosts and guests"),
    ("meet.demo", "9999", "PIN was not accepted"),
    ("reception.demo", "", "Virtual Reception"),
    ("meet.sso", "", "Microsoft Entra ID"),
    ("meet.nowhere", "1234", "no conference"),
])
def test_request_token_refusals_are_explained(pcli, conference, pin, words):
    proc = pcli("pexip", "conference", "status", env={"CONFCTL_PEXIP_CONFERENCE": conference,
                                                      "CONFCTL_PEXIP_PIN": pin})
    assert proc.returncode == (4 if conference == "meet.nowhere" else 3), proc.stderr
    assert words in proc.stderr


def test_guest_pin_and_virtual_reception_and_sso(pcli, px, tmp_path):
    guest = pcli("pexip", "token", "request", "-o", "json", env={"CONFCTL_PEXIP_CONFERENCE": "meet.guests",
                                                                  "CONFCTL_PEXIP_PIN": "2222"}, check=0)
    assert json.loads(guest.stdout)["role"] == "GUEST"
    pcli("pexip", "token", "release", env={"CONFCTL_PEXIP_CONFERENCE": "meet.guests", "CONFCTL_PEXIP_PIN": "2222"},
         check=0)
    via = pcli("pexip", "participants", "-o", "json", env={"CONFCTL_PEXIP_CONFERENCE": "reception.demo",
                                                            "CONFCTL_PEXIP_CONFERENCE_EXTENSION": "meet.open"}, check=0)
    assert [p["display_name"] for p in json.loads(via.stdout)] == ["confctl"]
    redirect = pcli("pexip", "token", "request", "-c", "meet.sso", "--chosen-idp",
                    "4fe19459-67b4-4e84-abb4-a3765a0a7e09", "-o", "json", check=0)
    assert json.loads(redirect.stdout)["redirect_url"].startswith("https://idp.example.com/")
    sso = pcli("pexip", "token", "request", "-c", "meet.sso", "--sso-token-file", "-", "-o", "json",
               input="assertion-from-idp\n", check=0)
    assert json.loads(sso.stdout)["role"] == "HOST"
    pcli("pexip", "token", "release", "-c", "meet.sso", check=0)
    for conf in ("meet.guests", "meet.open", "meet.sso"):
        assert api_participants(px, conf) == []


def test_maintenance_mode_is_exit_7(pcli, px):
    httpx.post(px.url + "/pexip/_sim/maintenance", json={"on": True})
    try:
        status = pcli("pexip", "node", "status")
        assert status.returncode == 7 and "Maintenance mode" in status.stderr
        assert pcli("pexip", "conference", "status").returncode == 7
    finally:
        httpx.post(px.url + "/pexip/_sim/maintenance", json={"on": False})
    assert json.loads(pcli("pexip", "node", "status", "-o", "json", check=0).stdout) == "OK"


def test_no_secret_in_debug_or_dry_run(pcli):
    debug = pcli("pexip", "participant", "mute", "Bob", "--debug", check=0)
    assert "1234" not in debug.stderr and "pin: <redacted>" in debug.stderr and "token: <redacted>" in debug.stderr
    dry = pcli("pexip", "conference", "lock", "--dry-run", check=0)
    assert '-H "token: $CONFCTL_PEXIP_TOKEN"' in dry.stdout and "1234" not in dry.stdout
    assert '-H "pin: $CONFCTL_PEXIP_PIN"' in dry.stdout and "| jq -r .result.token)" in dry.stdout
