"""Mind notifications: one WebSocket per conference at wss://<host>/{applicationId}/{conferenceId} (ws:// for an
http:// base URL; the base URL's path is kept, so a simulator mounted under /mind works).

Why the `websockets` library: it is actively maintained, pure Python with no compiled parts, sends the
`Authorization` header on the opening handshake (so the token never goes into the URL), exposes the close code
and reason (4000 and 4001 mean different things here), honours proxies from the environment and answers pings.
Its asyncio client runs in the follower's own thread (LoopSocket: the loop runs only while we wait for the
next message), so a message is read and emitted in one place — the synchronous client would hand every
message over from a reader thread. `recv(timeout=...)` lets us check the stop flag every half second, and
messages that arrived together are marked `_more` so the runner writes their lines at once.

Close codes: 4000 = the conference reached its limit (a final `conference.ended` event, exit 0); 4001 = another
client opened a socket for this conference (never reconnect: two followers would knock each other off; exit 9);
anything else = a drop, and so is any failure to get back (refused, reset during the opening handshake, the
re-read failing): reconnect with backoff for up to the resume window (CONFCTL_MIND_RESUME_TIMEOUT seconds, else
--max-wait), else exit 9. Once back: a `gap` record (notifications are not replayed, so chat messages sent
meanwhile are lost), what changed meanwhile from re-reading the conference with ?detailed=true (marked
"resynced": true, each printed once even if its notification also arrives), then a `reconnected` record.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from confctl.core import output
from confctl.core.errors import AuthError, NotFoundError, StreamEnded, UsageError
from confctl.core.events import envelope
from confctl.core.events.merge import merge
from confctl.core.http import USER_AGENT, backoff, log, ssl_context_for

from . import SPEC
from .endpoints import path

CLOSE_LIMIT, CLOSE_REPLACED = 4000, 4001
RESOURCES = {"participants": "participant", "streamings": "streaming", "messages": "message",
             "recording": "recording", "transcription": "transcription"}
RECV_TIMEOUT = 0.5  # seconds; the stop flag is checked at least this often


def ws_url(base_url: str, app_id: str, conference: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    where = path("notifications", applicationId=app_id, conferenceId=conference)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + where, "", ""))


def event_type(notification: dict) -> str:
    """created/updated/deleted + the resource named by `location` ("/" is the conference itself)."""
    segments = [s for s in str(notification.get("location") or "/").split("/") if s]
    resource = RESOURCES.get(segments[0], segments[0]) if segments else "conference"
    return f"{resource}.{notification.get('type') or 'unknown'}"


def to_event(profile: str, conference: str, notification) -> dict:
    """The resource goes unchanged into `data`; a `deleted` notification carries none, so data is {"id": ...}
    taken from the location. The location itself is kept at the envelope's top level."""
    if not isinstance(notification, dict):
        return envelope.make("mind", profile, "notification.unknown", notification, conference=conference)
    location = notification.get("location") or "/"
    data = notification.get("resource")
    if data is None:
        data = {"id": location.rstrip("/").rsplit("/", 1)[-1] or conference}
    event = envelope.make("mind", profile, event_type(notification), data, conference=conference)
    event["location"] = location
    return event


class Snapshot:
    """What we last knew about the conference, kept current from notifications, diffed after a reconnect."""

    def __init__(self, detailed: dict):
        detailed = dict(detailed)
        self.participants = {p["id"]: p for p in detailed.pop("participants", None) or [] if "id" in p}
        self.streamings = {s["id"]: s for s in detailed.pop("streamings", None) or [] if "id" in s}
        self.transcription = detailed.pop("transcription", None)
        self.conference = detailed

    def apply(self, notification: dict) -> None:
        segments = [s for s in str(notification.get("location") or "/").split("/") if s]
        kind, resource = notification.get("type"), notification.get("resource")
        if not segments:
            if kind == "updated" and isinstance(resource, dict):
                self.conference.update({k: v for k, v in resource.items()
                                        if k not in ("participants", "streamings", "transcription")})
        elif segments[0] in ("participants", "streamings") and len(segments) > 1:
            table = getattr(self, segments[0])
            if kind == "deleted":
                table.pop(segments[1], None)
            elif isinstance(resource, dict):
                table[segments[1]] = resource
        elif segments[0] == "transcription" and isinstance(resource, dict):
            self.transcription = resource

    def changes(self, fresh: "Snapshot") -> list[tuple[str, str, dict]]:
        """(type, location, data) for everything that differs in `fresh`."""
        out = []
        if fresh.conference != self.conference:
            out.append(("conference.updated", "/", fresh.conference))
        for name, kind in (("participants", "participant"), ("streamings", "streaming")):
            old, new = getattr(self, name), getattr(fresh, name)
            for rid, res in new.items():
                if rid not in old:
                    out.append((f"{kind}.created", f"/{name}/{rid}", res))
                elif old[rid] != res:
                    out.append((f"{kind}.updated", f"/{name}/{rid}", res))
            for rid in old.keys() - new.keys():
                out.append((f"{kind}.deleted", f"/{name}/{rid}", {"id": rid}))
        if fresh.transcription is not None and fresh.transcription != self.transcription:
            out.append(("transcription.updated", "/transcription", fresh.transcription))
        return out


class ConferenceFollower:
    """One conference's socket. `connector`, `clock` and `wait` are the seams unit tests replace (a fake
    socket, a fake clock); by default they are the real WebSocket client, time.monotonic and the stop flag."""

    def __init__(self, profile, conference: str, stop: threading.Event, *, session=None, connector=None,
                 clock=time.monotonic, wait=None, window: float | None = None):
        from confctl.core.state import state

        self.profile = profile
        self.conference = conference
        self.stop = stop
        self.session = session or SPEC.load().session(profile)  # the vendor's session, through its spec
        self.url = ws_url(self.session.base_url, self.session.app_id, conference)
        self.connector = connector or self.connect
        self.clock = clock
        self.wait = wait or stop.wait
        # How long the socket may stay down before the stream is given up (exit 9).
        self.window = window if window is not None else resume_window(profile, state.max_wait)
        self.echoes: dict[str, object] = {}  # location -> what a re-sync already printed for it

    # -- pieces -----------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        where = path("mind.conference.get", applicationId=self.session.app_id, conferenceId=self.conference)
        body = self.session.json(self.session.request("GET", where, params={"detailed": "true"}))
        if not isinstance(body, dict):
            from confctl.core.errors import ServerError

            raise ServerError(f"conference {self.conference}: the server answered {type(body).__name__}, "
                              "not a conference")
        return Snapshot(body)

    def connect(self):
        from confctl.core.state import state

        if not self.session.app_token:
            self.profile.require("token")
        context = None
        if self.url.startswith("wss:"):
            context = ssl_context_for(self.profile)  # the CAs the HTTP layer trusts, bundle included
        if state.debug:  # the token never goes to the log (nor into the URL)
            log(f"> WebSocket {self.url}\n> authorization: <redacted>")
        return LoopSocket.open(self.url, additional_headers={"Authorization": f"Bearer {self.session.app_token}"},
                               user_agent_header=USER_AGENT, ssl=context, open_timeout=self.session.timeout,
                               close_timeout=2, max_size=4 * 2**20)

    def event(self, etype: str, data, location: str | None = None, **extra) -> dict:
        ev = envelope.make("mind", self.profile.name, etype, data, conference=self.conference)
        if location is not None:
            ev["location"] = location
        ev.update(extra)
        return ev

    def refused(self, exc):
        """A handshake the server answered with an HTTP status: 401/403 end the stream (exit 3), 404 means
        the conference is gone; anything else is a transient failure (None)."""
        status = exc.response.status_code
        if status in (401, 403):
            return AuthError(f"the WebSocket for conference {self.conference} was refused ({status})",
                             hint="notifications need the application token (the profile's token) of the "
                                  "application that owns the conference", status=status)
        return None

    def is_echo(self, notification: dict) -> bool:
        """True for a notification a re-sync already printed (a participant who joined while the conference
        was being re-read is in the re-read *and* in the socket's queue): print each change once."""
        location = str(notification.get("location") or "/")
        if location not in self.echoes:
            return False
        printed = self.echoes.pop(location)
        if notification.get("type") == "deleted":
            return printed is None
        return printed is not None and notification.get("resource") == printed

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self):
        from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

        from confctl.core.errors import RateLimitedError, ServerError
        from confctl.core.state import state

        ws = None
        known = self.snapshot()  # the baseline; also proves the conference exists and the token works
        attempt, down_since, why = 0, None, ""
        try:
            while not self.stop.is_set():
                if ws is None:
                    # Reconnect: open the socket first, then re-read, so nothing that happens in between is
                    # missed (what shows up in both is printed once, see is_echo).
                    try:
                        ws = self.connector()
                        fresh = self.snapshot() if down_since is not None else None
                    except InvalidStatus as exc:
                        if exc.response.status_code == 404:
                            yield self.event("conference.deleted", {"id": self.conference}, "/")
                            return
                        fatal = self.refused(exc)
                        if fatal is not None:
                            raise fatal from None
                        failure = f"HTTP {exc.response.status_code}"
                    except NotFoundError:
                        yield self.event("conference.deleted", {"id": self.conference}, "/")
                        return
                    except ssl.SSLCertVerificationError as exc:  # retrying cannot fix a certificate
                        raise ServerError(f"TLS failure opening the WebSocket to {self.url}: {exc.verify_message}",
                                          hint="add your CA with --ca-bundle or the profile's ca_bundle field") \
                            from None
                    except (OSError, EOFError, TimeoutError, WebSocketException, ServerError,
                            RateLimitedError) as exc:
                        # Any failure to get back — refused, reset during the opening handshake, the re-read
                        # failing — is one more attempt within the resume window.
                        failure = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    else:
                        failure = None
                    if failure is not None:
                        if ws is not None:
                            ws.close()
                            ws = None
                        attempt += 1
                        down_since = down_since or self.clock()
                        delay = backoff(attempt)
                        if self.clock() - down_since + delay > self.window:
                            raise StreamEnded(f"could not reconnect to conference {self.conference} after "
                                              f"{attempt} attempts in {self.clock() - down_since:.1f} s "
                                              f"({failure})", hint="raise --max-wait (or set "
                                              "CONFCTL_MIND_RESUME_TIMEOUT) to keep trying longer")
                        output.note(f"mind: reconnecting to conference {self.conference} failed ({failure}); "
                                    f"next attempt in {delay:.1f} s")
                        self.wait(delay)
                        continue
                    if fresh is not None:
                        down = round(self.clock() - down_since, 3)
                        # Notifications are not replayed and messages cannot be re-read: say so.
                        yield envelope.gap("mind", self.profile.name, self.conference, reason=why,
                                           down_seconds=down, lost="messages sent while disconnected; other "
                                           "changes are re-read below")
                        changes = known.changes(fresh)
                        self.echoes = {}
                        for etype, location, data in changes:
                            self.echoes[location] = None if etype.endswith(".deleted") else data
                            yield self.event(etype, data, location, resynced=True)
                        yield envelope.reconnected("mind", self.profile.name, self.conference, reason=why,
                                                   attempts=max(attempt, 1), down_seconds=down,
                                                   resynced=len(changes))
                        known = fresh
                    attempt, down_since = 0, None
                try:
                    raw = ws.recv(timeout=RECV_TIMEOUT)
                except TimeoutError:
                    continue
                except ConnectionClosed as exc:
                    code = exc.rcvd.code if exc.rcvd else 1006
                    reason = (exc.rcvd.reason if exc.rcvd else "") or "no close frame"
                    ws = None
                    if state.debug:
                        log(f"< WebSocket closed {code}: {reason}")
                    if code == CLOSE_LIMIT:
                        yield self.event("conference.ended", {"code": code, "reason": reason}, "/")
                        return
                    if code == CLOSE_REPLACED:
                        raise StreamEnded(
                            f"another client opened a WebSocket for conference {self.conference} (close 4001); "
                            "not reconnecting, as two followers would keep knocking each other off",
                            hint="only one client may follow a Mind conference at a time; stop the other one")
                    why = f"closed {code}: {reason}"
                    output.note(f"mind: connection to conference {self.conference} lost ({why}); reconnecting")
                    down_since = self.clock()
                    attempt = 1
                    self.wait(backoff(attempt))  # even the first retry waits: the server may be restarting
                    continue
                try:
                    notification = json.loads(raw)
                except ValueError:
                    yield self.event("notification.malformed", {"raw": str(raw)[:1000]})
                    continue
                if isinstance(notification, dict):
                    if self.echoes and self.is_echo(notification):
                        continue
                    known.apply(notification)
                event = to_event(self.profile.name, self.conference, notification)
                if getattr(ws, "pending", 0) and not self.echoes:
                    # Another message is here already and will be printed (only an echo is skipped): the
                    # runner may hold this line until then.
                    event["_more"] = True
                yield event
        finally:
            if ws is not None:
                ws.close()
            self.session.close()


class LoopSocket:
    """A websockets asyncio connection driven from the calling thread with the blocking interface the follower
    uses (`recv(timeout)`, `close()`): no reader thread. Messages that are already buffered are taken in the
    same turn of the loop; `pending` says how many wait."""

    def __init__(self, loop, ws):
        from collections import deque

        self.loop, self.ws = loop, ws
        self.ready: deque = deque()

    @classmethod
    def open(cls, url: str, **kwargs) -> "LoopSocket":
        import asyncio

        from websockets.asyncio.client import connect

        loop = asyncio.new_event_loop()
        try:
            ws = loop.run_until_complete(connect(url, **kwargs))
        except BaseException:
            loop.close()
            raise
        return cls(loop, ws)

    @property
    def pending(self) -> int:
        return len(self.ready)

    def _buffered(self) -> int:
        assembler = getattr(self.ws, "recv_messages", None)  # frames received, not yet read
        return len(getattr(assembler, "frames", ()) or ())

    async def _fill(self, timeout: float) -> None:
        import asyncio

        self.ready.append(await asyncio.wait_for(self.ws.recv(), timeout))
        try:
            while self._buffered() and len(self.ready) < 256:
                self.ready.append(await self.ws.recv())
        except Exception:  # noqa: BLE001 - what ended the connection is raised by the next recv()
            pass

    def recv(self, timeout: float | None = None):
        """The next message; TimeoutError after `timeout` seconds without one; ConnectionClosed as usual."""
        if not self.ready:
            import asyncio

            from websockets.exceptions import ConnectionClosed

            try:
                self.loop.run_until_complete(self._fill(timeout))
            except asyncio.TimeoutError:
                raise TimeoutError from None
            except ConnectionClosed:
                self.close()  # the follower drops this socket for a new one: its loop goes with it
                raise
        return self.ready.popleft()

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(self.ws.close())
        except Exception:  # noqa: BLE001 - closing a connection that is already gone
            pass
        finally:
            self.loop.close()


def resume_window(profile, max_wait: float) -> float:
    """CONFCTL_MIND_RESUME_TIMEOUT seconds when set, else --max-wait (at least one second)."""
    raw = profile.get("resume_timeout")
    if raw in (None, ""):
        return max(float(max_wait), 1.0)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value <= 0:
        raise UsageError(f"CONFCTL_MIND_RESUME_TIMEOUT must be a number of seconds above 0 (got {raw!r})")
    return value


def follow(profile, options):
    """Event source for `events follow`: one socket per conference (the doc's rule), merged."""
    conferences = list(options.conference)
    if not conferences:
        default = profile.get("conference")
        if not default:
            raise UsageError("no conference to follow", hint="pass --conference ID (repeatable) or set the "
                                                             "profile's conference field")
        conferences = [default]
    stop = options.stop
    if len(conferences) == 1:
        yield from ConferenceFollower(profile, conferences[0], stop).run()
        return
    followers = [ConferenceFollower(profile, c, stop) for c in dict.fromkeys(conferences)]
    yield from merge([f.run for f in followers], stop, poll=RECV_TIMEOUT)
