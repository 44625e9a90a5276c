"""Many Pexip conferences in one process, against the simulator in this process: the follower's thread count
does not grow with the number of conferences (N=5 vs N=50), every conference connects and its events arrive,
and stopping releases every token. Plus the pieces: fair hand-over (a busy stream cannot starve a quiet one),
the pacer, the --connect-rate check. No timing assertions."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from confctl.core.errors import ValidationError, exit_code_for


@pytest.fixture(scope="module")
def sim():
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(vendors=("pexip",))) as running:
        yield running


def load(sim, **body) -> dict:
    response = httpx.post(sim.url + "/pexip/_sim/load", json=body)
    response.raise_for_status()
    return response.json()


def load_status(sim, prefix: str) -> dict:
    return httpx.get(sim.url + "/pexip/_sim/load", params={"prefix": prefix}).json()


def follower(sim, home, monkeypatch, aliases):
    """Provider.follow over `aliases` in a thread: (stop, received envelopes, thread, errors)."""
    from confctl.core import config
    from confctl.core.registry import PROVIDERS
    from confctl.core.vendor import FollowOptions

    for key, value in sim.env().items():
        if key.startswith("CONFCTL_PEXIP_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_PEXIP_PIN", "1234")
    profile = config.resolve("pexip", None)
    stop = threading.Event()
    options = FollowOptions(conference=tuple(aliases), stop=stop, values={"connect_rate": "1000/s"})
    got: list[dict] = []
    errors: list[BaseException] = []

    def run():
        try:
            for env in PROVIDERS["pexip"].load().follow(profile, options):
                got.append(env)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run, name="test-follower")
    thread.start()
    return stop, got, thread, errors


def until(predicate, limit=30.0):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def follow_and_count_threads(sim, home, monkeypatch, n: int) -> int:
    aliases = load(sim, conferences=n, prefix=f"scale{n}", rate=0)["conferences"]
    assert len(aliases) == n
    before = threading.active_count()
    stop, got, thread, errors = follower(sim, home, monkeypatch, aliases)
    try:
        synced = lambda: {e["conference"] for e in got if e["type"] == "participant_sync_end"}  # noqa: E731
        assert until(lambda: len(synced()) == n or errors), errors
        assert not errors
        time.sleep(0.3)  # token calls of the joins have finished
        grown = threading.active_count() - before
        # Events flow to every conference and come out of the one follower.
        load(sim, prefix=f"scale{n}", rate=400)
        assert until(lambda: {e["conference"] for e in got if "sim_sent_at" in e["data"]} >= set(aliases))
        load(sim, prefix=f"scale{n}", rate=0)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and not errors
    assert load_status(sim, f"scale{n}")["tokens"] == 0  # every conference's token was released
    assert load_status(sim, f"scale{n}")["streams"] == 0
    return grown


def test_thread_count_does_not_grow_with_the_number_of_conferences(sim, home, monkeypatch):
    from confctl.vendors.pexip.events import TOKEN_WORKERS

    five = follow_and_count_threads(sim, home, monkeypatch, 5)
    fifty = follow_and_count_threads(sim, home, monkeypatch, 50)
    # The follower thread, its token workers, at most a few short-lived request threads: never per conference
    # (the thread design used three per conference: 150 for fifty).
    assert fifty <= five + TOKEN_WORKERS
    assert fifty <= 1 + TOKEN_WORKERS + 3


def test_stopping_releases_every_token_even_right_after_the_joins(sim, home, monkeypatch):
    aliases = load(sim, conferences=20, prefix="early", rate=0)["conferences"]
    stop, got, thread, errors = follower(sim, home, monkeypatch, aliases)
    assert until(lambda: load_status(sim, "early")["tokens"] > 0)
    stop.set()  # some joins may still be in flight: they land, then are released
    thread.join(30)
    assert not thread.is_alive() and not errors
    assert load_status(sim, "early")["tokens"] == 0


def test_one_scheduler_refreshes_every_conferences_token_while_following(sim, home, monkeypatch):
    aliases = load(sim, conferences=10, prefix="fresh", rate=0)["conferences"]
    httpx.post(sim.url + "/pexip/_sim/ttl", json={"seconds": 2}).raise_for_status()  # refresh every ~0.7 s
    try:
        sim.app.state.requests.clear()
        before = threading.active_count()
        stop, got, thread, errors = follower(sim, home, monkeypatch, aliases)
        refreshed = lambda: {p.split("/")[-2] for m, p in list(sim.app.state.requests)  # noqa: E731
                             if p.endswith("/refresh_token")}
        try:
            assert until(lambda: refreshed() >= set(aliases) or errors), errors
            grown = threading.active_count() - before
        finally:
            stop.set()
            thread.join(30)
    finally:
        httpx.post(sim.url + "/pexip/_sim/ttl", json={"seconds": 120})
    assert not errors
    assert grown <= 1 + 4 + 3  # no keep-alive thread per token: the scheduler runs them on the token pool
    assert load_status(sim, "fresh")["tokens"] == 0


def test_a_refresh_token_event_refreshes_that_conferences_token_at_once(sim, home, monkeypatch):
    aliases = load(sim, conferences=3, prefix="urgent", rate=0)["conferences"]
    stop, got, thread, errors = follower(sim, home, monkeypatch, aliases)
    try:
        assert until(lambda: load_status(sim, "urgent")["streams"] == 3 or errors), errors
        sim.app.state.requests.clear()
        httpx.post(sim.url + "/pexip/_sim/refresh-event").raise_for_status()  # tokens live 120 s: not due
        refreshed = lambda: {p.split("/")[-2] for m, p in list(sim.app.state.requests)  # noqa: E731
                             if p.endswith("/refresh_token")}
        assert until(lambda: refreshed() >= set(aliases))
        assert any(e["type"] == "refresh_token" for e in got)
    finally:
        stop.set()
        thread.join(30)
    assert not errors and load_status(sim, "urgent")["tokens"] == 0


# -- the pieces --------------------------------------------------------------------------------------------
def test_a_busy_stream_cannot_starve_a_quiet_one():
    from confctl.core.events.aio import FairQueue

    async def scenario():
        queue = FairQueue(limit=10_000, quantum=8)
        for i in range(1000):
            await queue.put("busy", {"n": i})
        await queue.put("quiet", {"n": "q"})
        return await queue.take(32, timeout=1)

    batch = asyncio.run(scenario())
    assert {"n": "q"} in batch[:9]  # after at most one quantum of the busy stream
    assert [e["n"] for e in batch if e["n"] != "q"] == list(range(len(batch) - 1))  # each stream in order


def test_a_full_stream_waits_for_room_and_a_failure_comes_after_its_events():
    from confctl.core.events.aio import Failure, FairQueue

    async def scenario():
        queue = FairQueue(limit=2)
        await queue.put("a", 1)
        await queue.put("a", 2)
        blocked = asyncio.ensure_future(queue.put("a", 3))
        await asyncio.sleep(0)
        assert not blocked.done()  # bounded: the producer waits (its socket is read more slowly)
        first = await queue.take(10, timeout=1)
        await asyncio.sleep(0)
        assert blocked.done()
        queue.fail("a", RuntimeError("gone"))
        rest = await queue.take(10, timeout=1)
        empty = await queue.take(10, timeout=0.01)
        return first, rest, empty

    first, rest, empty = asyncio.run(scenario())
    assert first == [1, 2]
    assert rest[0] == 3 and isinstance(rest[1], Failure) and str(rest[1].error) == "gone"
    assert empty == []


def test_the_pacer_spaces_joins_after_a_burst():
    from confctl.core.events.aio import Pacer

    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    async def scenario():
        pacer = Pacer(4, clock=lambda: now[0])
        times = []
        for _ in range(8):
            await pacer.wait()
            times.append(now[0])
        return times

    original = asyncio.sleep
    asyncio.sleep = fake_sleep
    try:
        times = asyncio.run(scenario())
    finally:
        asyncio.sleep = original
    assert times[:4] == [0.0] * 4  # a burst of `rate`
    assert times[4:] == pytest.approx([0.25, 0.5, 0.75, 1.0])  # then `rate` per second


@pytest.mark.parametrize("value", ["0", "-3", "fast", "inf", "/s"])
def test_a_bad_connect_rate_is_exit_2(value):
    from confctl.vendors.pexip.events import check_connect_rate, connect_rate

    with pytest.raises(ValidationError) as caught:
        check_connect_rate(value)
    assert exit_code_for(caught.value) == 2
    assert connect_rate("25/s") == 25.0 and connect_rate("2.5") == 2.5


def test_ctrl_c_releases_every_token_of_many_conferences(sim, home):
    """A real process following 30 conferences; SIGINT (Ctrl-C) once every stream is open: exit 130 and no
    token left on the node."""
    import os
    import signal
    import subprocess
    import sys

    aliases = load(sim, conferences=30, prefix="ctrlc", rate=0)["conferences"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({k: v for k, v in sim.env().items() if k.startswith("CONFCTL_PEXIP_")})
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1", "CONFCTL_PEXIP_PIN": "1234"})
    cmd = [sys.executable, "-m", "confctl", "-o", "jsonl", "pexip", "events", "--connect-rate", "200"]
    for alias in aliases:
        cmd += ["-c", alias]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert until(lambda: load_status(sim, "ctrlc")["streams"] == 30 or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        assert code == 130, proc.stderr.read().decode()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert load_status(sim, "ctrlc")["tokens"] == 0
