"""Pexip Infinity Conferencing Node simulator routes: the client REST API v2 (the Pexip client REST API doc),
mounted by `confctl sim serve` as `create_app(config)`. The world is in `state.py`; a refusal is raised as
`fail(...)` (a SimError with the Pexip body) and answered by the shared handler.

`result: false` and 403 where the doc has them, maintenance mode (503 on /status and request_token), breakout
rooms, and an SSE stream per token that starts with the roster (participant_sync_begin/end) and emits the
documented events on every state change (breakout rooms' events wrapped in breakout_event for hosts).

The /_sim controls (no auth) are in app_controls.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid as uuidlib

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from confctl.core.sim.kit import every, json_object, sim_app
from confctl.core.sim.server import SimConfig

from . import app_controls, load
from .state import (CLASSIFICATION, HOST_ONLY, IDPS, JPEG, JWT_KEY, JWT_KID, LAYOUTS, PINNING, Conference,
                    PexipState, Room, Subscriber, Token, bad_body, fail, person, public)


def ok(result=True, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "result": result}, status_code=status)


def _world(request: Request) -> PexipState:
    return request.app.state.sim


def _token(request: Request) -> str | None:
    return request.headers.get("token") or request.query_params.get("token")


async def body_of(request: Request) -> dict:
    return await json_object(request, bad_body, empty={})


# -- node -------------------------------------------------------------------------------------------
async def status(request: Request):
    sim = _world(request)
    if sim.maintenance:
        raise fail(503, "Maintenance mode")
    return ok("OK")


async def jwk(request: Request):
    return JSONResponse({"keys": [{"kty": "oct", "kid": JWT_KID, "alg": "HS256", "use": "sig"}]})


# -- tokens -----------------------------------------------------------------------------------------
async def request_token(request: Request, alias: str):
    sim = _world(request)
    if sim.maintenance:
        raise fail(503, "Maintenance mode")
    conf = sim.conferences.get(alias)
    if conf is None:
        raise fail(404, "Neither conference nor gateway found")
    body = await body_of(request)
    if conf.kind == "reception":
        target = body.get("conference_extension")
        if not target:
            raise fail(403, {"conference_extension": "standard"}, "success")
        conf = sim.conferences.get(target)
        if conf is None or conf.kind == "reception":
            raise fail(404, "Neither conference nor gateway found")
    if conf.kind == "sso" and not body.get("sso_token"):
        if body.get("chosen_idp"):
            idp = next((i for i in IDPS if i["uuid"] == body["chosen_idp"]), None)
            if idp is None:
                raise fail(403, "Unknown identity provider", "success")
            return ok({"redirect_url": f"https://idp.example.com/sso?SAMLRequest={secrets.token_urlsafe(12)}",
                       "redirect_idp": {"name": idp["name"], "uuid": idp["uuid"]}})
        raise fail(403, {"idp": IDPS}, "success")
    pin = request.headers.get("pin")
    role = "chair"
    if conf.host_pin or conf.guest_pin:
        if pin is None:
            raise fail(403, {"pin": "required" if conf.host_pin else "none",
                              "guest_pin": "required" if conf.guest_pin else "none"}, "success")
        if pin == conf.host_pin and conf.host_pin:
            role = "chair"
        elif (conf.guest_pin and pin == conf.guest_pin) or (not conf.guest_pin and pin == "none"):
            role = "guest"
        else:
            raise fail(403, "Invalid PIN", "success")
    service = "waiting_room" if (conf.main.locked and role == "guest") else "conference"
    name = str(body.get("display_name") or "API")
    p = person(name, conf.alias, role, protocol="api", api=True, call_tag=str(body.get("call_tag") or ""),
               service=service)
    sim.add(conf, conf.main, p)
    tok = Token(secrets.token_urlsafe(24), p["uuid"], conf.alias, time.time() + sim.ttl)
    sim.tokens[tok.value] = tok
    return ok({"token": tok.value, "expires": str(sim.ttl), "display_name": name,
               "participant_uuid": p["uuid"], "current_service_type": service, "role": role.upper()
               if role == "guest" else "HOST", "call_tag": p["call_tag"],
               "version": {"version_id": "38", "pseudo_version": "78000.0.0"}, "conference_name": conf.name,
               "chat_enabled": True, "fecc_enabled": True, "rtmp_enabled": True, "analytics_enabled": False,
               "service_type": "conference", "call_type": "video", "guests_can_present": True,
               "vp9_enabled": False, "allow_1080p": True, "direct_media": bool(body.get("direct_media")),
               "use_relay_candidates_only": False, "pin": "required" if conf.host_pin else "none",
               "guest_pin": "required" if conf.guest_pin else "none",
               "turn": [{"urls": ["turn:127.0.0.1:3478?transport=udp"], "username": "sim",
                         "credential": secrets.token_urlsafe(8)}]})


async def refresh_token(request: Request, alias: str):
    sim = _world(request)
    sim.reap()
    conf, tok, me = sim.token_of(_token(request), alias)
    if sim.refuse_refresh:
        sim.refuse_refresh -= 1  # -1 keeps refusing
        raise fail(403, "Token refresh refused", "success")
    fresh = Token(secrets.token_urlsafe(24), tok.participant, tok.alias, time.time() + sim.ttl)
    sim.tokens[fresh.value] = fresh
    return ok({"token": fresh.value, "expires": str(sim.ttl)})


async def release_token(request: Request, alias: str):
    sim = _world(request)
    sim.reap()
    conf, tok, me = sim.token_of(_token(request), alias)
    sim.remove(conf, tok.participant)
    return ok(True)


# -- events -----------------------------------------------------------------------------------------
async def events(request: Request, alias: str):
    sim = _world(request)
    sim.reap()
    if time.time() < sim.events_down_until:
        raise fail(503, "Service temporarily unavailable")
    conf, tok, me = sim.token_of(_token(request), alias)
    sub = Subscriber(tok.participant, me["role"])
    initial = [("participant_sync_begin", None)]
    initial += [("participant_create", public(p)) for p in conf.main.participants.values()]
    initial += [("participant_sync_end", None), ("conference_update", conf.main.status(conf))]
    if me["role"] == "chair":
        for room in conf.breakouts.values():
            control = sim.control_for(conf, room, me)
            initial.append(("breakout_begin", {"breakout_uuid": room.uuid, "participant_uuid": control}))
            wrap = lambda e, d, r=room: ("breakout_event", {"breakout_uuid": r.uuid, "event": e, "data": d})  # noqa: E731
            initial.append(wrap("participant_sync_begin", None))
            initial += [wrap("participant_create", public(p)) for p in room.participants.values()]
            initial.append(wrap("participant_sync_end", None))
            initial.append(wrap("conference_update", room.status(conf)))
    conf.subscribers.append(sub)

    def frame(eid, etype, data) -> str:
        payload = "" if data is None else json.dumps(data)
        return f"id: {eid}\nevent: {etype}\ndata: {payload}\n\n"

    async def stream():
        try:
            for etype, data in initial:
                yield frame(sim.event_id(), etype, data)
            last = time.monotonic()
            while not sub.dropped:
                try:
                    eid, etype, data = await asyncio.wait_for(sub.queue.get(), 0.25)
                except asyncio.TimeoutError:
                    sim.reap()
                    if time.monotonic() - last > 10:
                        last = time.monotonic()
                        yield ": keepalive\n\n"
                    continue
                last = time.monotonic()
                yield frame(eid, etype, data)
                if etype == "disconnect":
                    break
            while not sub.queue.empty():  # flush what was queued before the drop (e.g. `disconnect`)
                eid, etype, data = sub.queue.get_nowait()
                if etype == "disconnect":
                    yield frame(eid, etype, data)
        finally:
            if sub in conf.subscribers:
                conf.subscribers.remove(sub)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


# -- conference-scoped requests -----------------------------------------------------------------------
async def conference(request: Request):
    sim = _world(request)
    alias, rest = request.path_params["alias"], request.path_params["rest"]
    if rest == "request_token" and request.method == "POST":
        return await request_token(request, alias)
    if rest == "refresh_token" and request.method == "POST":
        return await refresh_token(request, alias)
    if rest == "release_token" and request.method == "POST":
        return await release_token(request, alias)
    if alias not in sim.conferences:
        raise fail(404, "Neither conference nor gateway found")
    if rest == "events" and request.method == "GET":
        return await events(request, alias)
    sim.reap()
    conf, tok, me = sim.token_of(_token(request), alias)
    body = await body_of(request) if request.method == "POST" else {}
    parts = rest.split("/")
    room = conf.main
    if parts[0] == "breakouts" and len(parts) > 2 and parts[1] not in ("empty", "disconnect"):
        room = conf.breakouts.get(parts[1])
        if room is None:
            raise fail(404, "Breakout room not found")
        if me["role"] != "chair":
            raise fail(403, "Only hosts can control breakout rooms", "success")
        parts = parts[2:]
    return await dispatch(request, conf, room, me, parts, body)


async def dispatch(request, conf: Conference, room: Room, me: dict, parts: list[str], body: dict):
    sim = _world(request)
    method = request.method
    host = me["role"] == "chair"
    if me["service_type"] == "waiting_room":
        raise fail(403, "Waiting for the conference host", "success")
    head = parts[0]
    if head in HOST_ONLY and not host:
        raise fail(403, "Only hosts can do this", "success")
    if len(parts) == 1:
        handler = CONFERENCE_GET.get(head) if method == "GET" else CONFERENCE_POST.get(head)
        if handler is None:
            raise fail(404, f"unknown request {head}")
        return await handler(conf, room, me, body, request)
    if head == "theme" and method == "GET":
        if "/".join(parts[1:]) in ("background.jpg", "logo.jpg"):
            return Response(JPEG, media_type="image/jpeg")
        raise fail(404, "no such theme resource")
    if head == "video_mixes" and method == "POST":
        return video_mix(sim, conf, room, parts[1:], body)
    if head == "breakouts" and method == "POST":
        if parts[1:] == ["empty"]:  # the doc: "leaves the Host API control participants present"
            for b in list(conf.breakouts.values()):
                for uid in sim.people(b):
                    sim.move(conf, uid, conf.main)
            return ok(True)
        if parts[1:] == ["disconnect"]:
            for b in list(conf.breakouts.values()):
                sim.close_breakout(conf, b)
            return ok(True)
        raise fail(404, "unknown breakout request")
    if head == "participants":
        if parts[1:] == ["breakout"] and method == "POST":
            if not host:
                raise fail(403, "Only hosts can move participants", "success")
            return move_participants(sim, conf, room, body)
        uid = parts[1]
        target = room.participants.get(uid)
        if target is None:
            raise fail(404, "Participant not found")
        if len(parts) == 3 and parts[2] == "avatar.jpg" and method == "GET":
            return Response(JPEG, media_type="image/jpeg")
        if len(parts) == 3 and method == "GET" and parts[2] == "get_attestation":
            if uid != me["uuid"]:
                raise fail(403, "The participant must be the one making the request", "success")
            return ok(attestation(conf, me))
        if len(parts) == 5 and parts[2] == "calls" and method == "POST":
            return call_action(sim, conf, room, target, parts[3], parts[4], body)
        if len(parts) == 3 and method == "POST":
            if not host and uid != me["uuid"] and parts[2] not in ("message",):
                raise fail(403, "Only hosts can control other participants", "success")
            return await participant_action(sim, conf, room, me, target, parts[2], body)
    raise fail(404, "unknown request")

# conference GETs
async def conference_status(conf, room, me, body, request):
    return ok(room.status(conf))


async def participants(conf, room, me, body, request):
    return ok([public(p) for p in room.participants.values()])


async def get_classification(conf, room, me, body, request):
    return ok({"levels": CLASSIFICATION, "current": room.classification})


async def theme(conf, room, me, body, request):
    return ok({"direct_media_welcome": {"layout_type": "direct_media", "background": {"path": "background.jpg"},
                                        "elements": [{"type": "text", "color": 4294967295, "text": "Welcome"}]}})


async def available_layouts(conf, room, me, body, request):
    if request.query_params.get("annotate") == "true":
        return ok([{"name": name, "tags": ["equal"] if "x" in name else ["speaker-focus"]} for name in LAYOUTS[:9]])
    return ok(LAYOUTS[:13])


async def layout_svgs(conf, room, me, body, request):
    return ok({"1:7": "<svg width='140' height='88' viewBox='0 0 140 88'></svg>"})


async def get_message_text(conf, room, me, body, request):
    return ok({"text": room.message_text or "", "set_time": room.message_time})


async def get_pinning(conf, room, me, body, request):
    return ok({"pinning_config": room.pinning_config, "pinning_config_dict": PINNING.get(room.pinning_config)})


async def pinning_configs(conf, room, me, body, request):
    return ok(list(PINNING))


async def frame(conf, room, me, body, request):
    # The doc: these URLs "require the token and the event ID ... as a header or a query parameter".
    if not (request.headers.get("id") or request.query_params.get("id")):
        raise fail(400, "missing the event id of the presentation_frame event")
    return Response(JPEG, media_type="image/jpeg")


CONFERENCE_GET = {"conference_status": conference_status, "participants": participants,
                  "get_classification_level": get_classification, "theme": theme,
                  "available_layouts": available_layouts, "layout_svgs": layout_svgs,
                  "get_message_text": get_message_text, "get_pinning_config": get_pinning,
                  "available_pinning_configs": pinning_configs, "presentation.jpeg": frame,
                  "presentation_high.jpeg": frame}

# conference POSTs
def setter(attr, value_of=None):
    async def handler(conf, room, me, body, request):
        sim = _world(request)
        value = value_of(body) if value_of else True
        setattr(room, attr, value)
        sim.conf_update(conf, room)
        return ok(True)

    return handler


def need(body: dict, key: str, types, choices=None):
    if key not in body or not isinstance(body[key], types):
        raise fail(400, f"missing or invalid field {key!r}")
    if choices and body[key] not in choices:
        raise fail(400, f"{key} must be one of {', '.join(choices)}")
    return body[key]


async def lock(conf, room, me, body, request):
    sim = _world(request)
    room.locked = True
    sim.conf_update(conf, room)
    return ok(True)


async def unlock(conf, room, me, body, request):
    sim = _world(request)
    room.locked = False
    sim.conf_update(conf, room)
    return ok(True)


async def start_conference(conf, room, me, body, request):
    sim = _world(request)
    room.started = True
    for p in room.participants.values():
        if p["service_type"] == "waiting_room":
            p["service_type"] = "conference"
            sim.update(conf, room, p)
    sim.conf_update(conf, room)
    return ok(True)


def mute_guests(value: bool):
    async def handler(conf, room, me, body, request):
        sim = _world(request)
        room.guests_muted = value
        for p in room.participants.values():
            if p["role"] == "guest" and p["is_muted"] != ("YES" if value else "NO"):
                p["is_muted"] = "YES" if value else "NO"
                sim.update(conf, room, p)
        sim.conf_update(conf, room)
        return ok(True)

    return handler


async def disconnect_all(conf, room, me, body, request):
    sim = _world(request)
    if room is not conf.main:  # POST breakouts/{uuid}/disconnect closes that room
        sim.close_breakout(conf, room)
        return ok(True)
    for b in list(conf.breakouts.values()):
        sim.close_breakout(conf, b)
    for uid in list(room.participants):
        sim.remove(conf, uid, reason="API initiated conference disconnect")
    return ok(True)


async def message(conf, room, me, body, request):
    sim = _world(request)
    kind = need(body, "type", str, ("text/plain", "application/json"))
    payload = need(body, "payload", str)
    sim.emit(conf, room, "message_received", {"origin": me["display_name"], "uuid": me["uuid"], "type": kind,
                                              "direct": False, "payload": payload})
    return ok(True)


async def transform_layout(conf, room, me, body, request):
    sim = _world(request)
    transforms = need(body, "transforms", dict)
    for key in ("layout", "host_layout", "guest_layout"):
        if key in transforms and transforms[key] not in LAYOUTS:
            raise fail(400, f"unknown layout {transforms[key]!r}")
    if "guest_layout" in transforms and conf.kind != "auditorium":
        raise fail(400, "guest_layout is only valid in a Virtual Auditorium")
    room.layout.update(transforms)
    sim.layout_event(conf, room)
    return ok(True)


def clear_all(field: str):
    """clearallbuzz / clearspotlights: zero `field` on everyone, with an update only for those it changed."""
    async def handler(conf, room, me, body, request):
        sim = _world(request)
        for p in room.participants.values():
            if p[field]:
                p[field] = 0
                sim.update(conf, room, p)
        return ok(True)

    return handler


async def silent_video(conf, room, me, body, request):
    config_ = need(body, "config", dict)
    if not 1 <= config_.get("silent_after", 15) <= 120 or not 1 <= config_.get("reactivate_after", 2) <= 5:
        raise fail(400, "silent_after must be 1..120 and reactivate_after 1..5")
    room.silent_video.update(config_)
    return ok(True)


async def set_classification(conf, room, me, body, request):
    sim = _world(request)
    level = need(body, "level", int)
    if str(level) not in CLASSIFICATION:
        return ok(False)
    room.classification = level
    sim.conf_update(conf, room)
    return ok(True)


async def set_message_text(conf, room, me, body, request):
    sim = _world(request)
    room.message_text = need(body, "text", str) or None
    room.message_time = time.strftime("UTC+00:00 - %Y-%m-%d %H:%M:%S", time.gmtime())
    sim.conf_update(conf, room)
    return ok(True)


async def set_pinning(conf, room, me, body, request):
    sim = _world(request)
    name = need(body, "pinning_config", str)
    if name not in PINNING:
        return ok(False)
    room.pinning_config = name
    sim.conf_update(conf, room)
    return ok(True)


async def dial(conf, room, me, body, request):
    sim = _world(request)
    destination = need(body, "destination", str)
    protocol = body.get("protocol", "auto")
    if protocol not in ("sip", "h323", "rtmp", "mssip", "auto"):
        raise fail(400, "protocol must be sip, h323, rtmp, mssip or auto")
    role = "chair" if str(body.get("role", "GUEST")).upper() == "HOST" else "guest"
    p = person(body.get("remote_display_name") or destination, conf.alias, role, protocol=protocol,
               service="connecting", direction="out")
    p["uri"] = destination
    sim.add(conf, room, p)
    uid = p["uuid"]

    def answer():
        if uid in room.participants:
            room.participants[uid]["service_type"] = "conference"
            sim.update(conf, room, room.participants[uid])

    def give_up():
        if uid in room.participants:
            sim.remove(conf, uid)

    if "reject" in destination:
        sim.later(sim.config.deferred_delay * 2, give_up)
    elif "noanswer" in destination:
        sim.later(float(sim.config.extra.get("pexip_dial_timeout", 30)), give_up)
    else:
        sim.later(sim.config.deferred_delay * 2, answer)
    return ok([uid])


async def create_breakout(conf, room, me, body, request):
    sim = _world(request)
    name = need(body, "name", str)
    end_action = body.get("end_action", "transfer")
    if end_action not in ("transfer", "disconnect"):
        raise fail(400, "end_action must be transfer or disconnect")
    duration = body.get("duration") or 0
    if not isinstance(duration, int) or duration < 0:
        raise fail(400, "duration must be a number of seconds")
    new = Room(str(uuidlib.uuid4()), name, end_action, bool(body.get("guests_allowed_to_leave")),
               int(time.time() + duration) if duration else None)
    conf.breakouts[new.uuid] = new
    sim.begin(conf, new)
    for source, uids in (body.get("participants") or {}).items():
        for uid in uids:
            src = conf.room(source)
            if src is not None and uid in src.participants:
                sim.move(conf, uid, new)
    if duration:
        sim.later(duration, lambda: conf.breakouts.get(new.uuid) and sim.close_breakout(conf, new))
    return ok({"breakout_uuid": new.uuid})


async def breakoutbuzz(conf, room, me, body, request):
    """Help for a breakout room: the one in the path, or else the one the requester is in."""
    sim = _world(request)
    if room is conf.main:
        room = conf.find(me["uuid"]) or conf.main  # (the doc is silent on the main room: it is recorded there)
    room.breakoutbuzz = {"value": True, "time": int(time.time())}
    sim.conf_update(conf, room)
    return ok(True)


async def clearbreakoutbuzz(conf, room, me, body, request):
    """Anyone in the breakout room, or a Host: without a room in the path, the requester's room (a Host in
    the main room clears every room's request)."""
    sim = _world(request)
    rooms = [room]
    if room is conf.main:
        mine = conf.find(me["uuid"]) or conf.main
        rooms = [mine] if mine is not conf.main else list(conf.breakouts.values())
    for target in rooms:
        target.breakoutbuzz = {"value": False, "time": int(time.time())}
        sim.conf_update(conf, target)
    return ok(True)


async def leavebreakout(conf, room, me, body, request):
    sim = _world(request)
    where = conf.find(me["uuid"])
    if where is conf.main:
        return ok(True)  # already in the main room: the goal holds
    if where is None or not where.guests_allowed_to_leave and me["role"] != "chair":
        return ok(False)
    sim.move(conf, me["uuid"], conf.main)
    return ok(True)


CONFERENCE_POST = {
    "dial": dial, "lock": lock, "unlock": unlock, "start_conference": start_conference,
    "muteguests": mute_guests(True), "unmuteguests": mute_guests(False),
    "set_guests_can_unmute": setter("guests_can_unmute", lambda b: need(b, "setting", bool)),
    "set_guests_can_present": setter("guests_can_present", lambda b: need(b, "setting", bool)),
    "set_guests_can_see_guests": setter("guests_can_see_guests",
                                        lambda b: need(b, "setting", str, ("no_hosts", "always", "never"))),
    "disconnect": disconnect_all, "message": message, "transform_layout": transform_layout,
    "clearallbuzz": clear_all("buzz_time"), "clearspotlights": clear_all("spotlight"),
    "silent_video_detection": silent_video,
    "set_classification_level": set_classification, "set_message_text": set_message_text,
    "set_pinning_config": set_pinning, "breakouts": create_breakout, "breakoutbuzz": breakoutbuzz,
    "clearbreakoutbuzz": clearbreakoutbuzz, "leavebreakout": leavebreakout,
}


def video_mix(sim, conf, room, parts, body):
    if parts == ["create"]:
        name = need(body, "mix_name", str)
        if not (name in ("main", "main.!personal") or name.startswith("main.!")):
            raise fail(400, "mix_name must be main, main.!personal or main.!<uuid>")
        room.video_mixes.setdefault(name, {"layout": "1:7"})
        return ok(True)
    if len(parts) == 2 and parts[0] in room.video_mixes:
        if parts[1] == "configure":
            layout = need(body, "transform_layout", dict).get("layout")
            if layout not in LAYOUTS:
                raise fail(400, "unknown layout")
            room.video_mixes[parts[0]]["layout"] = layout
            return ok(True)
        if parts[1] == "delete" and parts[0] != "main":
            del room.video_mixes[parts[0]]
            return ok(True)
    return ok(False)


def move_participants(sim, conf, room, body):
    target_key = need(body, "breakout_uuid", str)
    uids = body.get("participants") or []
    if not isinstance(uids, list):
        raise fail(400, "participants must be a list")
    if room is conf.main and not uids:
        return ok(False)
    uids = uids or sim.people(room)
    moved = True
    for uid in uids:
        if uid not in room.participants:
            moved = False
            continue
        key = conf.prev_room.get(uid) if target_key == "previous" else target_key
        target = conf.room(key) if key else None
        if target is None or target is room:
            moved = False
            continue
        sim.move(conf, uid, target)
    return ok(moved)


def attestation(conf, me) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    head = enc({"alg": "HS256", "typ": "JWT", "kid": JWT_KID})
    claims = enc({"role": "host" if me["role"] == "chair" else "guest", "conf": conf.name,
                  "sub": me["uuid"], "exp": int(time.time()) + 300})
    sig = hmac.new(JWT_KEY, f"{head}.{claims}".encode(), hashlib.sha256).digest()
    return f"{head}.{claims}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"


FLAGS = {"mute": ("is_muted", "YES"), "unmute": ("is_muted", "NO"), "video_muted": ("is_video_muted", True),
         "video_unmuted": ("is_video_muted", False), "client_mute": ("is_client_muted", True),
         "client_unmute": ("is_client_muted", False), "allowrxpresentation": ("rx_presentation_policy", "ALLOW"),
         "denyrxpresentation": ("rx_presentation_policy", "DENY"),
         "show_live_captions": ("show_live_captions", True), "hide_live_captions": ("show_live_captions", False)}


async def participant_action(sim, conf, room, me, p, action, body):
    uid = p["uuid"]
    if action in FLAGS:
        key, value = FLAGS[action]
        if action == "unmute" and me["role"] != "chair" and room.guests_muted and not room.guests_can_unmute:
            return ok(False)
        p[key] = value
        sim.update(conf, room, p)
        return ok(None) if action == "show_live_captions" else ok(True)
    if action == "disconnect":
        sim.remove(conf, uid, reason="API initiated participant disconnect")
        return ok(True)
    if action in ("spotlighton", "spotlightoff"):
        room.spot += 1
        p["spotlight"] = int(time.time() * 1000) + room.spot if action == "spotlighton" else 0
        sim.update(conf, room, p)
        return ok(True)
    if action == "unlock":
        if p["service_type"] != "waiting_room":
            return ok(False)
        p["service_type"] = "conference"
        sim.update(conf, room, p)
        return ok(True)
    if action == "dtmf":
        digits = need(body, "digits", str)
        return ok(all(c in "0123456789*#ABCDabcd" for c in digits))
    if action == "message":
        kind = need(body, "type", str, ("text/plain", "application/json"))
        sim.emit(conf, room, "message_received", {"origin": me["display_name"], "uuid": me["uuid"], "type": kind,
                                                  "direct": True, "payload": need(body, "payload", str)}, only=uid)
        return ok(True)
    if action == "calls":
        if uid != me["uuid"]:
            raise fail(403, "The participant must be the one making the request", "success")
        need(body, "sdp", str)
        call_uuid = str(uuidlib.uuid4())
        room.calls.setdefault(uid, {})[call_uuid] = {"state": "offered"}
        return ok({"call_uuid": call_uuid, "sdp": "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=confctl-sim\r\n"})
    if action == "overlaytext":
        p["overlay_text"] = need(body, "text", str)
        sim.update(conf, room, p)
        return ok(True)
    if action == "pres_in_mix":
        if uid != me["uuid"]:
            raise fail(403, "The participant must be the one making the request", "success")
        p["needs_presentation_in_mix"] = bool(need(body, "state", bool))
        sim.update(conf, room, p)
        return ok(True)
    if action == "role":
        role = need(body, "role", str, ("chair", "guest"))
        p["role"] = role
        sim.update(conf, room, p)
        return ok(True)
    if action == "fecc":
        need(body, "action", str, ("start", "stop", "continue"))
        # The doc: FECC is "sent to a specific participant identified by the target UUID".
        target = room.participants.get(need(body, "target", str))
        if target is None:
            return ok(False)
        p = target
        for move in body.get("movement") or []:
            axis, direction = move.get("axis"), move.get("direction")
            if (axis, direction) not in {("pan", "left"), ("pan", "right"), ("tilt", "up"), ("tilt", "down"),
                                         ("zoom", "in"), ("zoom", "out")}:
                raise fail(400, f"invalid movement {move}")
        return ok(p["fecc_supported"] == "YES")
    if action in ("buzz", "clearbuzz"):
        p["buzz_time"] = int(time.time()) if action == "buzz" else 0
        sim.update(conf, room, p)
        return ok(True)
    if action == "transfer":
        target = sim.conferences.get(need(body, "conference_alias", str))
        role = need(body, "role", str, ("host", "guest"))
        if target is None or target.kind in ("reception", "sso"):
            return ok(False)
        pin = body.get("pin") or ""
        wanted = target.host_pin if role == "host" else target.guest_pin
        if wanted and pin != wanted:
            return ok(False)
        moved = sim.remove(conf, uid)
        moved["role"] = "chair" if role == "host" else "guest"
        moved["local_alias"] = target.alias
        sim.add(target, target.main, moved)
        return ok(True)
    if action in ("take_floor", "release_floor"):
        if uid != me["uuid"]:
            raise fail(403, "The participant must be the one making the request", "success")
        if action == "take_floor":
            if conf.presenter not in (None, uid):
                raise fail(403, "Presentation denied: someone else is presenting", "success")
            conf.presenter = uid
            p["is_presenting"] = "YES"
            sim.emit(conf, room, "presentation_start", {"presenter_name": p["display_name"],
                                                         "presenter_uri": p["uri"], "source": "video"})
        else:
            conf.presenter = None if conf.presenter == uid else conf.presenter
            p["is_presenting"] = "NO"
            sim.emit(conf, room, "presentation_stop")
        sim.update(conf, room, p)
        return ok(True)
    if action == "statistics":
        return ok(True)
    if action == "preferred_aspect_ratio":
        ratio = need(body, "aspect_ratio", (int, float))
        return ok(0 <= ratio <= 2)
    if action == "layout_group":
        p["layout_group"] = need(body, "layout_group", str)
        sim.update(conf, room, p)
        return ok(True)
    if action == "send_to_audio_mixes":
        mixes = need(body, "mixes", list)
        p["send_to_audio_mixes"] = mixes or [{"mix_name": "main", "prominent": False}]
        sim.update(conf, room, p)
        return ok(True)
    if action == "receive_from_audio_mix":
        if "mix_name" not in body:
            raise fail(400, "missing field 'mix_name'")
        p["receive_from_audio_mix"] = body["mix_name"]
        sim.update(conf, room, p)
        return ok(True)
    raise fail(404, f"unknown participant request {action}")


def call_action(sim, conf, room, p, call_uuid, action, body):
    calls = room.calls.get(p["uuid"], {})
    if call_uuid not in calls:
        raise fail(404, "Call not found")
    if action == "ack":
        calls[call_uuid]["state"] = "active"
        return ok(True)
    if action == "disconnect":
        del calls[call_uuid]
        sim.emit(conf, room, "call_disconnected", {"call_uuid": call_uuid,
                                                   "reason": "API initiated call disconnect"})
        return ok(True)
    if action == "dtmf":
        return ok(all(c in "0123456789*#ABCDabcd" for c in need(body, "digits", str)))
    if action == "new_candidate":
        need(body, "candidate", str)
        return ok(True)
    if action == "update":
        need(body, "sdp", str)
        return ok("v=0\r\no=- 0 1 IN IP4 127.0.0.1\r\ns=confctl-sim\r\n")
    if action == "fecc":
        need(body, "action", str, ("start", "stop", "continue"))
        return ok(True)
    raise fail(404, f"unknown call request {action}")


ROUTES = [
    Route("/api/client/v2/status", status, methods=["GET"]),
    Route("/api/client/v2/jwk", jwk, methods=["GET"]),
    Route("/api/client/v2/conferences/{alias}/{rest:path}", conference, methods=["GET", "POST"]),
]


def create_app(config: SimConfig) -> Starlette:
    world = PexipState(config)
    app = sim_app(load.ROUTES + ROUTES + app_controls.ROUTES, world)
    every(app, getattr(config, "activity", None), world.activity)
    return app
