"""Mind on the common model (docs/model.md).

Mind has no "list conferences": the conferences are the profile's and any named with -c. A conference is read
with `?detailed=true` (its participants and, for the application, its streamings, in one request). A Mind
participant exists before it joins (it is created with a token, then connects): only `online` ones are "in",
so an offline participant is left out of the roster, and one going offline leaves it (a later `online: true`
brings it back). The notifications (events.py) carry the whole new resource, so apply() maps it again.

What the API says about media (the participant session): `media` / `secondaryMedia` say whether the
participant sends audio / video on its primary and secondary media, and the doc says the primary media appears
in the conference only for a moderator, presenter or speaker, the secondary only for a moderator or presenter.
Hence: an attendee is muted (nothing of theirs is heard or seen, by the conference's rule); someone who sends
audio with a role that is heard is not muted; someone who sends no audio is neither known muted nor unmuted (a
muted microphone and no microphone look the same), so None. Presenting is sending secondary video with a role
whose secondary media appears.
"""

from __future__ import annotations

from typing import Any

from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.vendor_model import VendorModel

VENDOR = "mind"
HEARD = frozenset({"moderator", "presenter", "speaker"})  # roles whose primary media is in the conference
SHOWN_SECONDARY = frozenset({"moderator", "presenter"})  # roles whose secondary media is in the conference


def _media_muted(record: dict, kind: str) -> bool | None:
    role = record.get("role")
    if role is not None and role not in HEARD:
        return True  # the conference leaves an attendee's primary media out
    sending = (record.get("media") or {}).get(kind)
    if sending is True and role in HEARD:
        return False
    return None  # not sending: a muted microphone/camera and none at all look the same


def participant_of(profile: str, conference: str, record: dict) -> Participant:
    secondary = (record.get("secondaryMedia") or {}).get("video")
    return Participant(
        vendor=VENDOR, profile=profile, conference=conference, id=str(record.get("id")),
        name=record.get("name"), role=record.get("role"),
        muted_audio=_media_muted(record, "audio"), muted_video=_media_muted(record, "video"),
        speaking=None, hand_raised=None,
        presenting=bool(secondary) and record.get("role") in SHOWN_SECONDARY,
        room=None, joined_at=None, raw=record)


def is_in(record: Any) -> bool:
    return isinstance(record, dict) and record.get("online") is True and "id" in record


def _streaming(streamings) -> bool | None:
    if streamings is None:
        return None  # only the application is shown the streamings
    return any(isinstance(s, dict) and s.get("alive") for s in streamings)


def conference_of(profile: str, record: dict, people: int | None) -> Conference:
    recording = record.get("recording")
    return Conference(
        vendor=VENDOR, profile=profile, id=str(record.get("id")), name=record.get("name"), locked=None,
        participants=people,
        recording=recording.get("started") if isinstance(recording, dict) else None,
        streaming=_streaming(record.get("streamings")), raw=record)


class MindModel(VendorModel):
    streams = True  # one WebSocket of notifications per conference (events.py)
    stream_opens_with_state = False  # the socket sends changes only: the live model reads a snapshot first
    own_changes_streamed = False  # "no notification is sent for a change made by the application itself"
    mapping = {
        "conference.id": "the conference id",
        "conference.name": "`name`",
        "conference.locked": "null: the API has no lock",
        "conference.participants": "how many participants are `online`",
        "conference.recording": "`recording.started` (Mind does not notify the application of its own changes: "
                                "one made through confctl shows at the next snapshot)",
        "conference.streaming": "any streaming `alive` (null when the token may not list streamings)",
        "participant.id": "`id`; only participants with `online: true` are listed (an offline one has not "
                          "joined yet or has left)",
        "participant.name": "`name`",
        "participant.role": "`role` (moderator, presenter, speaker, attendee)",
        "participant.muted_audio": "true for an `attendee` (the doc: an attendee's primary media is left out "
                                   "of the conference); false when `media.audio` is sent by a heard role; "
                                   "null when no audio is sent (a muted and a missing microphone look alike)",
        "participant.muted_video": "as muted_audio, from `media.video`",
        "participant.speaking": "null: not in the API",
        "participant.hand_raised": "null: not in the API",
        "participant.presenting": "`secondaryMedia.video` sent by a moderator or presenter (the roles whose "
                                  "secondary media appears in the conference)",
        "participant.room": "null: Mind has no breakout rooms",
        "participant.joined_at": "the time of the notification that brought them online, when one was received; "
                                 "null in snapshots (the API gives no join time)",
    }

    # -- reading --------------------------------------------------------------------------------------------
    def _ids(self, conn, conferences=()) -> list[str]:
        ids = list(dict.fromkeys(conferences))
        if not ids and conn.profile.get("conference"):
            ids = [conn.profile.get("conference")]
        return ids

    def _get(self, conn, endpoint_id: str, conference: str, **params):
        """A read sent straight through the profile's session: a look-up (a dry run of a verb still makes it,
        to find its target), and no command output of its own."""
        from .endpoints import path

        session = conn.ensure_session()
        where = path(endpoint_id, applicationId=session.app_id, conferenceId=conference)
        return session.json(session.request("GET", where, params=params or None, lookup=True))

    def _detailed(self, conn, conference: str) -> dict:
        from confctl.core.errors import ServerError

        body = self._get(conn, "mind.conference.get", conference, detailed="true")
        if not isinstance(body, dict):
            raise ServerError(f"mind conference {conference}: the server answered {type(body).__name__}, "
                              "not a conference")
        return body

    def _map(self, conn, body: dict) -> tuple[Conference, list[Participant]]:
        conf_id = str(body.get("id"))
        people = [participant_of(conn.name, conf_id, p) for p in body.get("participants") or [] if is_in(p)]
        record = {k: v for k, v in body.items() if k != "participants"}
        return conference_of(conn.name, record, len(people)), people

    def conferences(self, conn) -> list[Conference]:
        """The profile's conference (Mind cannot list them)."""
        return [self._map(conn, self._detailed(conn, c))[0] for c in self._ids(conn)]

    def participants(self, conn, conference: str) -> list[Participant]:
        items = self._get(conn, "mind.participant.list", conference) or []
        return [participant_of(conn.name, conference, p) for p in items if is_in(p)]

    def snapshot(self, conn, conferences=()):
        confs, people = [], []
        for conf_id in self._ids(conn, conferences):
            conf, members = self._map(conn, self._detailed(conn, conf_id))
            confs.append(conf)
            people += members
        return confs, people

    # -- folding notifications ------------------------------------------------------------------------------
    def apply(self, live, event: dict) -> None:
        etype, conf_id, profile = event.get("type") or "", event.get("conference"), event.get("profile")
        data = event.get("data")
        if not conf_id or not isinstance(data, dict):
            return
        kind, _, change = etype.partition(".")
        if kind == "participant":
            if change == "deleted" or (change in ("created", "updated") and not is_in(data)):
                live.remove_participant(profile, conf_id, str(data.get("id")))
            elif change in ("created", "updated"):
                person = participant_of(profile, conf_id, data)
                known = live.participant(profile, conf_id, person.id)
                if known is not None:
                    person.joined_at = known.joined_at
                elif not event.get("resynced"):  # a re-read after a reconnect is not the moment they joined
                    person.joined_at = event.get("time")  # the notification that brought them online
                live.upsert_participant(person)
        elif kind == "conference":
            if change in ("deleted", "ended"):
                live.remove_conference(profile, conf_id)
            elif change == "updated":
                old = live.conferences.get((profile, conf_id))
                record = dict(old.raw) if old is not None and isinstance(old.raw, dict) else {}
                record.update({k: v for k, v in data.items() if k not in ("participants", "transcription")})
                count = sum(1 for k in live.participants if k[:2] == (profile, conf_id))
                live.upsert_conference(conference_of(profile, record, count))
        elif kind == "streaming":
            old = live.conferences.get((profile, conf_id))
            if old is None or not isinstance(old.raw, dict):
                return
            record = dict(old.raw)
            streamings = [s for s in record.get("streamings") or [] if s.get("id") != data.get("id")]
            if change != "deleted":
                streamings.append(data)
            record["streamings"] = streamings
            live.upsert_conference(conference_of(profile, record, old.participants))

    # -- verbs ----------------------------------------------------------------------------------------------
    def act(self, conn, verb, target):
        from confctl.core.errors import NotFoundError

        try:
            return super().act(conn, verb, target)
        except NotFoundError:
            if verb.name != "kick":
                raise
            # Gone already, if its conference is still there (a missing conference is the real error).
            self._detailed(conn, target.conference)
            return {"already": True}


MODEL = MindModel()
