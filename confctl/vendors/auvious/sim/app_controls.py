"""The Auvious simulator's controls under /_sim (not part of the Auvious API, no auth; loopback demo and test
helpers): revoke or expire tokens, generate activity, state, reset. `confctl sim auvious ...` (controls.py)
drives them; tests call them over HTTP."""

from __future__ import annotations

import asyncio
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from confctl.core.sim.kit import SimError

from .state import AuviousState


def _world(request: Request) -> AuviousState:
    return request.app.state.sim


async def ctl_tokens(request: Request):
    world = _world(request)
    action = request.path_params["action"]
    count = len(world.tokens)
    if action == "revoke":
        world.tokens.clear()
    elif action == "expire":
        for entry in world.tokens.values():
            entry["expires"] = time.time() - 1
    else:
        raise SimError(404, {"error": f"unknown action {action}"})
    return JSONResponse({action + "d": count})


async def ctl_state(request: Request):
    world = _world(request)
    return JSONResponse({"tokens_issued": world.tokens_issued, "tokens_live": len(world.tokens),
                         "conferences": {c.id: {"version": c.version, "ended": c.ended,
                                                "endpoints": list(c.endpoints), "events": len(c.events)}
                                         for c in world.conferences.values()}})


async def ctl_reset(request: Request):
    world = _world(request)
    world.reset()
    return JSONResponse({"reset": True})


async def ctl_activity(request: Request):
    """Someone joins, publishes a microphone, renames themself and leaves — spaced out for live demos."""
    world = _world(request)
    conf = world.find(request.path_params["id"])
    if conf is None or conf.ended:
        raise SimError(404, {"error": "no such active conference"})
    payload = await request.json() if (await request.body()) else {}
    user = payload.get("user") or f"guest-{secrets.token_hex(2)}"
    delay = float(payload.get("delay", world.config.deferred_delay))

    async def script():
        ep_id = f"ep-{user}"
        if ep_id in conf.endpoints or conf.ended:
            return
        ep = world.join(conf, ep_id, user, {"displayName": user.title()})
        await asyncio.sleep(delay)
        world.publish(conf, ep, "MIC", None, {}, None)
        await asyncio.sleep(delay)
        ep.metadata = {**ep.metadata, "handRaised": True}
        world.emit(conf, [{"type": "ConferenceParticipantMetadataUpdatedEvent", "userId": user,
                         "userEndpointId": ep_id, "metadata": ep.metadata}])
        await asyncio.sleep(delay)
        if not conf.ended and ep_id in conf.endpoints:
            world.leave(conf, ep, "bye")

    task = asyncio.get_running_loop().create_task(script())
    request.app.state.tasks.add(task)
    task.add_done_callback(request.app.state.tasks.discard)
    return JSONResponse({"user": user, "endpoint": f"ep-{user}"}, status_code=202)


ROUTES = [
    Route("/_sim/tokens/{action}", ctl_tokens, methods=["POST"]),
    Route("/_sim/state", ctl_state, methods=["GET"]),
    Route("/_sim/reset", ctl_reset, methods=["POST"]),
    Route("/_sim/conferences/{id}/activity", ctl_activity, methods=["POST"]),
]
