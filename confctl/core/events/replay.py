"""Replaying a recording (`events follow --record FILE`) as a live source would deliver it.

`source(path, ...)` checks everything first (the file opens, every line but a torn last one is an envelope,
`--since`/`--speed` are valid) and returns a runner factory, fn(stop) -> iterator of envelopes, paced by the
envelopes' own `time` deltas divided by `speed` (None: as fast as they can be read). So `events replay`,
`participants --watch --replay`, `top --replay` and `wait --replay` see exactly what they would have seen live.

Rules (docs/wait-and-replay.md):
- A malformed line is an error naming the file and line (exit 2, nothing printed), except a last line without
  its newline that does not parse: what a crash or a full disk leaves mid-write; it is skipped with a warning.
- `since`: an ISO 8601 time (UTC when it names no zone), or a duration (`90s`, `10m`, `1h30m`, `2d`) counted
  back from the recording's last event — a post-mortem asks for "the last ten minutes of that meeting", which
  "ten minutes before now" would miss for any recording older than that.
- `types`: globs on the event type; gap/reconnected records always pass (as in `events follow --type`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterator

from confctl.core.errors import UsageError

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)d)?(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_UNITS = (86400, 3600, 60, 1)


def parse_speed(value: str | float | None) -> float | None:
    """`--speed`: a factor above 0 (10 = ten times as fast), or `max` (None: no pauses at all)."""
    if value is None:
        return 1.0
    if isinstance(value, str) and value.strip().lower() == "max":
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"--speed: must be a number above 0 or `max` (got {value!r})") from None
    if not speed > 0 or speed == float("inf"):
        raise UsageError(f"--speed: must be a number above 0 or `max` (got {value!r})")
    return speed


def parse_since(value: str | None) -> tuple[str, float] | None:
    """("at", epoch seconds) for an ISO 8601 time, ("before-end", seconds) for a duration; None for none."""
    if value is None:
        return None
    text = value.strip()
    match = _DURATION.match(text.lower()) if text else None
    if match and any(match.groups()):
        return ("before-end", sum(float(g) * u for g, u in zip(match.groups(), _UNITS) if g))
    when = parse_time(text)
    if when is None:
        raise UsageError(f"--since: not an ISO 8601 time (2026-12-01T10:00:00Z) nor a duration like 10m, 1h30m "
                         f"or 90s (got {value!r})")
    return ("at", when)


def parse_time(text) -> float | None:
    """An envelope's ISO 8601 `time` as epoch seconds (naive times are UTC); None when it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _envelope(line: str, where: str) -> dict:
    try:
        event = json.loads(line)
    except ValueError as exc:
        raise UsageError(f"{where}: not a JSON line ({exc})") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "provider" not in event:
        raise UsageError(f"{where}: not an event envelope (an object with provider, type, time, ...)")
    return event


def _scan(path: str) -> tuple[float | None, int]:
    """Check every line before anything is replayed: the last event's time and how many lines to skip at the end
    (a torn last line). Raises UsageError naming the first malformed line."""
    from confctl.core import output

    last_time, torn = None, 0
    try:
        with open(path, "r", encoding="utf-8") as fh:
            number = 0
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    event = _envelope(line, f"{path}:{number}")
                except UsageError:
                    if line.endswith("\n"):
                        raise
                    torn = number  # no newline: the writer stopped mid-line (crash, full disk)
                    output.warn(f"{path}:{number}: the last line is incomplete (the recording was cut off while "
                                "writing it); skipped")
                    break
                last_time = parse_time(event.get("time")) or last_time
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text recording ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"--replay/FILE {path}: cannot read it ({exc.strerror or exc})") from None
    return last_time, torn


def check_file(path: str) -> None:
    """Refuse a missing, unreadable or directory path before anything starts (exit 2)."""
    if not path:
        raise UsageError("the recording path is empty")
    if os.path.isdir(path):
        raise UsageError(f"{path}: is a directory, not a recording")
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such recording")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: cannot read it (permission denied)")


def source(path: str, *, speed: float | str | None = 1.0, since: str | None = None,
           types: list[str] | None = None, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], object] | None = None) -> Callable[[threading.Event], Iterator[dict]]:
    """A runner factory replaying the recording at `path`. Everything is checked now (UsageError, exit 2, with
    nothing replayed): the path, `speed` (a factor, None or "max" for no pauses), `since`, and every line.
    `clock` and `sleep` (default: the run's stop.wait) are seams for tests; pauses never outlast `stop`."""
    speed = parse_speed(speed) if isinstance(speed, str) else speed
    if speed is not None and not speed > 0:
        raise UsageError(f"--speed: must be a number above 0 or `max` (got {speed!r})")
    cutoff_rule = parse_since(since)
    check_file(path)
    last_time, torn = _scan(path)
    cutoff = None
    if cutoff_rule is not None:
        kind, value = cutoff_rule
        cutoff = value if kind == "at" else (last_time - value if last_time is not None else None)
    globs = list(types or [])

    def wanted(event: dict) -> bool:
        if cutoff is not None:
            when = parse_time(event.get("time"))
            if when is not None and when < cutoff:
                return False
        if not globs or event["type"] in ("reconnected", "gap"):
            return True
        return any(fnmatch.fnmatchcase(event["type"], g) for g in globs)

    def factory(stop: threading.Event) -> Iterator[dict]:
        pause = sleep or stop.wait
        start = first = None
        with open(path, "r", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if stop.is_set() or (torn and number >= torn):
                    return
                if not line.strip():
                    continue
                if not line.endswith("\n"):
                    try:  # the end of a file still being recorded: a line may be half written
                        event = _envelope(line, f"{path}:{number}")
                    except UsageError:
                        return
                else:
                    event = _envelope(line, f"{path}:{number}")
                if not wanted(event):
                    continue
                when = parse_time(event.get("time"))
                if speed is not None and when is not None:
                    if first is None:
                        start, first = clock(), when
                    # Against the start, not the previous event: pauses do not add up drift.
                    due = start + (when - first) / speed
                    while not stop.is_set():
                        left = due - clock()
                        if left <= 0:
                            break
                        pause(min(left, 0.5))  # stop is honoured within half a second
                    if stop.is_set():
                        return
                yield event  # a recorded "_sync" stays: the runner pops it (an opening roster, not counted)

    return factory

