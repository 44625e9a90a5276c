"""The telephony gateway onto the common model (docs/model.md): a conference is a room (GET conferences), its
participants are the room's members (call sessions, GET conferences/{room_id}/members).

The gateway reports changes only through webhooks, which reach confctl only while `events follow --listen`
runs a receiver, so the live model polls snapshots. When webhook envelopes do arrive, `apply()` folds them in
too (a member joined, left, was muted...), so the view does not wait for the next poll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.vendor_model import VendorModel

if TYPE_CHECKING:  # pragma: no cover
    from confctl.core.fleet.connection import Connection
    from confctl.core.fleet.live import Live

VENDOR = "gateway"
ROOM_PAGE, MEMBER_PAGE = 200, 1000  # the documented page-size caps: fewest requests per poll


def room(profile: str, record: dict) -> Conference:
    members = record.get("members")
    return Conference(vendor=VENDOR, profile=profile, id=record.get("room_id"), name=record.get("name") or None,
                      participants=members if isinstance(members, int) else None, raw=record)


def member(profile: str, room_id: str, record: dict, joined_at: str | None = None) -> Participant:
    muted = record.get("muted")
    return Participant(vendor=VENDOR, profile=profile, conference=room_id, id=record.get("uuid"),
                       name=record.get("caller_id") or None,
                       muted_audio=muted if isinstance(muted, bool) else None,
                       joined_at=joined_at, raw=record)


def _pages(conn: "Connection", endpoint: str, items: str, values: dict) -> list[dict]:
    """Every item of a cursor-paginated listing (the cursor passed back unchanged until it is empty)."""
    out: list[dict] = []
    cursor = None
    while True:
        body = conn.call(endpoint, {**values, **({"cursor": cursor} if cursor else {})}) or {}
        out += [i for i in body.get(items) or [] if isinstance(i, dict)]
        cursor = body.get("cursor")
        if not cursor:
            return out


class GatewayModel(VendorModel):
    streams = False  # webhooks only: polled
    # Reads have no documented cooldown (the 2 s / 200 ms cooldowns are per command group); one snapshot is
    # one room listing plus one member listing per room, so once a second stays light and a muted member
    # shows within a second. Errors (a 429 included) back the polling off.
    poll_interval = 1.0
    mapping = {
        "conference.id": "`room_id`",
        "conference.name": "`name`",
        "conference.locked": "null: the API has no room lock",
        "conference.participants": "the room's `members` (in a snapshot: the members just listed)",
        "conference.recording": "null: the API reports no recording state",
        "conference.streaming": "null: the API has no streaming",
        "participant.id": "the call session's `uuid`",
        "participant.name": "`caller_id` (the caller's number: the API has no display name)",
        "participant.role": "null: members have no role",
        "participant.muted_audio": "`muted`",
        "participant.muted_video": "null: telephony, audio only",
        "participant.speaking": "null: not in the API",
        "participant.hand_raised": "null: not in the API",
        "participant.presenting": "null: not in the API",
        "participant.room": "null: no breakout rooms",
        "participant.joined_at": "the `conference.member.joined` webhook's `timestamp` when one was received; null in "
                                 "polled snapshots (the member listing has no join time)",
    }

    def conferences(self, conn: "Connection") -> list[Conference]:
        return [room(conn.name, r) for r in _pages(conn, "gateway.room.list", "conferences", {"limit": ROOM_PAGE})]

    def participants(self, conn: "Connection", conference: str) -> list[Participant]:
        found = _pages(conn, "gateway.room.members", "members", {"room_id": conference, "limit": MEMBER_PAGE})
        return [member(conn.name, conference, m) for m in found]

    def snapshot(self, conn: "Connection", conferences: tuple[str, ...] = ()):
        confs, people = super().snapshot(conn, conferences)
        for conf in confs:  # the count as listed a moment ago may be stale: say what was just read
            conf.participants = sum(1 for p in people if p.conference == conf.id)
        return confs, people

    def apply(self, live: "Live", event: dict) -> None:
        etype, data = event.get("type") or "", event.get("data")
        profile, room_id = event.get("profile"), event.get("conference")
        if not isinstance(data, dict) or not room_id:
            return
        if etype == "conference.created":
            live.upsert_conference(Conference(vendor=VENDOR, profile=profile, id=room_id, name=data.get("name"),
                                              participants=0, raw=data))
        elif etype == "conference.destroyed":
            live.remove_conference(profile, room_id)
        elif etype.startswith("conference.member.") and data.get("uuid"):
            sid, what = data["uuid"], etype.rpartition(".")[2]
            known = live.participant(profile, room_id, sid)
            if what == "left":
                live.remove_participant(profile, room_id, sid)
            elif what == "joined":
                record = {**(known.raw if known is not None and isinstance(known.raw, dict) else {}), **data}
                record.pop("room_id", None)
                live.upsert_participant(member(profile, room_id, record, event.get("time")))
            elif what in ("muted", "unmuted") and known is not None:
                known.muted_audio = what == "muted"
                if isinstance(known.raw, dict):
                    known.raw["muted"] = known.muted_audio


MODEL = GatewayModel()
