"""`confctl run`: runbooks validated as a whole (exit 2 naming the step and field, nothing sent), planned
(nothing that changes state sent), applied idempotently, and resumed after a kill without repeating a step —
the real CLI against the simulators over loopback, one simulator for the module."""

from __future__ import annotations

import json
import signal
import time

import httpx
import pytest

from conftest import CLI, ROOT, InProcessCLI
from meeting_support import meeting_sim, profile_env, reset

EXAMPLES = ROOT / "examples"
VARS = ("--var", "pexip=sim-pexip", "--var", "gateway=sim-gateway", "--var", "mind=sim-mind")
READ_ONLY_POSTS = ("/request_token", "/refresh_token", "/release_token", "/oauth/token")


@pytest.fixture(scope="module")
def rsim():
    with meeting_sim() as running:
        yield running


def _reset(rsim) -> None:
    reset(rsim)


@pytest.fixture
def env(home, rsim, monkeypatch):
    """The environment of a confctl with one profile per vendor pointed at the simulator."""
    return profile_env(home, rsim, monkeypatch, vendors=("gateway", "pexip", "mind"))


@pytest.fixture
def cli(env):
    return InProcessCLI(env)


def sent(rsim) -> list[tuple[str, str]]:
    return [r for r in rsim.app.state.requests if "/_sim/" not in r[1]]


def changing(rsim) -> list[tuple[str, str]]:
    """Requests that could change state (token requests only authenticate the look-ups)."""
    return [r for r in sent(rsim) if r[0] not in ("GET", "HEAD") and not r[1].endswith(READ_ONLY_POSTS)]


def lines(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def by_step(report: list[dict]) -> dict[str, dict]:
    return {r["step"]: r for r in report}


def pexip_state(rsim) -> dict:
    return httpx.get(f"{rsim.url}/pexip/_sim/state", params={"conference": "meet.demo"}).json()


def pexip_people(rsim) -> dict[str, dict]:
    return {p["display_name"]: p for room in pexip_state(rsim)["rooms"].values() for p in room["participants"]}


# -- the examples: plan, then apply, then apply again (idempotent) ----------------------------------------------
def test_all_hands_plan_sends_nothing_then_apply_then_again_is_already_done(cli, rsim):
    book = str(EXAMPLES / "all-hands.yaml")
    plan = cli("run", book, *VARS, "--plan", "-o", "jsonl", check=0)
    report = by_step(lines(plan))
    assert list(report) == ["room", "announce", "host", "mute-guests", "lock"]
    assert {r["status"] for r in report.values()} == {"planned"}
    assert report["room"]["plan"] == "will change" and "creates room 'all-hands'" in report["room"]["note"]
    assert report["announce"]["plan"] == "will change" and report["announce"]["note"] == "depends on room"
    assert report["host"]["plan"] == "already done"  # Alice (the host) is in: the wait holds now
    assert report["mute-guests"]["plan"] == "will change" and "Bob" in report["mute-guests"]["note"]
    assert report["lock"]["plan"] == "will change"
    assert changing(rsim) == []

    proc = cli("run", book, *VARS, "-o", "jsonl", check=0)
    report = by_step(lines(proc))
    assert [r["status"] for r in report.values()] == ["done", "done", "already", "done", "done"]
    room = report["room"]["result"]["room_id"]
    assert ("POST", f"/gateway/api/v1/conferences/{room}/play") in sent(rsim)  # ${room.room_id} resolved
    assert pexip_state(rsim)["locked"] is True
    people = pexip_people(rsim)
    assert all(p["is_muted"] == "YES" for name, p in people.items() if p["role"] == "guest")
    assert people["Alice"]["is_muted"] == "NO"  # the host is left alone
    creates = [r for r in sent(rsim) if r == ("POST", "/gateway/api/v1/conferences")]
    assert len(creates) == 1

    # The room exists (reused, not created again), the guests are muted, the conference locked: already done.
    plan = by_step(lines(cli("run", book, *VARS, "--plan", "-o", "jsonl", check=0)))
    assert plan["room"]["plan"] == "already done" and plan["room"]["result"]["reused"] is True
    assert plan["announce"]["plan"] == "will change" and "depends" not in (plan["announce"]["note"] or "")
    assert plan["mute-guests"]["plan"] == plan["lock"]["plan"] == "already done"
    before = len(sent(rsim))
    again = by_step(lines(cli("run", book, *VARS, "-o", "jsonl", check=0)))
    assert [again[s]["status"] for s in ("room", "host", "mute-guests", "lock")] == ["already"] * 4
    assert again["announce"]["status"] == "done"  # an announcement plays every time it is asked for
    later = rsim.app.state.requests[before:]
    assert ("POST", "/gateway/api/v1/conferences") not in later
    assert not any(path.endswith("/lock") for _, path in later)


def test_webinar_plan_then_apply_opens_the_room_once(cli, rsim):
    book = str(EXAMPLES / "webinar.yaml")
    plan = by_step(lines(cli("run", book, *VARS, "--plan", "-o", "jsonl", check=0)))
    assert plan["presenter"]["plan"] == "already done"
    assert plan["quiet"]["plan"] == "will change" and plan["qa"]["plan"] == "will change"
    assert plan["rooms"]["plan"] == "will change" and plan["rooms"]["note"] == "depends on qa"
    assert changing(rsim) == []

    report = by_step(lines(cli("run", book, *VARS, "-o", "jsonl", check=0)))
    assert all(r["status"] in ("done", "already") for r in report.values()), report
    qa = report["qa"]["result"]["breakout_uuid"]
    assert report["rooms"]["result"] == {"qa_room": qa}
    rooms = pexip_state(rsim)["rooms"]
    assert rooms[qa]["name"] == "Q and A" and [p["display_name"] for p in rooms[qa]["participants"]] == ["Bob"]
    assert pexip_people(rsim)["Alice"]["spotlight"] != 0

    again = by_step(lines(cli("run", book, *VARS, "-o", "jsonl", check=0)))
    assert again["qa"]["status"] == "already" and again["qa"]["result"]["breakout_uuid"] == qa
    assert again["quiet"]["status"] == again["stage"]["status"] == "already"
    assert again["rooms"]["result"] == {"qa_room": qa}
    assert len([r for r in sent(rsim) if r[0] == "POST" and r[1].endswith("/breakouts")]) == 1


def test_recording_export_plan_then_apply(cli, rsim):
    book = str(EXAMPLES / "recording-export.yaml")
    plan = by_step(lines(cli("run", book, *VARS, "--plan", "-o", "jsonl", check=0)))
    assert plan["start"]["plan"] == "will change"
    # Recording is stopped now, but the start step changes that first: stop is a change too.
    assert plan["stop"]["plan"] == "will change" and "after step 'start'" in plan["stop"]["note"]
    assert plan["info"]["plan"] == "will read" and plan["export"]["note"] == "depends on info"
    assert changing(rsim) == []

    report = by_step(lines(cli("run", book, *VARS, "-o", "jsonl", check=0)))
    assert [r["status"] for r in report.values()] == ["done", "already", "done", "done", "done"]
    assert report["export"]["result"] == {"conference": "demo-conference", "recording": {"started": False}}
    paths = [p for m, p in sent(rsim) if m == "POST"]
    assert [p.rsplit("/", 1)[1] for p in paths if "/recording/" in p] == ["start", "stop"]


def test_human_report_one_line_per_step(cli, rsim):
    proc = cli("run", str(EXAMPLES / "recording-export.yaml"), *VARS, "--plan", "-o", "table", check=0)
    rows = proc.stdout.splitlines()
    assert len(rows) == 5
    assert "start" in rows[0] and "will change" in rows[0] and "mind recording start" in rows[0]


# -- validation: exit 2 naming the step and the field, nothing sent ----------------------------------------------
BAD = [
    ("steps: [{id: a, run: gateway room explode}]", "step 'a': run: 'gateway room explode': no such command"),
    ("steps: [{id: a, run: gateway room create, args: {nmae: x}}]", "step 'a': args.nmae: `gateway room create` "
                                                                    "has no such parameter; it takes: name, reuse"),
    ("steps: [{id: a, run: gateway room create, args: {name: 'bad name!'}}]", "step 'a': args.name: letters"),
    ("steps: [{id: v, run: gateway room volume, args: {room_id: acW68-room-550e8400-e29b-41d4-a716-446655440000, "
     "volume: 99}}]", "step 'v': args.volume: must be between -50 and 7"),
    ("steps: [{id: v, run: gateway room volume, args: {room_id: x, volume: loud}}]", "step 'v': args.volume: must be "
                                                                                      "an integer"),
    ("steps: [{id: r, run: gateway room create, args: {name: r1}}, "
     "{id: p, run: gateway room play, args: {room_id: '${r.room_id}', urls: ['ftp://x']}}]",
     "step 'p': args.urls: must be a http/https URL"),
    ("steps: [{id: p, run: gateway room play, args: {room_id: '${room.room_id}', urls: [https://x.example/a.wav]}}]",
     "step 'p': args.room_id: ${room.room_id}: no earlier step 'room'"),
    ("steps: [{id: p, set: {a: '${vars.nope}'}}]", "step 'p': set.a: ${vars.nope}: no variable 'nope'"),
    ("steps: [{id: a, set: {x: 1}}, {id: b, set: {y: '${a.z}'}}]", "step 'b': set.y: ${a.z}: step 'a' sets x"),
    ("steps: [{id: a, set: {x: 1}}, {id: a, set: {y: 2}}]", "step 'a': id: duplicate step id"),
    ("steps: [{id: a, set: {x: 1}, on_error: maybe}]", "step 'a': on_error: must be stop or continue"),
    ("steps: [{id: a, set: {x: 1}, timeout: -3}]", "step 'a': timeout: must be a number of seconds above 0"),
    ("steps: [{id: a, set: {x: 1}, run: gateway room list}]", "step 'a': (kind): give exactly one of"),
    ("steps: [{id: a, set: {x: 1}, colour: red}]", "step 'a': colour: unknown key for a set step"),
    ("steps: [{run: gateway room list}]", "step '#2': id: required"),  # the 2nd: a valid one goes first
    ("steps: [{id: w, wait: joined, profile: sim-pexip}]", "step 'w': wait[0]: 'joined' is not a condition"),
    ("steps: [{id: m, verb: mute, targets: 'nope:meet.demo'}]", "step 'm': targets[0]: 'nope:meet.demo': no profile"),
    ("steps: [{id: l, verb: lock, targets: 'sim-gateway:town-hall'}]", "step 'l': verb: gateway (profile "
                                                                        "'sim-gateway') does not support `lock`"),
    ("steps: [{id: m, verb: mute, targets: 'sim-pexip:meet.demo', where: 'colour==red'}]", "step 'm': where:"),
    ("steps: [{id: x, run: pexip participant mute, profile: sim-gateway, args: {participant: Bob}}]",
     "step 'x': profile: profile 'sim-gateway' is a gateway profile"),
    ("steps: [{id: ok, set: {x: 1}}, {id: bad, run: pexip participant mute}]",
     "step 'bad': args.participant: is required"),
    ("stepz: []", "stepz: unknown key"),
]


@pytest.mark.parametrize("text, message", BAD, ids=[m.split(":")[0] + ":" + m.split(":")[1] for _, m in BAD])
def test_an_invalid_runbook_fails_before_sending_anything(cli, rsim, tmp_path, text, message):
    book = tmp_path / "bad.yaml"
    # A valid first step that would change state: nothing of it may be sent when a later step is invalid.
    book.write_text(text if text.startswith("stepz") else
                    text.replace("steps: [", "steps: [{id: first, verb: lock, targets: 'sim-pexip:meet.demo'}, ", 1))
    for mode in ((), ("--plan",), ("--check",)):
        proc = cli("run", str(book), *mode, "-o", "jsonl")
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert message in json.loads(proc.stderr.splitlines()[-1])["error"], proc.stderr
        assert proc.stdout == ""
    assert sent(rsim) == []


def test_a_missing_variable_says_how_to_pass_it(cli, rsim):
    proc = cli("run", str(EXAMPLES / "all-hands.yaml"), "--plan")
    error = json.loads(proc.stderr.splitlines()[-1])
    assert proc.returncode == 2 and "profiles.pexip: ${vars.pexip}: no variable 'pexip'" in error["error"]
    assert "--var NAME=VALUE" in error["hint"]
    assert sent(rsim) == []


# -- the JSON Schema ----------------------------------------------------------------------------------------------
def _check(schema: dict, value, root: dict, where: str = "$") -> list[str]:
    """A small JSON Schema check of the keywords runbook.schema.json uses (no dependency for the test)."""
    if "$ref" in schema:
        node = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return _check(node, value, root, where)
    errors = []
    types = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float)}
    if "type" in schema and not isinstance(value, types[schema["type"]]):
        return [f"{where}: not {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum")
    if "pattern" in schema and isinstance(value, str):
        import re

        if not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match")
    if "exclusiveMinimum" in schema and not value > schema["exclusiveMinimum"]:
        errors.append(f"{where}: too small")
    if "not" in schema and not _check(schema["not"], value, root, where):
        errors.append(f"{where}: matches `not`")
    if "oneOf" in schema:
        ok = [s for s in schema["oneOf"] if not _check(s, value, root, where)]
        if len(ok) != 1:
            errors.append(f"{where}: matches {len(ok)} of oneOf")
    if isinstance(value, dict):
        errors += [f"{where}: missing {k}" for k in schema.get("required", ()) if k not in value]
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                errors += _check(props[key], item, root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += _check(schema["additionalProperties"], item, root, f"{where}.{key}")
            if "propertyNames" in schema:
                errors += _check(schema["propertyNames"], key, root, f"{where}.{key}(name)")
        if len(value) < schema.get("minProperties", 0):
            errors.append(f"{where}: too few properties")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: too few items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += _check(schema["items"], item, root, f"{where}[{i}]")
    return errors


def test_run_schema_prints_the_schema_and_every_example_validates_against_it(cli):
    import yaml

    proc = cli("run", "--schema", check=0)
    schema = json.loads(proc.stdout)
    assert schema == json.loads((ROOT / "confctl/core/runbook/runbook.schema.json").read_text())
    examples = sorted(EXAMPLES.glob("*.yaml"))
    assert len(examples) >= 3
    for path in examples:  # valid as confctl reads them too (--check contacts no vendor)
        proc = cli("run", str(path), *VARS, "--check", check=0)
        assert f"valid ({len(yaml.safe_load(path.read_text())['steps'])} steps)" in proc.stderr
    for path in examples:
        assert _check(schema, yaml.safe_load(path.read_text()), schema) == [], path.name
    # ... and the check is not vacuous: a misspelt key and a bad on_error are caught.
    assert _check(schema, {"steps": [{"id": "a", "set": {"x": 1}, "on_eror": "stop"}]}, schema)
    assert _check(schema, {"steps": [{"id": "a", "set": {"x": 1}, "on_error": "maybe"}]}, schema)


# -- outcomes: on_error, timeouts, exit codes ------------------------------------------------------------------------
MISSING_ROOM = "zzzzz-room-00000000-0000-4000-8000-000000000000"


def test_on_error_continue_and_exit_8_when_something_failed(cli, rsim, tmp_path):
    book = tmp_path / "partial.yaml"
    book.write_text(f"""
steps:
  - {{id: gone, run: gateway room get, args: {{room_id: {MISSING_ROOM}}}, on_error: continue}}
  - {{id: lock, verb: lock, targets: 'sim-pexip:meet.demo'}}
""")
    proc = cli("run", str(book), "-o", "jsonl")
    assert proc.returncode == 8, proc.stderr
    report = by_step(lines(proc))
    assert report["gone"]["status"] == "failed" and report["gone"]["exit_code"] == 4
    assert report["lock"]["status"] == "done"
    assert set(report["gone"]) >= {"step", "kind", "status", "result", "error", "duration"}


def test_on_error_stop_skips_the_rest_and_exits_with_the_failure_code(cli, rsim, tmp_path):
    book = tmp_path / "stop.yaml"
    book.write_text(f"""
steps:
  - {{id: gone, run: gateway room get, args: {{room_id: {MISSING_ROOM}}}}}
  - {{id: lock, verb: lock, targets: 'sim-pexip:meet.demo'}}
""")
    proc = cli("run", str(book), "-o", "jsonl")
    assert proc.returncode == 4, proc.stderr  # nothing succeeded: the failure's own code (404)
    report = by_step(lines(proc))
    assert report["lock"]["status"] == "skipped" and "not run: step 'gone' failed" in report["lock"]["note"]
    assert pexip_state(rsim)["locked"] is False


def test_a_wait_step_that_times_out_fails_with_the_wait_exit_code(cli, rsim, tmp_path):
    book = tmp_path / "wait.yaml"
    book.write_text("steps:\n  - {id: zed, wait: 'joined:Zed', profile: sim-pexip, conference: meet.demo, "
                    "timeout: 0.5}\n")
    proc = cli("run", str(book), "-o", "jsonl")
    assert proc.returncode == 11, proc.stderr
    (item,) = lines(proc)
    assert item["status"] == "failed" and "timed out after 0.5s" in item["error"]


def test_a_changed_runbook_refuses_to_resume_unless_forced(cli, rsim, tmp_path):
    book, state = tmp_path / "rb.yaml", tmp_path / "state.json"
    book.write_text("steps:\n  - {id: a, set: {x: 1}}\n  - {id: b, wait: 'joined:Zed', profile: sim-pexip, "
                    "timeout: 0.3, on_error: continue}\n")
    assert cli("run", str(book), "--state", str(state), "-o", "jsonl").returncode == 8
    assert oct(state.stat().st_mode & 0o777) == "0o600"
    book.write_text(book.read_text() + "  - {id: c, set: {y: 2}}\n")
    proc = cli("run", str(book), "--state", str(state), "--resume", "-o", "jsonl")
    assert proc.returncode == 2 and "changed since" in proc.stderr
    proc = cli("run", str(book), "--state", str(state), "--resume", "--force", "-o", "jsonl")
    report = by_step(lines(proc))
    assert report["a"]["status"] == "skipped" and report["a"]["resumed"] is True
    assert report["c"]["status"] == "done"


# -- resume after a kill: no step is done twice ---------------------------------------------------------------------
RESUMABLE = """
runbook: 1
profiles: {gateway: sim-gateway}
steps:
  - {id: room, run: gateway room create, args: {name: resume-drill, reuse: true}}
  - {id: announce, run: gateway room play, args: {room_id: "${room.room_id}", urls: [https://cdn.example.com/a.wav]}}
  - {id: host, wait: "joined:Zed", profile: sim-pexip, conference: meet.demo, timeout: 120}
  - {id: lock, verb: lock, targets: "sim-pexip:meet.demo"}
  - {id: done, set: {room: "${room.room_id}"}}
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_during_a_wait_then_resume_finishes_without_doing_any_step_twice(env, rsim, tmp_path, sig):
    book, state = tmp_path / "drill.yaml", tmp_path / "drill.state.json"
    book.write_text(RESUMABLE)
    proc = CLI(env).popen("run", str(book), "--state", str(state), "-o", "jsonl")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the room and the announcement are done; the wait has begun
            data = json.loads(state.read_text()) if state.exists() else {}
            if set(data.get("steps", {})) == {"room", "announce"} and any(
                    "/pexip/" in p and "events" in p for _, p in rsim.app.state.requests):
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            pytest.fail("the apply did not reach its wait step")
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (130 if sig == signal.SIGTERM else -signal.SIGKILL), err
    if sig == signal.SIGTERM:
        assert "interrupted: 2 of 5 steps done" in err and "--resume` continues" in err
    done = [json.loads(line)["step"] for line in out.splitlines() if line.strip()]
    assert done[:2] == ["room", "announce"]
    assert set(json.loads(state.read_text())["steps"]) == {"room", "announce"}

    httpx.post(f"{rsim.url}/pexip/_sim/join", json={"conference": "meet.demo", "name": "Zed", "role": "host"})
    resumed = CLI(env)("run", str(book), "--state", str(state), "--resume", "-o", "jsonl")
    assert resumed.returncode == 0, resumed.stderr
    report = by_step(lines(resumed))
    assert [report[s]["status"] for s in ("room", "announce")] == ["skipped", "skipped"]
    assert report["room"]["resumed"] and report["announce"]["resumed"]
    assert report["host"]["status"] in ("done", "already") and report["lock"]["status"] == "done"
    assert report["done"]["result"] == {"room": report["room"]["result"]["room_id"]}  # references still resolve
    posts = [p for m, p in sent(rsim) if m == "POST"]
    assert posts.count("/gateway/api/v1/conferences") == 1
    assert len([p for p in posts if p.endswith("/play")]) == 1
    assert len([p for p in posts if p.endswith("/lock")]) == 1
    assert json.loads(state.read_text())["finished"] is True


def test_a_run_step_past_its_timeout_fails_as_a_timeout_exit_7():
    from confctl.core.errors import exit_code_for
    from confctl.core.runbook.engine import StepTimedOut, _with_timeout
    from confctl.core.runbook.load import Step

    step = Step(0, "slow", "run", {}, timeout=0.05)
    release = __import__("threading").Event()
    with pytest.raises(StepTimedOut) as caught:
        _with_timeout(step, lambda: release.wait(5))
    release.set()
    assert exit_code_for(caught.value) == 7 and "within its timeout of 0.05s" in caught.value.message
    assert _with_timeout(step, lambda: "quick") == "quick"


def test_a_bulk_command_sends_each_value_and_is_already_done_the_second_time(cli, rsim, tmp_path):
    book = tmp_path / "bulk.yaml"
    book.write_text("""
steps:
  - id: members
    run: gateway room members
    args: {room_id: tHall-room-6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}
  - id: hush
    run: gateway session mute
    args: {uuid: ["${members.members.0.uuid}", "${members.members.1.uuid}"]}
""")
    first = by_step(lines(cli("run", str(book), "-o", "jsonl", check=0)))
    assert first["hush"]["status"] == "done" and len(first["hush"]["result"]["items"]) == 2
    mutes = [p for m, p in sent(rsim) if m == "POST" and p.endswith("/conference/mute")]
    assert len(mutes) == 2 and len(set(mutes)) == 2
    again = by_step(lines(cli("run", str(book), "-o", "jsonl", check=0)))
    assert again["hush"]["status"] == "already"  # the gateway answers 409 "already muted": the goal holds

    book.write_text("steps:\n  - {id: hush, run: gateway session mute, args: {uuid: [ok-1, 'no/such']}}\n")
    proc = cli("run", str(book), "-o", "jsonl")
    assert proc.returncode == 2 and "step 'hush': args.uuid:" in proc.stderr


def test_the_plan_reads_a_look_up_before_any_change_so_later_steps_are_checked(cli, rsim, tmp_path):
    book = tmp_path / "read.yaml"
    book.write_text("""
steps:
  - {id: members, run: gateway room members, args: {room_id: tHall-room-6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}}
  - {id: first, set: {uuid: "${members.members.0.uuid}"}}
  - {id: lock, verb: lock, targets: "sim-pexip:meet.demo"}
  - {id: again, run: gateway room members, args: {room_id: tHall-room-6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b}}
""")
    plan = by_step(lines(cli("run", str(book), "--plan", "-o", "jsonl", check=0)))
    assert plan["members"]["plan"] == "will read" and plan["members"]["result"]["members"]
    assert plan["first"]["plan"] == "will set" and plan["first"]["result"]["uuid"].startswith("tHall-")
    assert plan["again"]["plan"] == "will read" and plan["again"]["result"] is None  # after a change: not read
    assert changing(rsim) == []


def test_a_conference_verb_done_per_participant_is_planned_per_participant(cli, rsim, tmp_path):
    book = tmp_path / "hush.yaml"
    book.write_text("steps:\n  - {id: hush, verb: mute-all, targets: 'sim-gateway:town-hall'}\n")
    assert lines(cli("run", str(book), "--plan", "-o", "jsonl", check=0))[0]["plan"] == "will change"
    assert lines(cli("run", str(book), "-o", "jsonl", check=0))[0]["status"] == "done"
    (planned,) = lines(cli("run", str(book), "--plan", "-o", "jsonl", check=0))
    assert planned["plan"] == "already done", planned  # every caller muted: the gateway has no room-wide flag


def test_a_vendor_command_that_is_a_verb_knows_its_goal_from_the_common_model(cli, rsim, tmp_path):
    book = tmp_path / "pm.yaml"
    book.write_text("""
profiles: {pexip: sim-pexip}
steps:
  - {id: bob, run: pexip participant mute, args: {participant: Bob}}
  - {id: alice, run: pexip participant unmute, args: {participant: Alice}}
  - {id: nobody, run: pexip participant mute, args: {participant: Nobody}, on_error: continue}
""")
    plan = by_step(lines(cli("run", str(book), "--plan", "-o", "jsonl")))
    assert plan["bob"]["plan"] == "will change" and plan["alice"]["plan"] == "already done"
    assert plan["nobody"]["plan"] == "cannot run" and "no participant matches 'Nobody'" in plan["nobody"]["note"]
    assert changing(rsim) == []
    first = by_step(lines(cli("run", str(book), "-o", "jsonl")))
    assert [first[s]["status"] for s in ("bob", "alice", "nobody")] == ["done", "already", "failed"]
    again = by_step(lines(cli("run", str(book), "-o", "jsonl")))
    assert again["bob"]["status"] == "already" and again["bob"]["note"] == "already muted"
    assert len([p for m, p in sent(rsim) if m == "POST" and "/participants/" in p and p.endswith("/mute")]) == 1


def test_two_applies_of_one_runbook_never_run_at_once(cli, rsim, tmp_path):
    from confctl.core.cachefile import FileLock, lock_path

    book, state = tmp_path / "one.yaml", tmp_path / "one.state.json"
    book.write_text("steps:\n  - {id: lock, verb: lock, targets: 'sim-pexip:meet.demo'}\n")
    with FileLock(lock_path(state)):  # as a running apply holds it
        proc = cli("run", str(book), "--state", str(state), "-o", "jsonl")
    assert proc.returncode == 2 and "another `confctl run`" in proc.stderr
    assert changing(rsim) == []
    proc = cli("run", str(book), "--state", str(state), "-o", "json", check=0)
    (only,) = json.loads(proc.stdout)  # -o json: the report as one list at the end
    assert only["step"] == "lock" and only["status"] == "done"
