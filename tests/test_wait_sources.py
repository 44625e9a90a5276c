"""The live model's sources (confctl/core/fleet/sources.py): polling a vendor without a stream — paced from each
snapshot's start, never back to back, backing off on errors (reported once as a gap, recovery as reconnected),
ending on errors waiting cannot heal — all with an injected clock; and where -c goes for polled profiles."""

from __future__ import annotations

import threading
import types

import pytest

from confctl.core.errors import AuthError, ServerError
from confctl.core.fleet import sources
from confctl.core.fleet.model import Conference, Participant


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(round(seconds, 6))
        self.now += seconds


class Model:
    """A vendor model whose snapshot() follows a script: a number (seconds it takes) or an exception."""

    streams = False
    poll_interval = 2.0

    def __init__(self, script, clock):
        self.script = list(script)
        self.clock = clock
        self.calls = 0

    def snapshot(self, conn, conferences=()):
        self.calls += 1
        step = self.script.pop(0) if self.script else 0.0
        if isinstance(step, BaseException):
            raise step
        self.clock.now += step
        return ([Conference("gateway", "gw", "room-1", name="Room")],
                [Participant("gateway", "gw", "room-1", f"s{self.calls}")])


class Conn:
    def __init__(self, model):
        self.vendor, self.name = "gateway", "gw"
        self.profile = types.SimpleNamespace(provider=types.SimpleNamespace(load_model=lambda: model))
        self.closed = False

    def close(self):
        self.closed = True


def run(script, n, *, interval=2.0):
    """The first n envelopes of polled() over the script, the pauses it took, and whether it closed conn."""
    clock = FakeClock()
    model = Model(script, clock)
    conn = Conn(model)
    stop = threading.Event()
    gen = sources.polled(conn, (), stop, interval, clock=clock, wait=clock.wait)
    got = [next(gen) for _ in range(n)]
    gen.close()
    return got, clock.waits, conn.closed


def test_snapshots_come_every_interval_counted_from_the_start_of_the_last():
    got, waits, closed = run([0.5, 0.5, 0.5], 3)
    assert [e["type"] for e in got] == ["snapshot"] * 3
    assert waits == [1.0, 0.5, 1.0, 0.5]  # 2 s interval less the 0.5 s each snapshot took (in 1 s slices)
    assert closed


def test_a_slow_snapshot_is_not_followed_by_another_at_once():
    got, waits, _ = run([3.0, 3.0], 2)
    assert sum(waits[:3]) == pytest.approx(3.0)  # as long as the snapshot took, not 0


def test_errors_back_off_doubling_and_are_reported_once_then_recovery():
    err = ServerError("gateway unreachable")
    got, waits, _ = run([err, err, err, 0.0], 3)
    assert [e["type"] for e in got] == ["gap", "reconnected", "snapshot"]
    assert got[0]["data"]["reason"] == "gateway unreachable"
    assert sum(waits) == pytest.approx(4.0 + 8.0 + 16.0)


def test_the_backoff_is_capped_at_a_minute():
    clock = FakeClock()
    model = Model([ServerError("down")] * 9, clock)
    stop = threading.Event()
    times = []
    real = model.snapshot

    def snapshot(conn, conferences=()):
        times.append(clock.now)
        if len(times) == 9:
            stop.set()
        return real(conn, conferences)

    model.snapshot = snapshot
    got = list(sources.polled(Conn(model), (), stop, 2.0, clock=clock, wait=clock.wait))
    assert [e["type"] for e in got] == ["gap"]  # reported once
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps == [4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0, 60.0]


def test_errors_waiting_cannot_heal_end_the_source():
    clock = FakeClock()
    conn = Conn(Model([AuthError("401: invalid X-API-Key")], clock))
    gen = sources.polled(conn, (), threading.Event(), 2.0, clock=clock, wait=clock.wait)
    with pytest.raises(AuthError):
        next(gen)
    assert conn.closed


def test_stop_ends_polling_within_a_slice():
    clock = FakeClock()
    stop = threading.Event()

    def wait(seconds):
        clock.wait(seconds)
        stop.set()

    conn = Conn(Model([0.0, 0.0], clock))
    got = list(sources.polled(conn, (), stop, 5.0, clock=clock, wait=wait))
    assert [e["type"] for e in got] == ["snapshot"] and clock.waits == [1.0] and conn.closed


# -- where -c goes --------------------------------------------------------------------------------------------
def prof(name, vendor, takes):
    return types.SimpleNamespace(name=name, provider=types.SimpleNamespace(name=vendor, takes_conference=takes))


GW, PEX = prof("gw", "gateway", False), prof("pex", "pexip", True)


def test_a_polled_profile_takes_its_own_prefixed_conferences():
    streams, polled = sources._split_conferences([GW], [PEX], ["gw:ROOM1", "gateway:ROOM2", "meet.demo"])
    assert streams == ["meet.demo"] and polled[id(GW)] == ["ROOM1", "ROOM2"]


def test_a_plain_conference_goes_to_polled_profiles_only_when_no_stream_takes_one():
    streams, polled = sources._split_conferences([GW], [], ["ROOM1"])
    assert streams == [] and polled[id(GW)] == ["ROOM1"]
    streams, polled = sources._split_conferences([GW], [PEX], ["ROOM1"])
    assert streams == ["ROOM1"] and polled[id(GW)] == []
