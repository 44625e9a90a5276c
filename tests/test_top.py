"""`confctl top` driven headless through Textual's pilot: a fake source hands the runner synthetic envelopes in
the real shapes (a `snapshot`, then Pexip events), and the tests assert what the screen shows after events
and key presses. Actions go through a fake connection set, so nothing is sent anywhere."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading

import pytest

from confctl.core.errors import ApiError
from confctl.core.events import envelope
from confctl.core.fleet.live import Live
from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.top import view
from confctl.core.fleet.top.engine import Engine

pytest.importorskip("textual")

from confctl.core.fleet.top.app import Confirm, Help, TopApp  # noqa: E402
from textual.widgets import DataTable, RichLog, Static  # noqa: E402


class FakeSource:
    """A runner source fed by the test: put() an envelope, it is yielded; it checks `stop` like a real one."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue()
        self.stopped = threading.Event()

    def put(self, event: dict) -> None:
        self.q.put(event)

    def __call__(self, stop):
        def gen():
            try:
                while not stop.is_set():
                    try:
                        yield self.q.get(timeout=0.05)
                    except queue.Empty:
                        continue
            finally:
                self.stopped.set()
        return gen()


class FakeConnections:
    def __init__(self):
        self.closed = False
        self.opened: list[str] = []

    def get(self, profile):
        name = profile if isinstance(profile, str) else profile.name
        self.opened.append(name)
        return f"conn:{name}"

    def close(self):
        self.closed = True


class Profile:
    def __init__(self, name, protected=False):
        self.name, self.protected = name, protected


def snapshot(profile="sim-pexip", vendor="pexip", conf="meet.demo", people=(), locked=False, polled=False):
    conference = Conference(vendor, profile, conf, name=conf, locked=locked, participants=len(people))
    data = {
        "conferences": [conference.to_dict()],
        "participants": [Participant(vendor, profile, conf, pid, name=name, role=role, muted_audio=muted,
                                     muted_video=False, speaking=False, hand_raised=False, presenting=False
                                     ).to_dict() for pid, name, role, muted in people],
        "covers": [conf]}
    if polled:
        data["polled"] = True
    return envelope.make(vendor, profile, "snapshot", data)


PEOPLE = (("u-alice", "Alice", "chair", False), ("u-bob", "Bob", "guest", False), ("u-carol", "Carol", "guest", True))


def make_engine(*, protected=False, perform=None, supported=lambda vendor, verb: True, sources=None):
    src = FakeSource()
    calls = []

    def fake_perform(conn, verb, target):
        calls.append((conn, verb, target.name))
        if perform:
            return perform(conn, verb, target)
        return {"ok": True, "note": {"mute": "muted", "kick": "disconnected"}.get(verb, verb)}

    conns = FakeConnections()
    engine = Engine(Live(), sources or [("pexip/sim-pexip", src)],
                    profiles={"sim-pexip": Profile("sim-pexip", protected)}, connections=conns,
                    perform=fake_perform, supported=supported)
    return engine, src, conns, calls


async def until(pilot, condition, timeout=5.0):
    """Let the app run until `condition()` holds (the screen redraws on a timer); fail after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the screen never showed it")
        await pilot.pause(0.05)


def rows(app, table_id):
    table = app.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def text_of(app, selector):
    return str(app.query_one(selector, Static).render())


def run(coro):
    asyncio.run(coro)


def test_snapshot_then_events_show_conferences_participants_tail_and_health():
    engine, src, conns, _ = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "connecting" in text_of(app, "#health"))
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: rows(app, "participants"))
            assert rows(app, "conferences") == [["pexip", "sim-pexip", "meet.demo", "3", ""]]
            assert [r[0] for r in rows(app, "participants")] == ["Alice", "Bob", "Carol"]
            assert rows(app, "participants")[2][:4] == ["Carol", "guest", "", "muted"]
            assert "pexip/sim-pexip connected" in text_of(app, "#health")
            # a gap record: health says so, the tail shows it
            src.put(envelope.gap("pexip", "sim-pexip", reason="stream lost"))
            await until(pilot, lambda: "gap" in text_of(app, "#health"))
            assert "reason=stream lost" in text_of(app, "#health")
            log = app.query_one("#events", RichLog)
            await until(pilot, lambda: any("gap" in line.text for line in log.lines))
            assert any("snapshot" in line.text and "sim-pexip" in line.text for line in log.lines)
    run(go())


def test_model_changes_update_cells_in_place():
    engine, src, _, _ = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            with engine.live.lock:  # what a vendor model does on "Bob speaks, raises a hand"
                bob = engine.live.participant("sim-pexip", "meet.demo", "u-bob")
                bob.speaking, bob.hand_raised = True, True
                engine.live.version += 1
            await until(pilot, lambda: rows(app, "participants")[1][2] == "yes")
            assert rows(app, "participants")[1][5] == "up"
            src.put(snapshot(people=PEOPLE[:2], locked=True))  # Carol left, the conference got locked
            await until(pilot, lambda: len(rows(app, "participants")) == 2)
            assert rows(app, "conferences")[0][3:] == ["2", "yes"]
    run(go())


def test_mute_key_runs_the_verb_and_shows_the_outcome():
    engine, src, _, calls = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("tab", "down", "m")  # participants: Alice, then Bob
            await until(pilot, lambda: "muted Bob" in text_of(app, "#outcome"))
            assert calls == [("conn:sim-pexip", "mute", "Bob")]
            await pilot.press("down", "m")  # Carol is muted: m unmutes
            await until(pilot, lambda: "unmuted Carol" in text_of(app, "#outcome"))
            assert calls[-1] == ("conn:sim-pexip", "unmute", "Carol")
    run(go())


def test_already_unsupported_and_errors_are_lines_not_tracebacks():
    def perform(conn, verb, target):
        if target.name == "Alice":
            return {"ok": True, "already": True, "note": "already muted"}
        raise ApiError("participant has left")

    engine, src, _, calls = make_engine(perform=perform, supported=lambda vendor, verb: verb != "spotlight")

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("tab", "m")
            await until(pilot, lambda: "Alice: already muted" in text_of(app, "#outcome"))
            await pilot.press("s")
            await until(pilot, lambda: "pexip: spotlight not supported" in text_of(app, "#outcome"))
            await pilot.press("down", "m")
            await until(pilot, lambda: "mute Bob: participant has left" in text_of(app, "#outcome"))
            assert [c[1:] for c in calls] == [("mute", "Alice"), ("mute", "Bob")]  # spotlight: nothing sent
    run(go())


def test_disconnect_asks_first_and_no_sends_nothing():
    engine, src, _, calls = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("tab", "down", "d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            assert "Disconnect Bob (sim-pexip:meet.demo)?" in str(app.screen.query_one("#question", Static).render())
            # events keep coming while the question is open: the screen below keeps up
            src.put(snapshot(people=PEOPLE + (("u-dave", "Dave", "guest", False),)))
            await until(pilot, lambda: len(rows(app, "participants")) == 4)
            await pilot.press("n")
            await until(pilot, lambda: "not done" in text_of(app, "#outcome"))
            assert calls == []
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("y")
            await until(pilot, lambda: "disconnected Bob" in text_of(app, "#outcome"))
            assert calls == [("conn:sim-pexip", "kick", "Bob")]
    run(go())


def test_protected_profile_confirms_every_mutating_action():
    engine, src, _, calls = make_engine(protected=True)

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("l")  # conferences table has the focus: lock the selected conference
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            assert "sim-pexip is a protected profile" in str(app.screen.query_one("#question", Static).render())
            assert "(protected)" in str(app.people_table.border_title)
            await pilot.press("y")
            await until(pilot, lambda: "locked meet.demo" in text_of(app, "#outcome"))
            assert calls == [("conn:sim-pexip", "lock", "meet.demo")]
    run(go())


def test_filter_help_and_quit_stops_runner_and_closes_connections():
    engine, src, conns, _ = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(100, 40)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            assert rows(app, "conferences") == [["sim-pexip", "meet.demo", "3", ""]]  # 100 columns: no vendor
            assert "pexip sim-pexip:meet.demo" in str(app.people_table.border_title)
            await pilot.resize_terminal(160, 40)
            await until(pilot, lambda: rows(app, "conferences") == [["pexip", "sim-pexip", "meet.demo", "3", ""]])
            await pilot.resize_terminal(100, 40)
            await until(pilot, lambda: len(rows(app, "conferences")[0]) == 4)
            await pilot.press("slash", "b", "o")
            await until(pilot, lambda: [r[0] for r in rows(app, "participants")] == ["Bob"])
            await pilot.press("enter")
            assert "(filter: bo)" in str(app.query_one("#participants", DataTable).border_title)
            await pilot.press("slash", "backspace", "backspace", *"guest")  # by role
            await until(pilot, lambda: [r[0] for r in rows(app, "participants")] == ["Bob", "Carol"])
            await pilot.press("escape")  # clears the filter
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, Help))
            assert "mute / unmute" in str(app.screen.query_one("#keys", Static).render())
            await pilot.press("escape")
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running)
        assert engine.stop.is_set() and src.stopped.is_set() and conns.closed
        assert not engine.thread.is_alive()
    run(go())


def test_a_failing_source_ends_alone_and_says_why():
    good = FakeSource()

    def bad(stop):
        def gen():
            yield snapshot(profile="sim-mind", vendor="mind", conf="room-1")
            raise ApiError("401 token expired")
        return gen()

    engine, _, _, _ = make_engine(sources=[("pexip/sim-pexip", good), ("mind/sim-mind", bad)])

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "mind/sim-mind ended" in text_of(app, "#health"))
            assert "401 token expired" in text_of(app, "#health")
            good.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "conferences")) == 2)
            await pilot.press("q")
    run(go())


def test_view_rules():
    assert view.flag(None, "muted") == "?" and view.flag(False, "muted", "on") == "on"
    bob = Participant("pexip", "p", "c", "u1", name="Bob")
    conf = Conference("pexip", "p", "c", name="meet")
    assert view.outcome("mute", bob, {"ok": True, "note": "muted"}) == "muted Bob"
    assert view.outcome("mute", bob, {"ok": True, "already": True, "note": "already muted"}) == "Bob: already muted"
    assert view.outcome("mute-all", conf, {"ok": True, "note": "muted 3 of 4"}) == \
        "muted the guests of meet: muted 3 of 4"
    assert view.matches(bob, "BO") and not view.matches(bob, "guest")


def test_health_reads_as_a_person_would_say_it():
    live = Live()
    live.apply(snapshot(profile="mind-1", vendor="mind", conf="c1"))  # a stream's opening snapshot
    live.apply(snapshot(profile="gw-1", vendor="gateway", conf="r1", polled=True))  # a poll
    assert view.health(live)[0][:2] == ("gateway/gw-1", "polling")
    live.apply(envelope.gap("gateway", "gw-1", reason="503"))
    assert view.health(live) == [("gateway/gw-1", "gap", "reason=503"), ("mind/mind-1", "connected", "")]
    live.apply(envelope.reconnected("gateway", "gw-1", resynced="snapshot"))
    live.apply(snapshot(profile="gw-1", vendor="gateway", conf="r1", polled=True))
    assert view.health(live)[0][:2] == ("gateway/gw-1", "polling")  # polling again, not "reconnected" for good


def _cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "confctl", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env={**os.environ, **env}, timeout=60)


def test_without_a_terminal_top_refuses_pointing_to_watch_and_follow(tmp_path):
    proc = _cli("top", CONFCTL_CONFIG_DIR=str(tmp_path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "needs a terminal" in proc.stderr
    assert "participants --watch" in proc.stderr and "events follow" in proc.stderr


def test_textual_is_imported_only_by_top():
    code = ("import sys, io, contextlib\nfrom confctl.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    for argv in (['top', '--help'], ['--help'], ['participants', '--help'], ['capabilities']):\n"
            "        main(argv)\n"
            "print([m for m in sys.modules if m.split('.')[0] == 'textual'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def pexip_event(etype, data, time=None):
    return envelope.make("pexip", "sim-pexip", etype, data, conference="meet.demo", time=time)


def pexip_record(uuid, name, role, muted="NO", **more):
    return {"uuid": uuid, "display_name": name, "role": role, "is_muted": muted, "is_video_muted": "NO",
            "buzz_time": 0, "is_presenting": "NO", "service_type": "conference", **more}


def test_pexip_events_fold_through_its_vendor_model():
    engine, src, _, _ = make_engine()

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            for event in (pexip_event("participant_sync_begin", {}),
                          pexip_event("participant_create", pexip_record("u-alice", "Alice", "chair")),
                          pexip_event("participant_create", pexip_record("u-bob", "Bob", "guest")),
                          pexip_event("participant_sync_end", {}),
                          pexip_event("conference_update", {"locked": False})):
                src.put(event)
            await until(pilot, lambda: len(rows(app, "participants")) == 2)
            src.put(pexip_event("participant_update", pexip_record("u-bob", "Bob", "guest", "YES", buzz_time=5)))
            src.put(pexip_event("stage", [{"stage_index": 0, "participant_uuid": "u-bob", "vad": 100}]))
            await until(pilot, lambda: rows(app, "participants")[1][2] == "yes")
            assert rows(app, "participants")[1] == ["Bob", "guest", "yes", "muted", "on", "up", "", ""]
            src.put(pexip_event("participant_delete", {"uuid": "u-alice"}))
            await until(pilot, lambda: [r[0] for r in rows(app, "participants")] == ["Bob"])
            assert rows(app, "conferences")[0][3] == "1"
            await pilot.press("q")
    run(go())


def test_replay_drives_the_cockpit_and_keys_are_off(tmp_path):
    import json

    from confctl.core.fleet.top.command import _replay_engine

    recording = tmp_path / "meeting.jsonl"
    events = [pexip_event("participant_sync_begin", {}, "2026-12-01T10:00:00.000Z"),
              pexip_event("participant_create", pexip_record("u-alice", "Alice", "chair"), "2026-12-01T10:00:00.000Z"),
              pexip_event("participant_sync_end", {}, "2026-12-01T10:00:00.000Z"),
              pexip_event("participant_create", pexip_record("u-dave", "Dave", "guest"), "2026-12-01T10:00:30.000Z"),
              pexip_event("conference_update", {"locked": True}, "2026-12-01T10:01:00.000Z")]
    recording.write_text("".join(json.dumps(e) + "\n" for e in events))
    engine, banner = _replay_engine(str(recording), "max", None, False)
    assert "replay" in banner and "max speed" in banner

    async def go():
        app = TopApp(engine, banner=banner)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "replay finished" in text_of(app, "#health"))
            assert rows(app, "conferences") == [["pexip", "sim-pexip", "meet.demo", "2", "yes"]]
            assert [r[0] for r in rows(app, "participants")] == ["Alice", "Dave"]
            await pilot.press("tab", "m")
            await until(pilot, lambda: "keys act on live meetings only" in text_of(app, "#outcome"))
            await pilot.press("q")
    run(go())


def _on_a_terminal(*args, stdout_too=True, home):
    """Run the real CLI with stdin and stderr (and stdout unless told otherwise) on a pseudo-terminal; returns
    (exit code, what the terminal showed, what a piped stdout got)."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "confctl", *args], stdin=slave, stderr=slave,
                                stdout=slave if stdout_too else subprocess.PIPE,
                                env={**os.environ, "CONFCTL_CONFIG_DIR": str(home)})
        out = proc.stdout.read().decode() if proc.stdout else ""
        code = proc.wait(timeout=60)
    finally:
        os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
        if len(chunk) < 65536:
            break
    os.close(master)
    return code, shown.decode(errors="replace"), out


def test_top_refuses_when_stdout_alone_is_piped(tmp_path):
    code, shown, out = _on_a_terminal("top", stdout_too=False, home=tmp_path)
    assert code == 2 and out == ""
    assert "needs a terminal (stdout is not one)" in shown and "participants --watch" in shown


def test_bad_options_are_refused_before_the_screen_opens(tmp_path):
    code, shown, _ = _on_a_terminal("top", "--speed", "2", home=tmp_path)
    assert code == 2 and "--speed applies only with --replay" in shown
    code, shown, _ = _on_a_terminal("top", "--replay", str(tmp_path / "missing.jsonl"), home=tmp_path)
    assert code == 2 and "no such recording" in shown
    code, shown, _ = _on_a_terminal("top", "-p", "nope", home=tmp_path)
    assert code == 2 and "no profile named 'nope'" in shown


def test_yes_skips_the_protected_question_but_disconnect_still_asks():
    engine, src, _, calls = make_engine(protected=True)

    async def go():
        app = TopApp(engine, yes=True)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(snapshot(people=PEOPLE))
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("M")  # mute every guest of the selected conference: no question with --yes
            await until(pilot, lambda: "muted the guests of meet.demo" in text_of(app, "#outcome"))
            assert calls == [("conn:sim-pexip", "mute-all", "meet.demo")]
            await pilot.press("tab", "d")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("escape")
            await until(pilot, lambda: "not done" in text_of(app, "#outcome"))
            assert len(calls) == 1
            await pilot.press("q")
    run(go())


def test_enter_on_a_participant_shows_its_record_with_secrets_masked():
    from confctl.core.fleet.top.app import Details

    engine, src, _, _ = make_engine()
    event = snapshot(people=PEOPLE)
    event["data"]["participants"][1]["raw"] = {"id": "u-bob", "participant_token": "s3cr3t-value"}

    async def go():
        app = TopApp(engine)
        async with app.run_test(size=(160, 45)) as pilot:
            src.put(event)
            await until(pilot, lambda: len(rows(app, "participants")) == 3)
            await pilot.press("enter", "down", "enter")  # into the participants, Bob, his record
            await until(pilot, lambda: isinstance(app.screen, Details))
            shown = str(app.screen.query_one("#record", Static).render())
            assert '"muted_audio": false' in shown and "participant_token" in shown
            assert "s3cr3t-value" not in shown
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, Details))
            await pilot.press("q")
    run(go())
