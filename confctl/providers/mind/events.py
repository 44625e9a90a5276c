"""Mind notifications: one WebSocket per conference at wss://<host>/{applicationId}/{conferenceId} (ws:// for an
http:// base URL; the base URL's path is kept, so a simulator mounted under /mind works).

Why the `websockets` library: it is actively maintained, pure Python with no compiled parts, and its
*synchronous* client fits the event runner (one thread per source, no asyncio loop to manage). It sends the
`Authorization` header on the opening handshake (so the token never goes into the URL), exposes the close code
and reason (4000 and 4001 mean different things here), honours proxies from the environment, answers pings,
and `recv(timeout=...)` lets us check the stop flag every half second.

Close codes: 4000 = the conference reached its limit (a final `conference.ended` event, exit 0); 4001 = another
client opened a socket for this conference (never reconnect: two followers would knock each other off; exit 9);
anything else = a drop: reconnect with backoff, re-read the conference with ?detailed=true, emit what changed
meanwhile (marked "resynced": true), then a `reconnected` record.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from confctl import output
from confctl.errors import AuthError, NotFoundError, StreamEnded, UsageError
from confctl.events import envelope
from confctl.events.merge import merge
from confctl.http import USER_AGENT, backoff, log

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
    def __init__(self, profile, conference: str, stop: threading.Event):
        from . import MindSession

        self.profile = profile
        self.conference = conference
        self.stop = stop
        self.session = MindSession(profile)
        self.url = ws_url(self.session.base_url, self.session.app_id, conference)

    # -- pieces -----------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        where = path("mind.conference.get", applicationId=self.session.app_id, conferenceId=self.conference)
        return Snapshot(self.session.request("GET", where, params={"detailed": "true"}).json())

    def connect(self):
        from websockets.sync.client import connect

        from confctl.state import state

        if not self.session.app_token:
            self.profile.require("token")
        context = None
        if self.url.startswith("wss:"):
            cafile = state.ca_bundle or self.profile.ca_bundle
            context = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        if state.debug:  # the token never goes to the log (nor into the URL)
            log(f"> WebSocket {self.url}\n> authorization: <redacted>")
        return connect(self.url, additional_headers={"Authorization": f"Bearer {self.session.app_token}"},
                       user_agent_header=USER_AGENT, ssl=context, open_timeout=self.session.timeout,
                       close_timeout=2, max_size=4 * 2**20)

    def event(self, etype: str, data, location: str | None = None, **extra) -> dict:
        ev = envelope.make("mind", self.profile.name, etype, data, conference=self.conference)
        if location is not None:
            ev["location"] = location
        ev.update(extra)
        return ev

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self):
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

        from confctl.state import state

        ws = None
        known = self.snapshot()  # the baseline; also proves the conference exists and the token works
        attempt, down_since, why = 0, None, ""
        try:
            while not self.stop.is_set():
                if ws is None:
                    try:
                        ws = self.connect()
                    except InvalidStatus as exc:
                        status = exc.response.status_code
                        if status in (401, 403):
                            raise AuthError(f"the WebSocket for conference {self.conference} was refused ({status})",
                                            hint="notifications need the application token (the profile's "
                                                 "token) of the application that owns the conference",
                                            status=status) from None
                        if status == 404:
                            yield self.event("conference.deleted", {"id": self.conference}, "/")
                            return
                        failure = f"HTTP {status}"
                    except (OSError, TimeoutError, InvalidHandshake) as exc:
                        failure = f"{type(exc).__name__}: {exc}"
                    else:
                        failure = None
                    if failure is not None:
                        attempt += 1
                        down_since = down_since or time.monotonic()
                        waited = time.monotonic() - down_since
                        delay = backoff(attempt)
                        output.note(f"mind: reconnecting to conference {self.conference} failed ({failure}); "
                                    f"next attempt in {delay:.1f} s")
                        if waited + delay > max(state.max_wait, 1.0):
                            raise StreamEnded(f"could not reconnect to conference {self.conference} after "
                                              f"{attempt} attempts ({failure})", hint="raise --max-wait")
                        self.stop.wait(delay)
                        continue
                    if down_since is not None:
                        try:
                            fresh = self.snapshot()
                        except NotFoundError:
                            yield self.event("conference.deleted", {"id": self.conference}, "/")
                            return
                        changes = known.changes(fresh)
                        for etype, location, data in changes:
                            yield self.event(etype, data, location, resynced=True)
                        yield envelope.reconnected("mind", self.profile.name, self.conference, reason=why,
                                                   attempts=max(attempt, 1), down_seconds=round(time.monotonic()
                                                                                        - down_since, 3),
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
                    down_since = time.monotonic()
                    attempt = 1
                    self.stop.wait(backoff(attempt))  # even the first retry waits: the server may be restarting
                    continue
                try:
                    notification = json.loads(raw)
                except ValueError:
                    yield self.event("notification.malformed", {"raw": str(raw)[:1000]})
                    continue
                if isinstance(notification, dict):
                    known.apply(notification)
                yield to_event(self.profile.name, self.conference, notification)
        finally:
            if ws is not None:
                ws.close()
            self.session.close()


def follow(profile, options):
    """Event source for `events follow`: one socket per conference (the doc's rule), merged."""
    conferences = list(options.get("conference") or [])
    if not conferences:
        default = profile.get("conference")
        if not default:
            raise UsageError("no conference to follow", hint="pass --conference ID (repeatable) or set the "
                                                             "profile's conference field")
        conferences = [default]
    stop = options["stop"]
    if len(conferences) == 1:
        yield from ConferenceFollower(profile, conferences[0], stop).run()
        return
    followers = [ConferenceFollower(profile, c, stop) for c in dict.fromkeys(conferences)]
    yield from merge([f.run for f in followers], stop, poll=RECV_TIMEOUT)
