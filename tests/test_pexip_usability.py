"""Pexip rough edges a new user hits: --count does not count the opening roster, `sim pexip` finds the
simulator from a Pexip profile, hints name options that exist."""

from __future__ import annotations

import json

from pexip_support import pcli, px  # noqa: F401 (pcli, px: fixtures)

PEXIP_SIM = {"pexip_token_ttl": 30, "deferred_delay": 0.05}


def test_count_does_not_count_the_opening_roster(pcli, px):
    proc = pcli("pexip", "conference", "events", "--count", "1", "--timeout", "20", "-o", "jsonl", check=0)
    types = [json.loads(line)["type"] for line in proc.stdout.splitlines()]
    assert types[0] == "participant_sync_begin" and "participant_sync_end" in types  # printed...
    assert types[-1] not in ("participant_sync_begin", "participant_create", "participant_sync_end")  # ...not counted
    assert all("_sync" not in json.loads(line) for line in proc.stdout.splitlines())  # no private key printed


def test_sim_pexip_finds_the_simulator_from_a_pexip_profile(pcli, px):
    env = {"CONFCTL_PEXIP_URL": "", "CONFCTL_PEXIP_CONFERENCE": ""}
    pcli("profile", "add", "lab", "--provider", "pexip", "--url", px.url + "/pexip", "--conference", "meet.scratch",
         "--secret-store", "env", env=env, check=0)
    uid = pcli("sim", "pexip", "join", "Dana", env=env, check=0).stdout.strip()
    state = pcli("sim", "pexip", "state", env=env, check=0).stdout
    assert uid in state and '"alias": "meet.scratch"' in state  # the profile's node and conference
    elsewhere = pcli("sim", "pexip", "join", "Eve", "--url", px.url + "/gateway", env=env)
    assert elsewhere.returncode == 2 and "not a confctl Pexip simulator" in elsewhere.stderr


def test_a_missing_pin_hint_names_options_that_exist(pcli):
    proc = pcli("pexip", "conference", "status", env={"CONFCTL_PEXIP_PIN": ""})
    assert proc.returncode in (0, 3)
    assert "--pin-stdin" not in proc.stderr
    guests = pcli("pexip", "conference", "status", "-c", "meet.guests", env={"CONFCTL_PEXIP_PIN": ""})
    assert guests.returncode == 3 and "--secret-stdin" in guests.stderr and "--pin-stdin" not in guests.stderr
