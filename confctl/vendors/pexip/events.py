"""Server-sent events (httpx-sse) → the shared envelope, surviving token expiry and dropped streams.

The token is refreshed by the lease's keep-alive thread while following. When the stream drops, we reconnect
with backoff; the node re-sends the whole roster between participant_sync_begin/end, which we diff against the
roster we had, so each change is reported once: a `gap` record says which interval may have lost events, the
diff follows as participant_create/update/delete, then a `reconnected` record. `breakout_event` is unwrapped
(type = the inner event, plus a `breakout` key). `disconnect` and `refer` are reported, then end the stream
(exit 9): the node has ended confctl's participant there. A `refresh_token` event makes the keep-alive refresh
the token at once (as Pexip's own client does); a token the node refused to refresh until it lapsed ends the
stream with AuthError (exit 3, "token refresh failed").

The roster the node sends when a stream opens (participant_sync_begin, the participant_create of everyone
present, participant_sync_end — per room) is printed but carries `_sync`, so `--count` does not count it.

Resume window: `CONFCTL_PEXIP_RESUME_TIMEOUT` (or the profile's resume_timeout; default 120 s) bounds how long
reconnecting may take, each attempt included, before exit 9.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

from confctl.core import output
from confctl.core.errors import AuthError, ConfctlError, NotFoundError, StreamEnded, UsageError
from confctl.core.events import envelope
from confctl.core.events.envelope import now_iso
from confctl.core.http import backoff
from confctl.core.vendor import FollowOptions

from . import SPEC
from .answers import invalid_token
from .token import conference_path

READ_TIMEOUT = 120.0  # a silent stream is reconnected (and re-synced) after this long
QUEUE_SIZE = 1000  # SSE events read ahead of the consumer at most
MAIN = "main"


class Roster:
    """Participants per room, as the events describe them; re-syncs turn into a diff."""

    def __init__(self):
        self.rooms: dict[str, dict[str, dict]] = {}
        self.syncing: dict[str, dict[str, dict]] = {}

    def begin(self, room: str) -> None:
        self.syncing[room] = {}

    def in_sync(self, room: str) -> bool:
        return room in self.syncing

    def synced(self, room: str, data: dict) -> None:
        self.syncing[room][data.get("uuid")] = data

    def end(self, room: str) -> tuple[list, list, list]:
        """(created, updated, deleted) relative to what we knew before the sync."""
        fresh = self.syncing.pop(room, {})
        old = self.rooms.get(room, {})
        created = [d for u, d in fresh.items() if u not in old]
        updated = [d for u, d in fresh.items() if u in old and old[u] != d]
        deleted = [{"uuid": u} for u in old if u not in fresh]
        self.rooms[room] = fresh
        return created, updated, deleted

    def apply(self, room: str, etype: str, data) -> None:
        people = self.rooms.setdefault(room, {})
        if etype in ("participant_create", "participant_update") and isinstance(data, dict):
            people[data.get("uuid")] = data
        elif etype == "participant_delete" and isinstance(data, dict):
            people.pop(data.get("uuid"), None)
        elif etype == "breakout_end" and isinstance(data, dict):
            self.rooms.pop(data.get("breakout_uuid"), None)


def _data(raw: str):
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Hand an item over, waiting while the consumer is behind (the bounded queue keeps memory flat on a fast
    stream: the socket is simply read more slowly), but never past `stop`."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _reader(response, q: queue.Queue, stop: threading.Event) -> None:
    from httpx_sse import EventSource

    try:
        for sse in EventSource(response).iter_sse():
            if not _put(q, ("sse", sse), stop):
                return
        _put(q, ("eof", None), stop)
    except Exception as exc:  # noqa: BLE001 - closing the response from the other thread lands here
        _put(q, ("eof", exc), stop)


def open_stream(session, alias: str, *, retry: bool = True):
    """GET /events with the token header; a long read timeout because events may be rare. Reconnects pass
    retry=False: the follower's own loop backs off, watches `stop` and enforces the resume window."""
    import httpx

    path = conference_path(alias) + "/events"
    for attempt in (1, 2):
        request = session.build("GET", path, headers={"Accept": "text/event-stream"})
        request.extensions["timeout"] = httpx.Timeout(session.timeout, read=READ_TIMEOUT).as_dict()
        saved, session.max_wait = session.max_wait, (session.max_wait if retry else 0.0)
        try:
            response = session.send(request, idempotent=False, stream=True)
        finally:
            session.max_wait = saved
        if response.status_code < 400:
            return response
        response.read()
        if attempt == 1 and response.status_code in (401, 403) and invalid_token(response):
            session.lease(alias).invalidate()
            continue
        raise session.error(response)


def follow_conference(session, alias: str, options, profile_name: str, *, clock=time.monotonic, wait=None):
    """Yield envelopes for one conference until options.stop is set; raise StreamEnded if it cannot resume.
    `clock` (durations: the resume window) and `wait` (backoff pauses; default: the stop flag's wait) are the
    seams unit tests replace with a fake clock."""
    stop: threading.Event = options.stop
    wait = wait or stop.wait
    resume_timeout = float(options.get("resume_timeout") or session.profile.get("resume_timeout") or 120)
    frames_dir = Path(options.get("save_frames")) if options.get("save_frames") else None
    if frames_dir:
        frames_dir.mkdir(parents=True, exist_ok=True)
    roster = Roster()
    seen: OrderedDict = OrderedDict()
    last_update: dict = {}  # room -> last conference_update payload
    breakouts: set = set()
    connected_once = False
    down_since: float | None = None
    down_iso: str | None = None
    attempts = 0

    def make(etype, data, *, id=None, breakout=None, sync=False):
        env = envelope.make("pexip", profile_name, etype, _people_first(data), conference=alias, id=id)
        if breakout:
            env["breakout"] = breakout
        if sync:
            env["_sync"] = True  # the opening roster: printed, not counted by --count
        return env

    def check_lease() -> None:
        lease = session.leases.get(alias)
        if lease is not None and lease.failure is not None:
            raise lease.failure  # the token lapsed unrefreshed: exit 3, not a silent reconnect

    while not stop.is_set():
        try:
            check_lease()
            if connected_once:  # each attempt fits in what is left of the resume window
                left = resume_timeout - (clock() - down_since)
                with session.deadline(max(0.5, left)):
                    response = open_stream(session, alias, retry=False)
            else:
                response = open_stream(session, alias, retry=True)
        except (ConfctlError, OSError) as exc:
            lease = session.leases.get(alias)
            if lease is not None and exc is lease.failure:
                raise
            if not connected_once:
                raise  # the first connection failing is an ordinary error (exit 3/4/7)
            if isinstance(exc, (AuthError, NotFoundError)):  # a refused PIN or a vanished conference is final
                raise StreamEnded(f"cannot resume the event stream of {alias}: {getattr(exc, 'message', exc)}",
                                  hint=getattr(exc, "hint", None)) from None
            if clock() - down_since > resume_timeout:
                raise StreamEnded(f"the event stream of {alias} could not be resumed within {resume_timeout:g} s: "
                                  f"{getattr(exc, 'message', exc)}") from None
            attempts += 1
            wait(min(backoff(attempts), 5.0))
            continue
        resumed = connected_once
        connected_once = True
        attempts = 0
        q: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        reader = threading.Thread(target=_reader, args=(response, q, stop), daemon=True, name=f"pexip-sse-{alias}")
        reader.start()
        announced = not resumed  # after a reconnect: gap first, then the re-sync diff, then `reconnected`
        try:
            while not stop.is_set():
                try:
                    kind, sse = q.get(timeout=0.5)
                except queue.Empty:
                    check_lease()
                    continue
                check_lease()
                if kind == "eof":
                    break
                if sse.id:
                    if sse.id in seen:
                        continue
                    seen[sse.id] = None
                    if len(seen) > 4096:
                        seen.popitem(last=False)
                etype, data = sse.event, _data(sse.data)
                room, breakout = MAIN, None
                if etype == "breakout_event" and isinstance(data, dict):
                    breakout = data.get("breakout_uuid")
                    room, etype, data = breakout, data.get("event") or "unknown", data.get("data")
                if not announced and not roster.in_sync(MAIN) and not (etype == "participant_sync_begin"
                                                                       and room == MAIN):
                    # A node that does not re-sync: say events may be missing, carry on.
                    announced = True
                    yield make("gap", {"since": down_iso, "until": now_iso(), "resynced": False})
                    yield make("reconnected", {"resynced": False})
                if etype == "participant_sync_begin":
                    roster.begin(room)
                    if not resumed:
                        yield make(etype, data, id=sse.id, breakout=breakout, sync=True)
                    continue
                if etype == "participant_create" and roster.in_sync(room):
                    roster.synced(room, data if isinstance(data, dict) else {})
                    if not resumed:
                        yield make(etype, data, id=sse.id, breakout=breakout, sync=True)
                    continue
                if etype == "participant_sync_end" and roster.in_sync(room):
                    created, updated, deleted = roster.end(room)
                    if not resumed:
                        yield make(etype, data, id=sse.id, breakout=breakout, sync=True)
                        continue
                    if room == MAIN and not announced:
                        announced = True
                        yield make("gap", {"since": down_iso, "until": now_iso(), "resynced": True,
                                           "lost": "events other than roster changes (messages, stage, "
                                                   "presentation, layout) in this interval"})
                    for kind_, items in (("participant_create", created), ("participant_update", updated),
                                         ("participant_delete", deleted)):
                        for item in items:
                            yield make(kind_, item, breakout=breakout)
                    if room == MAIN:
                        yield make("reconnected", {"down_seconds": round(clock() - down_since, 3),
                                                   "participants": len(roster.rooms.get(MAIN, {})),
                                                   "created": len(created), "updated": len(updated),
                                                   "deleted": len(deleted)})
                    continue
                if etype == "conference_update":
                    if last_update.get(room) == data:
                        continue  # the re-sent state after a reconnect, unchanged: not a new event
                    last_update[room] = data
                if etype == "breakout_begin" and isinstance(data, dict):
                    if data.get("breakout_uuid") in breakouts:
                        continue
                    breakouts.add(data.get("breakout_uuid"))
                if etype == "breakout_end" and isinstance(data, dict):
                    breakouts.discard(data.get("breakout_uuid"))
                if etype == "refresh_token" and not breakout:
                    session.lease(alias).request_refresh()  # the node wants a fresh token now
                roster.apply(room, etype, data)
                env = make(etype, data, id=sse.id, breakout=breakout)
                if etype == "presentation_frame" and frames_dir is not None and not breakout:
                    env["file"] = _save_frame(session, alias, sse.id, frames_dir)
                yield env
                if etype == "disconnect" and not breakout:
                    check_lease()  # the node ended a token we could not refresh: that is the cause (exit 3)
                    reason = (data or {}).get("reason") if isinstance(data, dict) else data
                    raise StreamEnded(f"the node disconnected confctl from {alias}: {reason or 'no reason given'}")
                if etype == "refer" and not breakout:
                    target = (data or {}).get("alias") if isinstance(data, dict) else None
                    raise StreamEnded(f"{alias} referred confctl to another conference: {target}",
                                      hint=f"follow it with --conference {target}" if target else None)
        finally:
            response.close()
        if stop.is_set():
            return
        if announced or down_since is None:  # keep the start of a gap that was never closed
            down_since = clock()
            down_iso = now_iso()
        if not announced:
            attempts += 1  # the node hung up before re-syncing: back off before trying again
        wait(min(backoff(attempts + 1), 5.0) if attempts else 0.05)


_FIRST = ("display_name", "role", "service_type", "is_muted", "uuid")


def _people_first(data):
    """Same payload, identifying fields first: one-line summaries then show who, not `buzz_time=0`."""
    if isinstance(data, dict) and "display_name" in data:
        return {**{k: data[k] for k in _FIRST if k in data}, **data}
    return data


def _save_frame(session, alias: str, event_id: str | None, folder: Path) -> str | None:
    path = conference_path(alias) + "/presentation.jpeg"
    try:
        response = session.request("GET", path, params={"id": event_id} if event_id else None)
    except ConfctlError as exc:
        output.warn(f"could not fetch the presentation frame {event_id}: {exc.message}")
        return None
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", event_id or str(time.time_ns()))
    target = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', alias)}-{time.strftime('%Y%m%dT%H%M%S')}-{safe}.jpg"
    target.write_bytes(response.content)
    return str(target)


def follow(profile, options):
    """Provider.follow: one conference, or several merged (each with its own token)."""
    aliases = list(options.conference) or [profile.require("conference")]
    if len(aliases) == 1:
        with SPEC.load().session(profile) as session:  # the vendor's session, through its spec
            yield from follow_conference(session, aliases[0], options, profile.name)
        return
    from confctl.core.events.merge import merge

    def source(alias):
        def run():
            with SPEC.load().session(profile) as session:  # one token (participant) per conference
                yield from follow_conference(session, alias, options, profile.name)
        return run

    yield from merge([source(a) for a in aliases], options.stop)


def listen(session, alias: str, *, stop: threading.Event | None = None) -> tuple[queue.Queue, threading.Event]:
    """Follow in the background (for `dial --wait`): returns (queue of envelopes, stop). Waits until the stream
    is connected, so that nothing the caller does next is missed."""
    stop = stop or threading.Event()
    q: queue.Queue = queue.Queue()
    ready = threading.Event()

    def run():
        try:
            for env in follow_conference(session, alias, FollowOptions(conference=(alias,), stop=stop),
                                         session.profile.name):
                ready.set()
                q.put(env)
        except BaseException as exc:  # noqa: BLE001
            q.put(exc)
        finally:
            ready.set()

    threading.Thread(target=run, daemon=True, name=f"pexip-listen-{alias}").start()
    if not ready.wait(15):
        stop.set()
        raise UsageError(f"could not open the event stream of {alias} within 15 s")
    return q, stop
