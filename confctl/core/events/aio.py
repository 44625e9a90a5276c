"""Many event streams in one thread: an asyncio loop behind the ordinary sync source interface.

A follower with hundreds of streams (Pexip: one SSE stream per conference) runs one task per stream in one
event loop, so its thread count does not grow with the number of streams. `drive(hub, stop)` is the sync
generator a provider's `follow()` returns: it owns the loop in the calling thread and runs it only while it
waits for the next batch of envelopes (at most `poll` seconds, so `stop` is honoured within that), then yields
the batch — read and emitted in one place, no thread hop per event. Every envelope of a batch but the last is
marked `_more` (the runner then buffers its line: core/events/runner.py).

`FairQueue` is the hand-over: bounded per stream (a stream whose consumer is behind simply waits, and its socket
is read more slowly: memory stays flat) and taken round-robin, at most `quantum` envelopes per stream per
round, so a busy stream cannot starve a quiet one. A stream's failure travels in order with its envelopes and is
raised by `drive` when it is reached.

`Pacer` spaces out connection attempts (a token bucket: `rate` per second, bursts of up to `rate`).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any, Iterator, Protocol


class Failure:
    """A stream's exception, queued behind the envelopes it produced before failing."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException):
        self.error = error


class FairQueue:
    def __init__(self, limit: int = 64, quantum: int = 16):
        self.limit = limit
        self.quantum = quantum
        self._queues: dict[Any, deque] = {}
        self._ready: deque = deque()  # keys with something queued, each once, in round-robin order
        self._space: dict[Any, asyncio.Future] = {}  # a producer waiting for room in its queue
        self._nonempty: asyncio.Event | None = None

    def _signal(self) -> asyncio.Event:
        if self._nonempty is None:
            self._nonempty = asyncio.Event()  # created inside the running loop
        return self._nonempty

    def _append(self, key, item) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append(item)
        if len(queue) == 1:
            self._ready.append(key)
        self._signal().set()

    async def put(self, key, item) -> None:
        """Queue one envelope of stream `key`, waiting while that stream has `limit` queued."""
        while len(self._queues.get(key) or ()) >= self.limit:
            waiter = self._space.get(key)
            if waiter is None or waiter.done():
                waiter = self._space[key] = asyncio.get_running_loop().create_future()
            await waiter
        self._append(key, item)

    def fail(self, key, error: BaseException) -> None:
        """Stream `key` failed: raised by the consumer after what it queued before (never waits)."""
        self._append(key, Failure(error))

    def pending(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def take(self, most: int, timeout: float) -> list:
        """Up to `most` items, round-robin over the streams; waits at most `timeout` s for the first."""
        if not self._ready:
            signal = self._signal()
            signal.clear()
            try:
                await asyncio.wait_for(signal.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        out: list = []
        ready, queues, quantum = self._ready, self._queues, self.quantum
        while ready and len(out) < most:
            key = ready.popleft()
            queue = queues[key]
            for _ in range(min(quantum, len(queue), most - len(out))):
                out.append(queue.popleft())
            if queue:
                ready.append(key)
            else:
                del queues[key]
            waiter = self._space.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        return out


class Pacer:
    """At most `rate` starts per second after an initial burst of `rate` (a token bucket); `clock` is
    the loop's time, replaced by tests."""

    def __init__(self, rate: float, clock=None):
        self.rate = float(rate)
        self.capacity = max(1.0, self.rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated: float | None = None
        self._lock: asyncio.Lock | None = None

    def _now(self) -> float:
        return self.clock() if self.clock else asyncio.get_running_loop().time()

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # first come, first served
            while True:
                now = self._now()
                if self.updated is not None:
                    self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self.tokens) / self.rate)


class Hub(Protocol):
    """What `drive` runs: `start()` spawns the stream tasks, `queue` is where they put envelopes,
    `shutdown()` ends them and cleans up (releases tokens) — also after Ctrl-C."""

    queue: FairQueue

    async def start(self) -> None: ...

    async def shutdown(self) -> None: ...


def drive(hub: Hub, stop: threading.Event, *, poll: float = 0.5, most: int = 256) -> Iterator[dict]:
    """Run `hub` in a new event loop in this thread; yield its envelopes until `stop` is set, a stream fails
    (its exception is raised here), or the consumer closes the generator."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(hub.start())
        take = hub.queue.take
        while not stop.is_set():
            batch = loop.run_until_complete(take(most, poll))
            last = len(batch) - 1
            for i, item in enumerate(batch):
                if type(item) is Failure:
                    raise item.error
                if i < last and type(batch[i + 1]) is not Failure:
                    item["_more"] = True
                yield item
    finally:
        try:
            _finish(loop, hub)
        finally:
            loop.close()


def _finish(loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
    """Shut the hub down, then cancel whatever is left (a second Ctrl-C here abandons the cleanup)."""
    try:
        task = loop.create_task(hub.shutdown())
        while True:
            try:
                loop.run_until_complete(task)
                break
            except RuntimeError:
                # "Event loop stopped before Future completed": the stop scheduled by a run that Ctrl-C
                # interrupted (its future had just finished) lands in this one; run again.
                if task.done():
                    raise
    finally:
        rest = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in rest:
            task.cancel()
        if rest:
            loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))

