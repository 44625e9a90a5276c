"""The Pexip simulator's controls under /_sim (not part of the Pexip API, no auth): participants join, speak,
present, raise hands and leave; event streams drop (and stay down for a while); maintenance mode; the token
lifetime; the full state; reset. `confctl sim pexip ...` (controls.py) drives them; tests call them over HTTP."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from confctl.core.sim.kit import SimError, json_object

from .state import Conference, PexipState, bad_body, person, public


def _world(request: Request) -> PexipState:
    return request.app.state.sim


async def body_of(request: Request) -> dict:
    return await json_object(request, bad_body, empty={})


def find(conf: Conference, who: str):
    for room in conf.rooms():
        for p in room.participants.values():
            if who in (p["uuid"], p["display_name"]):
                return room, p
    return None, None


async def control(request: Request):
    sim = _world(request)
    what = request.path_params["what"]
    body = await body_of(request) if request.method == "POST" else {}
    sim.reap()
    if what == "reset":
        sim.reset()
        return JSONResponse({"ok": True})
    if what == "maintenance":
        sim.maintenance = bool(body.get("on", True))
        return JSONResponse({"maintenance": sim.maintenance})
    if what == "refuse-refresh":
        sim.refuse_refresh = int(body.get("count", -1))
        return JSONResponse({"refuse_refresh": sim.refuse_refresh})
    if what == "refresh-event":  # the node asks every client to refresh its token now
        count = 0
        for conf_ in sim.conferences.values():
            for sub in conf_.subscribers:
                sub.queue.put_nowait((sim.event_id(), "refresh_token", None))
                count += 1
        return JSONResponse({"sent": count})
    if what == "ttl":
        sim.ttl = int(body.get("seconds") or sim.ttl)
        return JSONResponse({"ttl": sim.ttl})
    if what == "drop":
        sim.events_down_until = time.time() + float(body.get("down") or 0)
        count = 0
        for conf in sim.conferences.values():
            for sub in conf.subscribers:
                sub.dropped = True
                count += 1
        return JSONResponse({"dropped": count, "down": float(body.get("down") or 0)})
    alias = body.get("conference") or request.query_params.get("conference") or "meet.demo"
    conf = sim.conferences.get(alias)
    if conf is None:
        raise SimError(404, {"error": f"no conference {alias}"})
    if what == "state":
        return JSONResponse({"alias": conf.alias, "locked": conf.main.locked,
                             "rooms": {room.uuid: {"name": room.name,
                                                   "participants": [public(p) for p in room.participants.values()]}
                                       for room in conf.rooms()},
                             "tokens": sum(1 for t in sim.tokens.values() if t.alias == conf.alias),
                             "controls": [u for room in conf.rooms() for u in room.controls.values()],
                             "subscribers": len(conf.subscribers)})
    if what == "join":
        name = body.get("name") or "Guest"
        role = "chair" if body.get("role") in ("chair", "host") else "guest"
        service = "waiting_room" if (conf.main.locked and role == "guest") else "conference"
        p = person(name, conf.alias, role, protocol=body.get("protocol") or "webrtc",
                   audio_only=bool(body.get("audio_only")), service=service)
        sim.add(conf, conf.main, p)
        return JSONResponse(public(p))
    if what == "refer":  # the node tells confctl's participants to move to another conference
        for sub in conf.subscribers:
            sub.queue.put_nowait((sim.event_id(), "refer", {"alias": body.get("to") or "meet.open"}))
        return JSONResponse({"referred": len(conf.subscribers)})
    room, p = find(conf, str(body.get("participant") or ""))
    if p is None:
        raise SimError(404, {"error": f"no participant {body.get('participant')!r} in {alias}"})
    if what == "leave":
        sim.remove(conf, p["uuid"])
        return JSONResponse({"left": p["uuid"]})
    if what == "speak":
        p["last_spoken_time"] = 0
        return JSONResponse({"stage": sim.speak(conf, room, p, int(body.get("vad", 100)))})
    if what == "present":
        frames = int(body.get("frames", 1))
        conf.presenter = p["uuid"]
        p["is_presenting"] = "YES"
        sim.emit(conf, room, "presentation_start", {"presenter_name": p["display_name"],
                                                     "presenter_uri": p["uri"], "source": "static"})
        sim.update(conf, room, p)
        for _ in range(frames):
            sim.emit(conf, room, "presentation_frame")
        if body.get("stop"):
            conf.presenter = None
            p["is_presenting"] = "NO"
            sim.emit(conf, room, "presentation_stop")
            sim.update(conf, room, p)
        return JSONResponse({"frames": frames})
    if what == "hand":
        sim.hand(conf, room, p, bool(body.get("raise", True)))
        return JSONResponse(public(p))
    raise SimError(404, {"error": f"unknown control {what}"})


ROUTES = [
    Route("/_sim/{what}", control, methods=["GET", "POST"]),
]
