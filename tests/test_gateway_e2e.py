"""The gateway provider end to end: the real CLI against the simulator over loopback."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

KEY = "demo-key"


def gw(sim, path: str, body: dict | None = None, method: str = "POST"):
    response = httpx.request(method, f"{sim.url}/gateway{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def new_room(cli, name: str) -> str:
    return cli("gateway", "room", "create", name, "--reuse", "-o", "id", check=0).stdout.strip()


def calls(sim, n: int, room: str | None = None) -> list[str]:
    return gw(sim, "/_sim/sessions", {"count": n, "room_id": room})["sessions"]


def errors(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]


def test_create_conflict_and_reuse(cli):
    first = cli("gateway", "room", "create", "reuse-me", "-o", "json", check=0)
    room = json.loads(first.stdout)["room_id"]
    again = cli("gateway", "room", "create", "reuse-me", check=5)
    err = errors(again)[0]
    assert err["status"] == 409 and room in err["error"] and "--reuse" in err["hint"]
    reused = cli("gateway", "room", "create", "reuse-me", "--reuse", "-o", "json", check=0)
    assert json.loads(reused.stdout) == {"room_id": room, "name": "reuse-me", "reused": True}


def test_room_lifecycle_play_pause_stop_volume_delete(cli):
    room = new_room(cli, "lifecycle")
    played = json.loads(cli("gateway", "room", "play", room, "https://cdn.example.com/a.wav",
                            "http://cdn.example.com/b.wav", "-o", "json", check=0).stdout)
    assert played["status"] == "in_progress" and played["operation_id"]
    got = json.loads(cli("gateway", "room", "get", room, "-o", "json", check=0).stdout)
    assert got["playback_status"] == "playing" and len(got["playback_urls"]) == 2
    assert got["playback_operation_id"] == played["operation_id"]
    cli("gateway", "room", "pause", room, check=0)
    assert json.loads(cli("gateway", "room", "get", room, check=0).stdout)["playback_status"] == "paused"
    cli("gateway", "room", "stop", room, check=0)  # 200 ms cooldown shared with pause: waited out via 429 retry
    cli("gateway", "room", "volume", room, "--level", "-12", check=0)
    got = json.loads(cli("gateway", "room", "get", room, check=0).stdout)
    assert (got["playback_status"], got["playback_volume"]) == ("stopped", -12)
    refused = cli("gateway", "room", "delete", room)  # destructive, no TTY, no --yes
    assert refused.returncode == 2 and "--yes" in errors(refused)[0]["hint"]
    cli("gateway", "room", "delete", room, "--yes", check=0)
    cli("gateway", "room", "get", room, check=4)


def test_pagination_over_500_rooms(cli, sim):
    env = {"CONFCTL_GATEWAY_APP_ID": "other-app", "CONFCTL_GATEWAY_API_KEY": "other-key"}
    gw(sim, "/_sim/rooms", {"count": 500, "app_id": "other-app", "prefix": "page"})
    first = json.loads(cli("gateway", "room", "list", "--limit", "200", "-o", "json", env=env, check=0).stdout)
    assert len(first["conferences"]) == 200 and first["cursor"]
    second = json.loads(cli("gateway", "room", "list", "--limit", "200", "--cursor", first["cursor"], "-o", "json",
                            env=env, check=0).stdout)
    assert second["conferences"][0]["name"] == "page-0200"
    streamed = cli("gateway", "room", "list", "--all", "--limit", "200", "-o", "jsonl", env=env, check=0)
    names = [json.loads(line)["name"] for line in streamed.stdout.splitlines()]
    assert names == [f"page-{i:04d}" for i in range(500)]
    ids = cli("gateway", "room", "list", "--all", "-o", "id", env=env, check=0).stdout.split()
    assert len(ids) == len(set(ids)) == 500
    whole = json.loads(cli("gateway", "room", "list", "--all", "-o", "json", env=env, check=0).stdout)
    assert len(whole["conferences"]) == 500
    count = cli("gateway", "room", "list", "--all", "--query", "length(conferences)", env=env, check=0)
    assert count.stdout.strip() == "500"


def test_members_pagination_and_join_semantics(cli, sim):
    room = new_room(cli, "members")
    other = new_room(cli, "members-other")
    sessions = calls(sim, 3)
    joined = cli("gateway", "session", "join", *sessions, "--room", room, "-o", "jsonl", check=0)
    results = [json.loads(line) for line in joined.stdout.splitlines()]
    assert {r["id"] for r in results} == set(sessions)
    assert all(r["ok"] and r["result"]["http_status"] == 202 and r["result"]["status"] == "joining" for r in results)
    time.sleep(0.3)  # the simulator confirms joins after its deferred delay
    members = cli("gateway", "room", "members", room, "--all", "--limit", "2", "-o", "jsonl", check=0)
    rows = [json.loads(line) for line in members.stdout.splitlines()]
    assert {r["uuid"] for r in rows} == set(sessions) and all(r["muted"] for r in rows)
    time.sleep(0.15)  # per-session cooldown (scaled) before the next join/leave
    again = cli("gateway", "session", "join", sessions[0], "--room", room, check=0)
    assert json.loads(again.stdout)["status"] == "already_joined" and "already in room" in again.stderr
    moved = cli("gateway", "session", "join", sessions[0], "--room", other, check=5)
    assert "leave" in errors(moved)[0]["error"]
    cli("gateway", "session", "unmute", sessions[0], check=0)
    dup = cli("gateway", "session", "unmute", sessions[0], check=0)  # the goal already holds: success
    assert "already unmuted" in dup.stderr and json.loads(dup.stdout)["status"] == "already_unmuted"
    time.sleep(0.15)
    left = cli("gateway", "session", "leave", sessions[0], "-o", "json", check=0)
    assert json.loads(left.stdout)["status"] == "leaving"
    cli("gateway", "session", "mute", sessions[0], check=4)


def test_bulk_partial_failure_exits_8(cli, sim, tmp_path):
    room = new_room(cli, "bulk")
    inside = calls(sim, 4, room)
    outside = calls(sim, 1)  # not in any conference: 404
    ids = tmp_path / "ids.jsonl"
    ids.write_text("".join(json.dumps({"uuid": s}) + "\n" for s in inside[:2]) + "\n".join(inside[2:] + outside))
    proc = cli("gateway", "session", "unmute", "--from-file", str(ids), "-o", "jsonl", check=8)
    results = {r["id"]: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(results) == set(inside + outside)
    assert all(results[s]["ok"] for s in inside)
    assert results[outside[0]]["ok"] is False and results[outside[0]]["exit_code"] == 4
    assert "1 of 5 items failed" in errors(proc)[0]["error"]
    stdin = cli("gateway", "session", "mute", "--from-file", "-", "-o", "jsonl", input="\n".join(inside), check=0)
    assert len(stdin.stdout.splitlines()) == 4


def test_rate_limit_retried_then_exhausted(cli, sim):
    """429 + Retry-After is waited out within --max-wait; exit 6 when --max-wait does not allow the wait."""
    room = new_room(cli, "cooldown")
    gw(sim, "/_sim/throttle", {"count": 2, "retry_after": 0.2})
    retried = cli("--debug", "gateway", "room", "play", room, "https://cdn.example.com/b.wav", check=0)
    assert retried.stderr.count("< 429 Too Many Requests") == 2 and "retrying" in retried.stderr
    assert "retry-after: 0.2" in retried.stderr.lower()
    gw(sim, "/_sim/throttle", {"count": 5, "retry_after": 30})
    exhausted = cli("--max-wait", "5", "gateway", "room", "play", room, "https://cdn.example.com/c.wav")
    gw(sim, "/_sim/throttle", {"count": 0})
    assert exhausted.returncode == 6 and errors(exhausted)[0]["status"] == 429


def test_documented_cooldown_answers_429(sim):
    """Two plays into one room inside the (unscaled) 2 s conf_play window: the second gets 429 + Retry-After."""
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(cooldown_scale=1.0)) as real:
        headers = {"X-App-ID": "demo-app", "X-API-Key": KEY}
        base = f"{real.url}/gateway/api/v1/conferences"
        room = httpx.post(base, json={"name": "cool"}, headers=headers).json()["room_id"]
        first = httpx.post(f"{base}/{room}/play", json={"urls": ["https://a.example/x.wav"]}, headers=headers)
        second = httpx.post(f"{base}/{room}/play", json={"urls": ["https://a.example/x.wav"]}, headers=headers)
        assert first.status_code == 202 and second.status_code == 429
        assert 0 < int(second.headers["Retry-After"]) <= 2


@pytest.mark.parametrize("args,code", [
    (("gateway", "room", "create", "bad name!"), 2),
    (("gateway", "room", "get", "not-a-room-id"), 2),
    (("gateway", "room", "volume", "acW68-room-550e8400-e29b-41d4-a716-446655440000", "--level", "8"), 2),
    (("gateway", "room", "play", "acW68-room-550e8400-e29b-41d4-a716-446655440000", "ftp://x/a.wav"), 2),
    (("gateway", "room", "list", "--limit", "201"), 2),
    (("gateway", "room", "members", "acW68-room-550e8400-e29b-41d4-a716-446655440000", "--limit", "0"), 2),
    (("gateway", "session", "join", "abc", "--room", "nope"), 2),
    (("gateway", "api", "POST", "/api/v1/conferences", "--data", "{bad json"), 2),
])
def test_bad_input_rejected_before_sending(cli, sim, args, code):
    sim.app.state.requests.clear()
    proc = cli(*args)
    assert proc.returncode == code, proc.stderr
    assert sim.app.state.requests == []
    assert errors(proc)[0]["error"]


def test_play_rejects_more_than_128_urls(cli, sim):
    sim.app.state.requests.clear()
    urls = [f"https://cdn.example.com/{i}.wav" for i in range(129)]
    proc = cli("gateway", "room", "play", "acW68-room-550e8400-e29b-41d4-a716-446655440000", *urls, check=2)
    assert "at most 128" in errors(proc)[0]["error"] and sim.app.state.requests == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_exit_codes_follow_the_table(cli, sim):
    bad_name = cli("gateway", "api", "POST", "/api/v1/conferences", "--data", '{"name": "bad name"}')
    assert bad_name.returncode == 1 and errors(bad_name)[0]["status"] == 400
    wrong_key = cli("gateway", "room", "list", env={"CONFCTL_GATEWAY_API_KEY": "wrong-key"})
    assert wrong_key.returncode == 3 and errors(wrong_key)[0]["status"] == 401
    mine = new_room(cli, "owned")
    foreign = cli("gateway", "room", "get", mine, env={"CONFCTL_GATEWAY_APP_ID": "other-app",
                                                       "CONFCTL_GATEWAY_API_KEY": "other-key"})
    assert foreign.returncode == 3 and errors(foreign)[0]["status"] == 403
    cli("gateway", "room", "get", "acW68-room-00000000-0000-4000-8000-000000000000", check=4)
    cli("--max-wait", "0.5", "gateway", "api", "GET", "/_sim/status/503", check=7)
    cli("gateway", "api", "POST", "/_sim/status/500", check=7)
    refused = cli("--max-wait", "0.5", "gateway", "room", "list",
                  env={"CONFCTL_GATEWAY_URL": f"http://127.0.0.1:{_closed_port()}"})
    assert refused.returncode == 7 and "cannot reach" in errors(refused)[0]["error"]
    missing = cli("gateway", "room", "list", env={"CONFCTL_GATEWAY_API_KEY": ""})
    assert missing.returncode == 3


def test_api_key_never_printed(cli, sim):
    room = new_room(cli, "secret-check")
    runs = [
        cli("--debug", "gateway", "room", "get", room, check=0),
        cli("--debug", "gateway", "room", "list", "--limit", "1", "-o", "yaml", check=0),
        cli("--dry-run", "gateway", "room", "volume", room, "--level", "1", check=0),
        cli("--debug", "gateway", "room", "get", room, env={"CONFCTL_GATEWAY_API_KEY": "wrong-key-123"}),
        cli("profile", "test", "--provider", "gateway", check=0),
    ]
    for proc in runs:
        assert KEY not in proc.stdout and KEY not in proc.stderr
        assert "wrong-key-123" not in proc.stdout + proc.stderr
    dry = runs[2].stdout
    assert dry.startswith("curl -X POST") and '"x-api-key: $confctl_gateway_api_key"' in dry.lower()
    assert "<redacted>" in runs[0].stderr


def test_dry_run_sends_nothing(cli, sim):
    sim.app.state.requests.clear()
    proc = cli("--dry-run", "gateway", "session", "join", "abcde-1", "--room",
               "acW68-room-550e8400-e29b-41d4-a716-446655440000", check=0)
    assert sim.app.state.requests == []
    assert "/api/v1/sessions/abcde-1/commands/conference/join" in proc.stdout and "command_uid" in proc.stdout


def test_webhooks_arrive_as_events(cli, sim):
    port = _closed_port()
    follower = cli.popen("gateway", "events", "-o", "jsonl", "--listen", f"127.0.0.1:{port}", "--count", "3",
                         "--timeout", "30", "--type", "conference.*")
    try:
        deadline = time.time() + 10
        while True:  # wait for the receiver to listen
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.time() < deadline, follower.stderr.read()
                time.sleep(0.05)
        gw(sim, "/_sim/webhook", {"url": f"http://127.0.0.1:{port}/"})
        room = new_room(cli, "webhooks-room")
        session = calls(sim, 1)[0]
        cli("gateway", "session", "join", session, "--room", room, check=0)
        cli("gateway", "room", "play", room, "https://cdn.example.com/a.wav", check=0)
        out, err = follower.communicate(timeout=30)
    finally:
        gw(sim, "/_sim/webhook", {"url": ""})
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert len(events) == 3
    types = [e["type"] for e in events]
    assert types[0] == "conference.created"
    assert {"conference.member.joined", "conference.play.started"} <= set(types)
    for e in events:
        assert e["provider"] == "gateway" and e["conference"] == room
        assert set(e) == {"time", "provider", "profile", "conference", "type", "id", "data"}


def test_interrupted_listing_prints_resume_cursor(cli, sim):
    import signal

    env = {"CONFCTL_GATEWAY_APP_ID": "third-app", "CONFCTL_GATEWAY_API_KEY": "third-key"}
    gw(sim, "/_sim/rooms", {"count": 3000, "app_id": "third-app", "prefix": "intr"})
    proc = cli.popen("gateway", "room", "list", "--all", "--limit", "1", "-o", "jsonl", env=env)
    first = proc.stdout.readline() + proc.stdout.readline()  # items stream as pages arrive
    assert [json.loads(line)["name"] for line in first.splitlines()] == ["intr-0000", "intr-0001"]
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130 and "resume with --cursor" in err, err
    cursor = err.split("resume with --cursor ", 1)[1].split()[0]
    resumed = cli("gateway", "room", "list", "--cursor", cursor, "--limit", "1", "-o", "json", env=env, check=0)
    seen = len((first + out).splitlines())
    # the resume cursor re-reads at most the page that was being printed: nothing is lost
    assert json.loads(resumed.stdout)["conferences"][0]["name"] in (f"intr-{seen:04d}", f"intr-{seen - 1:04d}")


def test_repeated_ids_in_bulk_are_sent_once(cli, sim):
    room = new_room(cli, "bulk-dupes")
    sessions = calls(sim, 2, room)
    proc = cli("gateway", "session", "unmute", sessions[0], sessions[1], sessions[0], "-o", "jsonl", check=0)
    assert len(proc.stdout.splitlines()) == 2 and "repeated id" in proc.stderr


def test_webhooks_listen_forwards_every_delivery(proc_cli, sim):
    # Real processes throughout: the deliveries come as far apart as two separate commands make them.
    cli = proc_cli
    first, second = _closed_port(), _closed_port()
    target = cli.popen("gateway", "webhooks", "listen", "--port", str(second), "-o", "jsonl", "--count", "2",
                       "--timeout", "30")
    relay = cli.popen("gateway", "webhooks", "listen", "--port", str(first), "--forward-to",
                      f"http://127.0.0.1:{second}/", "-o", "jsonl", "--count", "2", "--timeout", "30")
    try:
        for port in (first, second):
            deadline = time.time() + 10
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.time() < deadline
                    time.sleep(0.05)
        gw(sim, "/_sim/webhook", {"url": f"http://127.0.0.1:{first}/"})
        room = new_room(cli, "forwarded")
        cli("gateway", "room", "delete", room, "--yes", check=0)
        relayed, _ = relay.communicate(timeout=30)
        received, _ = target.communicate(timeout=30)
    finally:
        gw(sim, "/_sim/webhook", {"url": ""})
        for proc in (relay, target):
            if proc.poll() is None:
                proc.kill()
    assert relay.returncode == 0 and target.returncode == 0
    relayed_ids = [json.loads(line)["id"] for line in relayed.splitlines()]
    received_ids = [json.loads(line)["id"] for line in received.splitlines()]
    assert relayed_ids == received_ids and len(received_ids) == 2
    assert [json.loads(line)["type"] for line in received.splitlines()] == ["conference.created",
                                                                             "conference.destroyed"]
