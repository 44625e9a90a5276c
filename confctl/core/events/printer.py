"""Event formatting and filtering: one line per event (DESIGN §8).

`print(event)` writes and flushes at once. The runner uses `write(event)` instead while a source says another
event is ready right now (`_more`): lines then go out together, in one write, when the stream pauses, when
HOLD_BYTES are pending, or when the oldest pending line has waited HOLD_SECONDS — a quiet stream is never
held back. JSON Lines come from orjson (an envelope in ~1 µs, ~10x the standard library); what orjson
refuses (an integer beyond 64 bits) falls back to `json`.
"""

from __future__ import annotations

import fnmatch
import json
import sys
import time

from confctl.core.state import state

_COLORS = {"reconnected": "33", "gap": "31;1", "error": "31"}


def summary(data) -> str:
    """A short key=value digest of an event's payload for people."""
    if not isinstance(data, dict):
        return "" if data is None else str(data)[:120]
    parts = []
    for key, value in data.items():
        if isinstance(value, (dict, list)) or value in (None, ""):
            continue
        parts.append(f"{key}={value}")
        if len(parts) == 5:
            break
    return " ".join(parts)


HOLD_BYTES = 64 * 1024  # pending output written at once beyond this
HOLD_SECONDS = 0.005  # the longest a line waits for the ones after it


def _dumps_fallback(event) -> bytes:
    return json.dumps(event, ensure_ascii=False, default=str).encode()


def jsonl_encoder():
    """event -> one JSON line as bytes (no newline): orjson, the standard library where orjson refuses."""
    try:
        import orjson
    except ImportError:  # declared as a dependency; a broken install still prints
        return _dumps_fallback
    dumps, option = orjson.dumps, orjson.OPT_NON_STR_KEYS

    def encode(event) -> bytes:
        try:
            return dumps(event, default=str, option=option)
        except (TypeError, orjson.JSONEncodeError):
            return _dumps_fallback(event)

    return encode


class Printer:
    def __init__(self, fmt: str = "table", types: list[str] | None = None, stream=None, *, clock=time.monotonic):
        self.fmt = fmt
        self.types = types or []
        self.stream = stream or sys.stdout
        self.color = state.use_color(self.stream)
        self.clock = clock
        self._jsonl = fmt in ("json", "jsonl")
        self._encode = jsonl_encoder() if self._jsonl else None
        # Bytes straight to the binary buffer under a text stream (no decode/encode round trip per line).
        self._binary = getattr(self.stream, "buffer", None) if self._jsonl else None
        self._pending: list = []
        self._size = 0
        self._since = 0.0

    def wanted(self, event: dict) -> bool:
        if not self.types or event["type"] in ("reconnected", "gap"):
            return True  # never filter out the records that say events may be missing
        return any(fnmatch.fnmatchcase(event["type"], g) for g in self.types)

    def line(self, event: dict) -> str:
        if self._jsonl:
            return self._encode(event).decode()
        clock = (event.get("time") or "")[11:23]
        source = f"{event['provider']}/{event['profile']}"
        etype = event["type"]
        if self.color:
            code = _COLORS.get(etype, "36")
            etype = f"\x1b[{code}m{etype}\x1b[0m"
            clock = f"\x1b[2m{clock}\x1b[0m"
        where = event.get("conference") or "-"
        if event.get("breakout"):  # Pexip breakout rooms: same conference, another room
            where += f"[breakout {str(event['breakout'])[:8]}]"
        parts = [clock, source, where, etype, summary(event.get("data"))]
        return "  ".join(p for p in parts if p)

    def _chunk(self, event: dict):
        if self._binary is not None:
            return self._encode(event) + b"\n"
        return self.line(event) + "\n"

    def write(self, event: dict) -> None:
        """Buffer one event's line; written with the next ones (see the module docstring)."""
        chunk = self._chunk(event)
        if not self._pending:
            self._since = self.clock()
        self._pending.append(chunk)
        self._size += len(chunk)
        if self._size >= HOLD_BYTES or self.clock() - self._since >= HOLD_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what is pending, in one write, and flush the stream."""
        if not self._pending:
            return
        pending, self._pending, self._size = self._pending, [], 0
        if self._binary is not None:
            self.stream.flush()  # anything written as text before goes first
            self._binary.write(b"".join(pending))
            self._binary.flush()
        else:
            self.stream.write("".join(pending))
            self.stream.flush()

    def print(self, event: dict) -> None:
        self.write(event)
        self.flush()
