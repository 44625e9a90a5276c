"""Event formatting and filtering: one line per event, flushed at once (DESIGN §8)."""

from __future__ import annotations

import fnmatch
import json
import sys

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


class Printer:
    def __init__(self, fmt: str = "table", types: list[str] | None = None, stream=None):
        self.fmt = fmt
        self.types = types or []
        self.stream = stream or sys.stdout
        self.color = state.use_color(self.stream)

    def wanted(self, event: dict) -> bool:
        if event["type"] in ("reconnected", "gap"):
            return True  # never filter out the records that say events may be missing
        return not self.types or any(fnmatch.fnmatchcase(event["type"], g) for g in self.types)

    def line(self, event: dict) -> str:
        if self.fmt in ("json", "jsonl"):
            return json.dumps(event, ensure_ascii=False, default=str)
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

    def print(self, event: dict) -> None:
        self.stream.write(self.line(event) + "\n")
        self.stream.flush()
