"""Auvious RTC API simulator routes (the Auvious RTC API doc), mounted by `confctl sim serve` as
`create_app(config)`: OAuth 2.0 client credentials with short-lived tokens, every conference endpoint with its
documented 200/204/400 (404/422 where documented), and a long-poll events endpoint that blocks
`SimConfig.poll_wait` seconds when nothing is new. The world and its rules are in `state.py`; a refusal is a
`SimError` answered by the shared handler.

Event feed semantics: `GET /rtc-api/conferences/{id}/events?v=N` returns the events whose conferenceVersion
is >= N (creation events carry a null version and count as 0), oldest first.

The /_sim controls (no auth) are in app_controls.py; SimConfig.activity (`sim serve --activity S`) makes the demo
meeting change every S seconds on its own (activity.py).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from urllib.parse import parse_qs, unquote_plus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confctl.core.sim.kit import every, json_object, sim_app
from confctl.core.sim.server import SimConfig

from . import app_controls
from .state import (CLIENTS, EVENT_TYPE, INSTANT, STREAM_TYPES, AuviousState, Conference, bad_request,
                    bare_not_found, mask, now_iso, oauth_error, sdp_answer)


def _world(request: Request) -> AuviousState:
    return request.app.state.sim


def unauthorized(description: str):
    return oauth_error(401, "unauthorized", description,
                       headers={"WWW-Authenticate": 'Bearer realm="auvious", error="invalid_token"'})


def _bad_body(problem: str):
    # no body at all is "not an object" too
    return bad_request(body="malformed JSON" if problem == "malformed" else "must be a JSON object")


def api(handler):
    """Bearer check, JSON body parsing and the documented 400 for malformed input, then `handler(request,
    user, body)`."""

    async def endpoint(request: Request):
        user = _world(request).caller(request.headers.get("authorization", ""))
        if user is None:
            raise unauthorized("Invalid or expired access token" if request.headers.get("authorization")
                                else "Full authentication is required to access this resource")
        body = await json_object(request, _bad_body) if request.method == "POST" else None
        return await handler(request, user, body)

    return endpoint


# -- request checks: each raises the documented 400, so handlers read as the happy path ---------------
# Where a request has several faults the first failing check answers, so the order of the calls in a
# handler is part of its behaviour.
def blank(body: dict, *names: str) -> dict:
    """field -> message for each required string that is missing or blank."""
    return {n: "must not be blank" for n in names if not isinstance(body.get(n), str) or not body[n].strip()}


def require(body: dict, *names: str) -> None:
    missing = blank(body, *names)
    if missing:
        raise bad_request(**missing)


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
        raise bad_request(**{name: problem})


def check_sdp(body: dict) -> None:
    offer = body.get("sdpOffer")
    if not isinstance(offer, str) or not offer.startswith("v=0"):
        raise bad_request(sdpOffer="must be an SDP offer")


def check_candidates(body: dict) -> None:
    items = body.get("iceCandidates")
    if not isinstance(items, list) or not items:
        raise bad_request(iceCandidates="must be a non-empty list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("candidate", ""), str):
            raise bad_request(iceCandidates="each item must be {candidate, sdpMid, sdpMLineIndex}")


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
        raise oauth_error(401, "invalid_client", "Bad client credentials",
                          headers={"WWW-Authenticate": 'Basic realm="oauth2/client"'})
    if form.get("grant_type") != "client_credentials":
        raise oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {form.get('grant_type')}")
    return JSONResponse(_world(request).issue(client_id), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- conferences -----------------------------------------------------------------------------------
async def create(request, user, body):
    world = _world(request)
    conf_id = body.get("conferenceId")
    if conf_id is not None and (not isinstance(conf_id, str) or not conf_id.strip()):
        raise bad_request(conferenceId="must not be blank when given")
    if conf_id in world.conferences:
        raise bad_request(conferenceId=f"conference {conf_id} already exists")
    mode = body.get("mode") or "ROUTER"
    if mode != "ROUTER":
        raise bad_request(mode="only ROUTER is supported")
    check_metadata(body.get("metadata"), "metadata", strings=True)
    conf = world.create(conf_id, mode=mode, creator=user, creator_endpoint=body.get("creatorEndpoint"),
                      interaction_id=body.get("interactionId"), metadata=body.get("metadata"))
    return JSONResponse({"id": conf.id, "version": conf.version, "mode": conf.mode})


async def get(request, user, body):
    world = _world(request)
    return JSONResponse(world.path_conference(request.path_params["id"]).as_json())


async def simple_view(request, user, body):
    world = _world(request)
    return JSONResponse(world.path_conference(request.path_params["id"]).simple_view())


async def events(request, user, body):
    world = _world(request)
    # an ended conference's feed stays readable
    conf = world.path_conference(request.path_params["id"], allow_ended=True)
    raw = request.query_params.get("v")
    if raw is None:
        raise bad_request(v="required parameter is missing")
    try:
        since = int(raw)
    except ValueError:
        raise bad_request(v=f"must be an integer (got {raw!r})")
    if since < 0:
        raise bad_request(v="must not be negative")

    def pending():
        return [e for e in conf.events if (e["conferenceVersion"] or 0) >= since]

    found = pending()
    deadline = time.monotonic() + world.config.poll_wait
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
    world = _world(request)
    return JSONResponse([c.as_json() for c in world.conferences.values() if not c.ended])


async def end(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId")
    conf = world.conference_of(body)
    reason = body.get("reason")
    events = []
    for ep in list(conf.endpoints.values()):
        events += world.leave(conf, ep, "conference ended", ended=True)
    events.append({"type": "ConferenceEndedEvent", "userEndpointId": body["userEndpointId"], "reason": reason})
    conf.ended = True
    world.emit(conf, events)
    return Response(status_code=204)


async def join(request, user, body):
    # join documents its own error shape ({error, error_description}, 404, 422), not the field-map 400
    world = _world(request)
    missing = blank(body, "conferenceId", "userEndpointId")
    if missing:
        raise oauth_error(400, "invalid_request", "; ".join(f"{k}: {v}" for k, v in missing.items()))
    conf = world.find(body["conferenceId"])
    if conf is None:
        raise oauth_error(404, "not_found", f"conference {body['conferenceId']} not found")
    if conf.ended:
        raise oauth_error(400, "conference_ended", f"conference {conf.id} has ended")
    if body["userEndpointId"] in conf.endpoints:
        raise oauth_error(422, "already_joined", "Conference Already Joined from same user and endpoint")
    problem = metadata_problem(body.get("metadata"))
    if problem:
        raise oauth_error(400, "invalid_request", f"metadata: {problem}")
    world.join(conf, body["userEndpointId"], user, body.get("metadata"))
    return JSONResponse({"id": conf.id, "version": conf.version, "mode": conf.mode})


async def leave(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId")
    conf, ep = world.member_of(body)
    world.leave(conf, ep, body.get("reason"))
    return Response(status_code=204)


async def interaction(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "interactionId")
    conf = world.conference_of(body)
    conf.interaction_id = body["interactionId"]
    world.emit(conf, [{"type": "ConferenceInteractionIdSetEvent", "interactionId": conf.interaction_id,
                     "userEndpointId": body.get("userEndpointId")}])
    return Response(status_code=204)


async def update_metadata(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "operation", "key")
    if body["operation"] not in ("SET", "REMOVE"):
        raise bad_request(operation="must be SET or REMOVE")
    if body["operation"] == "SET" and not isinstance(body.get("value"), str):
        raise bad_request(value="is required when the operation is SET")
    conf = world.conference_of(body)
    key = body["key"]
    if body["operation"] == "SET":
        conf.metadata[key] = {"value": body["value"], "userId": user, "userEndpointId": body["userEndpointId"],
                              "lastModified": now_iso()}
    elif key in conf.metadata:
        del conf.metadata[key]
    else:
        return Response(status_code=204)  # nothing to remove: no change, no version
    world.emit(conf, [{"type": "ConferenceMetadataUpdatedEvent", "operation": body["operation"], "key": key,
                     "value": body.get("value") if body["operation"] == "SET" else None,
                     "userEndpointId": body["userEndpointId"]}])
    return Response(status_code=204)


async def send_event(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "qos")
    if body["qos"] not in ("BEST_EFFORT", "AT_LEAST_ONCE"):
        raise bad_request(qos="must be BEST_EFFORT or AT_LEAST_ONCE")
    event = body.get("event")
    if not isinstance(event, dict):
        raise bad_request(event="must be an object with at least type and timestamp")
    if not isinstance(event.get("type"), str) or not EVENT_TYPE.fullmatch(event["type"]):
        raise bad_request(**{"event.type": "must begin with a capital, end with Event and be camel case"})
    if not isinstance(event.get("timestamp"), str) or not INSTANT.fullmatch(event["timestamp"]):
        raise bad_request(**{"event.timestamp": "must be an ISO-8601 instant, e.g. 2011-12-03T10:15:30Z"})
    masks = body.get("masks") or []
    if not isinstance(masks, list) or not all(isinstance(m, str) and m.startswith("$") for m in masks):
        raise bad_request(masks="must be a list of JSONPath expressions")
    conf = world.conference_of(body)
    stored = mask(event, masks)
    world.emit(conf, [{**{k: v for k, v in stored.items() if k not in ("id", "conferenceId", "conferenceVersion")},
                     "qos": body["qos"]}])
    return JSONResponse({"eventsSent": len(conf.endpoints)})


async def participant_metadata(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId")
    if not isinstance(body.get("newMetadata"), dict):
        raise bad_request(newMetadata="must be an object")
    conf, ep = world.member_of(body)
    ep.metadata = body["newMetadata"]
    world.emit(conf, [{"type": "ConferenceParticipantMetadataUpdatedEvent", "userId": ep.user_id,
                     "userEndpointId": ep.id, "metadata": ep.metadata}])
    return Response(status_code=204)


async def publish(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "conferenceStreamType")
    check_sdp(body)
    if body["conferenceStreamType"] not in STREAM_TYPES:
        raise bad_request(conferenceStreamType="must be one of MIC, CAM, SCREEN, MIC_AND_CAM")
    bitrate = body.get("videoBitrate")
    if bitrate is not None and (not isinstance(bitrate, int) or bitrate <= 0):
        raise bad_request(videoBitrate="must be a positive integer")
    check_metadata(body.get("metadata"), "metadata")
    conf, ep = world.member_of(body)
    sid = body.get("streamId")
    if sid and any(sid in e.streams for e in conf.endpoints.values()):
        raise bad_request(streamId=f"stream {sid} already exists")
    stream = world.publish(conf, ep, body["conferenceStreamType"], sid, body.get("metadata") or {}, bitrate)
    return JSONResponse({"streamId": stream["id"], "sdpAnswer": sdp_answer(body["sdpOffer"])})


def any_stream(conf: Conference, stream_id):
    for ep in conf.endpoints.values():
        if stream_id in ep.streams:
            return ep, ep.streams[stream_id]
    return None, None


async def unpublish(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId")
    conf, ep, stream = world.own_stream_of(body)
    world.unpublish(conf, ep, stream["id"])
    return Response(status_code=204)


async def view(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId")
    check_sdp(body)
    check_metadata(body.get("metadata"), "metadata", strings=True)
    conf, ep = world.member_of(body)
    _, stream = any_stream(conf, body["streamId"])  # anyone's stream, not only the viewer's own
    if stream is None:
        raise bad_request(streamId=f"stream {body['streamId']} is not published in conference {conf.id}")
    viewer = body.get("viewerId") or str(uuid.uuid4())
    conf.viewers[viewer] = (stream["id"], ep.id)
    return JSONResponse({"viewerId": viewer, "sdpAnswer": sdp_answer(body["sdpOffer"])})


async def stop_view(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId", "viewerId")
    conf = world.conference_of(body)
    if conf.viewers.get(body["viewerId"]) != (body["streamId"], body["userEndpointId"]):
        raise bad_request(viewerId=f"{body['viewerId']} is not viewing {body['streamId']} "
                                    f"for {body['userEndpointId']}")
    del conf.viewers[body["viewerId"]]
    return Response(status_code=204)


async def stream_metadata(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId")
    check_metadata(body.get("newMetadata"), "newMetadata")
    conf, ep, stream = world.own_stream_of(body)
    stream["metadata"] = body.get("newMetadata") or {}
    world.emit(conf, [{"type": "ConferenceStreamMetadataUpdatedEvent", "userId": ep.user_id,
                     "userEndpointId": ep.id, "streamId": stream["id"], "metadata": stream["metadata"]}])
    return Response(status_code=204)


async def bitrate(request, user, body):
    # documented with a bare 404 for an unknown conference, endpoint or stream, unlike the 400s elsewhere
    world = _world(request)
    require(body, "conferenceId", "userEndpointId")
    value = body.get("videoBitrate")
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise bad_request(videoBitrate="must be a positive integer")
    conf = world.find(body["conferenceId"])
    if conf is None or conf.ended:
        raise bare_not_found()
    ep = conf.endpoints.get(body["userEndpointId"])
    if ep is None:
        raise bare_not_found()
    if body.get("streamId"):
        stream = ep.streams.get(body["streamId"])
    else:
        stream = next((s for s in ep.streams.values() if s["type"] != "MIC"), None)
    if stream is None:
        raise bare_not_found()
    stream["videoBitrate"] = value
    world.emit(conf, [{"type": "ConferenceStreamBitrateUpdatedEvent", "userEndpointId": ep.id,
                     "streamId": stream["id"], "videoBitrate": value}])
    return Response(status_code=204)


async def publish_ice(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId")
    check_candidates(body)
    world.own_stream_of(body)  # accepted and dropped: the simulator has no ICE agent
    return Response(status_code=204)


async def view_ice(request, user, body):
    world = _world(request)
    require(body, "conferenceId", "userEndpointId", "streamId", "viewerId")
    check_candidates(body)
    conf = world.conference_of(body)
    if conf.viewers.get(body["viewerId"]) != (body["streamId"], body["userEndpointId"]):
        raise bad_request(viewerId=f"{body['viewerId']} is not viewing {body['streamId']}")
    return Response(status_code=204)


BASE = "/rtc-api/conferences"
ROUTES = [
    Route("/security/oauth/token", token, methods=["POST"]),
    Route(f"{BASE}/create", api(create), methods=["POST"]),
    Route(f"{BASE}/active", api(active), methods=["GET"]),
    Route(f"{BASE}/end", api(end), methods=["POST"]),
    Route(f"{BASE}/join", api(join), methods=["POST"]),
    Route(f"{BASE}/leave", api(leave), methods=["POST"]),
    Route(f"{BASE}/interaction", api(interaction), methods=["POST"]),
    Route(f"{BASE}/updateMetadata", api(update_metadata), methods=["POST"]),
    Route(f"{BASE}/sendEvent", api(send_event), methods=["POST"]),
    Route(f"{BASE}/updateParticipantMetadata", api(participant_metadata), methods=["POST"]),
    Route(f"{BASE}/publishStream", api(publish), methods=["POST"]),
    Route(f"{BASE}/unpublishStream", api(unpublish), methods=["POST"]),
    Route(f"{BASE}/viewStream", api(view), methods=["POST"]),
    Route(f"{BASE}/stopViewStream", api(stop_view), methods=["POST"]),
    Route(f"{BASE}/updateStreamMetadata", api(stream_metadata), methods=["POST"]),
    Route(f"{BASE}/updatePublishedStreamBitrate", api(bitrate), methods=["POST"]),
    Route(f"{BASE}/addPublishStreamIceCandidates", api(publish_ice), methods=["POST"]),
    Route(f"{BASE}/addViewStreamIceCandidates", api(view_ice), methods=["POST"]),
    Route(BASE + "/{id}", api(get), methods=["GET"]),
    Route(BASE + "/{id}/simpleView", api(simple_view), methods=["GET"]),
    Route(BASE + "/{id}/events", api(events), methods=["GET"]),
]


def create_app(config: SimConfig) -> Starlette:
    from .activity import Activity

    world = AuviousState(config)
    app = sim_app(ROUTES + app_controls.ROUTES, world)
    app.state.tasks = set()  # running activity scripts, held so the loop does not drop them
    every(app, getattr(config, "activity", None), Activity(world))
    return app
