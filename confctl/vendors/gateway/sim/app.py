"""Gateway simulator routes: the conference API of the gateway conference API doc, mounted by `confctl sim serve`
as `create_app(config)`. Each handler authenticates, reads the request and calls the world in `state.py`; a
refusal is a `SimError` raised there and answered by the shared handler.

The /_sim controls (no auth) are in app_controls.py.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from confctl.core.sim.kit import every, json_object, sim_app
from confctl.core.sim.server import SimConfig

from . import app_controls
from .state import GatewayState, Room, bad_json, page


def _world(request: Request) -> GatewayState:
    return request.app.state.sim


def _caller(request: Request) -> str:
    return _world(request).authenticate(request.headers.get("x-app-id"), request.headers.get("x-api-key"))


def _owned_room(request: Request) -> tuple[str, Room]:
    """Authenticate, then check the path's room exists and belongs to the caller (room-level endpoints)."""
    app_id = _caller(request)
    return app_id, _world(request).room_for(app_id, request.path_params["room_id"])


async def _body(request: Request) -> dict:
    return await json_object(request, bad_json, empty={})


def _page(request: Request, items: list, default: int, cap: int) -> tuple[list, str]:
    return page(items, request.query_params.get("limit"), request.query_params.get("cursor"), default, cap)


# -- rooms -----------------------------------------------------------------------------------------------
async def create_room(request: Request):
    app_id = _caller(request)
    body = await _body(request)
    room = _world(request).create_room(app_id, body.get("name"))
    return JSONResponse({"room_id": room.room_id}, status_code=201)


async def list_rooms(request: Request):
    world = _world(request)
    chunk, nxt = _page(request, world.own_rooms(_caller(request)), 50, 200)
    return JSONResponse({"conferences": [r.summary(len(world.members_of(r.room_id))) for r in chunk],
                         "cursor": nxt})


async def get_room(request: Request):
    _, room = _owned_room(request)
    return JSONResponse(room.detail(len(_world(request).members_of(room.room_id))))


async def members(request: Request):
    _, room = _owned_room(request)
    chunk, nxt = _page(request, _world(request).members_of(room.room_id), 50, 1000)
    return JSONResponse({"room_id": room.room_id, "members": [s.member() for s in chunk], "cursor": nxt})


async def delete_room(request: Request):
    app_id, room = _owned_room(request)
    _world(request).delete_room(app_id, room)
    return JSONResponse({"room_id": room.room_id})


async def play(request: Request):
    app_id, room = _owned_room(request)
    body = await _body(request)
    return JSONResponse(_world(request).play(app_id, room, body.get("urls")), status_code=202)


async def control(request: Request):
    app_id, room = _owned_room(request)
    action = request.url.path.rsplit("/", 1)[-1]
    volume = None
    if action == "volume":  # only volume reads a body
        volume = _world(request).check_volume((await _body(request)).get("volume"))
    return JSONResponse(_world(request).control(app_id, room, action, volume))


# -- session commands ------------------------------------------------------------------------------------
async def session_command(request: Request):
    app_id = _caller(request)
    world = _world(request)
    sess = world.session_for(app_id, request.path_params["uuid"])
    body = await _body(request)
    status, payload = world.command(app_id, sess, request.path_params["action"], body)
    return JSONResponse(payload, status_code=status)


BASE = "/api/v1/conferences"
ROUTES = [
    Route(BASE, create_room, methods=["POST"]),
    Route(BASE, list_rooms, methods=["GET"]),
    Route(BASE + "/{room_id}", get_room, methods=["GET"]),
    Route(BASE + "/{room_id}", delete_room, methods=["DELETE"]),
    Route(BASE + "/{room_id}/members", members, methods=["GET"]),
    Route(BASE + "/{room_id}/play", play, methods=["POST"]),
    Route(BASE + "/{room_id}/pause", control, methods=["POST"]),
    Route(BASE + "/{room_id}/stop", control, methods=["POST"]),
    Route(BASE + "/{room_id}/volume", control, methods=["POST"]),
    Route("/api/v1/sessions/{uuid}/commands/conference/{action:str}", session_command, methods=["POST"]),
]


def create_app(config: SimConfig) -> Starlette:
    world = GatewayState(config)
    app = sim_app(ROUTES + app_controls.ROUTES, world)
    every(app, getattr(config, "activity", None), world.activity)
    return app
