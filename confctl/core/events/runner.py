"""Run one or more event sources and print their merged timeline.

Each source is a factory taking the run's stop event (a threading.Event) and returning a provider's
`follow(profile, options)` generator, which must check that event at least once a second and clean up in
`finally` (e.g. release a token).

A source may mark an event `"_more": True` when another is ready right now (read in the same chunk): a printer
that has `write()`/`flush()` (core/events/printer.py) then buffers it, and the lines go out together once the
source pauses (an event without the mark), so a hot stream costs one write per burst, not per event.
"""

from __future__ import annotations

import threading

from confctl.core.errors import UsageError
from confctl.core.events.merge import merge
from confctl.core.events.printer import Printer


def run(sources: list[tuple[str, object]], printer: Printer, *, count: int | None = None,
        timeout: float | None = None, until: str | None = None, stop: threading.Event | None = None) -> int:
    """sources: (label, factory(stop) -> iterator). `printer` is anything with wanted(event) and print(event)
    (the live model's feeders too). `stop`: set by the caller to end the run (e.g. `top` quitting). Returns the
    number of events printed."""
    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    stop = stop or threading.Event()
    printed = 0
    # One source runs right here (no thread hop per event; Ctrl-C lands in it, so its cleanup runs); several
    # are merged. Either way --timeout just sets `stop`, which every source checks at least once a second.
    if len(sources) == 1:
        stream = sources[0][1](stop)
    else:
        stream = merge([(lambda f=factory: f(stop)) for _, factory in sources], stop)
    timer = threading.Timer(timeout, stop.set) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    write = getattr(printer, "write", None)
    flush = getattr(printer, "flush", None)
    if write is None or flush is None:
        write = flush = None
    try:
        for item in stream:
            if stop.is_set():
                break
            # A source may attach "_ack": called once the event is printed or filtered out, so a resume
            # cursor never moves past an event that was fetched but not delivered (e.g. cut off by --count).
            ack = item.pop("_ack", None)
            sync = item.pop("_sync", False)  # an opening roster: printed, not counted
            more = item.pop("_more", False)
            if printer.wanted(item):
                if more and write is not None and not ack:
                    write(item)
                else:
                    printer.print(item)  # flushes what was buffered before it too
                printed += not sync
            elif not more and flush is not None:
                flush()
            if ack:
                ack()
            if count is not None and printed >= count:
                break
            if until and item["type"] == until:
                break
    finally:
        stop.set()
        if timer:
            timer.cancel()
        try:
            if flush is not None:
                flush()
        finally:
            stream.close()
    return printed
