"""The event envelope every source produces (DESIGN §8)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
