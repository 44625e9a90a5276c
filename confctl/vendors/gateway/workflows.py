"""Gateway behaviour beyond a plain request: idempotent create, session command wording, webhooks."""

from __future__ import annotations

import uuid

from confctl.core import output
from confctl.core.errors import ConflictError, NotFoundError


def create_room(call):
    """409 carries the existing room id: with --reuse that is success (cron jobs stay idempotent)."""
    reuse = call.values.get("reuse")
    if call.body is not None:
        call.body.pop("reuse", None)
    try:
        return call.provider.result(call, call.send())
    except ConflictError as exc:
        existing = ((exc.detail or {}).get("detail") or {}).get("room_id") if isinstance(exc.detail, dict) else None
        name = call.values.get("name")
        if reuse and existing:
            output.note(f"room {name!r} already exists; reusing {existing}")
            return {"room_id": existing, "name": name, "reused": True}
        raise ConflictError(f"a room named {name!r} already exists" + (f": {existing}" if existing else ""),
                            hint="pass --reuse to get the existing room id with exit 0", status=409,
                            detail=exc.detail) from None


_VERB = {"join": "joining", "leave": "leaving", "mute": "muting", "unmute": "unmuting"}
_CONFLICT = {
    "join": "is already in a different conference room; run `confctl gateway session leave {uuid}` first",
    "leave": "is still joining (no member yet); try again in a moment",
    # "already muted/unmuted" is success (the endpoint's `already` rule); what is left is "still joining".
    "mute": "is still joining (no member yet); try again in a moment",
    "unmute": "is still joining (no member yet); try again in a moment",
}


def session_command(call):
    """Send with a command_uid (reused on retry) and report 202 / 200 / 404 / 409 in words."""
    action = call.endpoint.command_path[-1]
    sid = call.values["uuid"]
    if call.body is None:
        call.body = {}
    call.body.setdefault("command_uid", str(uuid.uuid4()))
    try:
        response = call.send()
    except ConflictError as exc:
        raise ConflictError(f"session {sid} {_CONFLICT[action].format(uuid=sid)} ({exc.message})", status=409,
                            detail=exc.detail) from None
    except NotFoundError as exc:
        what = "was not found, or is not in any conference" if action != "join" else \
            "or the room was not found"
        raise NotFoundError(f"session {sid} {what}", status=404, detail=exc.detail) from None
    body = call.provider.result(call, response) or {}
    room = body.get("room_id", "?") if isinstance(body, dict) else "?"
    if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "already_joined":
        output.note(f"session {sid} is already in room {room}; nothing to do")
    elif response.status_code == 202:
        output.note(f"session {sid}: {_VERB[action]} (room {room}); "
                    f"the gateway confirms with a conference.member.* webhook")
    if isinstance(body, dict):
        body = {"uuid": sid, "http_status": response.status_code, **body}
    return body
