"""`confctl wait`: the conditions (parsed, malformed ones exit 2 with nothing started), how they are decided over
the live model (already true at once; conditions an incomplete view could fake wait for every source's opening
state; event conditions latch and ignore opening rosters), the run (success, --timeout exit 11, a replay that
ends first, cleanup of every source) with fake and replayed sources, and end to end against the simulator."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from confctl.core.errors import ValidationError, exit_code_for
from confctl.core.fleet import wait as w
from confctl.core.fleet.model import Conference, Participant


def person(name, pid=None, profile="prod", conference="room", **flags) -> dict:
    return Participant("nope", profile, conference, pid or name.lower(), name=name, **flags).to_dict()


def snapshot(people, profile="prod", locked=None, time_="2026-12-01T10:00:00.000Z") -> dict:
    confs = [Conference("nope", profile, "room", name="Room", locked=locked).to_dict()]
    return {"time": time_, "provider": "nope", "profile": profile, "conference": None, "type": "snapshot",
            "id": None, "data": {"conferences": confs, "participants": people, "covers": ["room"]}}


def event(etype, profile="prod", time_="2026-12-01T10:00:01.000Z", **extra) -> dict:
    return {"time": time_, "provider": "nope", "profile": profile, "conference": "room", "type": etype,
            "id": None, "data": {}, **extra}


def waiter(*texts, any_=False, expected=("nope/prod",), clock=time.monotonic) -> w.Waiter:
    return w.Waiter([w.parse(t) for t in texts], any_=any_, expected=set(expected), clock=clock)


def feed(wt: w.Waiter, env: dict) -> bool:
    """Hand one envelope to the waiter; True when that made the conditions hold."""
    try:
        wt.print(env)
    except w.Satisfied:
        return True
    return False


# -- parsing -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind", [
    ("participants>=3", "count"), ("participants >= 3", "count"), ("participants<2", "count"),
    ("participants==0", "count"), ("participants!=1", "count"), ("empty", "count"), ("joined:Alice", "present"),
    ("left:Bob Smith", "absent"), ("muted:Carol", "flag"), ("unmuted:Carol", "flag"), ("hand:Dan", "flag"),
    ("speaking:Eve", "flag"), ("presenting:Fay", "flag"), ("locked", "locked"), ("unlocked", "locked"),
    ("event:conference.play.finished", "event"), ("event:participant_*", "event"),
])
def test_conditions_parse(text, kind):
    assert w.parse(text).kind == kind


@pytest.mark.parametrize("text", ["participants>=", "participants>=x", "bogus", "joined:", "event:", "muted",
                                  "people>=3", ""])
def test_a_malformed_condition_is_a_validation_error_naming_it(text):
    with pytest.raises(ValidationError, match="--for"):
        w.parse(text)


def test_a_malformed_condition_exits_2_with_nothing_started(cli, sim):
    before = len(sim.app.state.requests)
    proc = cli("wait", "--for", "participants>=three", "--timeout", "5")
    assert proc.returncode == 2 and "participants>=N" in proc.stderr
    assert sim.app.state.requests[before:] == []


# -- deciding ------------------------------------------------------------------------------------------------
def test_a_condition_already_true_in_the_opening_state_holds_at_once():
    wt = waiter("participants>=2", "joined:alice")
    assert feed(wt, snapshot([person("Alice"), person("Bob")]))


def test_conditions_an_incomplete_view_could_fake_wait_for_every_source():
    wt = waiter("empty", expected=("nope/prod", "nope/lab"))
    assert not feed(wt, snapshot([], profile="prod"))  # lab has not said yet
    assert feed(wt, snapshot([], profile="lab"))


def test_all_must_hold_unless_any():
    people = [person("Alice")]
    assert not feed(waiter("joined:Alice", "joined:Bob"), snapshot(people))
    assert feed(waiter("joined:Alice", "joined:Bob", any_=True), snapshot(people))


def test_names_match_case_insensitively_by_id_or_glob_and_flags_must_hold():
    people = [person("Alice Smith", pid="uuid-1", muted_audio=True), person("Bob", muted_audio=False)]
    assert feed(waiter("joined:alice smith"), snapshot(people))
    assert feed(waiter("joined:uuid-1"), snapshot(people))
    assert feed(waiter("joined:Al*"), snapshot(people))
    assert not feed(waiter("joined:Ali"), snapshot(people))
    assert feed(waiter("muted:Alice*"), snapshot(people))
    wt = waiter("muted:Bob")
    assert not feed(wt, snapshot(people))
    assert wt.detail(wt.conditions[0]) == "prod:room/Bob muted_audio=false"
    assert feed(waiter("unmuted:Bob"), snapshot(people))


def test_left_and_locked():
    assert feed(waiter("left:Zed"), snapshot([person("Alice")]))
    assert not feed(waiter("left:Alice"), snapshot([person("Alice")]))
    assert feed(waiter("locked"), snapshot([], locked=True))
    assert not feed(waiter("locked"), snapshot([], locked=False))
    assert not feed(waiter("locked"), snapshot([], locked=None))  # unknown is not locked


def test_event_conditions_ignore_opening_rosters_and_snapshots_then_latch():
    wt = waiter("event:participant_*", "participants>=1")
    assert not feed(wt, event("participant_create", _record_sync=True))
    assert not feed(wt, snapshot([]))
    assert not feed(wt, event("participant_create"))  # seen (latched), but nobody is in yet
    assert wt.conditions[0].seen is not None
    assert feed(wt, snapshot([person("Alice")]))


def test_an_opening_roster_counts_as_complete_after_a_quiet_spell():
    now = [0.0]
    wt = waiter("left:Nobody", clock=lambda: now[0])
    assert not feed(wt, event("participant_sync_begin", _record_sync=True))
    assert not feed(wt, event("participant_sync_end", _record_sync=True))
    assert not feed(wt, event("breakout_begin"))  # the breakouts' rosters may follow
    wt.tick()
    assert not wt.satisfied
    now[0] = w.SETTLE + 0.01
    wt.tick()
    assert wt.satisfied


def test_a_later_event_ends_an_opening_roster_in_a_replay():
    wt = waiter("left:Nobody")
    assert not feed(wt, event("participant_sync_end", _record_sync=True, time_="2026-12-01T10:00:00.000Z"))
    assert feed(wt, event("participant_create", time_="2026-12-01T10:00:05.000Z"))


def test_gap_records_say_nothing_of_the_state():
    wt = waiter("empty")
    assert not feed(wt, event("gap"))
    assert feed(wt, snapshot([]))


def test_a_webhook_before_the_first_poll_is_not_the_opening_state():
    wt = waiter("empty")
    wt.snapshot_first = {"nope/prod"}
    assert not feed(wt, event("conference.member.left"))
    assert feed(wt, snapshot([]))


def test_where_narrows_the_participants():
    from confctl.core.fleet.model import PARTICIPANT_FIELDS
    from confctl.core.fleet.where import compile_all

    wt = waiter("participants>=2")
    wt.where = compile_all(["role==guest"], PARTICIPANT_FIELDS)
    assert not feed(wt, snapshot([person("A", role="guest"), person("B", role="host")]))
    assert feed(wt, snapshot([person("A", role="guest"), person("C", role="guest")]))


# -- the run, with fake sources ------------------------------------------------------------------------------
class Source:
    """A source yielding its envelopes, then idling until stop; records that its cleanup ran."""

    def __init__(self, *events, end=False):
        self.events = events
        self.end = end
        self.cleaned = False

    def __call__(self, stop):
        try:
            for e in self.events:
                yield dict(e)
            while not self.end and not stop.is_set():
                stop.wait(0.05)
        finally:
            self.cleaned = True


def test_the_run_returns_when_the_conditions_hold_and_cleans_up():
    src = Source(snapshot([]), snapshot([person("Alice"), person("Bob"), person("Carol")]))
    wt = waiter("participants>=3")
    w.run_wait(wt, [("nope/prod", src)], timeout=30, replaying=False)
    assert wt.satisfied and src.cleaned


def test_timeout_is_exit_11_and_cleans_up():
    src = Source(snapshot([person("Alice")]))
    wt = waiter("participants>=3")
    with pytest.raises(w.WaitTimedOut) as info:
        w.run_wait(wt, [("nope/prod", src)], timeout=0.2, replaying=False)
    assert exit_code_for(info.value) == 11
    assert "timed out after 0.2s: participants>=3 (1 participant) did not hold" in info.value.message
    assert src.cleaned
    wt = waiter("joined:Bob", "joined:Carol", any_=True)
    with pytest.raises(w.WaitTimedOut, match=r"none of joined:Bob \(nobody by that name\); joined:Carol"):
        w.run_wait(wt, [("nope/prod", Source(snapshot([person("Alice")])))], timeout=0.2, replaying=False)


def test_a_source_error_ends_the_wait_with_its_code():
    from confctl.core.errors import AuthError

    def failing(stop):
        raise AuthError("token refresh failed")
        yield  # pragma: no cover

    with pytest.raises(AuthError):
        w.run_wait(waiter("empty"), [("nope/prod", failing)], timeout=5, replaying=False)


def recording(tmp_path, events) -> str:
    path = tmp_path / "rec.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def test_wait_over_a_replayed_recording(cli, tmp_path):
    bob = {**person("Bob"), "raw": {"name": "Bob", "token": "p-secret-123456"}}  # a raw record with a secret
    rec = recording(tmp_path, [snapshot([person("Alice")]), event("conference.play.finished"),
                               snapshot([person("Alice"), bob], time_="2026-12-01T10:00:02.000Z")])
    ok = cli("wait", "--replay", rec, "--speed", "max", "--for", "participants>=2", "--for",
             "event:conference.play.*")
    assert ok.returncode == 0, ok.stderr
    assert "participants>=2 holds (2 participants)" in ok.stderr
    short = cli("wait", "--replay", rec, "--speed", "max", "--for", "participants>=3")
    assert short.returncode == 11 and "the recording ended first" in short.stderr
    data = cli("wait", "--replay", rec, "--speed", "max", "--for", "joined:Bob", "-o", "json")
    report = json.loads(data.stdout)
    assert report["satisfied"] is True and [p["name"] for p in report["participants"]] == ["Alice", "Bob"]
    assert '"token": "<redacted>"' in data.stdout and "p-secret-123456" not in data.stdout
    other = cli("wait", "--replay", rec, "--speed", "max", "-p", "lab", "--for", "joined:Alice")
    assert other.returncode == 11  # -p keeps only that profile's envelopes


# -- end to end, against the simulator -------------------------------------------------------------------------
@pytest.fixture
def pexip_only(cli, sim):
    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_") or k.startswith("CONFCTL_PEXIP")
               or k in ("CONFCTL_CONFIG_DIR", "CONFCTL_NO_INPUT")}
    httpx.post(sim.url + "/pexip/_sim/reset")
    return cli


def pexip_state(sim) -> dict:
    return httpx.get(sim.url + "/pexip/_sim/state", params={"conference": "meet.demo"}).json()


def when_followed(sim, action) -> threading.Thread:
    """Run `action` once the simulator has an open event stream for meet.demo."""

    def go():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if pexip_state(sim).get("subscribers"):
                action()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_wait_returns_when_the_next_person_joins(pexip_only, sim):
    start = pexip_only("wait", "--for", "left:Nobody", "-o", "json", check=0)  # after the whole roster
    count = len(json.loads(start.stdout)["participants"])
    joiner = when_followed(sim, lambda: httpx.post(sim.url + "/pexip/_sim/join",
                                                    json={"conference": "meet.demo", "name": "Newcomer"}))
    proc = pexip_only("wait", "--for", f"participants>={count + 1}", "--for", "joined:newcomer", "--timeout", "30")
    joiner.join()
    assert proc.returncode == 0, proc.stderr
    assert f"participants>={count + 1} holds ({count + 1} participants)" in proc.stderr
    assert pexip_state(sim)["tokens"] == 0  # confctl's token released


def test_wait_times_out_with_exit_11(pexip_only, sim):
    proc = pexip_only("wait", "--for", "joined:Nobody-Like-This", "--timeout", "1")
    assert proc.returncode == 11
    assert "timed out after 1s: joined:Nobody-Like-This (nobody by that name) did not hold" in proc.stderr
    assert pexip_state(sim)["tokens"] == 0


def test_wait_on_a_polled_vendor(cli, sim):
    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_") or k.startswith("CONFCTL_GATEWAY")
               or k in ("CONFCTL_CONFIG_DIR", "CONFCTL_NO_INPUT")}
    proc = cli("wait", "--for", "participants>=1", "-o", "json", "--timeout", "20", check=0)
    report = json.loads(proc.stdout)
    assert report["participants"] and {p["vendor"] for p in report["participants"]} == {"gateway"}
    refused = cli("wait", "--for", "locked", "--timeout", "5")
    assert refused.returncode == 2 and "gateway" in refused.stderr and "lock" in refused.stderr


def test_ctrl_c_exits_130_after_releasing_the_token(proc_cli, sim):
    import signal

    httpx.post(sim.url + "/pexip/_sim/reset")
    env = {k: v for k, v in proc_cli.env.items() if not k.startswith("CONFCTL_") or k.startswith("CONFCTL_PEXIP")
           or k in ("CONFCTL_CONFIG_DIR", "CONFCTL_NO_INPUT")}
    proc_cli.env = env
    child = proc_cli.popen("wait", "--for", "participants>=999")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not pexip_state(sim).get("subscribers"):
        time.sleep(0.05)
    assert pexip_state(sim)["tokens"] >= 1
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    assert pexip_state(sim)["tokens"] == 0


def test_wait_over_every_vendor_at_once(cli, sim):
    """The environment's profile of each vendor (all named "env"); Auvious names no conference, so it follows
    the active ones its listing shows — and only it does (not Pexip or Mind, whose profiles share the name)."""
    httpx.post(sim.url + "/pexip/_sim/reset")
    proc = cli("wait", "--for", "left:Nobody", "-o", "json", "--timeout", "30", check=0)
    report = json.loads(proc.stdout)
    where = {(p["vendor"], p["conference"]) for p in report["participants"]}
    assert ("pexip", "meet.demo") in where and any(v == "auvious" for v, _ in where)
    assert {v for v, _ in where} >= {"pexip", "auvious", "gateway"}
    assert not [c for v, c in where if v == "pexip" and c != "meet.demo"]


def test_gateway_events_arrive_through_the_webhook_receiver(cli, sim):
    """The gateway is polled, but its events exist only as webhooks: an event: condition runs the receiver
    beside the polling (--listen says where), as `events follow` does."""
    import socket
    import subprocess
    import sys

    from conftest import ROOT

    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_") or k.startswith("CONFCTL_GATEWAY")
               or k in ("CONFCTL_CONFIG_DIR", "CONFCTL_NO_INPUT")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    people = json.loads(cli("participants", "-o", "json", check=0).stdout)
    # The simulator is shared with other modules' tests, which may have unmuted everyone: mute one first.
    member = next(p for p in people if p["vendor"] == "gateway")
    cli("gateway", "session", "mute", member["id"])
    time.sleep(0.2)  # past the (scaled) per-session cooldown before the unmute below
    httpx.post(sim.url + "/gateway/_sim/webhook", json={"url": f"http://127.0.0.1:{port}/"})

    def unmute_once_listening():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        subprocess.run([sys.executable, "-m", "confctl", "gateway", "session", "unmute", member["id"]],
                       env=cli.env, cwd=str(ROOT), capture_output=True, timeout=30)

    thread = threading.Thread(target=unmute_once_listening, daemon=True)
    thread.start()
    try:
        proc = cli("wait", "--for", "event:conference.member.unmuted", "--for", f"unmuted:{member['id']}",
                   "--listen", f"127.0.0.1:{port}", "--timeout", "30")
        thread.join()
        assert proc.returncode == 0, proc.stderr
        assert "event:conference.member.unmuted holds (conference.member.unmuted from gateway/env" in proc.stderr
    finally:
        httpx.post(sim.url + "/gateway/_sim/webhook", json={"url": ""})
        cli("gateway", "session", "mute", member["id"])  # back to the seeded state
    assert cli("wait", "--for", "joined:x", "--listen", "127.0.0.1:1", "-p", "nope").returncode == 2
