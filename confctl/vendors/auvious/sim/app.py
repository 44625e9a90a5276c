"""Auvious RTC API simulator (api-docs/auvious-rtc-api.txt): OAuth 2.0 client credentials with short-lived
tokens, every conference endpoint with its documented 200/204/400 (404/422 where documented), conference
versions that increase with each change, and a long-poll events endpoint that blocks `SimConfig.poll_wait`
seconds when nothing is new.

Event feed semantics: `GET /rtc-api/conferences/{id}/events?v=N` returns the events whose conferenceVersion
is >= N (creation events carry a null version and count as 0), oldest first.

Controls under /_sim (no auth): revoke or expire tokens, generate activity, reset, state.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qs, unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confctl.core.sim.server import CREDENTIALS, SimConfig

CLIENTS = {CREDENTIALS["auvious"]["client_id"]: CREDENTIALS["auvious"]["client_secret"]}
ORGANIZATION = "demo-org"
STREAM_TYPES = ("MIC", "CAM", "SCREEN", "MIC_AND_CAM")
EVENT_TYPE = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+Event")
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z")


def _now() -> str:
    moment = datetime.now(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def bad_request(**fields: str) -> JSONResponse:
    """The documented 400 body: a map of field -> message."""
    return JSONResponse(fields, status_code=400)


class Rejected(Exception):
    """A request refused with `response`: raised by a check deep in a handler, answered by the `api` wrapper."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


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


class AuviousSim:
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
                "id": str(uuid.uuid4()), "timestamp": _now(), "conferenceId": conf.id,
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
                             "lastModified": _now()} for k, v in (metadata or {}).items()}
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

    # -- auth ------------------------------------------------------------------------------------------
    def issue(self, client_id: str) -> dict:
        token = secrets.token_urlsafe(32)
        ttl = int(self.config.auvious_token_ttl)
        self.tokens[token] = {"client_id": client_id, "expires": time.time() + ttl}
        self.tokens_issued += 1
        return {"access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": "rtc-api",
                "organizationId": ORGANIZATION, "jti": str(uuid.uuid4())}

    def caller(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        entry = self.tokens.get(header[7:].strip())
        if entry is None or entry["expires"] <= time.time():
            return None
        return entry["client_id"]

    # -- helpers ---------------------------------------------------------------------------------------
    def find(self, conf_id) -> Conference | None:
        return self.conferences.get(conf_id) if isinstance(conf_id, str) else None


def create_app(config: SimConfig) -> Starlette:
    sim = AuviousSim(config)

    def unauthorized(description: str = "Full authentication is required to access this resource"):
        return JSONResponse({"error": "unauthorized", "error_description": description}, status_code=401,
                            headers={"WWW-Authenticate": 'Bearer realm="auvious", error="invalid_token"'})

    def api(handler):
        """Bearer check, JSON body parsing and the documented 400 for malformed input; a `Rejected` raised by the
        handler's checks becomes its reply."""

        async def endpoint(request: Request):
            user = sim.caller(request)
            if user is None:
                return unauthorized("Invalid or expired access token" if request.headers.get("authorization")
                                    else "Full authentication is required to access this resource")
            body = None
            if request.method == "POST":
                raw = await request.body()
                try:
                    import json

                    body = json.loads(raw or b"null")
                except ValueError:
                    return bad_request(body="malformed JSON")
                if not isinstance(body, dict):
                    return bad_request(body="must be a JSON object")
            try:
                return await handler(request, user, body)
            except Rejected as rejected:
                return rejected.response

        return endpoint

    # -- request checks: each raises Rejected with the documented 400, so handlers read as the happy path ---
    # Where a request has several faults the first failing check answers, so the order of the calls in a
    # handler is part of its behaviour.
    def blank(body: dict, *names: str) -> dict:
        """field -> message for each required string that is missing or blank."""
        return {n: "must not be blank" for n in names if not isinstance(body.get(n), str) or not body[n].strip()}

    def require(body: dict, *names: str) -> None:
        missing = blank(body, *names)
        if missing:
            raise Rejected(bad_request(**missing))

    def conference_of(body: dict) -> Conference:
        conf = sim.find(body.get("conferenceId"))
        if conf is None:
            raise Rejected(bad_request(conferenceId=f"conference {body.get('conferenceId')} not found"))
        if conf.ended:
            raise Rejected(bad_request(conferenceId=f"conference {conf.id} has ended"))
        return conf

    def member_of(body: dict) -> tuple[Conference, Endpoint]:
        """The live conference and the caller's endpoint in it."""
        conf = conference_of(body)
        ep = conf.endpoints.get(body.get("userEndpointId"))
        if ep is None:
            raise Rejected(bad_request(userEndpointId=f"{body.get('userEndpointId')} is not a member of "
                                                      f"conference {conf.id}"))
        return conf, ep

    def own_stream_of(body: dict) -> tuple[Conference, Endpoint, dict]:
        """As member_of, plus streamId, which must be one the caller's endpoint published."""
        conf, ep = member_of(body)
        stream = ep.streams.get(body.get("streamId"))
        if stream is None:
            raise Rejected(bad_request(streamId=f"{body.get('streamId')} is not a stream published by {ep.id}"))
        return conf, ep, stream

    def path_conference(request: Request, *, allow_ended: bool = False) -> Conference:
        conf = sim.find(request.path_params["id"])
        if conf is None or (conf.ended and not allow_ended):
            raise Rejected(bad_request(id=f"conference {request.path_params['id']} not found"))
        return conf

    def metadata_problem(value, strings: bool = False) -> str | None:
        """Optional metadata must be an object (of strings, where the docs say so); the message when it is not."""
        if value is None:
            return None
        if not isinstance(value, dict) or (strings and not all(isinstance(v, str) for v in value.values())):
            return "must be an object" + (" of strings" if strings else "")
        return None

    def check_metadata(value, name: str, strings: bool = False) -> None:
        problem = metadata_problem(value, strings)
        if problem:
            raise Rejected(bad_request(**{name: problem}))

    def check_sdp(body: dict) -> None:
        offer = body.get("sdpOffer")
        if not isinstance(offer, str) or not offer.startswith("v=0"):
            raise Rejected(bad_request(sdpOffer="must be an SDP offer"))

    def check_candidates(body: dict) -> None:
        items = body.get("iceCandidates")
        if not isinstance(items, list) or not items:
            raise Rejected(bad_request(iceCandidates="must be a non-empty list"))
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("candidate", ""), str):
                raise Rejected(bad_request(iceCandidates="each item must be {candidate, sdpMid, sdpMLineIndex}"))

    # -- OAuth -----------------------------------------------------------------------------------------
    async def token(request: Request):
        # parsed by hand: Starlette's form parser needs python-multipart, which the sim extra does not pull in
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
                cid, _, sec = decoded.partition(":")
                client_id, secret = unquote_plus(cid), unquote_plus(sec)
            except ValueError:
                client_id = secret = None
        if not client_id or CLIENTS.get(client_id) is None or not secrets.compare_digest(
                CLIENTS[client_id], secret or ""):
            return JSONResponse({"error": "invalid_client", "error_description": "Bad client credentials"},
                                status_code=401, headers={"WWW-Authenticate": 'Basic realm="oauth2/client"'})
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": f"Unsupported grant type: {form.get('grant_type')}"},
                                status_code=400)
        return JSONResponse(sim.issue(client_id), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # -- conferences -----------------------------------------------------------------------------------
    async def create(request, user, body):
        conf_id = body.get("conferenceId")
        if conf_id is not None and (not isinstance(conf_id, str) or not conf_id.strip()):
            return bad_request(conferenceId="must not be blank when given")
        if conf_id in sim.conferences:
            return bad_request(conferenceId=f"conference {conf_id} already exists")
        mode = body.get("mode") or "ROUTER"
        if mode != "ROUTER":
            return bad_request(mode="only ROUTER is supported")
        check_metadata(body.get("metadata"), "metadata", strings=True)
        conf = sim.create(conf_id, mode=mode, creator=user, creator_endpoint=body.get("creatorEndpoint"),
                          interaction_id=body.get("interactionId"), metadata=body.get("metadata"))
        return JSONResponse({"id": conf.id, "version": conf.version, "mode": conf.mode})

    async def get(request, user, body):
        return JSONResponse(path_conference(request).as_json())

    async def simple_view(request, user, body):
        return JSONResponse(path_conference(request).simple_view())

    async def events(request, user, body):
        conf = path_conference(request, allow_ended=True)  # an ended conference's feed stays readable
        raw = request.query_params.get("v")
        if raw is None:
            return bad_request(v="required parameter is missing")
        try:
            since = int(raw)
        except ValueError:
            return bad_request(v=f"must be an integer (got {raw!r})")
        if since < 0:
            return bad_request(v="must not be negative")

        def pending():
            return [e for e in conf.events if (e["conferenceVersion"] or 0) >= since]

        found = pending()
        deadline = time.monotonic() + config.poll_wait
        while not found and not conf.ended and time.monotonic() < deadline:
            if conf.changed is None:
                conf.changed = asyncio.Event()
            try:
                await asyncio.wait_for(conf.changed.wait(), timeout=max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                break
            found = pending()
        return JSONResponse(found)

    async def active(request, user, body):
        return JSONResponse([c.as_json() for c in sim.conferences.values() if not c.ended])

    async def end(request, user, body):
        require(body, "conferenceId", "userEndpointId")
        conf = conference_of(body)
        reason = body.get("reason")
        events = []
        for ep in list(conf.endpoints.values()):
            events += sim.leave(conf, ep, "conference ended", ended=True)
        events.append({"type": "ConferenceEndedEvent", "userEndpointId": body["userEndpointId"], "reason": reason})
        conf.ended = True
        sim.emit(conf, events)
        return Response(status_code=204)

    async def join(request, user, body):
        # join documents its own error shape ({error, error_description}, 404, 422), so it does not use the
        # raising checks that answer with the field-map 400
        missing = blank(body, "conferenceId", "userEndpointId")
        if missing:
            return JSONResponse({"error": "invalid_request", "error_description": "; ".join(
                f"{k}: {v}" for k, v in missing.items())}, status_code=400)
        conf = sim.find(body["conferenceId"])
        if conf is None:
            return JSONResponse({"error": "not_found", "error_description": f"conference {body['conferenceId']} "
                                 "not found"}, status_code=404)
        if conf.ended:
            return JSONResponse({"error": "conference_ended",
                                 "error_description": f"conference {conf.id} has ended"}, status_code=400)
        if body["userEndpointId"] in conf.endpoints:
            return JSONResponse({"error": "already_joined", "error_description": "Conference Already Joined from "
                                 "same user and endpoint"}, status_code=422)
        problem = metadata_problem(body.get("metadata"))
        if problem:
            return JSONResponse({"error": "invalid_request", "error_description": f"metadata: {problem}"},
                                status_code=400)
        sim.join(conf, body["userEndpointId"], user, body.get("metadata"))
        return JSONResponse({"id": conf.id, "version": conf.version, "mode": conf.mode})

    async def leave(request, user, body):
        require(body, "conferenceId", "userEndpointId")
        conf, ep = member_of(body)
        sim.leave(conf, ep, body.get("reason"))
        return Response(status_code=204)

    async def interaction(request, user, body):
        require(body, "conferenceId", "interactionId")
        conf = conference_of(body)
        conf.interaction_id = body["interactionId"]
        sim.emit(conf, [{"type": "ConferenceInteractionIdSetEvent", "interactionId": conf.interaction_id,
                         "userEndpointId": body.get("userEndpointId")}])
        return Response(status_code=204)

    async def update_metadata(request, user, body):
        require(body, "conferenceId", "userEndpointId", "operation", "key")
        if body["operation"] not in ("SET", "REMOVE"):
            return bad_request(operation="must be SET or REMOVE")
        if body["operation"] == "SET" and not isinstance(body.get("value"), str):
            return bad_request(value="is required when the operation is SET")
        conf = conference_of(body)
        key = body["key"]
        if body["operation"] == "SET":
            conf.metadata[key] = {"value": body["value"], "userId": user, "userEndpointId": body["userEndpointId"],
                                  "lastModified": _now()}
        elif key in conf.metadata:
            del conf.metadata[key]
        else:
            return Response(status_code=204)  # nothing to remove: no change, no version
        sim.emit(conf, [{"type": "ConferenceMetadataUpdatedEvent", "operation": body["operation"], "key": key,
                         "value": body.get("value") if body["operation"] == "SET" else None,
                         "userEndpointId": body["userEndpointId"]}])
        return Response(status_code=204)

    async def send_event(request, user, body):
        require(body, "conferenceId", "qos")
        if body["qos"] not in ("BEST_EFFORT", "AT_LEAST_ONCE"):
            return bad_request(qos="must be BEST_EFFORT or AT_LEAST_ONCE")
        event = body.get("event")
        if not isinstance(event, dict):
            return bad_request(event="must be an object with at least type and timestamp")
        if not isinstance(event.get("type"), str) or not EVENT_TYPE.fullmatch(event["type"]):
            return bad_request(**{"event.type": "must begin with a capital, end with Event and be camel case"})
        if not isinstance(event.get("timestamp"), str) or not INSTANT.fullmatch(event["timestamp"]):
            return bad_request(**{"event.timestamp": "must be an ISO-8601 instant, e.g. 2011-12-03T10:15:30Z"})
        masks = body.get("masks") or []
        if not isinstance(masks, list) or not all(isinstance(m, str) and m.startswith("$") for m in masks):
            return bad_request(masks="must be a list of JSONPath expressions")
        conf = conference_of(body)
        stored = mask(event, masks)
        sim.emit(conf, [{**{k: v for k, v in stored.items() if k not in ("id", "conferenceId", "conferenceVersion")},
                         "qos": body["qos"]}])
        return JSONResponse({"eventsSent": len(conf.endpoints)})

    async def participant_metadata(request, user, body):
        require(body, "conferenceId", "userEndpointId")
        if not isinstance(body.get("newMetadata"), dict):
            return bad_request(newMetadata="must be an object")
        conf, ep = member_of(body)
        ep.metadata = body["newMetadata"]
        sim.emit(conf, [{"type": "ConferenceParticipantMetadataUpdatedEvent", "userId": ep.user_id,
                         "userEndpointId": ep.id, "metadata": ep.metadata}])
        return Response(status_code=204)

    async def publish(request, user, body):
        require(body, "conferenceId", "userEndpointId", "conferenceStreamType")
        check_sdp(body)
        if body["conferenceStreamType"] not in STREAM_TYPES:
            return bad_request(conferenceStreamType="must be one of MIC, CAM, SCREEN, MIC_AND_CAM")
        bitrate = body.get("videoBitrate")
        if bitrate is not None and (not isinstance(bitrate, int) or bitrate <= 0):
            return bad_request(videoBitrate="must be a positive integer")
        check_metadata(body.get("metadata"), "metadata")
        conf, ep = member_of(body)
        sid = body.get("streamId")
        if sid and any(sid in e.streams for e in conf.endpoints.values()):
            return bad_request(streamId=f"stream {sid} already exists")
        stream = sim.publish(conf, ep, body["conferenceStreamType"], sid, body.get("metadata") or {}, bitrate)
        return JSONResponse({"streamId": stream["id"], "sdpAnswer": sdp_answer(body["sdpOffer"])})

    def any_stream(conf: Conference, stream_id):
        for ep in conf.endpoints.values():
            if stream_id in ep.streams:
                return ep, ep.streams[stream_id]
        return None, None

    async def unpublish(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId")
        conf, ep, stream = own_stream_of(body)
        del ep.streams[stream["id"]]
        conf.viewers = {v: (s, e) for v, (s, e) in conf.viewers.items() if s != stream["id"]}
        sim.emit(conf, [{"type": "ConferenceStreamUnpublishedEvent", "userId": ep.user_id, "userEndpointId": ep.id,
                         "streamId": stream["id"], "streamType": stream["type"]}])
        return Response(status_code=204)

    async def view(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId")
        check_sdp(body)
        check_metadata(body.get("metadata"), "metadata", strings=True)
        conf, ep = member_of(body)
        _, stream = any_stream(conf, body["streamId"])  # anyone's stream, not only the viewer's own
        if stream is None:
            return bad_request(streamId=f"stream {body['streamId']} is not published in conference {conf.id}")
        viewer = body.get("viewerId") or str(uuid.uuid4())
        conf.viewers[viewer] = (stream["id"], ep.id)
        return JSONResponse({"viewerId": viewer, "sdpAnswer": sdp_answer(body["sdpOffer"])})

    async def stop_view(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId", "viewerId")
        conf = conference_of(body)
        if conf.viewers.get(body["viewerId"]) != (body["streamId"], body["userEndpointId"]):
            return bad_request(viewerId=f"{body['viewerId']} is not viewing {body['streamId']} "
                                        f"for {body['userEndpointId']}")
        del conf.viewers[body["viewerId"]]
        return Response(status_code=204)

    async def stream_metadata(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId")
        check_metadata(body.get("newMetadata"), "newMetadata")
        conf, ep, stream = own_stream_of(body)
        stream["metadata"] = body.get("newMetadata") or {}
        sim.emit(conf, [{"type": "ConferenceStreamMetadataUpdatedEvent", "userId": ep.user_id,
                         "userEndpointId": ep.id, "streamId": stream["id"], "metadata": stream["metadata"]}])
        return Response(status_code=204)

    async def bitrate(request, user, body):
        # documented with a bare 404 for an unknown conference, endpoint or stream, unlike the 400s elsewhere
        require(body, "conferenceId", "userEndpointId")
        value = body.get("videoBitrate")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            return bad_request(videoBitrate="must be a positive integer")
        conf = sim.find(body["conferenceId"])
        if conf is None or conf.ended:
            return Response(status_code=404)
        ep = conf.endpoints.get(body["userEndpointId"])
        if ep is None:
            return Response(status_code=404)
        if body.get("streamId"):
            stream = ep.streams.get(body["streamId"])
        else:
            stream = next((s for s in ep.streams.values() if s["type"] != "MIC"), None)
        if stream is None:
            return Response(status_code=404)
        stream["videoBitrate"] = value
        sim.emit(conf, [{"type": "ConferenceStreamBitrateUpdatedEvent", "userEndpointId": ep.id,
                         "streamId": stream["id"], "videoBitrate": value}])
        return Response(status_code=204)

    async def publish_ice(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId")
        check_candidates(body)
        own_stream_of(body)  # accepted and dropped: the simulator has no ICE agent
        return Response(status_code=204)

    async def view_ice(request, user, body):
        require(body, "conferenceId", "userEndpointId", "streamId", "viewerId")
        check_candidates(body)
        conf = conference_of(body)
        if conf.viewers.get(body["viewerId"]) != (body["streamId"], body["userEndpointId"]):
            return bad_request(viewerId=f"{body['viewerId']} is not viewing {body['streamId']}")
        return Response(status_code=204)

    # -- controls (no auth; loopback demo and test helpers) --------------------------------------------
    async def ctl_tokens(request: Request):
        action = request.path_params["action"]
        count = len(sim.tokens)
        if action == "revoke":
            sim.tokens.clear()
        elif action == "expire":
            for entry in sim.tokens.values():
                entry["expires"] = time.time() - 1
        else:
            return JSONResponse({"error": f"unknown action {action}"}, status_code=404)
        return JSONResponse({action + "d": count})

    async def ctl_state(request: Request):
        return JSONResponse({"tokens_issued": sim.tokens_issued, "tokens_live": len(sim.tokens),
                             "conferences": {c.id: {"version": c.version, "ended": c.ended,
                                                    "endpoints": list(c.endpoints), "events": len(c.events)}
                                             for c in sim.conferences.values()}})

    async def ctl_reset(request: Request):
        sim.reset()
        return JSONResponse({"reset": True})

    async def ctl_activity(request: Request):
        """Someone joins, publishes a microphone, renames themself and leaves — spaced out for live demos."""
        conf = sim.find(request.path_params["id"])
        if conf is None or conf.ended:
            return JSONResponse({"error": "no such active conference"}, status_code=404)
        payload = await request.json() if (await request.body()) else {}
        user = payload.get("user") or f"guest-{secrets.token_hex(2)}"
        delay = float(payload.get("delay", config.deferred_delay))

        async def script():
            ep_id = f"ep-{user}"
            if ep_id in conf.endpoints or conf.ended:
                return
            ep = sim.join(conf, ep_id, user, {"displayName": user.title()})
            await asyncio.sleep(delay)
            sim.publish(conf, ep, "MIC", None, {}, None)
            await asyncio.sleep(delay)
            ep.metadata = {**ep.metadata, "handRaised": True}
            sim.emit(conf, [{"type": "ConferenceParticipantMetadataUpdatedEvent", "userId": user,
                             "userEndpointId": ep_id, "metadata": ep.metadata}])
            await asyncio.sleep(delay)
            if not conf.ended and ep_id in conf.endpoints:
                sim.leave(conf, ep, "bye")

        task = asyncio.get_running_loop().create_task(script())
        app.state.tasks.add(task)
        task.add_done_callback(app.state.tasks.discard)
        return JSONResponse({"user": user, "endpoint": f"ep-{user}"}, status_code=202)

    base = "/rtc-api/conferences"
    routes = [
        Route("/security/oauth/token", token, methods=["POST"]),
        Route(f"{base}/create", api(create), methods=["POST"]),
        Route(f"{base}/active", api(active), methods=["GET"]),
        Route(f"{base}/end", api(end), methods=["POST"]),
        Route(f"{base}/join", api(join), methods=["POST"]),
        Route(f"{base}/leave", api(leave), methods=["POST"]),
        Route(f"{base}/interaction", api(interaction), methods=["POST"]),
        Route(f"{base}/updateMetadata", api(update_metadata), methods=["POST"]),
        Route(f"{base}/sendEvent", api(send_event), methods=["POST"]),
        Route(f"{base}/updateParticipantMetadata", api(participant_metadata), methods=["POST"]),
        Route(f"{base}/publishStream", api(publish), methods=["POST"]),
        Route(f"{base}/unpublishStream", api(unpublish), methods=["POST"]),
        Route(f"{base}/viewStream", api(view), methods=["POST"]),
        Route(f"{base}/stopViewStream", api(stop_view), methods=["POST"]),
        Route(f"{base}/updateStreamMetadata", api(stream_metadata), methods=["POST"]),
        Route(f"{base}/updatePublishedStreamBitrate", api(bitrate), methods=["POST"]),
        Route(f"{base}/addPublishStreamIceCandidates", api(publish_ice), methods=["POST"]),
        Route(f"{base}/addViewStreamIceCandidates", api(view_ice), methods=["POST"]),
        Route(base + "/{id}", api(get), methods=["GET"]),
        Route(base + "/{id}/simpleView", api(simple_view), methods=["GET"]),
        Route(base + "/{id}/events", api(events), methods=["GET"]),
        Route("/_sim/tokens/{action}", ctl_tokens, methods=["POST"]),
        Route("/_sim/state", ctl_state, methods=["GET"]),
        Route("/_sim/reset", ctl_reset, methods=["POST"]),
        Route("/_sim/conferences/{id}/activity", ctl_activity, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    app.state.tasks = set()
    return app
