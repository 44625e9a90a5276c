"""Auvious on the common model (docs/model.md).

The conferences are the organization's active ones (`conferences/active`, each with its participants) and any
named with -c. An Auvious participant is a user endpoint in the conference (`participants[]` of the Conference
record: id = the userEndpointId the API's commands take, with its userId, state, streams and metadata); a user
on two devices is two participants. Join times come from the conference's event feed (the
ConferenceJoinedEvent of each endpoint); the long-poll events are folded into the live model by apply().

What the records say about media: the streams an endpoint publishes, typed MIC, CAM, SCREEN or MIC_AND_CAM,
and nothing about muting. Publishing no MIC stream is not being muted (the person may have no microphone,
or not have published yet), and a published stream carries no on/off state — so muted audio/video are
unknown (None). A published SCREEN stream is a presentation.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.vendor_model import VendorModel

VENDOR = "auvious"
BASE = "/rtc-api/conferences"
SCREEN = "SCREEN"


def _display_name(record: dict) -> str | None:
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    name = metadata.get("displayName")
    return name if isinstance(name, str) and name else record.get("userId")


def participant_of(profile: str, conference: str, record: dict, joined_at: str | None = None) -> Participant:
    streams = [s for s in record.get("streams") or [] if isinstance(s, dict)]
    return Participant(
        vendor=VENDOR, profile=profile, conference=conference, id=str(record.get("id")),
        name=_display_name(record), role=None, muted_audio=None, muted_video=None, speaking=None,
        hand_raised=None, presenting=any(s.get("type") == SCREEN for s in streams), room=None,
        joined_at=joined_at, raw=record)


def conference_of(profile: str, record: dict) -> Conference:
    members = record.get("participants")
    return Conference(
        vendor=VENDOR, profile=profile, id=str(record.get("id")), name=None, locked=None,
        participants=len(members) if isinstance(members, list) else None, recording=None, streaming=None,
        raw={k: v for k, v in record.items() if k != "participants"})


def joined_times(events: Any) -> dict[str, str]:
    """userEndpointId -> when it (last) joined, from a conference's event feed."""
    out: dict[str, str] = {}
    for event in events if isinstance(events, list) else ():
        if isinstance(event, dict) and event.get("type") == "ConferenceJoinedEvent" and event.get("userEndpointId"):
            out[event["userEndpointId"]] = event.get("timestamp")
    return out


class AuviousModel(VendorModel):
    streams = True  # the long-poll event feed (events.py)
    stream_opens_with_state = False  # it starts from the current version: the live model reads a snapshot first
    mapping = {
        "conference.id": "`id`",
        "conference.name": "null: an Auvious conference has only an id (its metadata is free-form, kept in raw)",
        "conference.locked": "null: the API has no lock",
        "conference.participants": "how many endpoints are in `participants`",
        "conference.recording": "null: the RTC API does not record",
        "conference.streaming": "null: the RTC API has no outbound streaming",
        "participant.id": "the user endpoint id (`participants[].id`, the userEndpointId commands take; a "
                          "user on two devices is two participants)",
        "participant.name": "`metadata.displayName` where the client set one, else `userId`",
        "participant.role": "null: the API has no roles (the conference's `creatorEndpoint` is in its raw)",
        "participant.muted_audio": "null: streams have no mute state, and publishing no MIC stream is not "
                                   "being muted (no microphone, or not published yet)",
        "participant.muted_video": "null: as muted_audio, for CAM streams",
        "participant.speaking": "null: not in the API",
        "participant.hand_raised": "null: not in the API (participant metadata is free-form; raw keeps it)",
        "participant.presenting": "a SCREEN stream is published",
        "participant.room": "null: Auvious has no breakout rooms",
        "participant.joined_at": "`timestamp` of the endpoint's ConferenceJoinedEvent (the event feed)",
    }

    # -- reading --------------------------------------------------------------------------------------------
    def _get(self, conn, where: str, **params):
        """A read through the profile's session: a look-up (a verb's dry run still makes it, to find its
        target), without the table rendering the conference commands do."""
        session = conn.ensure_session()
        return session.json(session.request("GET", where, params=params or None, lookup=True))

    def _conference(self, conn, conf_id: str) -> dict:
        return self._get(conn, f"{BASE}/{quote(conf_id, safe='')}") or {}

    def _joined(self, conn, conf_id: str) -> dict[str, str]:
        # every event from the start: each endpoint's latest join is its joined_at
        return joined_times(self._get(conn, f"{BASE}/{quote(conf_id, safe='')}/events", v=0))

    def _records(self, conn, named=()) -> list[dict]:
        active = [c for c in self._get(conn, f"{BASE}/active") or [] if isinstance(c, dict) and c.get("id")]
        if not named:
            return active
        by_id = {c["id"]: c for c in active}
        return [by_id.get(c) or self._conference(conn, c) for c in dict.fromkeys(named)]

    def _people(self, conn, record: dict) -> list[Participant]:
        members = [p for p in record.get("participants") or [] if isinstance(p, dict) and p.get("id")]
        joined = self._joined(conn, record["id"]) if members else {}
        return [participant_of(conn.name, record["id"], p, joined.get(p["id"])) for p in members]

    def conferences(self, conn) -> list[Conference]:
        """The active conferences of the organization, and the profile's conference if it is not among them."""
        named = [conn.profile.get("conference")] if conn.profile.get("conference") else []
        records = self._records(conn)
        seen = {r["id"] for r in records}
        records += [self._conference(conn, c) for c in named if c not in seen]
        return [conference_of(conn.name, r) for r in records]

    def participants(self, conn, conference: str) -> list[Participant]:
        return self._people(conn, self._conference(conn, conference))

    def snapshot(self, conn, conferences=()):
        records = self._records(conn, conferences)
        people: list[Participant] = []
        for record in records:
            people += self._people(conn, record)
        return [conference_of(conn.name, r) for r in records], people

    # -- folding events -------------------------------------------------------------------------------------
    def apply(self, live, event: dict) -> None:
        etype, profile = event.get("type"), event.get("profile")
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        conf_id = event.get("conference") or data.get("conferenceId")
        endpoint = data.get("userEndpointId")
        if not conf_id:
            return
        if etype == "ConferenceJoinedEvent" and endpoint:
            record = {"id": endpoint, "userId": data.get("userId"), "state": "HEALTHY", "streams": [],
                      "metadata": data.get("metadata") or {}}
            live.upsert_participant(participant_of(profile, conf_id, record, event.get("time")))
        elif etype == "ConferenceLeftEvent" and endpoint:
            live.remove_participant(profile, conf_id, endpoint)
        elif etype in ("ConferenceStreamPublishedEvent", "ConferenceStreamUnpublishedEvent",
                       "ConferenceStreamMetadataUpdatedEvent", "ConferenceParticipantMetadataUpdatedEvent"):
            person = live.participant(profile, conf_id, endpoint) if endpoint else None
            if person is None:
                return
            record = dict(person.raw) if isinstance(person.raw, dict) else {"id": endpoint}
            streams = [s for s in record.get("streams") or [] if s.get("id") != data.get("streamId")]
            if etype == "ConferenceStreamPublishedEvent":
                streams.append({"id": data.get("streamId"), "type": data.get("streamType"),
                                "metadata": data.get("metadata") or {}})
            elif etype == "ConferenceStreamMetadataUpdatedEvent":
                old = next((s for s in record.get("streams") or [] if s.get("id") == data.get("streamId")), None)
                streams.append({**(old or {"id": data.get("streamId")}), "metadata": data.get("metadata") or {}})
            elif etype == "ConferenceParticipantMetadataUpdatedEvent":
                streams = list(record.get("streams") or [])
                record["metadata"] = data.get("metadata") or {}
            record["streams"] = streams
            live.upsert_participant(participant_of(profile, conf_id, record, person.joined_at))
        elif etype == "ConferenceEndedEvent":
            live.remove_conference(profile, conf_id)
        elif etype in ("ConferenceMetadataUpdatedEvent", "ConferenceInteractionIdSetEvent"):
            conf = live.conferences.get((profile, conf_id))
            if conf is None:
                return
            record = dict(conf.raw) if isinstance(conf.raw, dict) else {"id": conf_id}
            if etype == "ConferenceInteractionIdSetEvent":
                record["interactionId"] = data.get("interactionId")
            else:
                metadata = dict(record.get("metadata") or {})
                if data.get("operation") == "REMOVE":
                    metadata.pop(data.get("key"), None)
                else:
                    metadata[data.get("key")] = {"value": data.get("value"), "userEndpointId": endpoint,
                                                 "lastModified": event.get("time")}
                record["metadata"] = metadata
            conf.raw = record
            live.upsert_conference(conf)

    # -- verbs ----------------------------------------------------------------------------------------------
    def act(self, conn, verb, target):
        from confctl.core.errors import ApiError

        try:
            return super().act(conn, verb, target)
        except ApiError as exc:
            if verb.name != "kick" or exc.status != 400:
                raise
            # 400 also answers a conference that is gone: "already" only if it is there and the endpoint not
            record = self._conference(conn, target.conference)
            if any(p.get("id") == target.id for p in record.get("participants") or []):
                raise
            return {"already": True}


MODEL = AuviousModel()
