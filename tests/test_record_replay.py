"""Record and replay (`events follow --record FILE`, `events replay FILE`): the file (0600, one envelope per
line, fsync'd, secrets masked, every envelope whatever --type shows, opening rosters marked), the replay source
(pacing by the envelopes' own times with an injected clock, --speed, --since, --type, malformed lines) and the
round trip against the simulator: a recorded stream replays to the same bytes it printed live."""

from __future__ import annotations

import io
import json
import os
import stat
import threading

import httpx
import pytest

from confctl.core.errors import ConfctlError, UsageError
from confctl.core.events import record, replay
from confctl.core.events.printer import Printer


def env(i: int, etype: str = "participant_create", *, second: float | None = None, data=None, **extra) -> dict:
    sec = i if second is None else second
    whole, frac = divmod(sec, 1)
    return {"time": f"2026-12-01T10:00:{int(whole):02d}.{int(round(frac * 1000)):03d}Z", "provider": "pexip",
            "profile": "prod", "conference": "meet.demo", "type": etype, "id": str(i),
            "data": data if data is not None else {"display_name": f"P{i}"}, **extra}


def write_lines(path, events) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")


class Clock:
    """time.monotonic and sleep stand-ins: sleeping moves the clock on at once and is recorded."""

    def __init__(self):
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def replayed(path, **kw) -> list[dict]:
    return list(replay.source(str(path), **kw)(threading.Event()))


# -- the recording file ------------------------------------------------------------------------------------
def test_the_file_is_created_0600_and_holds_every_envelope_whatever_the_printer_shows(tmp_path):
    path = tmp_path / "rec.jsonl"
    shown = io.StringIO()
    printer = Printer("jsonl", ["participant_delete"], stream=shown)
    with record.Recorder(printer, str(path)) as rec:
        for event in (env(1), env(2, "participant_delete"), env(3, "gap", data={"since": "x"})):
            if rec.wanted(event):
                rec.print(event)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["type"] for e in lines] == ["participant_create", "participant_delete", "gap"]
    assert [json.loads(line)["type"] for line in shown.getvalue().splitlines()] == ["participant_delete", "gap"]


def test_secrets_are_masked_in_the_file(tmp_path):
    from confctl.core import redact

    redact.remember("s3cr3t-session-token")
    try:
        path = tmp_path / "rec.jsonl"
        payload = {"token": "abc123456", "pin": "1234", "participant_token": "ptok-999999",
                   "client_secret": "cs-777777", "nested": [{"access_token": "at-888888"}],
                   "url": "https://rec.example/file.mp4?access_token=zzz999&x=1",
                   "note": "echo of s3cr3t-session-token here", "display_name": "Alice",
                   "resource": {"id": "p1", "token": "mind-participant-token-1"}}  # a Mind notification
        with record.Recorder(Printer("jsonl", stream=io.StringIO()), str(path)) as rec:
            rec.wanted(env(1, data=payload))
        text = path.read_text()
        for secret in ("abc123456", "1234", "ptok-999999", "cs-777777", "at-888888", "zzz999",
                       "s3cr3t-session-token", "mind-participant-token-1"):
            assert secret not in text, secret
        assert "Alice" in text and "x=1" in text
    finally:
        with redact._lock:
            redact._known.discard("s3cr3t-session-token")


def test_an_opening_roster_keeps_its_marker_and_runner_hand_offs_are_dropped(tmp_path):
    path = tmp_path / "rec.jsonl"
    source = record.mark_sync(lambda stop: iter([env(1, _sync=True), env(2)]))
    from confctl.core.events import runner

    with record.Recorder(Printer("jsonl", stream=io.StringIO()), str(path)) as rec:
        printed = runner.run([("x", source)], rec)
    assert printed == 1  # the roster is not counted, as live
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["_sync"] is True and "_record_sync" not in lines[0]
    assert "_sync" not in lines[1]


def test_a_bad_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        record.open_file(str(tmp_path))
    with pytest.raises(UsageError, match="does not exist"):
        record.open_file(str(tmp_path / "no" / "such" / "rec.jsonl"))


def test_a_file_cut_off_mid_line_is_trimmed_to_its_last_whole_line(tmp_path, capsys):
    path = tmp_path / "rec.jsonl"
    path.write_bytes(json.dumps(env(1)).encode() + b"\n" + b'{"time": "2026-12')
    with record.Recorder(Printer("jsonl", stream=io.StringIO()), str(path)) as rec:
        rec.wanted(env(2))
    assert [e["id"] for e in replayed(path, speed=None)] == ["1", "2"]
    assert "ended mid-line" in capsys.readouterr().err


def test_a_write_error_stops_with_a_clear_message():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    rec = record.Recorder(Printer("jsonl", stream=io.StringIO()), "/dev/full")
    try:
        with pytest.raises(ConfctlError, match="writing /dev/full failed"):
            rec.wanted(env(1))
    finally:
        rec.close()


# -- the replay source ---------------------------------------------------------------------------------------
def test_pacing_follows_the_recorded_times_divided_by_speed(tmp_path):
    path = tmp_path / "rec.jsonl"
    write_lines(path, [env(0, second=0), env(1, second=2), env(2, second=2.5)])
    clock = Clock()
    assert len(replayed(path, speed=1.0, clock=clock, sleep=clock.sleep)) == 3
    assert sum(clock.slept) == pytest.approx(2.5) and max(clock.slept) <= 0.5  # in slices: stop is honoured
    clock = Clock()
    replayed(path, speed=10.0, clock=clock, sleep=clock.sleep)
    assert sum(clock.slept) == pytest.approx(0.25)
    clock = Clock()
    assert len(replayed(path, speed=None, clock=clock, sleep=clock.sleep)) == 3
    assert clock.slept == []


def test_stop_ends_a_paced_replay(tmp_path):
    path = tmp_path / "rec.jsonl"
    write_lines(path, [env(0, second=0), env(1, second=50)])
    stop = threading.Event()
    clock = Clock()

    def sleep(seconds):
        clock.sleep(seconds)
        stop.set()

    got = list(replay.source(str(path), clock=clock, sleep=sleep)(stop))
    assert [e["id"] for e in got] == ["0"]


def test_since_takes_an_iso_time_or_a_duration_before_the_recordings_end(tmp_path):
    path = tmp_path / "rec.jsonl"
    write_lines(path, [env(i, second=i * 10) for i in range(6)])  # 10:00:00 .. 10:00:50
    assert [e["id"] for e in replayed(path, speed=None, since="2026-12-01T10:00:30Z")] == ["3", "4", "5"]
    assert [e["id"] for e in replayed(path, speed=None, since="2026-12-01T10:00:30")] == ["3", "4", "5"]
    assert [e["id"] for e in replayed(path, speed=None, since="20s")] == ["3", "4", "5"]
    assert [e["id"] for e in replayed(path, speed=None, since="1m")] == ["0", "1", "2", "3", "4", "5"]


@pytest.mark.parametrize("value", ["yesterday", "10x", "-5m", ""])
def test_a_bad_since_is_refused_before_the_file_is_read(value):
    with pytest.raises(UsageError, match="--since"):
        replay.source("/nonexistent/recording.jsonl", since=value)


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf"])
def test_a_bad_speed_is_refused(value):
    with pytest.raises(UsageError, match="--speed"):
        replay.parse_speed(value)
    assert replay.parse_speed("max") is None and replay.parse_speed("2.5") == 2.5


def test_types_keep_gap_and_reconnected_records(tmp_path):
    path = tmp_path / "rec.jsonl"
    write_lines(path, [env(1), env(2, "gap"), env(3, "participant_delete"), env(4, "reconnected")])
    assert [e["type"] for e in replayed(path, speed=None, types=["*_delete"])] == \
        ["gap", "participant_delete", "reconnected"]


def test_a_malformed_line_is_an_error_naming_it_before_anything_is_replayed(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_text(json.dumps(env(1)) + "\nnot json\n" + json.dumps(env(3)) + "\n")
    with pytest.raises(UsageError, match=r"rec\.jsonl:2: not a JSON line"):
        replay.source(str(path))
    path.write_text(json.dumps(env(1)) + "\n" + json.dumps({"hello": 1}) + "\n")
    with pytest.raises(UsageError, match=r"rec\.jsonl:2: not an event envelope"):
        replay.source(str(path))


def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path, capsys):
    path = tmp_path / "rec.jsonl"
    path.write_text(json.dumps(env(1)) + "\n" + json.dumps(env(2))[:30])
    assert [e["id"] for e in replayed(path, speed=None)] == ["1"]
    assert "rec.jsonl:2: the last line is incomplete" in capsys.readouterr().err


def test_a_missing_or_unreadable_recording_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such recording"):
        replay.source(str(tmp_path / "nope.jsonl"))
    with pytest.raises(UsageError, match="is a directory"):
        replay.source(str(tmp_path))


# -- end to end, against the simulator ------------------------------------------------------------------------
@pytest.fixture
def pexip_only(cli, sim):
    """The cli with only the environment's Pexip profile (the other vendors' variables removed), after a
    reset of the Pexip simulator."""
    cli.env = {k: v for k, v in cli.env.items() if not k.startswith("CONFCTL_") or k.startswith("CONFCTL_PEXIP")
               or k in ("CONFCTL_CONFIG_DIR", "CONFCTL_NO_INPUT")}
    httpx.post(sim.url + "/pexip/_sim/reset")
    return cli


def join_when_followed(sim, name: str, leave: bool = False) -> threading.Thread:
    """Once the simulator has an open event stream for meet.demo, someone joins (and leaves) — no sleeping on a
    guess."""

    def go():
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state = httpx.get(sim.url + "/pexip/_sim/state", params={"conference": "meet.demo"}).json()
            if state.get("subscribers"):
                httpx.post(sim.url + "/pexip/_sim/join", json={"conference": "meet.demo", "name": name})
                if leave:
                    httpx.post(sim.url + "/pexip/_sim/leave", json={"conference": "meet.demo", "participant": name})
                return
            time.sleep(0.05)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def test_a_recorded_stream_replays_to_the_same_bytes(pexip_only, sim, tmp_path):
    rec = tmp_path / "rec.jsonl"
    joiner = join_when_followed(sim, "Roundtrip", leave=True)
    live = pexip_only("events", "follow", "-o", "jsonl", "--record", str(rec), "--until", "participant_delete",
                      "--timeout", "20", check=0)
    joiner.join()
    assert "Roundtrip" in live.stdout and '"participant_delete"' in live.stdout
    assert stat.S_IMODE(os.stat(rec).st_mode) == 0o600
    again = pexip_only("events", "replay", str(rec), "--speed", "max", "-o", "jsonl", check=0)
    assert again.stdout.encode() == live.stdout.encode()
    # --count counts as live does: the opening roster (marked in the file) is not counted
    counted = sum(1 for line in rec.read_text().splitlines() if '"_sync":true' not in line)
    assert counted < live.stdout.count("\n")
    proc = pexip_only("events", "replay", str(rec), "--speed", "max", "-o", "jsonl", "--count", str(counted),
                      check=0)
    assert proc.stdout == live.stdout
    # and `wait` over the recording sees what it would have seen live
    seen = pexip_only("wait", "--replay", str(rec), "--speed", "max", "--for", "event:participant_delete",
                      "--for", "left:Roundtrip")
    assert seen.returncode == 0, seen.stderr
    never = pexip_only("wait", "--replay", str(rec), "--speed", "max", "--for", "joined:Nobody-Else")
    assert never.returncode == 11 and "the recording ended first" in never.stderr
    table_live = pexip_only("--color", "never", "events", "replay", str(rec), "--speed", "max", "-o", "table",
                            check=0)
    assert "Roundtrip" in table_live.stdout and "participant_sync_begin" in table_live.stdout


def test_the_vendor_events_command_records_too(pexip_only, sim, tmp_path):
    rec = tmp_path / "rec.jsonl"
    pexip_only("pexip", "events", "--record", str(rec), "--until", "participant_sync_end", "--timeout", "10",
               "-o", "jsonl", check=0)
    types = [json.loads(line)["type"] for line in rec.read_text().splitlines()]
    assert types[0] == "participant_sync_begin" and "participant_sync_end" in types


def test_a_bad_record_path_is_exit_2_with_nothing_started(pexip_only, sim, tmp_path):
    before = len(sim.app.state.requests)
    proc = pexip_only("events", "follow", "--record", str(tmp_path / "missing" / "rec.jsonl"), "--timeout", "1")
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert not [r for r in sim.app.state.requests[before:] if "/pexip/" in r[1] and "_sim" not in r[1]]


def test_replay_option_mistakes_are_exit_2(pexip_only, tmp_path):
    rec = tmp_path / "rec.jsonl"
    write_lines(rec, [env(1)])
    assert pexip_only("events", "replay", str(rec), "--speed", "0").returncode == 2
    assert pexip_only("events", "replay", str(rec), "--since", "soon").returncode == 2
    assert pexip_only("events", "replay", str(tmp_path / "none.jsonl")).returncode == 2
    out = pexip_only("events", "replay", str(rec), "--speed", "max", "-o", "jsonl", check=0)
    assert json.loads(out.stdout)["id"] == "1"
