"""Events at full speed, by behaviour: lines of a hot stream go out together while a quiet stream is never held
back (an injected clock bounds the wait), orjson JSON Lines with a fallback, the cheap timestamp is the same
text as datetime's, and the Pexip follower reads and emits in the consumer's thread (no reader thread) while
keeping its gap/reconnected records and ending with exit 3 on a lapsed token — against a fake async node."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime, timezone

import httpx
import pytest

from confctl.core.errors import AuthError, exit_code_for
from confctl.core.events import runner
from confctl.core.events.printer import HOLD_SECONDS, Printer


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


def event(n, **extra):
    return {"time": "2026-01-01T00:00:00.000Z", "provider": "x", "profile": "p", "conference": "c",
            "type": "t", "id": str(n), "data": {"n": n}, **extra}


def lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_a_hot_stream_is_written_in_one_go_and_a_pause_flushes_at_once():
    out = CountingStream()
    printer = Printer("jsonl", stream=out)
    seen_mid, seen_end = [], []

    def source(stop):
        yield event(1, _more=True)
        yield event(2, _more=True)
        seen_mid.append(out.getvalue())  # the runner has handed over 1 (marked: more is ready)
        yield event(3)  # the last one ready: the source is about to wait
        seen_end.append(out.getvalue())  # runs only when the runner asks for the next: 3 is out by now
        yield event(4)

    assert runner.run([("x", source)], printer, count=4) == 4
    assert seen_mid == [""]  # held while more was ready
    assert [e["id"] for e in lines(seen_end[0])] == ["1", "2", "3"]  # nothing held once the source pauses
    assert [e["id"] for e in lines(out.getvalue())] == ["1", "2", "3", "4"]
    assert all("_more" not in e for e in lines(out.getvalue()))  # the mark never reaches the output
    assert out.writes == 2  # one write per burst, not per event


def test_a_held_line_waits_at_most_hold_seconds_with_an_injected_clock():
    now = [100.0]
    out = io.StringIO()
    printer = Printer("jsonl", stream=out, clock=lambda: now[0])
    printer.write(event(1))
    assert out.getvalue() == ""
    now[0] += HOLD_SECONDS / 2
    printer.write(event(2))
    assert out.getvalue() == ""
    now[0] += HOLD_SECONDS
    printer.write(event(3))  # the oldest has waited long enough: everything goes out
    assert [e["id"] for e in lines(out.getvalue())] == ["1", "2", "3"]


def test_a_filtered_out_event_at_the_end_of_a_burst_still_flushes():
    out = io.StringIO()
    printer = Printer("jsonl", types=["t"], stream=out)
    seen = []

    def source(stop):
        yield event(1, _more=True)
        yield {**event(2), "type": "other"}  # filtered out, unmarked: the burst ended
        seen.append(out.getvalue())
        yield event(3)

    runner.run([("x", source)], printer, count=2)
    assert [e["id"] for e in lines(seen[0])] == ["1"]


def test_json_lines_come_from_orjson_and_fall_back_for_what_it_refuses():
    out = io.StringIO()
    printer = Printer("jsonl", stream=out)
    printer.print(event(1, data={"name": "Zoë", "big": 2**70}))  # beyond 64 bits: orjson refuses
    printer.print(event(2, data={"name": "Zoë"}))
    first, second = lines(out.getvalue())
    assert first["data"] == {"name": "Zoë", "big": 2**70}
    assert second["data"] == {"name": "Zoë"}
    assert "Zoë" in out.getvalue()  # UTF-8, not \\u escapes


def test_the_cheap_timestamp_reads_like_datetime():
    from confctl.core.events.envelope import now_iso

    for t in (0.0, 1.5, 1700000000.123456, 1767225599.9994):
        assert now_iso(t) == datetime.fromtimestamp(t, timezone.utc).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")


# -- the Pexip follower (asyncio hub) against a fake node -------------------------------------------------------
ALIAS = "meet.demo"
ALICE = {"uuid": "p-alice", "display_name": "Alice", "is_muted": "NO"}
BOB = {"uuid": "p-bob", "display_name": "Bob", "is_muted": "NO"}


class AsyncEventStream(httpx.AsyncByteStream):
    def __init__(self, items, hold: threading.Event | None = None):
        self.items = list(items)
        self.hold = hold

    async def __aiter__(self):
        import asyncio

        from pexip_support import DROP

        for item in self.items:
            if item is DROP:
                raise httpx.ReadError("connection reset by peer")
            yield item.encode()
        while self.hold is not None and not self.hold.is_set():  # a quiet, open stream
            await asyncio.sleep(0.01)


def async_node(streams, stop, hold=None):
    scripts = list(streams)
    threads_seen: list = []

    def handler(request):
        threads_seen.append([t.name for t in threading.enumerate()])
        if not scripts:
            stop.set()
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              stream=AsyncEventStream(scripts.pop(0), hold))

    return httpx.MockTransport(handler), threads_seen


def opening(*people, start=1):
    from pexip_support import sse

    items = [sse("participant_sync_begin", id=start)]
    items += [sse("participant_create", p, id=start + 1 + i) for i, p in enumerate(people)]
    return items + [sse("participant_sync_end", id=start + 1 + len(people))]


def follow_fake(monkeypatch, transport, stop):
    from pexip_support import pexip_session

    from confctl.core.events.aio import drive
    from confctl.core.vendor import FollowOptions
    from confctl.vendors.pexip.events import PexipHub

    session = pexip_session(monkeypatch, httpx.MockTransport(lambda r: httpx.Response(500)))
    options = FollowOptions(conference=(ALIAS,), stop=stop, values={"resume_timeout": 30})
    return session, drive(PexipHub(session, [ALIAS], options, "lab", transport=transport), stop)


def test_the_hub_resyncs_a_dropped_stream_in_the_consumers_thread(home, monkeypatch):
    from pexip_support import DROP, sse

    stop = threading.Event()
    transport, threads_seen = async_node([
        [*opening(ALICE), sse("participant_update", {**ALICE, "is_muted": "YES"}, id=4), DROP],
        [*opening({**ALICE, "is_muted": "YES"}, BOB, start=10), sse("message_received", {"payload": "hi"}, id=14)],
    ], stop)
    session, events = follow_fake(monkeypatch, transport, stop)
    got = list(events)
    assert [e["type"] for e in got] == [
        "participant_sync_begin", "participant_create", "participant_sync_end", "participant_update",
        "gap", "participant_create", "reconnected", "message_received"]
    assert got[5]["data"]["display_name"] == "Bob" and got[6]["data"]["created"] == 1
    assert not any(name.startswith("pexip-sse") for names in threads_seen for name in names)  # no reader thread
    session.close()


def test_the_hub_marks_a_burst_so_the_runner_can_batch_it(home, monkeypatch):
    from pexip_support import sse

    stop = threading.Event()
    hold = threading.Event()
    burst = [sse("participant_update", {**ALICE, "n": i}, id=10 + i) for i in range(5)]
    transport, _ = async_node([[*opening(ALICE), *burst]], stop, hold)
    session, events = follow_fake(monkeypatch, transport, stop)
    got = []
    for env in events:
        got.append(env)
        if len(got) == 8:
            break
    events.close()
    hold.set()
    assert any(e.get("_more") for e in got)  # read together: marked for batching
    assert not got[-1].get("_more")  # the last of what was ready is never held
    session.close()


def test_the_hub_ends_a_quiet_stream_with_exit_3_when_the_token_lapsed(home, monkeypatch):
    stop = threading.Event()
    hold = threading.Event()
    transport, _ = async_node([opening(ALICE)], stop, hold)
    session, events = follow_fake(monkeypatch, transport, stop)
    try:
        assert next(events)["type"] == "participant_sync_begin"
        session.lease(ALIAS).failure = AuthError("token refresh failed: the node refused to refresh it")
        with pytest.raises(AuthError) as caught:
            list(events)
        assert exit_code_for(caught.value) == 3
    finally:
        hold.set()
        session.close()


# -- Mind and Auvious: read in one place, bursts marked for batched output ---------------------------------------
def test_mind_socket_takes_buffered_messages_in_one_turn_without_a_reader_thread():
    import asyncio

    from confctl.vendors.mind.events import LoopSocket

    class Frames:
        def __init__(self, ws):
            self.ws = ws

        @property
        def frames(self):
            return self.ws.waiting

    class FakeWS:
        def __init__(self, messages):
            self.waiting = list(messages)
            self.recv_messages = Frames(self)
            self.threads = []

        async def recv(self):
            self.threads.append(threading.current_thread())
            if not self.waiting:
                await asyncio.sleep(3600)
            return self.waiting.pop(0)

        async def close(self):
            self.waiting = []

    loop = asyncio.new_event_loop()
    ws = FakeWS(["a", "b", "c"])
    sock = LoopSocket(loop, ws)
    assert sock.recv(timeout=1) == "a"
    assert sock.pending == 2  # b and c came with it: the follower marks `a` _more
    assert [sock.recv(timeout=1), sock.recv(timeout=1)] == ["b", "c"]
    assert sock.pending == 0
    with pytest.raises(TimeoutError):
        sock.recv(timeout=0.01)  # quiet: the follower checks its stop flag and waits again
    assert set(ws.threads) == {threading.current_thread()}
    sock.close()
    assert loop.is_closed()


def test_auvious_marks_every_event_of_an_answer_but_the_last(monkeypatch):
    from confctl.core.state import state
    from confctl.core.vendor import FollowOptions
    from confctl.vendors.auvious import events

    class Session:
        calls = 0

        def request(self, method, path, **kw):
            return path

        def json(self, path):
            if not path.endswith("/events"):
                return {"version": 0}
            Session.calls += 1
            if Session.calls == 1:
                return [{"id": f"e{v}", "type": "X", "conferenceVersion": v, "conferenceId": "c1"} for v in (1, 2, 3)]
            return []

        def close(self):
            pass

    class Provider:
        def session(self, profile, **kw):
            return Session()

    class Profile:
        name = "p"

        def get(self, key):
            return None

    monkeypatch.setattr(events, "IDLE_PAUSE", 0.01)
    monkeypatch.setattr(state, "max_wait", 1.0, raising=False)
    monkeypatch.setattr(state, "timeout", 5.0, raising=False)
    stop = threading.Event()
    stream = events.follow(Provider(), Profile(), FollowOptions(conference=("c1",), stop=stop))
    got = [next(stream) for _ in range(3)]
    stop.set()
    list(stream)
    assert [(e["id"], bool(e.get("_more"))) for e in got] == [("e1", True), ("e2", True), ("e3", False)]
