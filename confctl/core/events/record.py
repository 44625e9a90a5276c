"""Recording a followed stream (`events follow --record FILE`): every envelope the run receives, one JSON line
each, appended and fsync'd per line to a file created 0600, with secrets masked.

`Recorder(printer, path)` wraps any runner printer: it records in `wanted()`, which the runner calls once for
every envelope (before the printer's own --type filter decides), so the recording holds everything — opening
rosters, gap/reconnected records, events the screen filtered out — and the printer prints as usual. An opening
roster (Pexip's, not counted by --count) keeps its `"_sync": true` marker in the file so a replay counts it the
same way; wrap the sources with `mark_sync` for that (the runner drops the marker before the printer sees it).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from typing import Callable, Iterator

from confctl.core.errors import ConfctlError, UsageError

_MARK = "_record_sync"  # carries an opening-roster marker past the runner (which pops "_sync") to the recorder


def mark_sync(factory: Callable) -> Callable:
    """A source factory whose opening-roster envelopes also carry the recorder's marker."""

    def wrapped(stop) -> Iterator[dict]:
        inner = factory(stop)
        try:
            for item in inner:
                if isinstance(item, dict) and item.get("_sync"):
                    item[_MARK] = True
                yield item
        finally:
            close = getattr(inner, "close", None)
            if close:
                close()  # the source's own cleanup (tokens) runs now, not when garbage is collected

    return wrapped


def open_file(path: str) -> int:
    """Open (create 0600) `path` for appending; a bad path is exit 2 before anything starts. A file that ends
    mid-line (a recording cut off by a crash or a full disk) is cut back to its last whole line, so what is
    appended stays one envelope per line."""
    from confctl.core import output

    if not path:
        raise UsageError("--record: the path is empty")
    if os.path.isdir(path):
        raise UsageError(f"--record: {path} is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"--record: {parent} does not exist")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        raise UsageError(f"--record: cannot write {path} ({exc.strerror or exc})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        return fd  # a FIFO or a device: nothing to check or repair
    if info.st_mode & 0o077:
        output.warn(f"--record: {path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
                    "recordings hold meeting data: `chmod 600` it")
    if info.st_size:
        tail = os.pread(fd, min(info.st_size, 1 << 16), max(0, info.st_size - (1 << 16)))
        if not tail.endswith(b"\n"):
            keep = info.st_size - len(tail) + tail.rfind(b"\n") + 1 if b"\n" in tail else 0
            os.ftruncate(fd, keep)
            output.warn(f"--record: {path} ended mid-line (an earlier recording was cut off); dropped its last "
                        f"{info.st_size - keep} bytes")
    return fd


def clean(event: dict) -> dict:
    """The envelope with secrets masked: fields named as secrets by any vendor's spec (token, pin, client_secret,
    participant_token, ...), every secret value this process knows (the tokens it holds) wherever it appears,
    and secret query parameters of URLs in the payload."""
    from confctl.core import redact

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and "://" in value and "?" in value:
            return redact.url(value)
        return value

    return walk(redact.scrub_data(event))


def _encode(event: dict) -> bytes:
    """The same JSON as `-o jsonl` prints (the printer's encoder where it has one)."""
    from confctl.core.events import printer

    encoder = getattr(printer, "jsonl_encoder", None)
    if encoder is None:
        return json.dumps(event, ensure_ascii=False, default=str).encode("utf-8")
    global _encode_fn
    if _encode_fn is None:
        _encode_fn = encoder()
    return _encode_fn(event)


_encode_fn = None


class Recorder:
    """A printer wrapper that appends every envelope it is given to `path` (see the module docstring)."""

    def __init__(self, printer, path: str):
        self.printer = printer
        self.path = path
        self.fd: int | None = open_file(path)
        self.lock = threading.Lock()
        self.written = 0

    def wanted(self, event: dict) -> bool:
        self.record(event)
        return self.printer.wanted(event)

    def print(self, event: dict) -> None:
        self.printer.print(event)

    # A printer may batch lines while a stream is hot (write now, flush when it pauses): pass both through.
    def write(self, event: dict) -> None:
        (getattr(self.printer, "write", None) or self.printer.print)(event)

    def flush(self) -> None:
        flush = getattr(self.printer, "flush", None)
        if flush:
            flush()

    def record(self, event: dict) -> None:
        marked = event.pop(_MARK, False)
        line = clean(event)
        if marked or event.get("_sync"):
            line["_sync"] = True
        for private in [k for k in line if k.startswith("_") and k != "_sync"]:
            del line[private]  # runner hand-offs (_ack, ...), never part of an envelope
        data = _encode(line) + b"\n"
        with self.lock:
            if self.fd is None:
                return
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self.fd, view):]
                os.fsync(self.fd)
            except OSError as exc:
                raise ConfctlError(f"--record: writing {self.path} failed ({exc.strerror or exc}); stopped after "
                                   f"{self.written} events", hint="free some space or record elsewhere") from None
            self.written += 1

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
