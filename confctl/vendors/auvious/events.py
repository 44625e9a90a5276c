"""Auvious events by long poll: `GET /rtc-api/conferences/{id}/events?v=N`, looping from the last seen
conferenceVersion, deduplicated by event id, resumable across runs with --cursor-file.

Whether `v=N` includes version N is not documented, so the poller works with either reading: it asks for
the last version it has seen, drops what it already has (by version, then event id), and once the server
shows it includes N (it returns version-N events, or repeats only known ones) asks for N+1 from then on.

Each poller runs in its own thread (a long poll blocks; `stop` must still be honoured at once) and hands each
answer over as one list, not one hop per event; the events of one answer are marked `_more` but the last, so
the runner writes their lines together.

The cursor file is only advanced when the printer has delivered (or filtered out) an event — see the `_ack`
callback the runner calls — so `--count`/`--timeout` never lose events between two cron runs.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Iterator

from confctl.core.cachefile import FileLock, lock_path, write_private
from confctl.core.errors import ApiError, AuthError, RateLimitedError, ServerError, StreamEnded, UsageError
from confctl.core.events import envelope
from confctl.core.events.merge import merge

ENDED_TYPES = frozenset({"ConferenceEndedEvent"})
FAST_EMPTY = 0.2     # a poll answered faster than this with nothing new did not block: pause before the next
IDLE_PAUSE = 1.0


def _int(value) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _version(event: dict) -> int:
    """Creation events carry a null conferenceVersion: they come first, as version 0."""
    return _int(event.get("conferenceVersion"))


class CursorFile:
    """{"conferences": {ID: {"version": N, "seen": [event ids at N], "ended": bool}}}, written atomically
    (0600) after each delivered event, locked against a second follower using the same file."""

    def __init__(self, path: str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file_lock = FileLock(lock_path(self.path))  # held from open() to close()
        self.data: dict = {"conferences": {}}

    def open(self) -> "CursorFile":
        self._acquire()
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return self
        except OSError as exc:
            raise UsageError(f"--cursor-file: cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text) if text.strip() else {"conferences": {}}
            if not isinstance(data, dict) or not isinstance(data.get("conferences"), dict):
                raise ValueError("no conferences map")
            for conf, entry in data["conferences"].items():
                if not isinstance(entry.get("version"), int) or not isinstance(entry.get("seen", []), list):
                    raise ValueError(f"bad entry for {conf}")
        except (ValueError, AttributeError) as exc:
            raise StreamEnded(f"cannot resume: cursor file {self.path} is not a confctl cursor ({exc})",
                              hint="move it away to start over from the beginning") from None
        self.data = data
        return self

    def _acquire(self) -> None:
        try:
            got = self._file_lock.acquire(0)
        except OSError as exc:
            raise UsageError(f"--cursor-file: cannot lock {self.path}: {exc.strerror or exc}") from None
        if not got:
            raise UsageError(f"--cursor-file: {self.path} is in use by another `events follow`",
                             hint="two followers sharing one cursor would each print half the events")

    def close(self) -> None:
        self._file_lock.release()

    def conferences(self) -> list[str]:
        return list(self.data["conferences"])

    def entry(self, conference: str) -> dict | None:
        return self.data["conferences"].get(conference)

    def commit(self, conference: str, version: int, event_id: str | None, ended: bool = False) -> None:
        with self._lock:
            entry = self.data["conferences"].setdefault(conference, {"version": 0, "seen": []})
            if version > entry["version"]:
                entry["version"], entry["seen"] = version, []
            if version == entry["version"] and event_id and event_id not in entry["seen"]:
                entry["seen"].append(event_id)
            if ended:
                entry["ended"] = True
            entry["updated"] = envelope.now_iso()
            write_private(self.path, (json.dumps(self.data, indent=1) + "\n").encode())


class Poller:
    """One conference: long-poll in a loop, yield new events (as envelopes), reconnect with backoff. Several
    pollers are merged by core/events/merge.py. `clock` and `wait` are the seams unit tests replace (a fake
    clock); by default time.monotonic and the halt flag's wait."""

    def __init__(self, provider, profile, conference: str, start: dict | None, halt: threading.Event,
                 cursor: CursorFile | None = None, *, clock=time.monotonic, wait=None):
        self.provider, self.profile, self.conference = provider, profile, conference
        self.start_entry = start  # None: from now; else {"version", "seen"} to resume from
        self.halt, self.cursor = halt, cursor
        self.clock, self.wait = clock, wait or halt.wait
        self.last = 0
        self.seen: set[str] = set()
        self.all_seen_at_last = False  # "from now": everything at `last` happened before we started
        self.inclusive: bool | None = None

    def events(self) -> Iterator[dict]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[dict]]:
        """The envelopes of each answer together: a follower thread hands over one list per poll, not one
        hop per event."""
        from confctl.core.state import state

        # max_wait=0: no retry loop inside the session — reconnecting is this poller's job
        session = self.provider.session(self.profile, max_wait=0.0, timeout=max(state.timeout, 5.0))
        try:
            yield from self._run(session, budget=state.max_wait)
        finally:
            session.close()

    def _get(self, session, path: str, **kw):
        response = session.request("GET", path, **kw)
        content = getattr(response, "content", None)
        if isinstance(content, bytes) and content:
            try:
                from orjson import loads  # an answer of hundreds of events: ~3x faster than json

                return loads(content)
            except (ImportError, ValueError):
                pass
        return session.json(response)  # the standard path, and its error naming what came back

    def _run(self, session, budget: float) -> Iterator[list[dict]]:
        conf_path = f"/rtc-api/conferences/{self._quoted()}"
        if self.start_entry is None:  # from now: start at the conference's current version
            current = yield from self._call(lambda: self._get(session, conf_path), budget)
            if current is None:
                return
            self.last, self.all_seen_at_last = _int(current.get("version") if isinstance(current, dict) else 0), True
        else:
            self.last, self.seen = self.start_entry["version"], set(self.start_entry.get("seen") or [])
            try:  # a cursor ahead of the conference cannot be resumed; an ended one still has events to read
                current = self._get(session, conf_path)
            except (ApiError, ServerError):  # gone or unreachable: the polls below decide what happens
                current = None
            if isinstance(current, dict) and isinstance(current.get("version"), int) \
                    and self.last > current["version"]:
                raise StreamEnded(f"cannot resume conference {self.conference}: the cursor is at version "
                                  f"{self.last} but the conference is at {current['version']} (was it recreated?)",
                                  hint="move the cursor file away to start over")
        while not self.halt.is_set():
            asked = self.last + 1 if self.inclusive else self.last
            began = self.clock()
            events = yield from self._call(lambda: self._get(session, f"{conf_path}/events", params={"v": asked}),
                                           budget)
            if events is None:
                return
            if not isinstance(events, list):
                raise StreamEnded(f"conference {self.conference}: the events endpoint answered "
                                  f"{type(events).__name__}, not a list")
            fresh = self._fresh(events, asked)
            if fresh:
                yield [_envelope(self.profile.name, self.conference, event, self.cursor) for event in fresh]
            if any(event.get("type") in ENDED_TYPES for event in fresh):
                return  # nothing can follow the end of a conference
            if not fresh and self.clock() - began < FAST_EMPTY:
                self.wait(IDLE_PAUSE)  # the server did not block: do not spin

    def _quoted(self) -> str:
        from urllib.parse import quote

        return quote(self.conference, safe="")

    def _fresh(self, events: list, asked: int) -> list[dict]:
        ordered = sorted((e for e in events if isinstance(e, dict)), key=_version)  # stable: server order kept
        fresh = []
        for event in ordered:
            ver, eid = _version(event), event.get("id")
            if ver < self.last or (ver == self.last and (self.all_seen_at_last or eid in self.seen)):
                continue
            if ver > self.last:
                self.last, self.seen, self.all_seen_at_last = ver, set(), False
            if eid:
                self.seen.add(eid)
            fresh.append(event)
        if self.inclusive is None and (
                any(isinstance(e.get("conferenceVersion"), int) and e["conferenceVersion"] == asked for e in ordered)
                or (ordered and not fresh)):
            self.inclusive = True
        return fresh

    def _call(self, fn, budget: float):
        """Run one request; on connection loss retry with backoff until `budget` seconds of downtime, then
        give up with StreamEnded. Returns None when halted; yields a `reconnected` envelope after an outage."""
        from confctl.core.http import backoff

        down_since, attempt = None, 0
        while not self.halt.is_set():
            try:
                result = fn()
            except (ServerError, RateLimitedError) as exc:
                attempt += 1
                down_since = down_since or self.clock()
                pause = backoff(attempt)  # drawn once: the pause checked against the budget is the one taken
                if self.clock() - down_since + pause > max(budget, 1.0):
                    raise StreamEnded(f"lost the event stream of conference {self.conference}: {exc.message}",
                                      hint="raise --max-wait to keep reconnecting longer; with --cursor-file the "
                                           "next run resumes where this one stopped") from None
                self.wait(pause)
                continue
            except AuthError:
                raise
            except ApiError as exc:  # 400/404: the conference is gone or the version is refused
                raise StreamEnded(f"cannot follow conference {self.conference}: {exc.message}",
                                  status=exc.status) from None
            if down_since is not None:
                yield [envelope.reconnected("auvious", self.profile.name, self.conference,
                                            after_seconds=round(self.clock() - down_since, 1),
                                            resumed_from_version=self.last, attempts=attempt)]
            return result
        return None


def follow(provider, profile, options, *, clock=time.monotonic, wait=None):
    """Event source for `events follow` / `auvious events` (see confctl.core.events.runner); `clock`/`wait`:
    see Poller."""
    stop: threading.Event = options.stop
    cursor = CursorFile(options.get("cursor_file")).open() if options.get("cursor_file") else None
    halt = threading.Event()
    try:
        conferences = list(dict.fromkeys(options.conference))
        if not conferences and cursor is not None:
            conferences = cursor.conferences()
        if not conferences and profile.get("conference"):
            conferences = [profile.get("conference")]
        if not conferences:
            raise UsageError("auvious events: name the conference(s) with --conference ID (repeatable)",
                             hint="`confctl auvious conference active` lists the active ones")
        pollers = []
        for conf in conferences:
            start = None
            if cursor is not None:
                entry = cursor.entry(conf)
                if entry and entry.get("ended"):
                    raise StreamEnded(f"conference {conf} has ended; the cursor file has every event of it",
                                      hint="remove it from the cursor file or follow another conference")
                start = entry or {"version": 0, "seen": []}  # a new cursor starts at the beginning
            pollers.append(Poller(provider, profile, conf, start, halt, cursor, clock=clock, wait=wait))
        # `halt` is ours (set when this source ends); the runner's `stop` also ends it but is never set here.
        # linger=0: a poller blocked in a long poll is not waited for; it ends on its own in its thread.
        for batch in merge([p.batches for p in pollers], halt, poll=0.2, outer=stop, linger=0):
            last = len(batch) - 1
            for i, record in enumerate(batch):
                if i < last:
                    record["_more"] = True  # the rest of this answer is here: the runner may batch the lines
                yield record
    finally:
        halt.set()
        if cursor is not None:
            cursor.close()


# Keys the envelope already shows; the payload keeps them, after the event's own fields, so the one-line
# summary of `events follow` shows what happened (who, which stream, which key) rather than ids.
_ENVELOPE_KEYS = ("type", "id", "timestamp", "conferenceId", "organizationId", "conferenceVersion")


def _envelope(profile_name: str, conference: str, event: dict, cursor: CursorFile | None) -> dict:
    payload = {k: v for k, v in event.items() if k not in _ENVELOPE_KEYS}
    payload.update((k, event[k]) for k in _ENVELOPE_KEYS if k in event)
    record = envelope.make("auvious", profile_name, event.get("type") or "unknown", payload,
                           conference=event.get("conferenceId") or conference, id=event.get("id"),
                           time=event.get("timestamp"))
    if cursor is not None:
        version, eid, ended = _version(event), event.get("id"), event.get("type") in ENDED_TYPES
        record["_ack"] = lambda: cursor.commit(conference, version, eid, ended)
    return record

