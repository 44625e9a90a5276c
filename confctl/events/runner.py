"""Run one or more event sources and print their merged timeline.

Each source is a provider's `follow(profile, options)` generator running in its own thread; it must check
`options["stop"]` (a threading.Event) at least once a second and clean up in `finally` (e.g. release a token).
"""

from __future__ import annotations

import queue
import threading
import time

from confctl.errors import UsageError
from confctl.events.printer import Printer

_DONE = object()


def run(sources: list[tuple[str, object]], options: dict, printer: Printer, *, count: int | None = None,
        timeout: float | None = None, until: str | None = None) -> int:
    """sources: (label, factory(options) -> iterator). Returns the number of events printed."""
    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    stop = threading.Event()
    options = {**options, "stop": stop}
    q: queue.Queue = queue.Queue(maxsize=10000)

    def pump(label, factory):
        try:
            for event in factory(options):
                if stop.is_set():
                    break
                q.put(("event", event))
        except BaseException as exc:  # forwarded to the main thread
            q.put(("error", exc))
        finally:
            q.put(("done", label))

    threads = [threading.Thread(target=pump, args=src, daemon=True, name=f"events-{src[0]}") for src in sources]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout if timeout else None
    printed = 0
    running = len(threads)
    error: BaseException | None = None
    try:
        while running:
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                kind, item = q.get(timeout=wait)
            except queue.Empty:
                continue
            if kind == "done":
                running -= 1
                continue
            if kind == "error":
                error = item
                break
            # A source may attach "_ack": called once the event is printed or filtered out, so a resume
            # cursor never moves past an event that was fetched but not delivered (e.g. cut off by --count).
            ack = item.pop("_ack", None) if isinstance(item, dict) else None
            if not printer.wanted(item):
                if ack:
                    ack()
                continue
            printer.print(item)
            if ack:
                ack()
            printed += 1
            if count is not None and printed >= count:
                break
            if until and item["type"] == until:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=5)
    if error is not None:
        raise error
    return printed
