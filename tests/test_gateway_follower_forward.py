"""The webhook receiver's forwarding: one worker forwards deliveries in the order they were received, the exit
waits (bounded) for what is queued, and a full queue drops with a warning. The forward target is a fake `post`
(no second server); deliveries are real POSTs to the receiver on loopback."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from confctl.vendors.gateway import webhooks
from confctl.vendors.gateway.webhooks import Receiver


class Target:
    """A forward target that records what it got; `hold` keeps the first forward waiting until released."""

    def __init__(self, hold: bool = False):
        self.got: list[int] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.started = threading.Event()

    def __call__(self, url, raw, headers):
        self.started.set()
        self.release.wait(30)
        self.got.append(json.loads(raw)["n"])


def deliver(receiver: Receiver, n: int) -> None:
    response = httpx.post(receiver.address + "/", json={"event": "conference.member.joined", "n": n}, timeout=10)
    assert response.status_code == 204


def test_deliveries_are_forwarded_in_the_order_received():
    target = Target(hold=True)
    with Receiver("127.0.0.1", 0, "http://target.invalid/hook", post=target) as receiver:
        deliver(receiver, 0)
        assert target.started.wait(10)  # the first forward is under way (and held) ...
        for n in range(1, 8):  # ... while the rest arrive
            deliver(receiver, n)
        target.release.set()
    # leaving the receiver waited for the queued forwards
    assert target.got == list(range(8))
    printed = [receiver.events.get_nowait()["n"] for _ in range(8)]
    assert printed == list(range(8))


def test_the_exit_waits_for_queued_forwards_but_only_so_long():
    target = Target(hold=True)
    receiver = Receiver("127.0.0.1", 0, "http://target.invalid/hook", post=target)
    with receiver:
        deliver(receiver, 0)
        assert target.started.wait(10)
        receiver.server.shutdown()
        assert receiver.drain(0.2) is False  # the target never answers: the wait is bounded
        target.release.set()
    assert target.got == [0]


def test_a_full_queue_drops_with_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(webhooks, "FORWARD_QUEUE", 2)
    target = Target(hold=True)
    with Receiver("127.0.0.1", 0, "http://target.invalid/hook", post=target) as receiver:
        deliver(receiver, 0)
        assert target.started.wait(10)  # 0 is being forwarded; 1 and 2 fill the queue; 3 is dropped
        for n in (1, 2, 3):
            deliver(receiver, n)
        target.release.set()
    assert target.got == [0, 1, 2]
    assert "deliveries behind; one was dropped" in capsys.readouterr().err


def test_a_failing_forward_does_not_stop_the_next_ones(capsys):
    got = []

    def post(url, raw, headers):
        n = json.loads(raw)["n"]
        if n == 0:
            raise httpx.ConnectError("refused")
        if n == 1:
            raise ValueError("surprise")
        got.append(n)

    with Receiver("127.0.0.1", 0, "http://target.invalid/hook", post=post) as receiver:
        for n in range(3):
            deliver(receiver, n)
    assert got == [2]
    err = capsys.readouterr().err
    assert "forwarding to http://target.invalid/hook failed" in err


def test_without_a_target_nothing_is_queued():
    with Receiver("127.0.0.1", 0, None, post=lambda *a: pytest.fail("forwarded")) as receiver:
        deliver(receiver, 0)
    assert receiver.outbox.qsize() == 0 and receiver.events.get_nowait()["n"] == 0
