"""A fake clock for the followers' unit tests: no test sleeps, and none asserts on real time."""

from __future__ import annotations


class FakeClock:
    """Stands in for time.monotonic (call it) and for a follower's `wait` (its backoff pauses): waiting moves
    the clock on at once and is recorded."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False
