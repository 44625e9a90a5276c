"""The event envelope every source produces (DESIGN §8)."""

from __future__ import annotations

import time
from typing import Any

_second: tuple[int, str] = (-1, "")  # the last whole second formatted: most events share it


def now_iso(now: float | None = None) -> str:
    """UTC with milliseconds ("2026-01-02T03:04:05.678Z", truncated like isoformat): the date part is formatted
    once a second, not per event (a datetime per event cost as much as parsing it)."""
    global _second
    whole, micro = divmod(round((time.time() if now is None else now) * 1e6), 1_000_000)  # as datetime rounds
    cached = _second
    if cached[0] != whole:
        cached = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{cached[1]}.{micro // 1000:03d}Z"


def make(provider: str, profile: str, type: str, data: Any = None, *, conference: str | None = None,
         id: str | None = None, time: str | None = None) -> dict:
    """One event. `data` is the vendor's payload unchanged; `id` its event id where the vendor has one."""
    return {
        "time": time or now_iso(),
        "provider": provider,
        "profile": profile,
        "conference": conference,
        "type": type,
        "id": id,
        "data": data if data is not None else {},
    }


def reconnected(provider: str, profile: str, conference: str | None = None, **data) -> dict:
    """Written after a stream was re-established; `data` says what was re-synced."""
    return make(provider, profile, "reconnected", data, conference=conference)


def gap(provider: str, profile: str, conference: str | None = None, **data) -> dict:
    """Written when events may have been missed and could not be recovered."""
    return make(provider, profile, "gap", data, conference=conference)
