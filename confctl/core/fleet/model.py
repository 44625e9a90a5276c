"""The common schema (docs/model.md): a conference and a participant as every vendor can describe them.

A vendor maps its own records onto these; a field the vendor cannot know is None, never guessed. `raw` keeps the
vendor's record unchanged beside the mapped fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

CONFERENCE_FIELDS = ("vendor", "profile", "id", "name", "locked", "participants", "recording", "streaming")
PARTICIPANT_FIELDS = ("vendor", "profile", "conference", "id", "name", "role", "muted_audio", "muted_video",
                      "speaking", "hand_raised", "presenting", "room", "joined_at")


@dataclass
class Conference:
    vendor: str
    profile: str
    id: str
    name: str | None = None
    locked: bool | None = None
    participants: int | None = None  # how many are in it (None: the vendor's listing does not say)
    recording: bool | None = None
    streaming: bool | None = None
    raw: Any = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.profile, self.id)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Participant:
    vendor: str
    profile: str
    conference: str
    id: str
    name: str | None = None
    role: str | None = None  # the vendor's own role word (host/guest, moderator/attendee, ...)
    muted_audio: bool | None = None
    muted_video: bool | None = None
    speaking: bool | None = None
    hand_raised: bool | None = None
    presenting: bool | None = None
    room: str | None = None  # breakout room (None: the main room, or the vendor has none)
    joined_at: str | None = None  # ISO 8601 UTC
    raw: Any = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.profile, self.conference, self.id)

    def to_dict(self) -> dict:
        return asdict(self)


def names(cls) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


# What each common field means (docs/model.md). A vendor's VendorModel.mapping says how it fills each one.
CONFERENCE_HELP = {
    "vendor": "the vendor: gateway, pexip, mind, auvious",
    "profile": "the confctl profile it was read through",
    "id": "the vendor's id of the conference (what PROFILE:CONFERENCE takes, with its name)",
    "name": "its display name",
    "locked": "newcomers are held back (true/false)",
    "participants": "how many are in it",
    "recording": "being recorded",
    "streaming": "being streamed",
    "raw": "the vendor's own record, unchanged",
}
PARTICIPANT_HELP = {
    "vendor": "the vendor: gateway, pexip, mind, auvious",
    "profile": "the confctl profile it was read through",
    "conference": "the id of the conference they are in",
    "id": "the vendor's id of the participant (what PROFILE:CONFERENCE/PARTICIPANT takes, with the name)",
    "name": "display name (or the caller's number)",
    "role": "the vendor's own role word (chair/guest, moderator/attendee, ...)",
    "muted_audio": "their audio is muted",
    "muted_video": "their video is muted (or off)",
    "speaking": "speaking now",
    "hand_raised": "a raised hand",
    "presenting": "sharing content",
    "room": "the breakout room they are in; null in the main room (or when the vendor has none)",
    "joined_at": "when they joined, ISO 8601 UTC",
    "raw": "the vendor's own record, unchanged",
}
# Filled the same way for every vendor (VendorModel.mapping need not say).
COMMON_MAPPING = {"vendor": "the vendor's name", "profile": "the profile's name",
                  "conference": "the conference's `id`", "raw": "the record the fields were read from"}


def mapping_of(mapping: dict, kind: str, field_name: str) -> str | None:
    """How a vendor fills one field of a "conference" or "participant": its mapping's "kind.field" entry, else
    its plain "field" entry (one phrase for both kinds), else the common rule."""
    return mapping.get(f"{kind}.{field_name}") or mapping.get(field_name) or COMMON_MAPPING.get(field_name)
