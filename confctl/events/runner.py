"""Run one or more event sources and print their merged timeline.

Each source is a provider's `follow(profile, options)` generator running in its own thread; it must check
`options["stop"]` (a threading.Event) at least once a second and clean up in `finally` (e.g. release a token).
"""

from __future__ import annotations

import threading
import time

from confctl.errors import UsageError
from confctl.events.merge import IDLE, merge
from confctl.events.printer import Printer


def run(sources: list[tuple[str, object]], options: dict, printer: Printer, *, count: int | None = None,
        timeout: float | None = None, until: str | None = None) -> int:
    """sources: (label, factory(options) -> iterator). Returns the number of events printed."""
    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    stop = threading.Event()
    options = {**options, "stop": stop}
    deadline = time.monotonic() + timeout if timeout else None
    printed = 0
    stream = merge([(lambda f=factory: f(options)) for _, factory in sources], stop, idle=True)
    try:
        for item in stream:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if item is IDLE:
                continue
            # A source may attach "_ack": called once the event is printed or filtered out, so a resume
            # cursor never moves past an event that was fetched but not delivered (e.g. cut off by --count).
            ack = item.pop("_ack", None) if isinstance(item, dict) else None
            if printer.wanted(item):
                printer.print(item)
                printed += 1
            if ack:
                ack()
            if count is not None and printed >= count:
                break
            if until and item["type"] == until:
                break
    finally:
        stream.close()
    return printed
