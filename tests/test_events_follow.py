"""`confctl events follow` across providers: -c PROFILE:ID / PROVIDER:ID and where a plain -c goes, every
profile, conference and option checked before any source starts, a bare follow taking each provider's default
profile, one profile given twice followed once, and each provider's `events --help` showing its own options."""

from __future__ import annotations

import types

import httpx
import pytest

from confctl.core.errors import ValidationError
from confctl.core.events.command import assign_conferences

from test_mind_helpers import Lines, control, listeners, wait_for


# -- where -c goes (unit) --------------------------------------------------------------------------------------
def profile(name, provider, conference=None):
    return types.SimpleNamespace(name=name, provider=types.SimpleNamespace(name=provider),
                                 get=lambda field, default=None: conference if field == "conference" else default)


PEX, MIND, AUV, GW = (profile("pex", "pexip", "meet.demo"), profile("mnd", "mind", "demo-conference"),
                      profile("auv", "auvious"), profile("gw", "gateway"))


def test_a_plain_conference_goes_to_the_profiles_without_one_of_their_own():
    assert assign_conferences([PEX, MIND, AUV, GW], ["demo-room"]) == [[], [], ["demo-room"], []]


def test_one_profile_takes_a_plain_conference_even_over_its_own():
    assert assign_conferences([PEX], ["other"]) == [["other"]]
    assert assign_conferences([PEX, GW], ["other"]) == [["other"], []]


def test_profile_and_provider_prefixes():
    assert assign_conferences([PEX, MIND, AUV], ["pex:a", "mind:b", "c"]) == [["a"], ["b"], ["c"]]
    # environment-only profiles are all called "env": the provider name tells them apart
    env_pex, env_auv = profile("env", "pexip", "meet.demo"), profile("env", "auvious")
    assert assign_conferences([env_pex, env_auv], ["auvious:r1"]) == [[], ["r1"]]
    # a colon that names no followed profile or provider is part of the id
    assert assign_conferences([AUV], ["sip:room@x"]) == [["sip:room@x"]]


@pytest.mark.parametrize("values,profiles,says", [
    (["gw:x"], [PEX, GW], "takes no conference"),
    (["x"], [GW], "none of the followed profiles"),
    (["x"], [PEX, MIND], "ambiguous"),
    (["pex:"], [PEX], "no conference after the colon"),
])
def test_conference_mistakes(values, profiles, says):
    with pytest.raises(ValidationError) as caught:
        assign_conferences(profiles, values)
    assert says in caught.value.message


# -- end to end against the simulators -------------------------------------------------------------------------
@pytest.fixture
def profiles(cli, sim):
    """One file profile per provider (each the default), named after its provider; the CONFCTL_* variables
    the cli fixture sets are removed so only the profiles count. Auvious has no conference of its own."""
    env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_") or k in ("CONFCTL_CONFIG_DIR",
                                                                                     "CONFCTL_NO_INPUT")}
    cli.env = env
    base = sim.url
    specs = {
        "pexip": (["--url", f"{base}/pexip", "--conference", "meet.demo"], "1234"),
        "mind": (["--url", f"{base}/mind", "--app-id", "demo-app", "--conference", "demo-conference"],
                 "demo-app-token"),
        "auvious": (["--url", f"{base}/auvious", "--client-id", "demo-client"], "demo-secret"),
        "gateway": (["--url", f"{base}/gateway", "--app-id", "demo-app"], "demo-key"),
    }
    for name, (fields, secret) in specs.items():
        cli("profile", "add", name, "--provider", name, *fields, "--secret-stdin", "--secret-store", "file",
            input=secret + "\n", check=0)
    return cli


def test_the_issue_command_follows_each_provider(profiles, sim):
    proc = profiles("events", "follow", "-p", "pexip", "-p", "mind", "-p", "auvious", "-p", "gateway",
                    "-c", "demo-room", "--listen", "127.0.0.1:0", "--timeout", "4", "-o", "jsonl", check=0)
    assert "-c demo-room: for auvious/auvious" in proc.stderr
    assert "listening for gateway webhooks" in proc.stderr
    assert any('"provider":"pexip"' in line for line in proc.stdout.splitlines())  # orjson: compact lines
    assert "error" not in proc.stderr.lower()


def until_provider(lines, provider: str, timeout: float = 20.0) -> dict:
    import queue
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = lines.queue.get(timeout=0.2)
        except queue.Empty:
            continue
        assert event is not None, "the stream ended"
        lines.seen.append(event)
        if event["provider"] == provider:
            return event
    raise AssertionError(f"no {provider} event; saw {[e['provider'] + ' ' + e['type'] for e in lines.seen]}")


def test_a_bare_follow_takes_each_providers_default_profile(profiles, sim):
    profiles("profile", "edit", "auvious", "--conference", "demo-room", check=0)
    proc = profiles.popen("events", "follow", "--listen", "127.0.0.1:0", "--timeout", "8", "-o", "jsonl")
    try:
        wait_for(lambda: listeners(sim, "demo-conference") == 1 or proc.poll() is not None, what="mind socket")
        lines = Lines(proc)
        lines.until("participant_sync_end")  # pexip
        control(sim, "demo-conference", "join", name="Zed")
        assert lines.until("participant.created")["provider"] == "mind"
        httpx.post(f"{sim.url}/auvious/_sim/conferences/demo-room/activity", json={}, timeout=10)
        assert until_provider(lines, "auvious")["conference"] == "demo-room"
        proc.wait(timeout=20)
        stderr = proc.stderr.read()
        assert proc.returncode == 0, stderr
        assert "listening for gateway webhooks" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("argv,says", [
    (["-p", "pexip", "-p", "gateway", "-p", "mind", "-c", "mind:"], "no conference after the colon"),
    (["-p", "pexip", "-p", "gateway", "-p", "auvious"], "no conference to follow"),
    (["-p", "pexip", "-p", "gateway", "-c", "gateway:x"], "takes no conference"),
    (["-p", "pexip", "-p", "mind", "-c", "x"], "ambiguous"),
    (["-p", "pexip", "-p", "gateway", "--cursor-file", "c.json"], "--cursor-file applies to auvious"),
    (["-p", "mind", "--listen", "127.0.0.1:1"], "--listen applies to gateway"),
    (["-p", "pexip", "-p", "gateway", "--listen", "nowhere"], "--listen"),
    (["-p", "pexip", "-p", "mind", "-c", "mind:.."], "'..' path segment"),
    (["-p", "pexip", "-p", "auvious", "-c", "auvious:a%2fb"], "must not contain '/' (percent-encoded)"),
    (["-p", "pexip", "-p", "nope"], "no profile named 'nope'"),
])
def test_every_mistake_is_found_before_any_source_starts(profiles, sim, argv, says):
    sim.app.state.requests.clear()
    proc = profiles("events", "follow", *argv, "--timeout", "5", check=2)
    assert says in proc.stderr
    assert "listening" not in proc.stderr  # the gateway receiver never started
    assert sim.app.state.requests == []    # and no source sent anything (no Pexip token was requested)


def test_a_missing_secret_is_found_before_any_source_starts(profiles, sim):
    # an auvious profile whose secret is to come from the environment, which does not have it
    profiles("profile", "add", "auv-env", "--provider", "auvious", "--url", f"{sim.url}/auvious", "--client-id",
             "demo-client", "--secret-store", "env", check=0)
    sim.app.state.requests.clear()
    proc = profiles("events", "follow", "-p", "pexip", "-p", "gateway", "-p", "auv-env", "-c", "auv-env:demo-room",
                    "--timeout", "5", check=3)
    assert "client secret" in proc.stderr and "listening" not in proc.stderr
    assert sim.app.state.requests == []


def test_the_same_profile_twice_is_followed_once(profiles, sim):
    proc = profiles.popen("events", "follow", "-p", "mind", "-p", "mind", "--timeout", "6", "-o", "jsonl")
    try:
        wait_for(lambda: listeners(sim, "demo-conference") == 1 or proc.poll() is not None, what="mind socket")
        control(sim, "demo-conference", "join", name="Twice")
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert "given more than once; following it once" in err
        created = [line for line in out.splitlines() if "participant.created" in line and "Twice" in line]
        assert len(created) == 1 and "4001" not in err
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_providers_events_help_shows_only_its_options(cli):
    own = {"mind": ["--conference"], "gateway": ["--listen", "--forward-to"],
           "auvious": ["--conference", "--cursor-file"], "pexip": ["--conference", "--save-frames"]}
    every = {"--conference", "--listen", "--forward-to", "--cursor-file", "--save-frames"}
    for provider, options in own.items():
        text = cli(provider, "events", "--help", env={"COLUMNS": "160"}, check=0).stdout
        for option in every:
            assert (option in text) == (option in options), (provider, option)
    text = cli("events", "follow", "--help", env={"COLUMNS": "160"}, check=0).stdout
    for marked in ("[gateway] address", "[gateway] also POST", "[auvious] persist", "[pexip] fetch"):
        assert marked in text
    assert "PROFILE:ID" in text


def test_conference_given_on_the_command_line_stands_in_for_the_profile_field(cli):
    proc = cli("pexip", "events", "-c", "meet.demo", "--timeout", "3", "-o", "jsonl",
               env={"CONFCTL_PEXIP_CONFERENCE": ""}, check=0)
    assert '"conference":"meet.demo"' in proc.stdout
    cli("pexip", "events", "--timeout", "3", env={"CONFCTL_PEXIP_CONFERENCE": ""}, check=2)
