"""Participants by name: a display name, a full UUID, a unique UUID prefix, or `self` all work."""

from __future__ import annotations

from confctl.errors import NotFoundError, UsageError

from .rules import UUID_RE
from .token import conference_path


def roster(call, breakout: str | None = None) -> list[dict]:
    """The participant list of the call's conference (or breakout room), fetched once per command."""
    from . import unwrap

    alias = call.path_values["alias"]
    key = (alias, breakout)
    if key not in call.session.rosters:
        path = conference_path(alias) + (f"/breakouts/{breakout}" if breakout else "") + "/participants"
        call.session.rosters[key] = unwrap(call.session.request("GET", path).json(), "participants") or []
    return call.session.rosters[key]


def resolve(call, value):
    if isinstance(value, (list, tuple)):
        return [resolve_one(call, v) for v in value]
    return resolve_one(call, value)


def resolve_mix(call, value: str) -> str:
    """main.!<participant>: a display name or UUID prefix becomes the participant's UUID."""
    who = value[len("main.!"):] if value.startswith("main.!") else None
    if who is None or who == "personal" or UUID_RE.fullmatch(who):
        return value
    return "main.!" + resolve_one(call, who)


def resolve_one(call, value: str) -> str:
    from .workflows import precheck

    precheck(call)  # cross-field validation happens before the first request
    alias = call.path_values["alias"]
    if value == "self":
        return call.session.lease(alias).participant_uuid
    if UUID_RE.fullmatch(value):
        return value.lower()
    breakout = call.values.get("breakout")
    people = roster(call, breakout)
    where = f"{alias}" + (f" (breakout {breakout})" if breakout else "")
    exact = [p for p in people if p.get("display_name") == value]
    if not exact:
        exact = [p for p in people if str(p.get("display_name", "")).casefold() == value.casefold()]
    prefix = [p for p in people if str(p.get("uuid", "")).lower().startswith(value.lower())] if len(value) >= 4 else []
    matches = {p["uuid"]: p for p in exact + prefix}
    if len(matches) == 1:
        return next(iter(matches))
    if matches:
        listing = "; ".join(f"{u}  {p.get('display_name')!s}" for u, p in matches.items())
        raise UsageError(f"participant {value!r} is ambiguous in {where}: {len(matches)} match: {listing}",
                         hint="use the UUID (or a longer UUID prefix)",
                         detail={"candidates": [{"uuid": u, "display_name": p.get("display_name")}
                                                for u, p in matches.items()]})
    names = ", ".join(sorted({str(p.get("display_name")) for p in people})[:20]) or "nobody"
    raise NotFoundError(f"no participant matches {value!r} in {where}", hint=f"present: {names}")
