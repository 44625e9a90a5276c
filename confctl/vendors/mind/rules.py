"""Validation rules the Mind docs state (DESIGN §6), checked before anything is sent."""

from __future__ import annotations

import uuid

from confctl.core.errors import ValidationError
from confctl.core.validate import non_negative, pattern  # noqa: F401 (shared rule)

_URI = r"sips?:[^\s<>@]+(?:@[^\s<>@]+)?"

SIP_ADDRESS = pattern(rf'(?i)(?:(?:"[^"]*"|[^"<>]*?)\s*<{_URI}>|{_URI})',
                      "must be a sip: or sips: URI, optionally with a display name, "
                      "e.g. 'Jane Doe <sip:jane@example.com:5060>'")
# Conference and application ids are UUIDs at Mind, but any non-empty path segment is accepted so that
# other deployments (and the simulator's demo ids) work.
_PATH_ID = pattern(r"[^/\s]+", "must be a non-empty id without '/' or spaces")


def PATH_ID(field, value):  # noqa: N802 - no `describe`: the rule is too obvious for every --help
    return _PATH_ID(field, value)
PROXY_URI = pattern(rf"(?i){_URI}", "must be a sip: or sips: URI, e.g. sip:proxy.example.com:5060")

# Words accepted by `message send --to` instead of the ids they stand for (mapped in Mind.prepare).
ADDRESSEE_WORDS = ("conference", "application")


def ADDRESSEE(field, value):  # noqa: N802
    if value in ADDRESSEE_WORDS:
        return value
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(field, "must be 'conference', 'application' or a participant id (UUID)",
                              value) from None
    return value


ADDRESSEE.describe = "conference|application|PARTICIPANT_ID"

