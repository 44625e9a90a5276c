"""The gateway simulator's controls under /_sim (not part of the gateway API, no auth): create call sessions,
seed rooms, set the webhook URL, list deliveries, inject 429s or any status, reset. `confctl sim gateway ...`
(controls.py) drives them; tests call them over HTTP."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confctl.core.sim.kit import json_object
from confctl.core.sim.server import CREDENTIALS

from .state import GatewayState, bad_json, error


def _world(request: Request) -> GatewayState:
    return request.app.state.sim


async def _body(request: Request) -> dict:
    return await json_object(request, bad_json, empty={})


async def ctl_sessions(request: Request):
    body = await _body(request)
    made = _world(request).make_sessions(body.get("app_id") or CREDENTIALS["gateway"]["app_id"],
                                         int(body.get("count", 1)), body.get("room_id"))
    return JSONResponse({"sessions": made}, status_code=201)


async def ctl_rooms(request: Request):
    body = await _body(request)
    made = _world(request).seed_rooms(body.get("app_id") or CREDENTIALS["gateway"]["app_id"],
                                      body.get("prefix", "seed"), int(body.get("count", 1)))
    return JSONResponse({"rooms": made}, status_code=201)


async def ctl_webhook(request: Request):
    body = await _body(request)
    world = _world(request)
    world.webhook_url = body.get("url") or None
    return JSONResponse({"url": world.webhook_url})


async def ctl_deliveries(request: Request):
    return JSONResponse({"deliveries": _world(request).deliveries})


async def ctl_throttle(request: Request):
    """The next `count` rate-limited commands answer 429 with Retry-After `retry_after`."""
    body = await _body(request)
    world = _world(request)
    world.throttle, world.throttle_after = int(body.get("count", 1)), body.get("retry_after", 1)
    return JSONResponse({"count": world.throttle, "retry_after": world.throttle_after})


async def ctl_status(request: Request):
    """Answer with any status (tests of the exit-code table: 500, 502, 503 ...)."""
    code = int(request.path_params["code"])
    if code >= 400:
        raise error(code, f"simulated status {code}")
    return JSONResponse({}, status_code=code)


async def ctl_reset(request: Request):
    _world(request).reset()
    return Response(status_code=204)


ROUTES = [
    Route("/_sim/sessions", ctl_sessions, methods=["POST"]),
    Route("/_sim/rooms", ctl_rooms, methods=["POST"]),
    Route("/_sim/webhook", ctl_webhook, methods=["POST"]),
    Route("/_sim/deliveries", ctl_deliveries, methods=["GET"]),
    Route("/_sim/reset", ctl_reset, methods=["POST"]),
    Route("/_sim/throttle", ctl_throttle, methods=["POST"]),
    Route("/_sim/status/{code:int}", ctl_status, methods=["GET", "POST"]),
]
