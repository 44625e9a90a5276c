"""Pexip onto the common model (docs/model.md): a conference is an alias (the profile's, or one named with -c);
its participants are those of every room, breakout rooms included (names.rooms reads them from the event
stream's opening burst, the only place a node lists breakout rooms).

The live model follows the event stream, which opens with the whole roster of every room, so no snapshot is
needed first. `stage` events say who is speaking; before the first one, `speaking` is None (not known).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.vendor_model import VendorModel, verb_values

if TYPE_CHECKING:  # pragma: no cover
    from confctl.core.fleet.connection import Connection
    from confctl.core.fleet.live import Live

VENDOR = "pexip"
MAIN = "main"
FRESH = 2.0  # seconds a roster read serves again (listing conferences, then resolving a name in one command)
SPEAKING_VAD = 50  # `stage` vad: 0 = not speaking, 100 = speaking (the roster's watch uses the same cut)


def _yes(value) -> bool:
    return value in (True, "YES", "yes")  # Pexip mixes "YES"/"NO" strings and booleans


def iso(unix) -> str | None:
    """A Unix timestamp (Pexip's start_time) as ISO 8601 UTC; None when absent or zero."""
    if not unix:
        return None
    try:
        stamp = datetime.fromtimestamp(float(unix), timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")


def person(profile: str, alias: str, record: dict, room: str = MAIN, room_name: str | None = None,
           speaking: bool | None = None) -> Participant:
    """One Pexip participant record (in `room`: "main" or a breakout UUID) as a common Participant. `raw` is
    the record with the room's UUID ("room") and name ("room_name") added, as `pexip participants` prints it."""
    raw = {**record, "room": room, "room_name": room_name}
    return Participant(
        vendor=VENDOR, profile=profile, conference=alias, id=record.get("uuid"),
        name=record.get("display_name") or record.get("uri") or None,
        role=record.get("role") or None,
        muted_audio=_yes(record.get("is_muted")) if "is_muted" in record else None,
        muted_video=(_yes(record.get("is_video_muted")) if "is_video_muted" in record
                     and not _yes(record.get("is_audio_only_call")) else None),  # an audio-only call has no video
        speaking=speaking,
        hand_raised=bool(record.get("buzz_time")) if "buzz_time" in record else None,
        presenting=_yes(record.get("is_presenting")) if "is_presenting" in record else None,
        room=None if room == MAIN else (room_name or room),
        joined_at=iso(record.get("start_time")),
        raw=raw,
    )


def _control(record: dict) -> bool:
    from .names import _control as control

    return control(record)


class PexipModel(VendorModel):
    streams = True
    stream_opens_with_state = True  # participant_sync_begin / create... / sync_end per room when it opens
    mapping = {
        "conference.id": "the conference alias",
        "conference.name": "`conference_name` of the token answer",
        "conference.locked": "`conference_status.locked` (`conference_update` events)",
        "conference.participants": "people in every room (breakouts included), confctl's own participants not counted",
        "conference.recording": "null: the API says only that a participant is a streaming/recording device, not which",
        "conference.streaming": "null: the API says only that a participant is a streaming/recording device, not which",
        "conference.raw": "`conference_status` (the last `conference_update` in the live model)",
        "participant.id": "`uuid`",
        "participant.name": "`display_name` (else `uri`)",
        "participant.role": "`role`: chair or guest",
        "participant.muted_audio": "`is_muted == \"YES\"`",
        "participant.muted_video": "`is_video_muted`; null for an audio-only call (`is_audio_only_call == \"YES\"`)",
        "participant.speaking": "`stage` events: `vad >= 50`; null until the first `stage` event of the room",
        "participant.hand_raised": "`buzz_time != 0`",
        "participant.presenting": "`is_presenting == \"YES\"`",
        "participant.room": "the breakout room's name (`breakout_name`; its UUID while the name is unknown); null in "
                            "the main room",
        "participant.joined_at": "`start_time` (Unix seconds) as ISO 8601 UTC",
        "participant.raw": "the participant record plus `room` (\"main\" or the breakout UUID) and `room_name`, as "
                           "`confctl pexip participants -o json` prints it",
    }

    # -- snapshots ----------------------------------------------------------------------------------------
    def aliases(self, conn: "Connection", conferences: tuple[str, ...] = ()) -> tuple[str, ...]:
        return tuple(conferences) or (conn.profile.require("conference"),)

    def conference(self, conn: "Connection", alias: str, count: int | None = None) -> Conference:
        from .names import _unwrap
        from .token import conference_path

        session = conn.ensure_session()
        status = _unwrap(session.lookup("GET", conference_path(alias) + "/conference_status"), "conference_status")
        status = status if isinstance(status, dict) else {}
        lease = session.leases.get(alias)
        name = ((lease.entry or {}).get("conference_name") if lease is not None else None) or None
        return Conference(vendor=VENDOR, profile=conn.name, id=alias, name=name,
                          locked=status.get("locked") if isinstance(status.get("locked"), bool) else None,
                          participants=count, raw=status)

    def conferences(self, conn: "Connection") -> list[Conference]:
        alias = self.aliases(conn)[0]
        return [self.conference(conn, alias, len(self.participants(conn, alias)))]

    def participants(self, conn: "Connection", conference: str) -> list[Participant]:
        from .roster import everyone

        session = conn.ensure_session()
        hit = session.rosters.get(("model", conference, "people"))  # cached beside the name look-ups' rosters
        if hit is not None and time.monotonic() - hit[0] < FRESH:
            return list(hit[1])
        _forget(session)
        people, _view = everyone(session, conference)
        found = [person(conn.name, conference, p, p.get("room") or MAIN, p.get("room_name"))
                 for p in people if not _control(p)]
        session.rosters[("model", conference, "people")] = (time.monotonic(), found)
        return list(found)

    def snapshot(self, conn: "Connection", conferences: tuple[str, ...] = ()):
        confs: list[Conference] = []
        people: list[Participant] = []
        for alias in self.aliases(conn, conferences):
            found = self.participants(conn, alias)
            confs.append(self.conference(conn, alias, len(found)))
            people += found
        return confs, people

    # -- live ---------------------------------------------------------------------------------------------
    def apply(self, live: "Live", event: dict) -> None:
        etype, data = event.get("type"), event.get("data")
        profile, alias = event.get("profile"), event.get("conference")
        room = event.get("breakout") or MAIN
        if not alias:
            return
        rooms = _rooms(live)
        if etype in ("participant_create", "participant_update") and isinstance(data, dict) and data.get("uuid"):
            if _control(data):
                return
            _ensure_conference(live, profile, alias)
            old = live.participant(profile, alias, data["uuid"])
            speaking = old.speaking if old is not None and _room_of(old) == room else None
            live.upsert_participant(person(profile, alias, data, room, _room_name(live, profile, alias, room),
                                           speaking))
        elif etype == "participant_delete" and isinstance(data, dict) and data.get("uuid"):
            old = live.participant(profile, alias, data["uuid"])
            if old is not None and _room_of(old) == room:  # a move deletes from the room it left only
                live.remove_participant(profile, alias, data["uuid"])
        elif etype == "participant_sync_begin":  # the room's whole roster follows
            for p in [p for p in live.people(profile, alias) if _room_of(p) == room]:
                live.remove_participant(profile, alias, p.id)
        elif etype == "stage" and isinstance(data, list):
            vad = {s.get("participant_uuid"): s.get("vad") or 0 for s in data if isinstance(s, dict)}
            for p in live.people(profile, alias):
                if _room_of(p) == room:
                    p.speaking = float(vad.get(p.id, 0)) >= SPEAKING_VAD
        elif etype == "conference_update" and isinstance(data, dict):
            if room == MAIN:
                conf = _ensure_conference(live, profile, alias)
                if isinstance(data.get("locked"), bool):
                    conf.locked = data["locked"]
                conf.raw = data
            elif data.get("breakout_name"):
                rooms[(profile, alias, room)] = data["breakout_name"]
                for p in live.people(profile, alias):
                    if _room_of(p) == room:
                        p.room = data["breakout_name"]
                        p.raw["room_name"] = data["breakout_name"]
        elif etype == "breakout_end" and isinstance(data, dict) and data.get("breakout_uuid"):
            gone = data["breakout_uuid"]
            rooms.pop((profile, alias, gone), None)
            for p in [p for p in live.people(profile, alias) if _room_of(p) == gone]:
                live.remove_participant(profile, alias, p.id)
        elif etype == "disconnect" and room == MAIN:  # confctl was ended there: nobody is known any more
            for p in live.people(profile, alias):
                live.remove_participant(profile, alias, p.id)
            conf = live.conferences.get((profile, alias))
            if conf is not None:
                conf.participants = None

    # -- verbs --------------------------------------------------------------------------------------------
    def act(self, conn: "Connection", verb, target) -> Any:
        values = verb_values(verb, target)
        if isinstance(target, Participant):
            raw = target.raw if isinstance(target.raw, dict) else {}
            if verb.name in ("spotlight", "unspotlight") and "spotlight" in raw:
                if bool(raw.get("spotlight")) == (verb.name == "spotlight"):
                    return {"already": True}  # spotlight is a timestamp (0: none), not a common field
            if _room_of(target) != MAIN:
                values["breakout"] = _room_of(target)  # straight to /breakouts/{uuid}/..., no room look-up
        _forget(conn.ensure_session())
        return conn.call(verb.endpoint, values)


def _room_of(p: Participant) -> str:
    """"main" or the breakout UUID the participant is in (kept in raw)."""
    return (p.raw.get("room") if isinstance(p.raw, dict) else None) or MAIN


def _rooms(live: "Live") -> dict:
    """Breakout room names this live model has seen: (profile, alias, breakout uuid) -> name."""
    rooms = getattr(live, "_pexip_rooms", None)
    if rooms is None:
        rooms = live._pexip_rooms = {}
    return rooms


def _room_name(live: "Live", profile: str, alias: str, room: str) -> str | None:
    """A breakout room's name: from its conference_update, else from someone already known in it."""
    if room == MAIN:
        return None
    name = _rooms(live).get((profile, alias, room))
    if name is None:
        name = next((p.raw.get("room_name") for p in live.people(profile, alias)
                     if _room_of(p) == room and p.raw.get("room_name")), None)
    return name


def _ensure_conference(live: "Live", profile: str, alias: str) -> Conference:
    conf = live.conferences.get((profile, alias))
    if conf is None:
        conf = Conference(vendor=VENDOR, profile=profile, id=alias)
        live.upsert_conference(conf)
    return conf


def _forget(session) -> None:
    """Rosters cached for name look-ups (and our own listing): a long-lived connection must not act on stale
    ones."""
    session.rosters.clear()


MODEL = PexipModel()
