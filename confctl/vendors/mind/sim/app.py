"""A simulator of the Mind API (per its draft reference) at the inventory's paths (tests/data/mind.tsv).

Faithful where the doc is specific: application vs participant tokens (401 for an unknown token, 403 where the
doc forbids the caller), 400 for invalid values, 415 for a body that is not JSON, recordings as MP4 / JPEG (by
Accept) and WebP previews, transcriptions partial (206) until a moment after recording stops, streamings, SIP
dial outcomes, and WebSocket notifications that are not sent for the application's own changes, closing with
4001 when a newer socket opens for the same conference and 4000 when the conference reaches its limit
(SimConfig.mind_conference_limit seconds, or 24 h). With SimConfig.activity (`sim serve --activity S`) the
demo meeting changes every S seconds on its own (activity.py).

Controls for tests and demos live under /_sim (app_controls.py; `confctl sim mind ...` drives them).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from confctl.core.sim.kit import SimError, every, sim_app

from . import app_controls, media
from .parse import body_of
from .state import APP_ID, APP_TOKEN, Conference, Listener, MindState, Streaming, fail

LAYOUTS = ("mosaic", "selector", "presenting_mosaic", "presenting_selector")
ROLES = ("moderator", "presenter", "speaker", "attendee")
CALL_OUTCOMES = ("declined", "interrupted", "unavailable", "busy", "timeout", "error")
SIP = re.compile(r'(?i)^(?:(?:"[^"]*"|[^"<>]*?)\s*<sips?:[^\s<>]+>|sips?:[^\s<>]+)$')
RTMP = re.compile(r"(?i)^rtmps?://[^/\s]+(/\S*)?$")


class Actor:
    def __init__(self, participant=None):
        self.participant = participant

    @property
    def is_app(self) -> bool:
        return self.participant is None

    @property
    def id(self) -> str:
        return APP_ID if self.is_app else self.participant.id


def _token(conn) -> str | None:
    header = conn.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return conn.query_params.get("access_token")


def _transport(send, depth: int = 0):
    """The asyncio transport behind an ASGI `send` (the server's protocol object, through the closures the
    framework wraps it in): only the simulator's fault injection needs it."""
    owner = getattr(send, "__self__", None)
    if owner is not None and hasattr(owner, "transport"):
        return owner.transport
    for cell in getattr(send, "__closure__", None) or ():
        if depth < 6 and callable(cell.cell_contents):
            found = _transport(cell.cell_contents, depth + 1)
            if found is not None:
                return found
    return None


def reset_connection(ws) -> None:
    """Reset the TCP connection during the opening handshake (RST, no HTTP response), as a flaky network or
    a restarting load balancer does."""
    import socket
    import struct

    transport = _transport(ws._send)
    if transport is None:  # pragma: no cover - another ASGI server: the nearest thing is a refusal
        raise RuntimeError("cannot reach the connection to reset it")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    try:  # tell the server the client is gone, so it does not log a handshake the app never completed
        from uvicorn.protocols.utils import ClientDisconnected
    except ImportError:  # pragma: no cover
        return
    raise ClientDisconnected


def _world(conn) -> MindState:
    return conn.app.state.sim


# -- authentication and permissions -----------------------------------------------------------------
def authenticate(conn, conf_required: bool = True) -> tuple[Actor, Conference | None]:
    world = _world(conn)
    token = _token(conn)
    if not token:
        raise fail(401, "no token: send 'Authorization: Bearer <token>' or ?access_token=")
    app_id = conn.path_params.get("app_id")
    conf_id = conn.path_params.get("conf_id")
    if secrets.compare_digest(token, APP_TOKEN):
        if app_id != APP_ID:
            raise fail(403, f"the token does not belong to application {app_id}")
        if not conf_required:
            return Actor(), None
        conf = world.conference(conf_id)
        if conf is None:
            raise fail(404, f"conference {conf_id} not found")
        return Actor(), conf
    hit = world.by_token(token)
    if hit is None:
        raise fail(401, "invalid token")
    conf, participant = hit
    if not conf_required:
        raise fail(403, "a participant token cannot be used for this operation")
    if app_id != APP_ID or conf_id != conf.id:
        raise fail(403, "a participant token only works in its own conference")
    return Actor(participant), conf


def permit(actor: Actor, need: str, what: str, target: str | None = None) -> None:
    if actor.is_app:
        if need == "self":
            raise fail(403, f"only the participant itself may {what}")
        return
    p = actor.participant
    if need == "application":
        raise fail(403, f"only the application may {what}")
    if need == "moderator" and p.role != "moderator":
        raise fail(403, f"only the application or a moderator may {what}")
    if need == "self" and p.id != target:
        raise fail(403, f"only the participant itself may {what}")


def check(data: dict, key: str, kind, *, choices=(), nullable=False, required=False):
    if key not in data or (data[key] is None and nullable):
        if required:
            raise fail(400, f"{key} is required")
        return None
    value = data[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise fail(400, f"{key} has an invalid value")
    if choices and value not in choices:
        raise fail(400, f"{key} must be one of {', '.join(choices)}")
    return value


def participant_of(conf: Conference, request: Request):
    p = conf.participants.get(request.path_params["pid"])
    if p is None:
        raise fail(404, f"participant {request.path_params['pid']} not found")
    return p


def changed(actor: Actor, conf: Conference, kind: str, location: str, resource=None) -> None:
    """Notifications go out only for changes made by participants or by Mind itself (doc)."""
    if not actor.is_app:
        conf.notify(kind, location, resource)


# -- conferences -----------------------------------------------------------------------------------
async def conference_create(request):
    world = _world(request)
    actor, _ = authenticate(request, conf_required=False)
    data = await body_of(request, required=False)
    name = check(data, "name", str) or ""
    layout = check(data, "layout", str, choices=LAYOUTS) or "mosaic"
    return JSONResponse(world.create_conference(name, layout).resource())


async def conference_get(request):
    actor, conf = authenticate(request)
    detailed = request.query_params.get("detailed", "false").lower() == "true"
    return JSONResponse(conf.resource(detailed, by_app=actor.is_app))


async def conference_delete(request):
    world = _world(request)
    actor, conf = authenticate(request)
    permit(actor, "application", "delete a conference")
    world.end(conf, 1000, "the conference was deleted")
    return Response(status_code=200)


async def conference_update(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "modify the conference")
    data = await body_of(request)
    name = check(data, "name", str, nullable=True)
    if name is not None:
        conf.name = name
    changed(actor, conf, "updated", "/", conf.resource())
    return JSONResponse(conf.resource())


# -- recording -------------------------------------------------------------------------------------
def recorded(request, what: str) -> tuple[Actor, Conference]:
    actor, conf = authenticate(request)
    permit(actor, "moderator", what)
    if not conf.recorded:
        raise fail(404, "the conference has no recording yet (start one with recording/start)")
    return actor, conf


async def recording_get(request):
    recorded(request, "get the recording")
    accept = request.headers.get("accept", "*/*")
    if "image/jpeg" in accept:
        return Response(media.jpeg(), media_type="image/jpeg")
    if "video/mp4" in accept or "*/*" in accept or "video/*" in accept:
        return Response(media.mp4(), media_type="video/mp4")
    raise fail(406, "the recording is available as video/mp4 or image/jpeg")


async def recording_preview(request):
    recorded(request, "get the recording preview")
    return Response(media.webp(), media_type="image/webp")


async def recording_start(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "start recording")
    conf.recording = conf.recorded = True
    changed(actor, conf, "updated", "/", conf.resource())
    return Response(status_code=200)


async def recording_stop(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "stop recording")
    if conf.recording:
        conf.recording = False
        conf.stopped_at = time.time()
        changed(actor, conf, "updated", "/", conf.resource())
    return Response(status_code=200)


async def recording_transcription(request):
    world = _world(request)
    _, conf = recorded(request, "get the transcription of the recording")
    status = 200 if world.transcription_complete(conf) else 206
    return JSONResponse(conf.utterances, status_code=status)


async def transcription_get(request):
    actor, conf = authenticate(request)
    return JSONResponse({"started": conf.transcribing})


async def transcription_update(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "modify the transcription")
    data = await body_of(request)
    started = check(data, "started", bool, nullable=True)
    if started is not None:
        conf.transcribing = started
    return JSONResponse({"started": conf.transcribing})


# -- messages --------------------------------------------------------------------------------------
async def message_send(request):
    world = _world(request)
    actor, conf = authenticate(request)
    data = await body_of(request)
    send_to = check(data, "sendTo", str, required=True)
    text = check(data, "text", str, required=True)
    msg = world.message(conf, actor.id, send_to, text)
    if send_to in (conf.id, APP_ID):
        changed(actor, conf, "created", f"/messages/{msg['id']}", msg)
    return JSONResponse(msg)


# -- participants ----------------------------------------------------------------------------------
def participant_fields(data: dict, nullable: bool) -> dict:
    fields = {"name": check(data, "name", str, nullable=nullable),
              "priority": check(data, "priority", float, nullable=nullable),
              "role": check(data, "role", str, choices=ROLES, nullable=nullable),
              "layout": check(data, "layout", str, choices=LAYOUTS, nullable=nullable)}
    if fields["priority"] is not None and fields["priority"] < 0:
        raise fail(400, "priority must be >= 0")
    return {k: v for k, v in fields.items() if v is not None}


async def participant_list(request):
    actor, conf = authenticate(request)
    items = [p.resource() for p in conf.participants.values()]
    if not actor.is_app:  # the doc: the requesting participant comes first
        items.sort(key=lambda r: r["id"] != actor.participant.id)
    return JSONResponse(items)


async def participant_create(request):
    world = _world(request)
    actor, conf = authenticate(request)
    permit(actor, "application", "create participants")
    data = await body_of(request, required=False)
    p = world.add_participant(conf, **participant_fields(data, nullable=False))
    return JSONResponse({**p.resource(), "token": p.token})


async def participant_delete_all(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "delete all participants")
    conf.participants.clear()  # their tokens die with them
    return Response(status_code=200)


async def participant_get(request):
    actor, conf = authenticate(request)
    return JSONResponse(participant_of(conf, request).resource())


async def participant_session(request):
    actor, conf = authenticate(request)
    p = participant_of(conf, request)
    permit(actor, "self", "(re)initiate its WebRTC session", p.id)
    data = await body_of(request)
    sdp = check(data, "sdp", str, required=True)
    if not sdp.startswith("v=0"):
        raise fail(400, "sdp must be an SDP offer (starting with v=0)")
    if not p.online:
        p.online = True
        changed(actor, conf, "updated", f"/participants/{p.id}", p.resource())
    answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=mind-sim\r\nt=0 0\r\n"
    return JSONResponse({"sdp": answer})


async def participant_delete(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "delete participants")
    p = participant_of(conf, request)
    del conf.participants[p.id]
    return Response(status_code=200)


async def participant_update(request):
    actor, conf = authenticate(request)
    p = participant_of(conf, request)
    data = await body_of(request)
    fields = participant_fields(data, nullable=True)
    if not actor.is_app and actor.participant.role != "moderator":
        if actor.participant.id != p.id or set(fields) - {"name", "layout"}:
            raise fail(403, "only the application or a moderator may change this; others may change only "
                            "their own name and layout")
    for key, value in fields.items():
        setattr(p, key, value)
    changed(actor, conf, "updated", f"/participants/{p.id}", p.resource())
    return JSONResponse(p.resource())


# -- SIP ---------------------------------------------------------------------------------------------
async def participant_dial(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "dial out")
    p = participant_of(conf, request)
    data = await body_of(request)
    for key in ("from", "to"):
        if not SIP.match(check(data, key, str, required=True)):
            raise fail(400, f"{key} must be a SIP URI, optionally with a display name")
    proxy = check(data, "proxy", str)
    if proxy is not None and not SIP.match(proxy):
        raise fail(400, "proxy must be a SIP URI")
    timeout = data.get("timeout", 30)
    if isinstance(timeout, str) and timeout.isdigit():  # the doc's own example sends "15"
        timeout = int(timeout)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 5 <= timeout <= 30:
        raise fail(400, "timeout must be an integer from 5 to 30")
    # The callee's user part picks the outcome: sip:busy@..., sip:declined@..., anything else answers.
    user = re.search(r"sips?:([^@>\s;]+)", data["to"], re.I)
    status = user.group(1).lower() if user and user.group(1).lower() in CALL_OUTCOMES else "answered"
    if status == "answered":
        p.call, p.online = "answered", True
        conf.notify("updated", f"/participants/{p.id}", p.resource())  # the callee joined: Mind's change
    return JSONResponse({"status": status})


async def participant_forward(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "forward calls")
    p = participant_of(conf, request)
    data = await body_of(request)
    if not SIP.match(check(data, "destination", str, required=True)):
        raise fail(400, "destination must be a SIP URI")
    if p.call != "answered":
        raise fail(400, "the participant has no SIP call to forward")
    p.call, p.online = None, False
    conf.notify("updated", f"/participants/{p.id}", p.resource())
    return Response(status_code=200)


async def participant_hangup(request):
    actor, conf = authenticate(request)
    permit(actor, "moderator", "hang up calls")
    p = participant_of(conf, request)
    if p.call:
        p.call, p.online = None, False
        conf.notify("updated", f"/participants/{p.id}", p.resource())
    return Response(status_code=200)


# -- streamings --------------------------------------------------------------------------------------
def streaming_of(conf: Conference, request: Request) -> Streaming:
    s = conf.streamings.get(request.path_params["sid"])
    if s is None:
        raise fail(404, f"streaming {request.path_params['sid']} not found")
    return s


async def streaming_list(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "list streamings")
    return JSONResponse([s.resource() for s in conf.streamings.values()])


async def streaming_create(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "create streamings")
    data = await body_of(request)
    url = check(data, "url", str, required=True)
    if not RTMP.match(url):
        raise fail(400, "url must be an rtmp:// or rtmps:// URL")
    s = Streaming(str(uuid.uuid4()), url)
    conf.streamings[s.id] = s
    return JSONResponse(s.resource())


async def streaming_delete_all(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "delete streamings")
    conf.streamings.clear()
    return Response(status_code=200)


async def streaming_get(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "get streamings")
    return JSONResponse(streaming_of(conf, request).resource())


async def streaming_delete(request):
    actor, conf = authenticate(request)
    permit(actor, "application", "delete streamings")
    del conf.streamings[streaming_of(conf, request).id]
    return Response(status_code=200)


# -- WebSocket notifications -------------------------------------------------------------------------
async def notifications(ws: WebSocket):
    world = _world(ws)
    conf_id = ws.path_params.get("conf_id")
    faulty = world.conferences.get(conf_id)
    if faulty is not None and faulty.reset_handshakes > 0:
        faulty.reset_handshakes -= 1
        reset_connection(ws)
        return
    try:
        actor, conf = authenticate(ws)
        if not actor.is_app:
            raise fail(403, "notifications need the application token")
    except SimError as exc:
        try:
            await ws.send_denial_response(exc.response())
        except RuntimeError:  # the server lacks the denial extension: a plain refusal (403)
            await ws.close(code=1008, reason=exc.body["error"])
        return
    await ws.accept()
    conf.close_listeners(4001, "another WebSocket was opened for this conference")
    listener = Listener()
    conf.listeners.append(listener)

    async def drain():
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    receiver = asyncio.create_task(drain())
    try:
        while True:
            remaining = conf.ending_at - time.time()
            if remaining <= 0 and conf.id in world.conferences:
                world.end(conf)  # queues the 4000 close for this listener
            getter = asyncio.create_task(listener.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, timeout=max(0.05, min(remaining, 1.0)),
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                if receiver in done:
                    break
                continue
            item = getter.result()
            if item[0] == "send":
                await ws.send_json(item[1])
            else:
                await ws.close(code=item[1], reason=item[2])
                break
    finally:
        receiver.cancel()
        if listener in conf.listeners:
            conf.listeners.remove(listener)


CONF_PATH = "/{app_id}/{conf_id}"
PART_PATH = CONF_PATH + "/participants/{pid}"
ROUTES = app_controls.ROUTES + [  # /_sim first: "/_sim/state" would match "/{app}/{conf}"
    Route("/{app_id}", conference_create, methods=["POST"]),
    Route(CONF_PATH, conference_get, methods=["GET"]),
    Route(CONF_PATH, conference_delete, methods=["DELETE"]),
    Route(CONF_PATH, conference_update, methods=["PATCH"]),
    WebSocketRoute(CONF_PATH, notifications),
    Route(CONF_PATH + "/recording", recording_get, methods=["GET"]),
    Route(CONF_PATH + "/recording/preview", recording_preview, methods=["GET"]),
    Route(CONF_PATH + "/recording/start", recording_start, methods=["POST"]),
    Route(CONF_PATH + "/recording/stop", recording_stop, methods=["POST"]),
    Route(CONF_PATH + "/recording/transcription", recording_transcription, methods=["GET"]),
    Route(CONF_PATH + "/transcription", transcription_get, methods=["GET"]),
    Route(CONF_PATH + "/transcription", transcription_update, methods=["PATCH"]),
    Route(CONF_PATH + "/messages", message_send, methods=["POST"]),
    Route(CONF_PATH + "/participants", participant_list, methods=["GET"]),
    Route(CONF_PATH + "/participants", participant_create, methods=["POST"]),
    Route(CONF_PATH + "/participants", participant_delete_all, methods=["DELETE"]),
    Route(PART_PATH, participant_get, methods=["GET"]),
    Route(PART_PATH, participant_session, methods=["POST"]),
    Route(PART_PATH, participant_delete, methods=["DELETE"]),
    Route(PART_PATH, participant_update, methods=["PATCH"]),
    Route(PART_PATH + "/dial", participant_dial, methods=["POST"]),
    Route(PART_PATH + "/forward", participant_forward, methods=["POST"]),
    Route(PART_PATH + "/hangup", participant_hangup, methods=["POST"]),
    Route(CONF_PATH + "/streamings", streaming_list, methods=["GET"]),
    Route(CONF_PATH + "/streamings", streaming_create, methods=["POST"]),
    Route(CONF_PATH + "/streamings", streaming_delete_all, methods=["DELETE"]),
    Route(CONF_PATH + "/streamings/{sid}", streaming_get, methods=["GET"]),
    Route(CONF_PATH + "/streamings/{sid}", streaming_delete, methods=["DELETE"]),
]


def create_app(config):
    from .activity import Activity

    world = MindState(config)
    app = sim_app(ROUTES, world)
    every(app, getattr(config, "activity", None), Activity(world))
    return app
