"""One merge of event streams (core/events/merge.py), used by every vendor that follows several streams."""

import ast
import threading
import time
from pathlib import Path

from confctl.core.events.merge import merge
from confctl.core.vendor import FollowOptions

ROOT = Path(__file__).resolve().parent.parent


def test_outer_stop_ends_the_merge_without_being_set_by_it():
    outer, own = threading.Event(), threading.Event()
    release = threading.Event()

    def source():
        yield 1
        release.wait(5)
        yield 2

    stream = merge([source], own, poll=0.01, outer=outer)
    assert next(stream) == 1
    outer.set()
    assert list(stream) == []
    assert own.is_set()  # its own stop is set on exit, so sources clean up
    release.set()


def test_linger_zero_does_not_wait_for_a_blocked_source():
    stop, gate = threading.Event(), threading.Event()

    def blocked():
        yield "a"
        gate.wait(10)  # a long poll the merge cannot interrupt
        yield "b"

    stream = merge([blocked], stop, poll=0.01, linger=0)
    assert next(stream) == "a"
    stream.close()  # returns although the source is still blocked
    assert stop.is_set()
    gate.set()


def test_an_error_in_one_source_reaches_the_consumer():
    def bad():
        yield 1
        raise ValueError("boom")

    stop = threading.Event()
    got = []
    try:
        for item in merge([bad], stop, poll=0.01):
            got.append(item)
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the error was swallowed")
    assert got == [1]


def test_auvious_pollers_are_merged_by_the_shared_merge():
    from confctl.vendors.auvious import events

    source = (ROOT / "confctl/vendors/auvious/events.py").read_text()
    tree = ast.parse(source)
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("confctl.core.events.merge", "merge") in imported
    assert "queue" not in {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not issubclass(events.Poller, threading.Thread)


def test_auvious_follow_merges_two_conferences_and_stops_on_the_runner_stop(monkeypatch):
    """Two pollers with a fake session: events of both arrive, the runner's stop ends the stream, and
    every session is closed."""
    from confctl.core.state import state
    from confctl.vendors.auvious import events

    closed = []

    class Session:
        def __init__(self):
            self.calls = 0

        def request(self, method, path, **kw):
            return path, kw

        def json(self, answer):
            path, kw = answer
            conf = path.split("/")[3]
            if not path.endswith("/events"):
                return {"version": 1}
            self.calls += 1
            if self.calls == 1:
                return [{"id": f"{conf}-e2", "type": "X", "conferenceVersion": 2, "conferenceId": conf}]
            time.sleep(0.01)
            return []

        def close(self):
            closed.append(self)

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
    stream = events.follow(Provider(), Profile(), FollowOptions(conference=("c1", "c2"), stop=stop))
    got = {next(stream)["conference"], next(stream)["conference"]}
    assert got == {"c1", "c2"}
    stop.set()
    assert list(stream) == []
    for _ in range(200):
        if len(closed) == 2:
            break
        time.sleep(0.01)
    assert len(closed) == 2
