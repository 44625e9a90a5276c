"""Bulk at scale: ids stream from the file (memory does not grow with it), every id is validated before anything
is sent, at most twice --concurrency items are in flight or unprinted, and 1,000 session mutes against the
simulator get one result each with zero 429s (the documented per-session cooldowns are never overrun)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from contextlib import contextmanager

import pytest

from confctl.core import builder
from confctl.core.errors import ValidationError
from confctl.core.registry import PROVIDERS
from confctl.core.state import reset


def _peak_while_reading(path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in builder.iter_ids(str(path)))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_ids_does_not_grow_with_the_file(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_text("".join(f"acW68-session-{i:08d}\n" for i in range(2_000)))
    large.write_text("".join(f"acW68-session-{i:08d}\n" for i in range(100_000)))
    n_small, peak_small = _peak_while_reading(small)
    n_large, peak_large = _peak_while_reading(large)
    assert (n_small, n_large) == (2_000, 100_000)
    # 50x the lines, the same peak (a list of the ids alone would be ~7 MB more)
    assert peak_large < peak_small + 256 * 1024, (peak_small, peak_large)


def test_json_lines_and_comments_are_read_as_before(tmp_path):
    path = tmp_path / "ids"
    path.write_text('# a comment\n\n{"uuid": "s-1"}\n"s-2"\ns-3\n')
    assert builder.read_ids(str(path)) == ["s-1", "s-2", "s-3"]
    path.write_text('s-1\n{"uuid": \n')
    with pytest.raises(ValidationError, match="line 2: malformed JSON"):
        builder.read_ids(str(path))


def test_bulk_ids_are_validated_first_spooled_in_order_and_deduplicated(tmp_path):
    path = tmp_path / "ids"
    path.write_text("b\na\nb\nc\n")
    ids = builder.BulkIds(["a", "z"], str(path))
    checked = []
    ids.check(checked.append)
    assert checked == ["a", "z", "b", "c"] and ids.count == 4 and ids.repeats == 2 and ids.first == "a"
    assert list(ids) == ["a", "z", "b", "c"] and list(ids) == ["a", "z", "b", "c"]  # re-readable
    ids.close()


def test_a_bad_id_late_in_the_file_stops_everything_before_sending(tmp_path):
    path = tmp_path / "ids"
    path.write_text("ok-1\nok-2\nbad/../x\n")

    def validate(item):
        if "/" in item:
            raise ValidationError("UUID", "must be one path segment")

    ids = builder.BulkIds([], str(path))
    with pytest.raises(ValidationError):
        ids.check(validate)
    ids.close()


class _Profile:
    name, protected, provider = "p", False, None

    def get(self, field):
        return None


def test_in_flight_and_unprinted_items_stay_bounded(monkeypatch, tmp_path):
    """Items are submitted only while fewer than 2 x --concurrency are waiting: a slow first item holds the
    reading back instead of the whole file being queued."""
    reset()
    provider = PROVIDERS["gateway"].load()
    ep = next(e for e in provider.endpoints if e.id == "gateway.session.mute")
    started, printed, worst = [], [], [0]
    lock = threading.Lock()
    release = threading.Event()

    def fake_send(call):
        with lock:
            started.append(call.values["uuid"])
            worst[0] = max(worst[0], len(started) - len(printed))
        if call.values["uuid"] == "s-0":
            release.wait(5)  # the first item is slow
        return {"status": "muted"}

    class Stream:
        def __init__(self, **kw):
            pass

        def add(self, item):
            with lock:
                printed.append(item["id"])

        def close(self):
            pass

    @contextmanager
    def session(profile):
        yield object()

    monkeypatch.setattr(builder, "send_call", fake_send)
    monkeypatch.setattr(builder.output, "ItemStream", Stream)
    monkeypatch.setattr(provider, "session", session)
    ids = [f"s-{i}" for i in range(200)]
    threading.Timer(0.3, release.set).start()
    builder.run_bulk(provider, ep, {}, ids, len(ids), _Profile(), {"concurrency": 4})
    assert printed == ids  # one result per item, in input order
    assert worst[0] <= 2 * 4


def test_the_simulator_sets_nodelay_on_its_connections(sim):
    """asyncio sets TCP_NODELAY only when the listening socket says IPPROTO_TCP (else each reply on a kept-alive
    connection waits for a delayed ACK)."""
    listening = [sock for server in sim.server.servers for sock in server.sockets]
    assert listening and all(sock.proto == socket.IPPROTO_TCP for sock in listening)


class StatusLog:
    """ASGI wrapper recording every answer's (method, path, status)."""

    def __init__(self, app):
        self.app, self.state, self.answers = app, app.state, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def record(message):
            if message["type"] == "http.response.start":
                self.answers.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)


def test_a_thousand_mutes_from_a_file_one_result_each_and_no_429(tmp_path, monkeypatch):
    import httpx

    from confctl.core.sim import server
    from confctl.core.sim.server import CREDENTIALS

    plain = server.build_app
    logs = []
    monkeypatch.setattr(server, "build_app", lambda cfg: logs.append(StatusLog(plain(cfg))) or logs[-1])
    with server.RunningSim(server.SimConfig(cooldown_scale=0.01, deferred_delay=0.01)) as sim:
        creds = CREDENTIALS["gateway"]
        api = httpx.Client(base_url=f"{sim.url}/gateway", headers={"X-App-ID": creds["app_id"],
                                                                   "X-API-Key": creds["api_key"]})
        room = api.post("/_sim/rooms", json={"count": 1, "prefix": "bulk"}).json()["rooms"][0]
        ids = api.post("/_sim/sessions", json={"count": 1000, "room_id": room}).json()["sessions"]
        for sid in ids:
            api.post(f"/api/v1/sessions/{sid}/commands/conference/unmute", json={}).raise_for_status()
        time.sleep(0.05)  # the scaled-down cooldown of those unmutes
        path = tmp_path / "ids.txt"
        path.write_text("\n".join(ids) + "\n")
        log = logs[0]
        before = len(log.answers)
        env = {**os.environ, **sim.env(), "CONFCTL_CONFIG_DIR": str(tmp_path / "cfg"), "CONFCTL_NO_INPUT": "1"}
        proc = subprocess.run([sys.executable, "-m", "confctl", "-o", "jsonl", "gateway", "session", "mute",
                               "--from-file", str(path), "--concurrency", "8"],
                              env=env, capture_output=True, text=True, timeout=300)
        answers = log.answers[before:]
        members = api.get(f"/api/v1/conferences/{room}/members", params={"limit": 1000}).json()["members"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in results] == ids and all(r["ok"] and r["note"] == "muted" for r in results)
    assert [a for a in answers if a[2] == 429] == []
    assert len([a for a in answers if a[1].endswith("/commands/conference/mute")]) == 1000  # no retries
    assert all(m["muted"] for m in members) and len(members) == 1000
