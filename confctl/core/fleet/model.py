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
