"""Pexip behaviour beyond a plain request: token commands, messages, dial --wait, breakouts, FECC, events."""

from __future__ import annotations

import base64
import json
import queue
import time

from confctl.core import output
from confctl.core.errors import ApiError, ValidationError

from .answers import unwrap
from .token import SSORedirect

DIAL_WAIT = 30.0  # Pexip gives up on an unanswered dial-out after 30 s


# -- validation that spans several options: each endpoint's `check`, run by the core before any request ---
def check_message(call) -> None:
    v = call.values
    if (v.get("payload") is None) == (v.get("json_payload") is None):
        raise ValidationError("TEXT", "give either the message text or --json PAYLOAD (not both)")


def check_layout(call) -> None:
    transforms = (call.body or {}).get("transforms")
    if not transforms:
        raise ValidationError("--layout", "give at least one layout option (or --data)")
    if "guest_layout" in transforms and "host_layout" not in transforms and "layout" not in transforms:
        output.note("guest_layout only applies to a Virtual Auditorium (a VMR answers 400)")


def check_fecc(call) -> None:
    v = call.values
    moves = [a for a in ("pan", "tilt", "zoom") if v.get(a)]
    if v.get("action") in ("start", "continue") and not moves:
        raise ValidationError("--pan/--tilt/--zoom", f"'{v.get('action')}' needs at least one movement")


def check_dial(call) -> None:
    v = call.values
    if v.get("presentation_url") and v.get("protocol") != "rtmp":
        raise ValidationError("--presentation-url", "only applies to RTMP calls (--protocol rtmp)")


def _send(call):
    return call.provider.result(call, call.send())


# -- token commands -----------------------------------------------------------------------------------
def _public(entry: dict) -> dict:
    """A token entry without the token (never printed)."""
    return {k: v for k, v in entry.items() if k not in ("token", "holders", "obtained", "keep")}


def token_request(call):
    lease = call.session.lease(call.path_values["alias"])
    body = call.body or {}
    if body.get("display_name"):
        lease.display_name = body["display_name"]
    if body.get("call_tag"):
        lease.call_tag = body["call_tag"]
    for key in ("direct_media", "chosen_idp", "sso_token", "conference_extension"):
        if body.get(key) is not None:
            lease.extra[key] = body[key]
    existing = lease.peek()
    try:
        entry = lease.acquire(keep=True)
    except SSORedirect as sso:
        output.note("open the sign-in URL; then run `confctl pexip token request --sso-token-file FILE` with "
                    "the token it gives you")
        return {"redirect_url": sso.result.get("redirect_url"), "redirect_idp": sso.result.get("redirect_idp")}
    reused = bool(existing and existing.get("participant_uuid") == entry.get("participant_uuid"))
    output.note(("reusing the cached token" if reused else "token cached") +
                f" (mode 0600, {lease.path}); later commands reuse and refresh it; it lapses after "
                f"{entry.get('expires')} s without one; `confctl pexip token release` ends it")
    return {**_public(entry), "kept": True, "reused": reused}


def token_refresh(call):
    lease = call.session.lease(call.path_values["alias"])
    lease.acquire()
    entry = lease.refresh_now()
    return {**_public(entry), "refreshed": True}


def token_release(call):
    lease = call.session.lease(call.path_values["alias"])
    if lease.peek() is None:
        lease.acquire()  # nothing cached: request one, so there is a token to release (a credentials check)
        output.note("no cached token; requested one and released it")
    released = lease.release(force=True)
    if released is None:
        output.note("the cached token is in use by another confctl process; it is released when that ends")
        return None
    return {"released": True, "participant_uuid": released.get("participant_uuid"),
            "display_name": released.get("display_name")}


# -- messages, layout, ducking ------------------------------------------------------------------------
def message(call):
    body = call.body if call.body is not None else {}
    payload = call.values.get("json_payload")
    if payload is not None:
        body["type"], body["payload"] = "application/json", json.dumps(payload, separators=(",", ":"))
    else:
        body["type"] = "text/plain"
    body.pop("json_payload", None)
    call.body = body
    return _send(call)


def transform_layout(call):
    return _send(call)


def audio_mixes(call):
    call.body = call.body if call.body is not None else {}
    call.body.setdefault("mixes", call.values.get("mixes") or [])
    return _send(call)


def fecc(call):
    v = call.values
    moves = [{"axis": axis, "direction": v[axis]} for axis in ("pan", "tilt", "zoom") if v.get(axis)]
    call.body = {**(call.body or {}), "movement": moves}
    if call.endpoint.id == "pexip.participant.fecc":
        # The doc: FECC goes "to a specific participant identified by the target UUID".
        call.body["target"] = call.path_values["participant"]
    return _send(call)


def attestation(call):
    jwt = _send(call)
    claims = None
    if isinstance(jwt, str) and jwt.count(".") == 2:
        try:
            part = jwt.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except ValueError:
            claims = None
    return {"jwt": jwt, "claims": claims, "verify_with": "confctl pexip node jwk"}


# -- dial-out -----------------------------------------------------------------------------------------
def _participants(call, uuids: list[str]) -> list[dict]:
    base = call.path[: call.path.rindex("/dial")]
    people = unwrap(call.session.request("GET", base + "/participants").json(), "participants") or []
    found = [p for p in people if p.get("uuid") in uuids]
    return found or [{"uuid": u, "service_type": "connecting"} for u in uuids]


def dial(call):
    """Returns the new participant(s); with --wait, follows events until one connects or all fail."""
    if not call.values.get("wait"):
        uuids = call.provider.result(call, call.send()) or []
        return _participants(call, uuids)
    from .events import listen

    alias = call.path_values["alias"]
    if call.values.get("breakout"):
        raise ValidationError("--wait", "cannot follow a dial-out inside a breakout room; drop --wait")
    events, stop = listen(call.session, alias)
    try:
        uuids = call.provider.result(call, call.send()) or []
        pending = set(uuids)
        output.note(f"dialling {call.values.get('destination')}: waiting up to {DIAL_WAIT:g} s for an answer")
        deadline = time.monotonic() + DIAL_WAIT + 5
        latest: dict = {}
        while pending and time.monotonic() < deadline:
            try:
                env = events.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(env, BaseException):
                raise env
            data = env.get("data") if isinstance(env.get("data"), dict) else {}
            uid = data.get("uuid")
            if uid not in pending:
                continue
            if env["type"] in ("participant_create", "participant_update"):
                latest[uid] = data
                if data.get("service_type") not in (None, "connecting"):
                    output.note(f"{data.get('display_name') or call.values.get('destination')} answered")
                    return data
            elif env["type"] == "participant_delete":
                pending.discard(uid)
        if pending:
            raise ApiError(f"no answer from {call.values.get('destination')} within {DIAL_WAIT:g} s",
                           detail={"participants": sorted(pending)})
        raise ApiError(f"the call to {call.values.get('destination')} was rejected or failed",
                       detail={"participants": uuids})
    finally:
        stop.set()


# -- breakouts ----------------------------------------------------------------------------------------
def breakout_create(call):
    body = call.body if call.body is not None else {}
    people = call.values.get("participants")
    if people:
        # {"main": [...], "<breakout uuid>": [...]}: each participant listed under the room they are in now.
        where = call.locations
        rooms = dict(body.get("participants") or {})
        for uid in people:
            room = where.get(uid, "main")
            rooms[room] = list(dict.fromkeys([*rooms.get(room, []), uid]))
        body["participants"] = rooms
    call.body = body
    result = call.provider.result(call, call.send())
    if isinstance(result, dict) and result.get("breakout_uuid"):
        output.note(f"breakout room {call.values.get('name')!r}: {result['breakout_uuid']}")
    return result


def breakout_move(call):
    call.body = call.body if call.body is not None else {}
    call.body["participants"] = list(call.values.get("participants") or [])
    return _send(call)


# -- events of one conference (the inventory's GET /events row) -----------------------------------------
def events(call):
    from confctl.core.events import runner
    from confctl.core.events.printer import Printer

    from confctl.core.vendor import FollowOptions

    from .events import follow_session

    v = call.values
    fmt = output.fmt()
    printer = Printer("jsonl" if fmt in ("json", "jsonl") else "table", v.get("types"))
    alias = call.path_values["alias"]

    def source(stop):
        options = FollowOptions(conference=(alias,), stop=stop, values={"save_frames": v.get("save_frames")})
        return follow_session(call.session, [alias], options, call.profile.name)

    runner.run([(f"pexip/{alias}", source)], printer, count=v.get("count"), timeout=v.get("timeout"),
               until=v.get("until"))
    return None

