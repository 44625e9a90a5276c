"""Helpers (no tests) shared by tests/test_mind*.py: fresh conferences, simulator controls, reading a follower."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx


APP = {"Authorization": "Bearer demo-app-token"}


def new_conference(sim, name: str = "test") -> str:
    """Set-up straight over HTTP (the CLI's own create is covered by the registry examples)."""
    response = httpx.post(f"{sim.url}/mind/demo-app", json={"name": name}, headers=APP, timeout=10)
    return response.json()["id"]


def new_participant(sim, conference: str, name: str, role: str = "speaker") -> tuple[str, str]:
    """(id, participant token)"""
    body = httpx.post(f"{sim.url}/mind/demo-app/{conference}/participants", json={"name": name, "role": role},
                      headers=APP, timeout=10).json()
    return body["id"], body["token"]


def control(sim, conference: str, action: str, **body) -> dict:
    response = httpx.post(f"{sim.url}/mind/_sim/{conference}/{action}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def listeners(sim, conference: str) -> int:
    state = httpx.get(f"{sim.url}/mind/_sim/state", timeout=10).json()
    return state.get(conference, {}).get("listeners", 0)


def wait_for(predicate, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Lines:
    """Collect a follower's stdout lines (JSON Lines) on a thread, so tests can wait for one."""

    def __init__(self, proc):
        self.proc = proc
        self.queue: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.queue.put(json.loads(line))
        self.queue.put(None)

    def until(self, etype: str, timeout: float = 20.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {etype} event; saw {[e['type'] for e in self.seen]}")
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if event is None:
                raise AssertionError(f"stream ended before {etype}; saw {[e['type'] for e in self.seen]}; "
                                     f"stderr: {self.proc.stderr.read()}")
            self.seen.append(event)
            if event["type"] == etype:
                return event
