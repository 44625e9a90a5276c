"""Participants and breakout rooms by name: a display name, a full UUID, a unique UUID prefix, or `self`.

A participant is looked for in the main room first (one GET of its roster), then in every breakout room: a
participant found there is addressed under /breakouts/{uuid}/ without the user spelling `--breakout`. The REST
API has no request that lists breakout rooms; a Host learns them from the event stream, which starts with the
whole state (the main roster, then `breakout_begin` and each room's roster as `breakout_event`s). `snapshot`
reads that opening burst and closes the stream. A full UUID found nowhere is sent as given, to the main room
(so an example sends its request to any node; the node answers 404 when the UUID is unknown).

Every look-up is read-only and is sent under --dry-run too, so the printed request carries the real ids.
"""

from __future__ import annotations

import queue
import threading
import time

from confctl.core.errors import NotFoundError, UsageError

from .answers import SELF_MARK, unwrap
from .rules import UUID_RE
from .token import conference_path

MAIN = "main"
QUIET = 0.3  # the opening burst is over when the stream has been quiet this long after the last roster
BURST_LIMIT = 10.0  # never read the opening burst longer than this


def _unwrap(response, what):
    return unwrap(response.json(), what)


def roster(call, breakout: str | None = None) -> list[dict]:
    """The participant list of the call's conference (or one breakout room), fetched once per command."""
    alias = call.path_values["alias"]
    key = (alias, breakout)
    if key not in call.session.rosters:
        path = conference_path(alias) + (f"/breakouts/{breakout}" if breakout else "") + "/participants"
        call.session.rosters[key] = _unwrap(call.session.lookup("GET", path), "participants") or []
    return call.session.rosters[key]


def rooms(session, alias: str) -> dict[str, dict]:
    """Every room of the conference: {"main" | breakout uuid: {"uuid", "name", "participants": [...]}}, once
    per command (cached on the session)."""
    key = (alias, "*")
    if key not in session.rosters:
        session.rosters[key] = snapshot(session, alias)
    return session.rosters[key]


def snapshot(session, alias: str, *, quiet: float = QUIET, limit: float = BURST_LIMIT) -> dict[str, dict]:
    """Read the opening burst of the event stream: the roster of the main room and of each breakout room."""
    from .events import _data, _reader, open_stream

    found: dict[str, dict] = {MAIN: {"uuid": MAIN, "name": None, "participants": {}}}
    response = open_stream(session, alias)
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_reader, args=(response, q, stop), daemon=True, name=f"pexip-roster-{alias}").start()
    syncing: set[str] = set()
    main_done = False
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            settled = main_done and not syncing
            try:
                kind, sse = q.get(timeout=quiet if settled else 0.5)
            except queue.Empty:
                if settled:
                    break
                continue
            if kind == "eof":
                break
            etype, data, room = sse.event, _data(sse.data), MAIN
            if etype == "breakout_event" and isinstance(data, dict):
                room, etype, data = data.get("breakout_uuid") or MAIN, data.get("event"), data.get("data")
            if etype == "breakout_begin" and isinstance(data, dict) and data.get("breakout_uuid"):
                uid = data["breakout_uuid"]
                found.setdefault(uid, {"uuid": uid, "name": None, "participants": {}})
                continue
            if etype == "breakout_end" and isinstance(data, dict):
                found.pop(data.get("breakout_uuid"), None)
                continue
            entry = found.setdefault(room, {"uuid": room, "name": None, "participants": {}})
            if etype == "participant_sync_begin":
                syncing.add(room)
                entry["participants"] = {}
            elif etype == "participant_sync_end":
                syncing.discard(room)
                main_done = main_done or room == MAIN
            elif etype in ("participant_create", "participant_update") and isinstance(data, dict):
                entry["participants"][data.get("uuid")] = data
            elif etype == "participant_delete" and isinstance(data, dict):
                entry["participants"].pop(data.get("uuid"), None)
            elif etype == "conference_update" and isinstance(data, dict) and data.get("breakout_name"):
                entry["name"] = data["breakout_name"]
    finally:
        stop.set()
        response.close()
    for entry in found.values():
        entry["participants"] = list(entry["participants"].values())
    return found


def room_name(session, alias: str, room: dict) -> str | None:
    """A breakout room's name: from the stream, else from its conference_status."""
    if room["name"] is None and room["uuid"] != MAIN:
        path = f"{conference_path(alias)}/breakouts/{room['uuid']}/conference_status"
        try:
            status = _unwrap(session.lookup("GET", path), "conference_status") or {}
        except NotFoundError:
            status = {}
        room["name"] = (status.get("breakout_name") if isinstance(status, dict) else None) or ""
    return room["name"] or None


def short(room: str) -> str:
    return MAIN if room == MAIN else room[:8]


# -- breakout rooms ---------------------------------------------------------------------------------------
def resolve_room(call, value):
    """--breakout / --from / BREAKOUT: a UUID, the short id the roster shows, or the room's name."""
    if value is None:
        return None
    value = str(value)
    if value.lower() == MAIN:
        return None  # the main room is the conference itself
    if UUID_RE.fullmatch(value):
        return value.lower()
    cache = call.session.rosters.setdefault(("rooms-resolved",), {})
    key = (call.path_values["alias"], value)
    if key not in cache:
        cache[key] = _find_room(call, value)
    return cache[key]


def resolve_target(call, value):
    """--to of `breakout move`: "main", "previous", or a breakout room."""
    if value in ("main", "previous"):
        return value
    return resolve_room(call, value) or "main"


def _find_room(call, value: str) -> str:
    alias = call.path_values["alias"]
    session = call.session
    breakouts = [r for u, r in rooms(session, alias).items() if u != MAIN]
    by_prefix = [r for r in breakouts if r["uuid"].lower().startswith(value.lower())]
    by_name = [r for r in breakouts if room_name(session, alias, r) == value]
    if not by_name:
        by_name = [r for r in breakouts if (room_name(session, alias, r) or "").casefold() == value.casefold()]
    matches = {r["uuid"]: r for r in by_name + by_prefix}
    if len(matches) == 1:
        return next(iter(matches))
    if matches:
        listing = "; ".join(f"{short(u)}  {r['name'] or ''}".rstrip() for u, r in matches.items())
        raise UsageError(f"breakout room {value!r} is ambiguous in {alias}: {listing}",
                         hint="use the room's UUID (or a longer prefix)")
    listing = ", ".join(f"{r['name'] or '(no name)'} ({short(r['uuid'])})" for r in breakouts) or "none"
    raise NotFoundError(f"no breakout room matches {value!r} in {alias}", hint=f"breakout rooms: {listing}")


# -- participants -----------------------------------------------------------------------------------------
def resolve(call, value):
    if isinstance(value, (list, tuple)):
        return [resolve_one(call, v) for v in value]
    return resolve_one(call, value)


def resolve_mix(call, value: str) -> str:
    """main.!<participant>: a display name or UUID prefix becomes the participant's UUID."""
    who = value[len("main.!"):] if value.startswith("main.!") else None
    if who is None or who == "personal" or UUID_RE.fullmatch(who):
        return value
    return "main.!" + resolve_one(call, who, search_breakouts=False)


def _matches(people: list[dict], value: str) -> dict[str, dict]:
    exact = [p for p in people if p.get("display_name") == value]
    if not exact:
        exact = [p for p in people if str(p.get("display_name", "")).casefold() == value.casefold()]
    if UUID_RE.fullmatch(value):
        exact = [p for p in people if str(p.get("uuid", "")).lower() == value.lower()]
        return {p["uuid"]: p for p in exact}
    prefix = [p for p in people if str(p.get("uuid", "")).lower().startswith(value.lower())] if len(value) >= 4 else []
    return {p["uuid"]: p for p in exact + prefix}


def _ambiguous(value: str, where: str, matches: dict) -> UsageError:
    listing = "; ".join(f"{u}  {p.get('display_name')!s}" for u, (p, _room) in matches.items())
    return UsageError(f"participant {value!r} is ambiguous in {where}: {len(matches)} match: {listing}",
                      hint="use the UUID (or a longer UUID prefix)",
                      detail={"candidates": [{"uuid": u, "display_name": p.get("display_name"), "room": room}
                                             for u, (p, room) in matches.items()]})


def scoped(call) -> bool:
    """Does this command address a participant under /breakouts/{uuid}/ when they are in a breakout room?"""
    from .endpoints import BREAKOUT_SCOPED

    return call.endpoint.id.startswith(BREAKOUT_SCOPED)


def resolve_one(call, value: str, *, search_breakouts: bool | None = None) -> str:
    alias = call.path_values["alias"]
    if value == "self":
        from confctl.core.state import state

        if state.dry_run:  # printed as $CONFCTL_PEXIP_SELF, filled by the setup lines with the token
            return SELF_MARK
        return call.session.lease(alias).participant_uuid
    explicit = resolve_room(call, call.values.get("breakout"))
    if call.values.get("breakout") is not None and "breakout" in call.values:
        call.values["breakout"] = explicit
    if explicit:  # the user named the room: look there only
        where = f"{alias} (breakout {short(explicit)})"
        if UUID_RE.fullmatch(value):
            return value.lower()
        found = {u: (p, explicit) for u, p in _matches(roster(call, explicit), value).items()}
        return _one(value, where, found, roster(call, explicit))
    found = {u: (p, MAIN) for u, p in _matches(roster(call, None), value).items()}
    if found:
        return _one(value, alias, found, [])
    if search_breakouts is None:
        search_breakouts = scoped(call) or call.endpoint.id == "pexip.breakout.create"
    everyone: list[dict] = list(roster(call, None))
    if search_breakouts:
        for uid, room in rooms(call.session, alias).items():
            if uid == MAIN:
                continue
            everyone += room["participants"]
            found.update({u: (p, uid) for u, p in _matches(room["participants"], value).items()})
    if not found and UUID_RE.fullmatch(value):
        return value.lower()  # in no roster we can see: send it as given, the node decides
    uuid = _one(value, f"{alias} (all rooms)" if search_breakouts else alias, found, everyone)
    room = found[uuid][1]
    call.locations[uuid] = room
    if room != MAIN and scoped(call):
        if call.values.get("breakout") not in (None, room):
            raise UsageError(f"participant {value!r} is in breakout room {short(room)}, not the one given")
        call.values["breakout"] = room  # the request goes to that room, as `--breakout` would send it
    return uuid


def _control(p: dict) -> bool:
    """confctl's own API participant (its token), not a person in the meeting."""
    return p.get("protocol") == "api" and not p.get("has_media") and p.get("call_tag") == "confctl"


def _one(value: str, where: str, found: dict, people: list[dict]) -> str:
    if len(found) == 1:
        return next(iter(found))
    if found:
        raise _ambiguous(value, where, found)
    names = ", ".join(sorted({str(p.get("display_name")) for p in people if not _control(p)})[:20]) or "nobody"
    raise NotFoundError(f"no participant matches {value!r} in {where}", hint=f"present: {names}")
