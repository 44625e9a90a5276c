"""Idempotent batches: a goal that already holds is success; exit 8 only for a mix; all failed -> their code;
per-item notes on stderr stay one line each."""

from __future__ import annotations

import io
import json
import re
import threading
import time

from test_gateway_e2e import calls, errors, new_room

from confctl.core import output
from confctl.core.registry import PROVIDERS

NOTE = re.compile(r"^session \S+: (already muted|already unmuted|already left|muting|unmuting|leaving|joining)\b")


def _results(proc) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}


def test_muting_members_who_joined_muted_is_success(cli, sim, tmp_path):
    """Members join muted: `session mute --from-file` reports "already muted" for each, exit 0 (was exit 8)."""
    room = new_room(cli, "bulk-already")
    members = calls(sim, 13, room)  # joined and muted
    ids = tmp_path / "ids"
    ids.write_text("\n".join(members) + "\n")
    proc = cli("gateway", "session", "mute", "--from-file", str(ids), "--concurrency", "8", "-o", "jsonl", check=0)
    results = _results(proc)
    assert set(results) == set(members)
    assert all(r["ok"] and r["note"] == "already muted" and r["result"]["already"] for r in results.values())
    lines = proc.stderr.splitlines()
    assert len(lines) == 13 and all(NOTE.match(line) and line.endswith("nothing to do") for line in lines), lines


def test_single_command_on_a_muted_member_says_already_muted(cli, sim):
    room = new_room(cli, "single-already")
    member = calls(sim, 1, room)[0]
    proc = cli("gateway", "session", "mute", member, "-o", "json", check=0)
    assert "already muted" in proc.stderr
    assert json.loads(proc.stdout) == {"uuid": member, "status": "already_muted", "http_status": 409, "already": True}


def test_mix_exits_8_and_all_failed_exits_with_their_code(cli, sim):
    room = new_room(cli, "bulk-mix")
    members = calls(sim, 2, room)
    strangers = calls(sim, 2)  # in no conference: mute answers 404
    cli("gateway", "session", "unmute", members[0], check=0)
    time.sleep(0.15)  # the scaled per-session mute cooldown
    mixed = cli("gateway", "session", "mute", members[0], members[1], strangers[0], "-o", "jsonl", check=8)
    results = _results(mixed)
    assert results[members[0]]["ok"] and results[members[0]]["note"] == "muted"
    assert results[members[1]]["note"] == "already muted"
    assert results[strangers[0]]["ok"] is False and results[strangers[0]]["exit_code"] == 4
    assert "1 of 3 items failed" in errors(mixed)[0]["error"]
    all_missing = cli("gateway", "session", "mute", *strangers, "-o", "jsonl", check=4)
    err = errors(all_missing)[0]
    assert err["exit_code"] == 4 and "all 2 items failed" in err["error"]
    unknown = ["nope1-00000000-0000-4000-8000-000000000000", "nope2-00000000-0000-4000-8000-000000000000"]
    assert cli("gateway", "session", "mute", *unknown, "-o", "jsonl").returncode == 4


def test_leave_of_a_session_in_no_conference_is_already_left(cli, sim):
    room = new_room(cli, "bulk-left")
    member = calls(sim, 1, room)[0]
    cli("gateway", "session", "leave", member, check=0)
    time.sleep(0.15)
    again = cli("gateway", "session", "leave", member, "-o", "json", check=0)
    assert "already left" in again.stderr and json.loads(again.stdout)["status"] == "already_left"
    # an unknown session is a real failure, not "already left"
    cli("gateway", "session", "leave", "nope3-00000000-0000-4000-8000-000000000000", check=4)


class _Refusing:
    """A session stub that answers every request with one error."""

    def __init__(self, exc):
        self.exc = exc

    def request(self, *args, **kwargs):
        raise self.exc


def test_only_the_already_answer_is_success():
    """409 "still joining" stays a conflict (exit 5); 409 "already muted" becomes AlreadyDone."""
    import pytest

    from confctl.core.errors import AlreadyDone, ConflictError
    from confctl.core.provider import Call

    gateway = PROVIDERS["gateway"].load()
    ep = next(e for e in gateway.endpoints if e.id == "gateway.session.mute")
    call = Call(gateway, ep, None, {"uuid": "abcde-1"}, "POST", "/x", body={})
    call.session = _Refusing(ConflictError("409 Conflict: Session is still joining", status=409))
    with pytest.raises(ConflictError):
        call.send()
    call.session = _Refusing(ConflictError("409 Conflict: Member is already muted", status=409))
    with pytest.raises(AlreadyDone) as done:
        call.send()
    assert done.value.note == "already muted"
    call.session = _Refusing(ConflictError("409 Conflict: Member is already unmuted", status=409))
    with pytest.raises(ConflictError):  # the opposite state is not "already muted"
        call.send()


def test_the_already_rule_is_declared_on_the_endpoint():
    endpoints = {ep.id: ep for ep in PROVIDERS["gateway"].load().endpoints}
    assert [a.note for a in endpoints["gateway.session.mute"].already] == ["already muted"]
    assert [a.note for a in endpoints["gateway.session.unmute"].already] == ["already unmuted"]
    assert [a.note for a in endpoints["gateway.session.leave"].already] == ["already left"]
    assert not endpoints["gateway.session.join"].already  # 409 "in a different room" is a real conflict


class _RecordingStderr(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes: list[str] = []
        self.guard = threading.Lock()

    def write(self, text):
        with self.guard:
            self.writes.append(text)
        return len(text)

    def isatty(self):
        return False


def test_concurrent_notes_are_one_write_per_line(monkeypatch):
    fake = _RecordingStderr()
    monkeypatch.setattr("sys.stderr", fake)
    start = threading.Barrier(8)

    def noisy(i):
        start.wait()
        for j in range(50):
            output.note(f"session {i}-{j}: already muted; nothing to do")
            output.warn(f"item {i}-{j}")

    threads = [threading.Thread(target=noisy, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.writes) == 800
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in fake.writes), fake.writes[:4]
