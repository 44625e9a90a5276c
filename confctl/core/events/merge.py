"""Merge several blocking event generators into one timeline: each runs in its own thread, items are handed
over through a bounded queue (so a fast stream cannot grow memory without limit), and an exception raised in
any source is re-raised in the consumer."""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Iterable, Iterator


def merge(factories: Iterable[Callable[[], Iterator]], stop: threading.Event, *, poll: float = 0.5,
          maxsize: int = 1000, outer: threading.Event | None = None, linger: float | None = None) -> Iterator:
    """Yield items from every generator as they arrive until all have ended or `stop` (or `outer`, which this
    never sets: the runner's stop shared with other sources) is set. On exit `stop` is set and the threads are
    joined, so sources can clean up (release tokens, close sockets) — for at most `linger` seconds when given
    (a source blocked in a long poll finishes on its own, in its daemon thread)."""
    q: queue.Queue = queue.Queue(maxsize=maxsize)

    def put(message) -> bool:
        while not stop.is_set():
            try:
                q.put(message, timeout=poll)
                return True
            except queue.Full:
                continue
        return False

    def pump(factory):
        try:
            for item in factory():
                if stop.is_set() or not put(("item", item)):
                    break
        except BaseException as exc:  # noqa: BLE001 - forwarded to the consumer
            put(("error", exc))
        finally:
            q.put(("done", None))  # never blocks for long: the consumer drains until every source is done

    threads = [threading.Thread(target=pump, args=(f,), daemon=True, name="event-source") for f in factories]
    for t in threads:
        t.start()
    running = len(threads)
    try:
        while running and not stop.is_set() and not (outer is not None and outer.is_set()):
            try:
                kind, item = q.get(timeout=poll)
            except queue.Empty:
                continue
            if kind == "done":
                running -= 1
            elif kind == "error":
                raise item
            else:
                yield item
    finally:
        stop.set()
        deadline = None if linger is None else time.monotonic() + linger
        while any(t.is_alive() for t in threads):  # drain so no source blocks on a full queue while exiting
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
            for t in threads:
                t.join(timeout=0.05)
