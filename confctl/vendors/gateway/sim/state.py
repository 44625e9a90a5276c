"""The gateway simulator's world: rooms, call sessions, cooldowns and webhooks, with the rules of
the gateway conference API doc (status codes, error bodies, validation, cursors, session semantics). No
HTTP routing here: `app.py` turns requests into calls of `GatewayState` and answers what they return; a
refusal is raised as `SimError` with the gateway's documented body (`error`)."""

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

from confctl.core.sim.kit import SimError
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
COMMANDS = ("join", "leave", "mute", "unmute")
# The live meeting `sim serve --meeting` seeds: a room and the callers in it (a host unmuted all but one),
# with session ids whose first characters differ, so `town-hall/tHall-2` names one of them.
MEETING_ROOM = "tHall-room-6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
MEETING_NAME = "town-hall"
MEETING_CALLERS = (("tHall-1a7c3e52-9b0d-4f6a-8c1e-2d3f4a5b6c7d", "+15550100101", False),
                   ("tHall-2b8d4f63-0c1e-4a7b-9d2f-3e4a5b6c7d8e", "+15550100102", False),
                   ("tHall-3c9e5a74-1d2f-4b8c-8e3a-4f5b6c7d8e9f", "+15550100103", True),
                   ("tHall-4d0f6b85-2e3a-4c9d-9f4b-5a6c7d8e9f0a", "+15550100104", False))


def error(status: int, message: str, detail=None, headers=None) -> SimError:
    """The gateway's error body: {"success": false, "error": message[, "detail": ...]}."""
    body = {"success": False, "error": message}
    if detail is not None:
        body["detail"] = detail
    return SimError(status, body, headers)


def bad_json(problem: str) -> SimError:
    return error(400, "Malformed JSON: expected an object" if problem == "not-object" else "Malformed JSON")


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prefix(alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.choices(alphabet, k=5))


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

    def summary(self, members: int) -> dict:
        return {"room_id": self.room_id, "name": self.name, "members": members, "created_at": _iso(self.created)}

    def detail(self, members: int) -> dict:
        return {"room_id": self.room_id, "name": self.name, "created_at": str(int(self.created)),
                "members": members, "playback_status": self.playback_status,
                "playback_volume": self.playback_volume, "playback_urls": self.playback_urls,
                "playback_operation_id": self.playback_operation_id}


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

    def member(self) -> dict:
        return {"uuid": self.uuid, "did": self.did, "caller_id": self.caller_id, "muted": self.muted}


def cursor_encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "n": random.randint(0, 9999)}).encode()).decode()


def cursor_decode(cursor: str) -> int | None:
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"])
    except (ValueError, KeyError, TypeError):
        return None


def page(items: list, raw_limit: str | None, cursor: str | None, default: int, cap: int) -> tuple[list, str]:
    """One page of `items` and the cursor of the next ("" at the end), as the doc's `limit`/`cursor` say."""
    limit = default
    if raw_limit is not None:
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise error(400, "Invalid limit: must be a positive integer")
        limit = min(int(raw_limit), cap)
    offset = 0
    if cursor:
        offset = cursor_decode(cursor)
        if offset is None or offset < 0:
            raise error(400, "Invalid cursor")
    nxt = cursor_encode(offset + limit) if offset + limit < len(items) else ""
    return items[offset: offset + limit], nxt


class GatewayState:
    def __init__(self, config: SimConfig):
        self.config = config
        self.webhook_url = config.gateway_webhook
        self.reset()

    def reset(self) -> None:
        self.visitors: list[str] = []  # sessions the meeting's activity brought in (they leave again)
        self.ticks = 0
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
        if getattr(self.config, "meeting", False):
            self.seed_meeting(app_id)

    def seed_meeting(self, app_id: str) -> None:
        """The live meeting: the MEETING_NAME room with MEETING_CALLERS joined (after the example room, which
        stays first in the listing)."""
        self.rooms[MEETING_ROOM] = Room(MEETING_ROOM, MEETING_NAME, app_id)
        for sid, caller, muted in MEETING_CALLERS:
            self.sessions[sid] = CallSession(sid, app_id, "747713000", caller, room_id=MEETING_ROOM,
                                             state="joined", muted=muted)

    # -- checks: each raises the documented refusal -----------------------------------------------------
    @staticmethod
    def authenticate(app_id: str | None, key: str | None) -> str:
        if not app_id or not key or APPS.get(app_id) != key:
            raise error(401, "Missing or invalid X-API-Key")
        return app_id

    def cooldown(self, group: str, key: str) -> None:
        """429 while the (group, key) cooldown runs; otherwise start it."""
        window = COOLDOWNS[group] * self.config.cooldown_scale
        now = time.monotonic()
        if self.throttle:  # injected by /_sim/throttle: answer 429 regardless of the clock
            self.throttle -= 1
            raise error(429, f"Rate limit exceeded ({group} cooldown)",
                        headers={"Retry-After": str(self.throttle_after)})
        until = self.cooldowns.get((group, key), 0)
        if now < until:
            left = until - now
            shown = str(math.ceil(left)) if self.config.cooldown_scale >= 1 else f"{left:.3f}"
            raise error(429, f"Rate limit exceeded ({group} cooldown)", headers={"Retry-After": shown})
        self.cooldowns[(group, key)] = now + window

    def room_for(self, app_id: str, room_id: str) -> Room:
        if not ROOM_RE.fullmatch(room_id):
            raise error(400, "Invalid room_id format")
        room = self.rooms.get(room_id)
        if room is None:
            raise error(404, "Conference not found")
        if room.app_id != app_id:
            raise error(403, "Conference belongs to a different application")
        return room

    def session_for(self, app_id: str, sid: str) -> CallSession:
        sess = self.sessions.get(sid)
        if sess is None:
            raise error(404, "Session not found")
        if sess.app_id != app_id:
            raise error(403, "Session belongs to a different application")
        return sess

    # -- webhooks and timers ----------------------------------------------------------------------------
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

        self._spawn(deliver())

    def later(self, delay: float, fn) -> None:
        async def run():
            await asyncio.sleep(delay)
            fn()

        self._spawn(run())

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)  # held so the loop does not drop it half-way
        task.add_done_callback(self.tasks.discard)

    # -- rooms ------------------------------------------------------------------------------------------
    def members_of(self, room_id: str) -> list[CallSession]:
        return [s for s in self.sessions.values() if s.room_id == room_id and s.state == "joined"]

    def own_rooms(self, app_id: str) -> list[Room]:
        return sorted((r for r in self.rooms.values() if r.app_id == app_id), key=lambda r: (r.created, r.room_id))

    def create_room(self, app_id: str, name) -> Room:
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise error(400, "Invalid name: alphanumeric, hyphens, underscores only; must start with "
                             "alphanumeric; max 64 chars")
        for room in self.rooms.values():
            if room.app_id == app_id and room.name == name:
                raise error(409, "Conference name already taken for this application", detail={"room_id": room.room_id})
        room = Room(f"{_prefix()}-room-{uuid.uuid4()}", name, app_id)
        self.rooms[room.room_id] = room
        self.emit(app_id, "conference.created", {"room_id": room.room_id, "name": name})
        return room

    def delete_room(self, app_id: str, room: Room) -> None:
        for sess in self.sessions.values():
            if sess.room_id == room.room_id:
                sess.room_id, sess.state, sess.muted = None, "idle", True
        del self.rooms[room.room_id]
        self.emit(app_id, "conference.destroyed", {"room_id": room.room_id})

    def play(self, app_id: str, room: Room, urls) -> dict:
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise error(400, "urls must be a non-empty array of strings")
        if len(urls) > 128:
            raise error(400, "Too many urls: max 128 files")
        if not all(re.match(r"https?://[^/\s]+", u) for u in urls):
            raise error(400, "urls must be HTTP/HTTPS URLs")
        self.cooldown("conf_play", room.room_id)
        op = str(uuid.uuid4())
        room.playback_status, room.playback_urls, room.playback_operation_id = "playing", urls, op
        self.emit(app_id, "conference.play.started", {"room_id": room.room_id, "urls": urls, "operation_id": op})

        def finished():
            if room.playback_operation_id == op and room.playback_status != "stopped":
                room.playback_status = "stopped"
                self.emit(app_id, "conference.play.finished", {"room_id": room.room_id, "operation_id": op})

        self.later(self.config.playback_seconds, finished)
        return {"operation_id": op, "status": "in_progress"}

    @staticmethod
    def check_volume(volume) -> int:
        if not isinstance(volume, int) or isinstance(volume, bool) or not -50 <= volume <= 7:
            raise error(400, "Invalid volume: integer in range -50 to 7")
        return volume

    def control(self, app_id: str, room: Room, action: str, volume: int | None = None) -> dict:
        """pause (toggles), stop or volume of the room's playback."""
        self.cooldown("conference_control", room.room_id)
        op = room.playback_operation_id
        if action == "pause":
            room.playback_status = {"playing": "paused", "paused": "playing"}.get(room.playback_status,
                                                                                  room.playback_status)
            self.emit(app_id, "conference.play.paused", {"room_id": room.room_id, "operation_id": op})
            return {"room_id": room.room_id, "playback_status": room.playback_status}
        if action == "stop":
            room.playback_status = "stopped"
            self.emit(app_id, "conference.play.stopped", {"room_id": room.room_id, "operation_id": op})
            return {"room_id": room.room_id, "playback_status": "stopped"}
        room.playback_volume = volume
        self.emit(app_id, "conference.play.volume_changed",
                  {"room_id": room.room_id, "volume": volume, "operation_id": op})
        return {"room_id": room.room_id, "volume": volume}

    # -- session commands: each returns (status, body) --------------------------------------------------
    def command(self, app_id: str, sess: CallSession, action: str, body: dict) -> tuple[int, dict]:
        uid = body.get("command_uid")
        if uid is not None and uid in sess.commands:  # a retried command: same answer, no second effect
            return sess.commands[uid]
        if action not in COMMANDS:
            raise error(404, "Unknown conference command")
        if action == "join":
            answer = self.join(app_id, sess, body.get("room_id"))
        elif action == "leave":
            answer = self.leave(app_id, sess)
        else:
            answer = self.set_mute(app_id, sess, action == "mute")
        if uid is not None and answer[0] < 300:
            sess.commands[uid] = answer
        return answer

    def join(self, app_id: str, sess: CallSession, room_id) -> tuple[int, dict]:
        if not isinstance(room_id, str) or not ROOM_RE.fullmatch(room_id):
            raise error(400, "Invalid room_id format: expected {5-char-prefix}-room-{uuid}")
        self.room_for(app_id, room_id)
        if sess.room_id == room_id:
            return 200, {"status": "already_joined", "room_id": room_id}
        if sess.room_id is not None:
            raise error(409, "Session is already in a different conference room. Use conference/leave first.")
        self.cooldown("conference", sess.uuid)
        sess.room_id, sess.state, sess.muted = room_id, "joining", True

        def joined():
            if sess.room_id == room_id and sess.state == "joining":
                sess.state = "joined"
                self.emit(app_id, "conference.member.joined",
                          {"room_id": room_id, "uuid": sess.uuid, "did": sess.did, "muted": True})

        self.later(self.config.deferred_delay, joined)
        return 202, {"status": "joining", "room_id": room_id}

    def leave(self, app_id: str, sess: CallSession) -> tuple[int, dict]:
        if sess.room_id is None:
            raise error(404, "Session is not in a conference")
        if sess.state == "joining":
            raise error(409, "Session is still joining (no member_id yet)")
        self.cooldown("conference", sess.uuid)
        room_id = sess.room_id
        sess.room_id, sess.state, sess.muted = None, "idle", True
        self.emit(app_id, "conference.member.left", {"room_id": room_id, "uuid": sess.uuid},
                  delay=self.config.deferred_delay)
        return 202, {"status": "leaving", "room_id": room_id}

    def set_mute(self, app_id: str, sess: CallSession, muted: bool) -> tuple[int, dict]:
        word = "muted" if muted else "unmuted"
        if sess.room_id is None:
            raise error(404, "Session is not in a conference")
        if sess.state == "joining":
            raise error(409, "Session is still joining")
        if sess.muted == muted:
            raise error(409, f"Member is already {word}")
        self.cooldown("conference_mute", sess.uuid)
        sess.muted = muted
        self.emit(app_id, f"conference.member.{word}", {"room_id": sess.room_id, "uuid": sess.uuid},
                  delay=self.config.deferred_delay)
        return 202, {"status": word, "room_id": sess.room_id}

    def activity(self) -> None:
        """One beat of the live meeting (`--activity`): a caller joins the meeting room, or the one who came
        first leaves; the webhooks fire as for a real join/leave. Seeded callers are left alone."""
        room = self.rooms.get(MEETING_ROOM)
        if room is None:
            return
        self.ticks += 1
        if len(self.visitors) < 2 and self.ticks % 3:
            sid = f"visit-{uuid.uuid4()}"
            sess = CallSession(sid, room.app_id, "747713000", f"+1555020{len(self.sessions) % 1000:04d}",
                               room_id=room.room_id, state="joined")
            self.sessions[sid] = sess
            self.visitors.append(sid)
            self.emit(room.app_id, "conference.member.joined",
                      {"room_id": room.room_id, "uuid": sid, "did": sess.did, "muted": True})
        elif self.visitors:
            sess = self.sessions.get(self.visitors.pop(0))
            if sess is not None and sess.room_id == room.room_id:
                sess.room_id, sess.state = None, "idle"
                self.emit(room.app_id, "conference.member.left", {"room_id": room.room_id, "uuid": sess.uuid})

    # -- what the /_sim controls do ---------------------------------------------------------------------
    def make_sessions(self, app_id: str, count: int, room_id: str | None) -> list[str]:
        made = []
        for _ in range(count):
            sess = CallSession(f"{_prefix()}-{uuid.uuid4()}", app_id, str(random.randint(10**8, 10**9 - 1)),
                               str(random.randint(10**8, 10**9 - 1)))
            if room_id in self.rooms:  # already a joined, muted member (for tests and demos)
                sess.room_id, sess.state = room_id, "joined"
            self.sessions[sess.uuid] = sess
            made.append(sess.uuid)
        return made

    def seed_rooms(self, app_id: str, prefix: str, count: int) -> list[str]:
        made = []
        for i in range(count):
            rid = f"{_prefix(string.ascii_letters)}-room-{uuid.uuid4()}"
            self.rooms[rid] = Room(rid, f"{prefix}-{i:04d}", app_id, created=time.time() + i * 1e-6)
            made.append(rid)
        return made
