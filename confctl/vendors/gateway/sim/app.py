"""Gateway simulator: the conference API of api-docs/gateway-conference-api.txt, faithful to its status codes,
error bodies, validation, cursors, cooldowns (429 + Retry-After), session semantics and webhooks.

Controls under /_sim (no auth): create call sessions, seed rooms, set the webhook URL, reset.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import re
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from confctl.core.sim.server import CREDENTIALS, SimConfig

# A second and third application, for ownership (403) and isolated pagination tests.
APPS = {CREDENTIALS["gateway"]["app_id"]: CREDENTIALS["gateway"]["api_key"], "other-app": "other-key",
        "third-app": "third-key", "more-app": "more-key"}  # extra apps: tests that need rooms of their own
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ROOM_RE = re.compile(r"[A-Za-z0-9]{5}-room-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Documented cooldowns (seconds) per rate-limit group.
COOLDOWNS = {"conf_play": 2.0, "conference_control": 0.2, "conference": 2.0, "conference_mute": 2.0}
# Ids the endpoint examples use, so that every example succeeds against a fresh simulator.
EXAMPLE_ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"
EXAMPLE_SESSION = "acW68-5d7c2a10-7f3e-4d2b-9c4a-1e2f3a4b5c6d"


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Room:
    room_id: str
    name: str
    app_id: str
    created: float = field(default_factory=time.time)
    playback_status: str = "stopped"
    playback_volume: int = 0
    playback_urls: list = field(default_factory=list)
    playback_operation_id: str = ""


@dataclass
class CallSession:
    uuid: str
    app_id: str
    did: str
    caller_id: str
    room_id: str | None = None
    state: str = "idle"  # idle | joining | joined
    muted: bool = True
    commands: dict = field(default_factory=dict)  # command_uid -> (status, body)


def error(status: int, message: str, detail=None, headers=None) -> JSONResponse:
    body = {"success": False, "error": message}
    if detail is not None:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


class GatewaySim:
    def __init__(self, config: SimConfig):
        self.config = config
        self.webhook_url = config.gateway_webhook
        self.reset()

    def reset(self) -> None:
        self.rooms: dict[str, Room] = {}
        self.sessions: dict[str, CallSession] = {}
        self.cooldowns: dict[tuple, float] = {}
        self.deliveries: list[dict] = []
        self.tasks: set = set()
        self.throttle, self.throttle_after = 0, 1
        app_id = CREDENTIALS["gateway"]["app_id"]
        self.rooms[EXAMPLE_ROOM] = Room(EXAMPLE_ROOM, "example-room", app_id)
        # The documented example session is a joined (muted) member of the example room, so that every
        # session example in the help runs against a fresh simulator.
        self.sessions[EXAMPLE_SESSION] = CallSession(EXAMPLE_SESSION, app_id, "747713001", "527121102",
                                                     room_id=EXAMPLE_ROOM, state="joined")

    # -- helpers ---------------------------------------------------------------------------------------
    def auth(self, request: Request) -> str | Response:
        app_id = request.headers.get("x-app-id")
        key = request.headers.get("x-api-key")
        if not app_id or not key or APPS.get(app_id) != key:
            return error(401, "Missing or invalid X-API-Key")
        return app_id

    def cooldown(self, group: str, key: str) -> Response | None:
        """429 while the (group, key) cooldown runs; otherwise start it."""
        window = COOLDOWNS[group] * self.config.cooldown_scale
        now = time.monotonic()
        if self.throttle:  # injected by /_sim/throttle: answer 429 regardless of the clock
            self.throttle -= 1
            return error(429, f"Rate limit exceeded ({group} cooldown)",
                         headers={"Retry-After": str(self.throttle_after)})
        until = self.cooldowns.get((group, key), 0)
        if now < until:
            left = until - now
            shown = str(math.ceil(left)) if self.config.cooldown_scale >= 1 else f"{left:.3f}"
            return error(429, f"Rate limit exceeded ({group} cooldown)", headers={"Retry-After": shown})
        self.cooldowns[(group, key)] = now + window
        return None

    def room_for(self, app_id: str, room_id: str) -> Room | Response:
        if not ROOM_RE.fullmatch(room_id):
            return error(400, "Invalid room_id format")
        room = self.rooms.get(room_id)
        if room is None:
            return error(404, "Conference not found")
        if room.app_id != app_id:
            return error(403, "Conference belongs to a different application")
        return room

    def owned_room(self, request: Request) -> tuple[str, Room] | Response:
        """Authenticate, then check the path's room exists and belongs to the caller (room-level endpoints)."""
        app_id = self.auth(request)
        if isinstance(app_id, Response):
            return app_id
        room = self.room_for(app_id, request.path_params["room_id"])
        return room if isinstance(room, Response) else (app_id, room)

    def session_for(self, app_id: str, sid: str) -> CallSession | Response:
        sess = self.sessions.get(sid)
        if sess is None:
            return error(404, "Session not found")
        if sess.app_id != app_id:
            return error(403, "Session belongs to a different application")
        return sess

    def emit(self, app_id: str, event: str, data: dict, delay: float = 0.0) -> None:
        """Deliver a webhook now (immediate) or after `delay` (deferred)."""
        record = {"id": str(uuid.uuid4()), "event": event, "app_id": app_id, "timestamp": None, "data": data}

        async def deliver():
            if delay:
                await asyncio.sleep(delay)
            record["timestamp"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            self.deliveries.append(record)
            if self.webhook_url:
                import httpx

                try:
                    async with httpx.AsyncClient(timeout=5) as client:
                        await client.post(self.webhook_url, json=record)
                except httpx.HTTPError:
                    pass  # a real gateway would retry; the simulator just drops it

        task = asyncio.get_running_loop().create_task(deliver())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def later(self, delay: float, fn) -> None:
        async def run():
            await asyncio.sleep(delay)
            fn()

        task = asyncio.get_running_loop().create_task(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def body(request: Request) -> dict | Response:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            return error(400, "Malformed JSON")
        if not isinstance(data, dict):
            return error(400, "Malformed JSON: expected an object")
        return data

    @staticmethod
    def cursor_encode(offset: int) -> str:
        return base64.urlsafe_b64encode(json.dumps({"o": offset, "n": random.randint(0, 9999)}).encode()).decode()

    @staticmethod
    def cursor_decode(cursor: str) -> int | None:
        try:
            return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
        except (ValueError, KeyError, TypeError):
            return None

    def page(self, request: Request, items: list, default: int, cap: int) -> tuple[list, str] | Response:
        raw_limit = request.query_params.get("limit")
        limit = default
        if raw_limit is not None:
            if not raw_limit.isdigit() or int(raw_limit) < 1:
                return error(400, "Invalid limit: must be a positive integer")
            limit = min(int(raw_limit), cap)
        offset = 0
        cursor = request.query_params.get("cursor")
        if cursor:
            offset = self.cursor_decode(cursor)
            if offset is None or offset < 0:
                return error(400, "Invalid cursor")
        chunk = items[offset: offset + limit]
        nxt = self.cursor_encode(offset + limit) if offset + limit < len(items) else ""
        return chunk, nxt

    # -- room endpoints --------------------------------------------------------------------------------
    async def create(self, request: Request):
        app_id = self.auth(request)
        if isinstance(app_id, Response):
            return app_id
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        name = body.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            return error(400, "Invalid name: alphanumeric, hyphens, underscores only; must start with "
                              "alphanumeric; max 64 chars")
        for room in self.rooms.values():
            if room.app_id == app_id and room.name == name:
                return error(409, "Conference name already taken for this application",
                             detail={"room_id": room.room_id})
        prefix = "".join(random.choices(string.ascii_letters + string.digits, k=5))
        room = Room(f"{prefix}-room-{uuid.uuid4()}", name, app_id)
        self.rooms[room.room_id] = room
        self.emit(app_id, "conference.created", {"room_id": room.room_id, "name": name})
        return JSONResponse({"room_id": room.room_id}, status_code=201)

    def members_of(self, room_id: str) -> list[CallSession]:
        return [s for s in self.sessions.values() if s.room_id == room_id and s.state == "joined"]

    async def list_rooms(self, request: Request):
        app_id = self.auth(request)
        if isinstance(app_id, Response):
            return app_id
        own = sorted((r for r in self.rooms.values() if r.app_id == app_id), key=lambda r: (r.created, r.room_id))
        paged = self.page(request, own, 50, 200)
        if isinstance(paged, Response):
            return paged
        chunk, nxt = paged
        return JSONResponse({"conferences": [
            {"room_id": r.room_id, "name": r.name, "members": len(self.members_of(r.room_id)),
             "created_at": datetime.fromtimestamp(r.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
            for r in chunk], "cursor": nxt})

    async def get_room(self, request: Request):
        owned = self.owned_room(request)
        if isinstance(owned, Response):
            return owned
        app_id, room = owned
        return JSONResponse({
            "room_id": room.room_id, "name": room.name, "created_at": str(int(room.created)),
            "members": len(self.members_of(room.room_id)), "playback_status": room.playback_status,
            "playback_volume": room.playback_volume, "playback_urls": room.playback_urls,
            "playback_operation_id": room.playback_operation_id})

    async def members(self, request: Request):
        owned = self.owned_room(request)
        if isinstance(owned, Response):
            return owned
        app_id, room = owned
        paged = self.page(request, self.members_of(room.room_id), 50, 1000)
        if isinstance(paged, Response):
            return paged
        chunk, nxt = paged
        return JSONResponse({"room_id": room.room_id, "members": [
            {"uuid": s.uuid, "did": s.did, "caller_id": s.caller_id, "muted": s.muted} for s in chunk],
            "cursor": nxt})

    async def delete_room(self, request: Request):
        owned = self.owned_room(request)
        if isinstance(owned, Response):
            return owned
        app_id, room = owned
        for sess in self.sessions.values():
            if sess.room_id == room.room_id:
                sess.room_id, sess.state, sess.muted = None, "idle", True
        del self.rooms[room.room_id]
        self.emit(app_id, "conference.destroyed", {"room_id": room.room_id})
        return JSONResponse({"room_id": room.room_id})

    async def play(self, request: Request):
        owned = self.owned_room(request)
        if isinstance(owned, Response):
            return owned
        app_id, room = owned
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        urls = body.get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            return error(400, "urls must be a non-empty array of strings")
        if len(urls) > 128:
            return error(400, "Too many urls: max 128 files")
        if not all(re.match(r"https?://[^/\s]+", u) for u in urls):
            return error(400, "urls must be HTTP/HTTPS URLs")
        limited = self.cooldown("conf_play", room.room_id)
        if limited:
            return limited
        op = str(uuid.uuid4())
        room.playback_status, room.playback_urls, room.playback_operation_id = "playing", urls, op
        self.emit(app_id, "conference.play.started", {"room_id": room.room_id, "urls": urls, "operation_id": op})

        def finished():
            if room.playback_operation_id == op and room.playback_status != "stopped":
                room.playback_status = "stopped"
                self.emit(app_id, "conference.play.finished", {"room_id": room.room_id, "operation_id": op})

        self.later(self.config.playback_seconds, finished)
        return JSONResponse({"operation_id": op, "status": "in_progress"}, status_code=202)

    async def control(self, request: Request):
        owned = self.owned_room(request)
        if isinstance(owned, Response):
            return owned
        app_id, room = owned
        action = request.url.path.rsplit("/", 1)[-1]
        volume = None
        if action == "volume":
            body = await self.body(request)
            if isinstance(body, Response):
                return body
            volume = body.get("volume")
            if not isinstance(volume, int) or isinstance(volume, bool) or not -50 <= volume <= 7:
                return error(400, "Invalid volume: integer in range -50 to 7")
        limited = self.cooldown("conference_control", room.room_id)
        if limited:
            return limited
        op = room.playback_operation_id
        if action == "pause":
            room.playback_status = {"playing": "paused", "paused": "playing"}.get(room.playback_status,
                                                                                  room.playback_status)
            self.emit(app_id, "conference.play.paused", {"room_id": room.room_id, "operation_id": op})
            return JSONResponse({"room_id": room.room_id, "playback_status": room.playback_status})
        if action == "stop":
            room.playback_status = "stopped"
            self.emit(app_id, "conference.play.stopped", {"room_id": room.room_id, "operation_id": op})
            return JSONResponse({"room_id": room.room_id, "playback_status": "stopped"})
        room.playback_volume = volume
        self.emit(app_id, "conference.play.volume_changed",
                  {"room_id": room.room_id, "volume": volume, "operation_id": op})
        return JSONResponse({"room_id": room.room_id, "volume": volume})

    # -- session commands ------------------------------------------------------------------------------
    async def session_command(self, request: Request):
        app_id = self.auth(request)
        if isinstance(app_id, Response):
            return app_id
        sess = self.session_for(app_id, request.path_params["uuid"])
        if isinstance(sess, Response):
            return sess
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        uid = body.get("command_uid")
        if uid is not None and uid in sess.commands:  # a retried command: same answer, no second effect
            status, payload = sess.commands[uid]
            return JSONResponse(payload, status_code=status)
        action = request.path_params["action"]
        if action not in ("join", "leave", "mute", "unmute"):
            return error(404, "Unknown conference command")
        response = await getattr(self, "_" + action)(app_id, sess, body)
        if uid is not None and response.status_code < 300:
            sess.commands[uid] = (response.status_code, json.loads(response.body))
        return response

    async def _join(self, app_id, sess, body):
        room_id = body.get("room_id")
        if not isinstance(room_id, str) or not ROOM_RE.fullmatch(room_id):
            return error(400, "Invalid room_id format: expected {5-char-prefix}-room-{uuid}")
        room = self.room_for(app_id, room_id)
        if isinstance(room, Response):
            return room
        if sess.room_id == room_id:
            return JSONResponse({"status": "already_joined", "room_id": room_id}, status_code=200)
        if sess.room_id is not None:
            return error(409, "Session is already in a different conference room. Use conference/leave first.")
        limited = self.cooldown("conference", sess.uuid)
        if limited:
            return limited
        sess.room_id, sess.state, sess.muted = room_id, "joining", True

        def joined():
            if sess.room_id == room_id and sess.state == "joining":
                sess.state = "joined"
                self.emit(app_id, "conference.member.joined",
                          {"room_id": room_id, "uuid": sess.uuid, "did": sess.did, "muted": True})

        self.later(self.config.deferred_delay, joined)
        return JSONResponse({"status": "joining", "room_id": room_id}, status_code=202)

    async def _leave(self, app_id, sess, body):
        if sess.room_id is None:
            return error(404, "Session is not in a conference")
        if sess.state == "joining":
            return error(409, "Session is still joining (no member_id yet)")
        limited = self.cooldown("conference", sess.uuid)
        if limited:
            return limited
        room_id = sess.room_id
        sess.room_id, sess.state, sess.muted = None, "idle", True
        self.emit(app_id, "conference.member.left", {"room_id": room_id, "uuid": sess.uuid},
                  delay=self.config.deferred_delay)
        return JSONResponse({"status": "leaving", "room_id": room_id}, status_code=202)

    async def _mute(self, app_id, sess, body):
        return self._set_mute(app_id, sess, True)

    async def _unmute(self, app_id, sess, body):
        return self._set_mute(app_id, sess, False)

    def _set_mute(self, app_id, sess, muted: bool):
        word = "muted" if muted else "unmuted"
        if sess.room_id is None:
            return error(404, "Session is not in a conference")
        if sess.state == "joining":
            return error(409, "Session is still joining")
        if sess.muted == muted:
            return error(409, f"Member is already {word}")
        limited = self.cooldown("conference_mute", sess.uuid)
        if limited:
            return limited
        sess.muted = muted
        self.emit(app_id, f"conference.member.{word}", {"room_id": sess.room_id, "uuid": sess.uuid},
                  delay=self.config.deferred_delay)
        return JSONResponse({"status": word, "room_id": sess.room_id}, status_code=202)

    # -- controls --------------------------------------------------------------------------------------
    async def ctl_sessions(self, request: Request):
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        app_id = body.get("app_id") or CREDENTIALS["gateway"]["app_id"]
        count = int(body.get("count", 1))
        room_id = body.get("room_id")
        made = []
        for _ in range(count):
            prefix = "".join(random.choices(string.ascii_letters + string.digits, k=5))
            sess = CallSession(f"{prefix}-{uuid.uuid4()}", app_id, str(random.randint(10**8, 10**9 - 1)),
                               str(random.randint(10**8, 10**9 - 1)))
            if room_id in self.rooms:  # already a joined, muted member (for tests and demos)
                sess.room_id, sess.state = room_id, "joined"
            self.sessions[sess.uuid] = sess
            made.append(sess.uuid)
        return JSONResponse({"sessions": made}, status_code=201)

    async def ctl_rooms(self, request: Request):
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        app_id = body.get("app_id") or CREDENTIALS["gateway"]["app_id"]
        prefix = body.get("prefix", "seed")
        made = []
        for i in range(int(body.get("count", 1))):
            rid = f"{''.join(random.choices(string.ascii_letters, k=5))}-room-{uuid.uuid4()}"
            self.rooms[rid] = Room(rid, f"{prefix}-{i:04d}", app_id, created=time.time() + i * 1e-6)
            made.append(rid)
        return JSONResponse({"rooms": made}, status_code=201)

    async def ctl_webhook(self, request: Request):
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        self.webhook_url = body.get("url") or None
        return JSONResponse({"url": self.webhook_url})

    async def ctl_deliveries(self, request: Request):
        return JSONResponse({"deliveries": self.deliveries})

    async def ctl_throttle(self, request: Request):
        """The next `count` rate-limited commands answer 429 with Retry-After `retry_after`."""
        body = await self.body(request)
        if isinstance(body, Response):
            return body
        self.throttle, self.throttle_after = int(body.get("count", 1)), body.get("retry_after", 1)
        return JSONResponse({"count": self.throttle, "retry_after": self.throttle_after})

    async def ctl_status(self, request: Request):
        """Answer with any status (tests of the exit-code table: 500, 502, 503 ...)."""
        code = int(request.path_params["code"])
        return error(code, f"simulated status {code}") if code >= 400 else JSONResponse({}, status_code=code)

    async def ctl_reset(self, request: Request):
        self.reset()
        return Response(status_code=204)


def create_app(config: SimConfig) -> Starlette:
    sim = GatewaySim(config)
    base = "/api/v1/conferences"
    routes = [
        Route(base, sim.create, methods=["POST"]),
        Route(base, sim.list_rooms, methods=["GET"]),
        Route(base + "/{room_id}", sim.get_room, methods=["GET"]),
        Route(base + "/{room_id}", sim.delete_room, methods=["DELETE"]),
        Route(base + "/{room_id}/members", sim.members, methods=["GET"]),
        Route(base + "/{room_id}/play", sim.play, methods=["POST"]),
        Route(base + "/{room_id}/pause", sim.control, methods=["POST"]),
        Route(base + "/{room_id}/stop", sim.control, methods=["POST"]),
        Route(base + "/{room_id}/volume", sim.control, methods=["POST"]),
        Route("/api/v1/sessions/{uuid}/commands/conference/{action:str}", sim.session_command, methods=["POST"]),
        Route("/_sim/sessions", sim.ctl_sessions, methods=["POST"]),
        Route("/_sim/rooms", sim.ctl_rooms, methods=["POST"]),
        Route("/_sim/webhook", sim.ctl_webhook, methods=["POST"]),
        Route("/_sim/deliveries", sim.ctl_deliveries, methods=["GET"]),
        Route("/_sim/reset", sim.ctl_reset, methods=["POST"]),
        Route("/_sim/throttle", sim.ctl_throttle, methods=["POST"]),
        Route("/_sim/status/{code:int}", sim.ctl_status, methods=["GET", "POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    return app
