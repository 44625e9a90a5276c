"""The simulator's controls, under /_sim (not part of the Mind API): participants join, leave, change what they
send (microphone, camera, screen), speak and send messages; a conference ends (4000); sockets drop, optionally with changes made before anyone can reconnect.
`confctl sim mind ...` (confctl/vendors/mind/sim/controls.py) drives them; tests call them over HTTP."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.routing import Route

from .parse import body_of
from .state import APP_ID, Conference, MindState, fail


def _world(conn) -> MindState:
    return conn.app.state.sim


def control_conf(request) -> Conference:
    world = _world(request)
    conf = world.conference(request.path_params["conf_id"])
    if conf is None:
        raise fail(404, f"conference {request.path_params['conf_id']} not found")
    return conf


def who(world: MindState, conf: Conference, key) -> object:
    p = world.find_participant(conf, str(key or ""))
    if p is None:
        raise fail(404, f"no participant {key!r} in conference {conf.id}")
    return p


def apply(world: MindState, conf: Conference, action: str, data: dict) -> dict:
    """One participant-side change (it is notified like any change not made by the application)."""
    if action == "join":
        p = world.find_participant(conf, str(data.get("name") or ""))
        if p is None:
            p = world.add_participant(conf, name=data.get("name") or "guest", role=data.get("role") or "speaker",
                                      online=True)
            conf.notify("created", f"/participants/{p.id}", p.resource())
        elif not p.online:
            p.online = True
            conf.notify("updated", f"/participants/{p.id}", p.resource())
        return p.resource()
    if action == "leave":
        p = who(world, conf, data.get("participant"))
        if p.online:
            p.online = False
            conf.notify("updated", f"/participants/{p.id}", p.resource())
        return p.resource()
    if action == "media":
        # What the participant's client sends changes (microphone, camera, screen): participant.updated.
        p = who(world, conf, data.get("participant"))
        for key in ("audio", "video", "screen"):
            if isinstance(data.get(key), bool):
                setattr(p, key, data[key])
        conf.notify("updated", f"/participants/{p.id}", p.resource())
        return p.resource()
    if action == "expel":
        p = who(world, conf, data.get("participant"))
        del conf.participants[p.id]
        conf.notify("deleted", f"/participants/{p.id}")
        return {"id": p.id}
    if action == "speak":
        p = who(world, conf, data.get("participant"))
        if conf.recording or conf.transcribing:
            world.utterance(conf, p.id, str(data.get("text") or ""))
        return {"id": p.id, "transcribed": conf.recording or conf.transcribing}
    if action == "message":
        p = who(world, conf, data.get("participant"))
        to = {"conference": conf.id, "application": APP_ID}.get(data.get("to") or "conference", data.get("to"))
        msg = world.message(conf, p.id, to, str(data.get("text") or ""))
        if to in (conf.id, APP_ID):
            conf.notify("created", f"/messages/{msg['id']}", msg)
        return msg
    if action == "rename":
        conf.name = str(data.get("name") or "")
        conf.notify("updated", "/", conf.resource())
        return conf.resource()
    raise fail(400, f"unknown action {action!r}")


async def control(request):
    world = _world(request)
    conf = control_conf(request)
    data = await body_of(request, required=False)
    return JSONResponse(apply(world, conf, request.path_params["action"], data))


async def control_end(request):
    world = _world(request)
    conf = control_conf(request)
    world.end(conf)
    return JSONResponse({"ended": conf.id, "code": 4000})


async def control_drop(request):
    """Drop the conference's sockets (default 1012, not a Mind close code) and make the changes listed in
    `then` before anyone can reconnect: a follower must find them by re-reading the conference. With
    `reset_handshakes: N` the next N reconnects are reset during the opening handshake."""
    world = _world(request)
    conf = control_conf(request)
    data = await body_of(request, required=False)
    dropped = len(conf.listeners)
    conf.reset_handshakes = max(0, int(data.get("reset_handshakes") or 0))
    conf.close_listeners(int(data.get("code") or 1012), "simulated network drop")
    done = [apply(world, conf, item.get("action", ""), item) for item in data.get("then") or []]
    return JSONResponse({"dropped": dropped, "changes": done})


async def control_state(request):
    world = _world(request)
    return JSONResponse({cid: {**c.resource(detailed=True), "listeners": len(c.listeners)}
                         for cid, c in world.conferences.items()})


async def control_reset(request):
    world = _world(request)
    for conf in list(world.conferences.values()):
        world.end(conf, 1000, "the simulator was reset")
    world.seed()
    return JSONResponse({"reset": True})


ROUTES = [
    Route("/_sim/state", control_state, methods=["GET"]),
    Route("/_sim/reset", control_reset, methods=["POST"]),
    Route("/_sim/{conf_id}/end", control_end, methods=["POST"]),
    Route("/_sim/{conf_id}/drop", control_drop, methods=["POST"]),
    Route("/_sim/{conf_id}/{action}", control, methods=["POST"]),
]
