"""The Auvious simulator's world (no HTTP; `app.py` routes requests to it): OAuth client-credentials tokens,
conferences with their endpoints, streams, viewers and metadata, and the versioned event feed. Every change bumps
the conference version and records its events, which wake the long-polls waiting on that conference.

Refusals are raised as `SimError` in the shapes the doc shows: the field map of a 400 (`bad_request`), OAuth's
{error, error_description} (`oauth_error`), and a bare 404 where documented (`bare_not_found`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from confctl.core.sim.kit import SimError
from confctl.core.sim.server import CREDENTIALS, SimConfig

CLIENTS = {CREDENTIALS["auvious"]["client_id"]: CREDENTIALS["auvious"]["client_secret"]}
ORGANIZATION = "demo-org"
STREAM_TYPES = ("MIC", "CAM", "SCREEN", "MIC_AND_CAM")
EVENT_TYPE = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+Event")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")


def now_iso() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def bad_request(**fields: str) -> SimError:
    """The documented 400 body: a map of field -> message."""
    return SimError(400, fields)


def oauth_error(status: int, error: str, description: str, headers: dict | None = None) -> SimError:
    """The {error, error_description} body of the token endpoint, the bearer check and `join`."""
    return SimError(status, {"error": error, "error_description": description}, headers)


def bare_not_found() -> SimError:
    """A 404 with no body (updatePublishedStreamBitrate documents it so)."""
    return SimError(404, None)


@dataclass
class Endpoint:
    id: str
    user_id: str
    metadata: dict = field(default_factory=dict)
    streams: dict = field(default_factory=dict)  # id -> {id, type, metadata, videoBitrate}
    state: str = "HEALTHY"


@dataclass
class Conference:
    id: str
    mode: str = "ROUTER"
    organization_id: str = ORGANIZATION
    interaction_id: str | None = None
    creator: str | None = None
    creator_endpoint: str | None = None
    endpoints: dict = field(default_factory=dict)  # endpoint id -> Endpoint
    metadata: dict = field(default_factory=dict)   # key -> {value, userId, userEndpointId, lastModified}
    viewers: dict = field(default_factory=dict)    # viewer id -> (stream id, viewer endpoint id)
    version: int = 0
    events: list = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event | None = None

    def as_json(self) -> dict:
        return {
            "id": self.id, "mode": self.mode, "organizationId": self.organization_id,
            "interactionId": self.interaction_id, "creator": self.creator, "creatorEndpoint": self.creator_endpoint,
            "participants": [
                {"id": ep.id, "userId": ep.user_id, "state": ep.state, "streams": list(ep.streams.values()),
                 "metadata": ep.metadata}
                for ep in self.endpoints.values()
            ],
            "metadata": self.metadata, "version": self.version, "empty": not self.endpoints,
        }

    def simple_view(self) -> dict:
        users: dict[str, list] = {}
        for ep in self.endpoints.values():
            users.setdefault(ep.user_id, []).append({
                "id": ep.id, "state": ep.state,
                "streams": [{"id": s["id"], "type": s["type"], "metadata": s["metadata"]} for s in ep.streams.values()],
                "metadata": ep.metadata,
            })
        return {"id": self.id, "mode": self.mode, "metadata": self.metadata,
                "participants": [{"id": u, "endpoints": eps} for u, eps in users.items()], "version": self.version}


def sdp_answer(offer: str) -> str:
    """A plausible answer: one media section per offered m= line, directions mirrored."""
    lines = ["v=0", f"o=- {secrets.randbelow(10**12)} 2 IN IP4 127.0.0.1", "s=auvious-sim", "t=0 0"]
    mirror = {"a=sendonly": "a=recvonly", "a=recvonly": "a=sendonly"}
    for line in offer.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            lines += [line, "c=IN IP4 127.0.0.1", f"a=ice-ufrag:{secrets.token_hex(4)}",
                      f"a=ice-pwd:{secrets.token_hex(12)}", "a=setup:passive"]
        elif line in mirror:
            lines.append(mirror[line])
    return "\r\n".join(lines) + "\r\n"


def mask(event: dict, paths: list[str]) -> dict:
    """Apply simple $.a.b masks as the docs describe: a string field becomes '*' of the same length."""
    import copy

    out = copy.deepcopy(event)
    for path in paths:
        keys = [k for k in re.split(r"\.", path[2:]) if k] if path.startswith("$.") else []
        node = out
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if keys and isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            node[keys[-1]] = "*" * len(node[keys[-1]])
    return out


class AuviousState:
    def __init__(self, config: SimConfig):
        self.config = config
        self.reset()

    # -- state -----------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.tokens: dict[str, dict] = {}  # token -> {client_id, expires}
        self.tokens_issued = 0
        self.conferences: dict[str, Conference] = {}
        self.seed()

    def seed(self) -> None:
        """Ids the endpoint examples use, so each example succeeds against a fresh simulator."""
        room = self.create("demo-room", creator="alice", creator_endpoint="ep-alice",
                           metadata={"topic": "Weekly sync"})
        self.join(room, "ep-alice", "alice", {"displayName": "Alice"})
        self.publish(room, room.endpoints["ep-alice"], "CAM", "stream-alice-cam", {"label": "camera"}, 30000)
        self.publish(room, room.endpoints["ep-alice"], "SCREEN", "stream-alice-screen", {}, None)
        self.join(room, "ep-bob", "bob", {"displayName": "Bob"})
        self.publish(room, room.endpoints["ep-bob"], "MIC", "stream-bob-mic", {}, None)
        self.join(room, "ep-dave", "dave", {"displayName": "Dave"})
        room.viewers["viewer-bob-1"] = ("stream-alice-cam", "ep-bob")
        room.viewers["viewer-bob-2"] = ("stream-alice-cam", "ep-bob")
        old = self.create("demo-room-old", creator="alice", creator_endpoint="ep-alice")
        self.join(old, "ep-alice", "alice", {"displayName": "Alice"})

    # -- mutations (each change bumps the version and records its events) -------------------------------
    def emit(self, conf: Conference, events: list[dict], *, bump: bool = True) -> None:
        if bump:
            conf.version += 1
        for event in events:
            conf.events.append({
                "id": str(uuid.uuid4()), "timestamp": now_iso(), "conferenceId": conf.id,
                "organizationId": conf.organization_id, "conferenceVersion": conf.version if bump else None,
                **event,
            })
        if conf.changed is not None:  # wake long-polls
            conf.changed.set()
        conf.changed = None

    def create(self, conf_id: str | None, *, mode: str = "ROUTER", creator: str | None = None,
               creator_endpoint: str | None = None, interaction_id: str | None = None,
               metadata: dict | None = None) -> Conference:
        conf = Conference(conf_id or str(uuid.uuid4()), mode=mode, creator=creator, creator_endpoint=creator_endpoint,
                          interaction_id=interaction_id)
        conf.metadata = {k: {"value": v, "userId": creator, "userEndpointId": creator_endpoint,
                             "lastModified": now_iso()} for k, v in (metadata or {}).items()}
        self.conferences[conf.id] = conf
        self.emit(conf, [{"type": "ConferenceCreatedEvent", "mode": mode, "creator": creator,
                          "creatorEndpoint": creator_endpoint}], bump=False)
        return conf

    def join(self, conf: Conference, endpoint_id: str, user_id: str, metadata: dict | None) -> Endpoint:
        ep = Endpoint(endpoint_id, user_id, dict(metadata or {}))
        conf.endpoints[endpoint_id] = ep
        self.emit(conf, [{"type": "ConferenceJoinedEvent", "userId": user_id, "userEndpointId": endpoint_id,
                          "metadata": ep.metadata}])
        return ep

    def leave(self, conf: Conference, ep: Endpoint, reason: str | None, *, ended: bool = False) -> list[dict]:
        events = [{"type": "ConferenceStreamUnpublishedEvent", "userId": ep.user_id, "userEndpointId": ep.id,
                   "streamId": sid, "streamType": s["type"]} for sid, s in ep.streams.items()]
        events.append({"type": "ConferenceLeftEvent", "userId": ep.user_id, "userEndpointId": ep.id,
                       "reason": reason})
        del conf.endpoints[ep.id]
        conf.viewers = {v: (s, e) for v, (s, e) in conf.viewers.items()
                        if e != ep.id and s not in ep.streams}
        if not ended:
            self.emit(conf, events)
        return events

    def publish(self, conf: Conference, ep: Endpoint, stype: str, stream_id: str | None, metadata: dict,
                bitrate: int | None) -> dict:
        stream = {"id": stream_id or str(uuid.uuid4()), "type": stype, "metadata": dict(metadata or {}),
                  "videoBitrate": bitrate if bitrate is not None else (0 if stype == "MIC" else 30000)}
        ep.streams[stream["id"]] = stream
        self.emit(conf, [{"type": "ConferenceStreamPublishedEvent", "userId": ep.user_id, "userEndpointId": ep.id,
                          "streamId": stream["id"], "streamType": stype, "metadata": stream["metadata"]}])
        return stream

    def unpublish(self, conf: Conference, ep: Endpoint, stream_id: str) -> None:
        stream = ep.streams.pop(stream_id)
        conf.viewers = {v: (s, e) for v, (s, e) in conf.viewers.items() if s != stream_id}
        self.emit(conf, [{"type": "ConferenceStreamUnpublishedEvent", "userId": ep.user_id, "userEndpointId": ep.id,
                          "streamId": stream_id, "streamType": stream["type"]}])

    # -- auth ------------------------------------------------------------------------------------------
    def issue(self, client_id: str) -> dict:
        token = secrets.token_urlsafe(32)
        ttl = int(self.config.auvious_token_ttl)
        self.tokens[token] = {"client_id": client_id, "expires": time.time() + ttl}
        self.tokens_issued += 1
        return {"access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": "rtc-api",
                "organizationId": ORGANIZATION, "jti": str(uuid.uuid4())}

    def caller(self, header: str) -> str | None:
        """The client id behind an `Authorization: Bearer` header, None when it is missing, unknown or expired."""
        if not header.lower().startswith("bearer "):
            return None
        entry = self.tokens.get(header[7:].strip())
        if entry is None or entry["expires"] <= time.time():
            return None
        return entry["client_id"]

    # -- helpers ---------------------------------------------------------------------------------------
    def find(self, conf_id) -> Conference | None:
        return self.conferences.get(conf_id) if isinstance(conf_id, str) else None

    # -- look-ups that refuse with the documented 400 ------------------------------------------------------
    # Where a request has several faults the first failing check answers, so the order of the calls in a
    # handler is part of its behaviour.
    def conference_of(self, body: dict) -> Conference:
        conf = self.find(body.get("conferenceId"))
        if conf is None:
            raise bad_request(conferenceId=f"conference {body.get('conferenceId')} not found")
        if conf.ended:
            raise bad_request(conferenceId=f"conference {conf.id} has ended")
        return conf

    def member_of(self, body: dict) -> tuple[Conference, Endpoint]:
        """The live conference and the caller's endpoint in it."""
        conf = self.conference_of(body)
        ep = conf.endpoints.get(body.get("userEndpointId"))
        if ep is None:
            raise bad_request(userEndpointId=f"{body.get('userEndpointId')} is not a member of conference {conf.id}")
        return conf, ep

    def own_stream_of(self, body: dict) -> tuple[Conference, Endpoint, dict]:
        """As member_of, plus streamId, which must be one the caller's endpoint published."""
        conf, ep = self.member_of(body)
        stream = ep.streams.get(body.get("streamId"))
        if stream is None:
            raise bad_request(streamId=f"{body.get('streamId')} is not a stream published by {ep.id}")
        return conf, ep, stream

    def path_conference(self, conf_id: str, *, allow_ended: bool = False) -> Conference:
        conf = self.find(conf_id)
        if conf is None or (conf.ended and not allow_ended):
            raise bad_request(id=f"conference {conf_id} not found")
        return conf
