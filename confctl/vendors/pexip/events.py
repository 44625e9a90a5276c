"""Server-sent events (httpx-sse) → the shared envelope, surviving token expiry and dropped streams.

`events follow` (`follow`) reads every conference given — one or hundreds — in one asyncio loop run by the
consumer's thread (PexipHub, through core/events/aio.py): no thread per conference nor per event, one
keep-alive scheduler for every token, joins paced by `--connect-rate`, every token released on exit. The
thread follower (`follow_conference`, a reader thread per stream) serves `dial --wait` and the live roster.
Both feed one ConferenceStream, which holds what the events mean:

The token is refreshed while following. When the stream drops, we reconnect
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

import asyncio
import heapq
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
from confctl.core.http import USER_AGENT, backoff
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
        return _loads(raw)
    except ValueError:  # orjson refuses a few things json reads (NaN, integers beyond 64 bits)
        try:
            return json.loads(raw)
        except ValueError:
            return raw


try:
    from orjson import loads as _loads
except ImportError:  # declared as a dependency; without it the standard library parses
    _loads = json.loads


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


class ConferenceStream:
    """What one conference's events mean, whichever loop reads them (the thread follower below, or the asyncio
    hub of `follow`): the roster and its re-sync diff, duplicate ids, gap/reconnected records, the end of the
    stream (disconnect, refer), the resume window. `clock` measures durations (a seam for unit tests)."""

    def __init__(self, session, alias: str, profile_name: str, *, resume_timeout: float, frames_dir=None,
                 clock=time.monotonic, seen_limit: int = 4096):
        self.session, self.alias, self.profile_name = session, alias, profile_name
        self.resume_timeout, self.frames_dir, self.clock = resume_timeout, frames_dir, clock
        self.seen_limit = seen_limit
        self.roster = Roster()
        self.seen: OrderedDict = OrderedDict()
        self.last_update: dict = {}  # room -> last conference_update payload
        self.breakouts: set = set()
        self.connected_once = False
        self.resumed = False
        self.announced = True
        self.down_since: float | None = None
        self.down_iso: str | None = None
        self.attempts = 0
        self.ending: BaseException | None = None  # raised once the envelopes before it are out

    def make(self, etype, data, *, id=None, breakout=None, sync=False):
        env = envelope.make("pexip", self.profile_name, etype, _people_first(data), conference=self.alias, id=id)
        if breakout:
            env["breakout"] = breakout
        if sync:
            env["_sync"] = True  # the opening roster: printed, not counted by --count
        return env

    def check_lease(self) -> None:
        lease = self.session.leases.get(self.alias)
        if lease is not None and lease.failure is not None:
            raise lease.failure  # the token lapsed unrefreshed: exit 3, not a silent reconnect

    def connect_failed(self, exc: BaseException) -> float:
        """Opening the stream failed: raise when that is final, else the pause before the next attempt."""
        lease = self.session.leases.get(self.alias)
        if lease is not None and exc is lease.failure:
            raise exc
        if not self.connected_once:
            raise exc  # the first connection failing is an ordinary error (exit 3/4/7)
        if isinstance(exc, (AuthError, NotFoundError)):  # a refused PIN or a vanished conference is final
            raise StreamEnded(f"cannot resume the event stream of {self.alias}: {getattr(exc, 'message', exc)}",
                              hint=getattr(exc, "hint", None)) from None
        if self.clock() - self.down_since > self.resume_timeout:
            raise StreamEnded(f"the event stream of {self.alias} could not be resumed within "
                              f"{self.resume_timeout:g} s: {getattr(exc, 'message', exc)}") from None
        self.attempts += 1
        return min(backoff(self.attempts), 5.0)

    def time_left(self) -> float:
        """What is left of the resume window for one reconnect attempt."""
        return max(0.5, self.resume_timeout - (self.clock() - self.down_since))

    def opened(self) -> None:
        self.resumed = self.connected_once
        self.connected_once = True
        self.attempts = 0
        self.announced = not self.resumed  # after a reconnect: gap first, then the re-sync diff, `reconnected`

    def closed(self) -> float:
        """The stream ended (not stopped): the pause before reconnecting."""
        if self.announced or self.down_since is None:  # keep the start of a gap that was never closed
            self.down_since = self.clock()
            self.down_iso = now_iso()
        if not self.announced:
            self.attempts += 1  # the node hung up before re-syncing: back off before trying again
        return min(backoff(self.attempts + 1), 5.0) if self.attempts else 0.05

    def feed(self, sid: str | None, etype: str, raw: str) -> list[dict]:
        """The envelopes one SSE event becomes (often one, none for a duplicate); sets `ending` when the
        stream must end after them."""
        make, roster = self.make, self.roster
        if sid:
            seen = self.seen
            if sid in seen:
                return []
            seen[sid] = None
            if len(seen) > self.seen_limit:
                seen.popitem(last=False)
        data = _data(raw)
        room, breakout = MAIN, None
        if etype == "breakout_event" and isinstance(data, dict):
            breakout = data.get("breakout_uuid")
            room, etype, data = breakout, data.get("event") or "unknown", data.get("data")
        out: list[dict] = []
        if not self.announced and not roster.in_sync(MAIN) and not (etype == "participant_sync_begin"
                                                                    and room == MAIN):
            # A node that does not re-sync: say events may be missing, carry on.
            self.announced = True
            out.append(make("gap", {"since": self.down_iso, "until": now_iso(), "resynced": False}))
            out.append(make("reconnected", {"resynced": False}))
        resumed = self.resumed
        if etype == "participant_sync_begin":
            roster.begin(room)
            if not resumed:
                out.append(make(etype, data, id=sid, breakout=breakout, sync=True))
            return out
        if etype == "participant_create" and roster.in_sync(room):
            roster.synced(room, data if isinstance(data, dict) else {})
            if not resumed:
                out.append(make(etype, data, id=sid, breakout=breakout, sync=True))
            return out
        if etype == "participant_sync_end" and roster.in_sync(room):
            created, updated, deleted = roster.end(room)
            if not resumed:
                out.append(make(etype, data, id=sid, breakout=breakout, sync=True))
                return out
            if room == MAIN and not self.announced:
                self.announced = True
                out.append(make("gap", {"since": self.down_iso, "until": now_iso(), "resynced": True,
                                        "lost": "events other than roster changes (messages, stage, "
                                                "presentation, layout) in this interval"}))
            for kind, items in (("participant_create", created), ("participant_update", updated),
                                ("participant_delete", deleted)):
                for item in items:
                    out.append(make(kind, item, breakout=breakout))
            if room == MAIN:
                out.append(make("reconnected", {"down_seconds": round(self.clock() - self.down_since, 3),
                                                "participants": len(roster.rooms.get(MAIN, {})),
                                                "created": len(created), "updated": len(updated),
                                                "deleted": len(deleted)}))
            return out
        if etype == "conference_update":
            if self.last_update.get(room) == data:
                return out  # the re-sent state after a reconnect, unchanged: not a new event
            self.last_update[room] = data
        elif etype == "breakout_begin" and isinstance(data, dict):
            if data.get("breakout_uuid") in self.breakouts:
                return out
            self.breakouts.add(data.get("breakout_uuid"))
        elif etype == "breakout_end" and isinstance(data, dict):
            self.breakouts.discard(data.get("breakout_uuid"))
        elif etype == "refresh_token" and not breakout:
            self.session.lease(self.alias).request_refresh()  # the node wants a fresh token now
        roster.apply(room, etype, data)
        env = make(etype, data, id=sid, breakout=breakout)
        if etype == "presentation_frame" and self.frames_dir is not None and not breakout:
            env["file"] = _save_frame(self.session, self.alias, sid, self.frames_dir)
        out.append(env)
        if etype == "disconnect" and not breakout:
            try:
                self.check_lease()  # the node ended a token we could not refresh: that is the cause (exit 3)
            except AuthError as exc:
                self.ending = exc
                return out
            reason = (data or {}).get("reason") if isinstance(data, dict) else data
            self.ending = StreamEnded(f"the node disconnected confctl from {self.alias}: "
                                      f"{reason or 'no reason given'}")
        elif etype == "refer" and not breakout:
            target = (data or {}).get("alias") if isinstance(data, dict) else None
            self.ending = StreamEnded(f"{self.alias} referred confctl to another conference: {target}",
                                      hint=f"follow it with --conference {target}" if target else None)
        return out


def _resume_timeout(session, options) -> float:
    return float(options.get("resume_timeout") or session.profile.get("resume_timeout") or 120)


def _frames_dir(options) -> Path | None:
    frames_dir = Path(options.get("save_frames")) if options.get("save_frames") else None
    if frames_dir:
        frames_dir.mkdir(parents=True, exist_ok=True)
    return frames_dir


def follow_conference(session, alias: str, options, profile_name: str, *, clock=time.monotonic, wait=None):
    """Yield envelopes for one conference until options.stop is set; raise StreamEnded if it cannot resume.
    A reader thread hands events over (the consumer checks `stop` and the lease every half second); used by
    `dial --wait`, the live roster and `pexip conference events` (`events follow` runs the asyncio hub below).
    `clock` (durations: the resume window) and `wait` (backoff pauses; default: the stop flag's wait) are the
    seams unit tests replace with a fake clock."""
    stop: threading.Event = options.stop
    wait = wait or stop.wait
    stream = ConferenceStream(session, alias, profile_name, resume_timeout=_resume_timeout(session, options),
                              frames_dir=_frames_dir(options), clock=clock)
    while not stop.is_set():
        try:
            stream.check_lease()
            if stream.connected_once:  # each attempt fits in what is left of the resume window
                with session.deadline(stream.time_left()):
                    response = open_stream(session, alias, retry=False)
            else:
                response = open_stream(session, alias, retry=True)
        except (ConfctlError, OSError) as exc:
            wait(stream.connect_failed(exc))
            continue
        stream.opened()
        q: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        reader = threading.Thread(target=_reader, args=(response, q, stop), daemon=True, name=f"pexip-sse-{alias}")
        reader.start()
        try:
            while not stop.is_set():
                try:
                    kind, sse = q.get(timeout=0.5)
                except queue.Empty:
                    stream.check_lease()
                    continue
                stream.check_lease()
                if kind == "eof":
                    break
                yield from stream.feed(sse.id, sse.event, sse.data)
                if stream.ending is not None:
                    raise stream.ending
        finally:
            response.close()
        if stop.is_set():
            return
        wait(stream.closed())


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


DEFAULT_CONNECT_RATE = 25.0  # conferences joined per second (request_token + stream) after a burst of as many
TOKEN_WORKERS = 4  # threads for token calls (request, refresh, release): fixed, whatever the conference count


def connect_rate(value) -> float:
    """`--connect-rate N` or `N/s`: conferences joined per second, above 0."""
    from confctl.core.errors import ValidationError

    text = str(value).strip()
    if text.endswith("/s"):
        text = text[:-2].strip()
    try:
        rate = float(text)
    except ValueError:
        rate = -1.0
    if not rate > 0 or rate == float("inf"):
        raise ValidationError("--connect-rate", f"{value!r} is not a rate: give conferences per second, "
                                                "e.g. 25 or 25/s")
    return rate


def check_connect_rate(value) -> None:
    connect_rate(value)


def follow(profile, options):
    """Provider.follow: every conference given (one or hundreds) in one asyncio loop in this thread, each with
    its own token (a Pexip token is a participant of its conference), merged fairly; see PexipHub."""
    aliases = list(dict.fromkeys(options.conference)) or [profile.require("conference")]
    session = SPEC.load().session(profile)  # the vendor's session, through its spec
    try:
        yield from follow_session(session, aliases, options, profile.name)
    finally:
        session.close()  # releases whatever lease is left (the hub released them already)


def follow_session(session, aliases: list[str], options, profile_name: str):
    """The same over a session the caller owns (`pexip conference events`); its leases are released here."""
    from confctl.core.events.aio import drive

    return drive(PexipHub(session, aliases, options, profile_name), options.stop)


class PexipHub:
    """One task per conference reading its SSE stream (httpx.AsyncClient + httpx-sse) through a
    ConferenceStream, started at `--connect-rate`; one scheduler task running every lease's keep-alive step
    (token calls go to a fixed pool of TOKEN_WORKERS threads: the token cache and its file lock are
    synchronous); envelopes handed over through a FairQueue. `shutdown` cancels the streams, waits for token
    calls in flight, then releases every token."""

    def __init__(self, session, aliases: list[str], options, profile_name: str, *, clock=time.monotonic,
                 transport=None):
        from confctl.core.events.aio import FairQueue, Pacer

        self.session, self.aliases, self.options, self.profile_name = session, aliases, options, profile_name
        self.clock = clock
        self.transport = transport  # tests: an httpx async transport
        self.queue = FairQueue(limit=max(16, min(256, 20000 // len(aliases))))
        self.pacer = Pacer(connect_rate(options.get("connect_rate") or DEFAULT_CONNECT_RATE))
        self.seen_limit = max(256, min(4096, 200_000 // len(aliases)))  # bounded memory for many conferences
        self.resume_timeout = _resume_timeout(session, options)
        self.frames_dir = _frames_dir(options)
        self.tasks: dict[str, asyncio.Task] = {}
        self.connected: set[str] = set()
        self._due: list = []  # heap of (when, seq, alias)
        self._next: dict[str, float] = {}
        self._busy: set[str] = set()
        self._steps: set = set()  # keep-alive steps running
        self.closing = False
        self.keepalive = self.watch = self.executor = self.client = None  # made by start()
        self._seq = 0

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def start(self) -> None:
        import httpx
        from concurrent.futures import ThreadPoolExecutor

        self.loop = asyncio.get_running_loop()
        self._poke = asyncio.Event()
        self.executor = ThreadPoolExecutor(TOKEN_WORKERS, thread_name_prefix="pexip-token")
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.session.timeout, read=READ_TIMEOUT), verify=self.session._verify,
            headers={"User-Agent": USER_AGENT}, follow_redirects=False, trust_env=True, transport=self.transport,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32))
        self.keepalive = asyncio.ensure_future(self._keepalive())
        self.watch = asyncio.ensure_future(self._watch())
        for alias in self.aliases:
            self.tasks[alias] = asyncio.ensure_future(self._conference(alias))

    async def shutdown(self) -> None:
        self.closing = True
        if self.executor is None:
            return  # start() did not get far
        self._poke.set()
        tasks = [t for t in (*self.tasks.values(), self.keepalive, self.watch, *self._steps) if t is not None]
        for task in tasks:
            task.cancel()
        # Each closes its stream. Python 3.11's wait_for can lose a cancellation that races with its result,
        # so the loops also watch `closing`, and a straggler is cancelled once more, never waited for long.
        _, pending = await asyncio.wait(tasks, timeout=3) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)
        # A token call still running (a request_token) must land before the release, or it would leave a
        # participant behind: wait for those in flight, drop those not started.
        self.executor.shutdown(wait=True, cancel_futures=True)
        for lease in list(self.session.leases.values()):
            lease.scheduler = None  # the loop is going away
        leases = [lease for lease in list(self.session.leases.values()) if lease.joined]
        if leases:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(8, len(leases)), thread_name_prefix="pexip-release") as pool:
                list(pool.map(lambda lease: lease.release(), leases))
        if self.client is not None:
            await self.client.aclose()

    def _blocking(self, fn, *args):
        return self.loop.run_in_executor(self.executor, fn, *args)

    # -- token keep-alive: one scheduler for every lease --------------------------------------------------
    def _schedule(self, lease) -> None:
        """Lease.scheduler: look at this lease now (called from token threads too)."""
        self.loop.call_soon_threadsafe(self._push, lease.alias, 0.0)

    def _push(self, alias: str, delay: float) -> None:
        when = self.loop.time() + delay
        self._seq += 1
        self._next[alias] = when
        heapq.heappush(self._due, (when, self._seq, alias))
        self._poke.set()

    async def _keepalive(self) -> None:
        while not self.closing:
            now = self.loop.time()
            while self._due and self._due[0][0] <= now:
                when, _, alias = heapq.heappop(self._due)
                if self._next.get(alias) != when or alias in self._busy:
                    continue  # superseded by a later look, or a step is running
                self._busy.add(alias)
                step = asyncio.ensure_future(self._step(alias))
                self._steps.add(step)
                step.add_done_callback(self._steps.discard)
            self._poke.clear()
            delay = self._due[0][0] - now if self._due else None
            try:
                await asyncio.wait_for(self._poke.wait(), delay)
            except asyncio.TimeoutError:
                pass

    async def _step(self, alias: str) -> None:
        lease = self.session.leases.get(alias)
        try:
            wait = await self._blocking(lease.keepalive_step)
        finally:
            self._busy.discard(alias)
        if wait is not None:
            self._push(alias, wait)
        else:
            self._failed(alias)

    def _failed(self, alias: str) -> None:
        lease = self.session.leases.get(alias)
        task = self.tasks.get(alias)
        if lease is not None and lease.failure is not None and task is not None and not task.done():
            task.cancel()  # its stream may be quiet: end it now, with the lease's failure (exit 3)
            self.queue.fail(alias, lease.failure)

    async def _watch(self) -> None:
        """A lease can also fail outside the scheduler (a refused refresh on use): look twice a second."""
        while not self.closing:
            await asyncio.sleep(0.5)
            for alias, lease in list(self.session.leases.items()):
                if lease.failure is not None:
                    self._failed(alias)

    # -- one conference -----------------------------------------------------------------------------------
    async def _open(self, alias: str):
        """GET /events with the lease's token (obtained or refreshed in a token thread); one retry with a
        fresh token when the node says ours is no longer valid."""
        import httpx

        session, path = self.session, conference_path(alias) + "/events"
        lease = session.lease(alias)
        if lease.scheduler is None:
            lease.scheduler = self._schedule
        for attempt in (1, 2):
            request = await self._blocking(lambda: session.build("GET", path, headers={"Accept": "text/event-stream"}))
            try:
                response = await self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise session._transport_error(request, exc) from None
            if response.status_code < 400:
                return response
            await response.aread()
            await response.aclose()
            if attempt == 1 and response.status_code in (401, 403) and invalid_token(response):
                await self._blocking(lease.invalidate)
                continue
            raise session.error(response)

    async def _open_first(self, alias: str):
        """The first connection: a refused or reset connect is tried again a few times (the node may be
        busy with many joins); anything else is the command's error."""
        from confctl.core.errors import ServerError

        for attempt in range(1, 4):
            try:
                return await self._open(alias)
            except ServerError as exc:
                if attempt == 3 or exc.status is not None:
                    raise
                await asyncio.sleep(backoff(attempt))

    async def _conference(self, alias: str) -> None:
        from httpx_sse import EventSource

        from confctl.core.errors import ServerError

        stream = ConferenceStream(self.session, alias, self.profile_name, resume_timeout=self.resume_timeout,
                                  frames_dir=self.frames_dir, clock=self.clock, seen_limit=self.seen_limit)
        put = self.queue.put
        try:
            await self.pacer.wait()
            while not self.closing:
                try:
                    stream.check_lease()
                    if stream.connected_once:  # each attempt fits in what is left of the resume window
                        try:
                            response = await asyncio.wait_for(self._open(alias), stream.time_left())
                        except asyncio.TimeoutError:
                            raise ServerError(f"no answer from the node within {stream.time_left():g} s") from None
                    else:
                        response = await self._open_first(alias)
                except (ConfctlError, OSError) as exc:
                    await asyncio.sleep(stream.connect_failed(exc))
                    continue
                self.connected.add(alias)
                stream.opened()
                try:
                    async for sse in EventSource(response).aiter_sse():
                        if self.closing:
                            break
                        stream.check_lease()
                        for env in stream.feed(sse.id, sse.event, sse.data):
                            await put(alias, env)
                        if stream.ending is not None:
                            raise stream.ending
                except (OSError, _http_errors()):
                    pass  # dropped: reconnect below
                finally:
                    self.connected.discard(alias)
                    await response.aclose()
                await asyncio.sleep(stream.closed())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, after this stream's envelopes
            self.queue.fail(alias, exc)


def _http_errors():
    import httpx

    return httpx.HTTPError


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
