"""Validation rules the Pexip Infinity Client REST API v2 reference documents."""

from __future__ import annotations

import re
import uuid as _uuid

from confctl.core.errors import ValidationError
from confctl.core.validate import choice, int_range, is_uuid, non_negative, pattern  # noqa: F401 (shared rule)

# transform_layout / SetLayout names, including the pre-v34 equal-layout names and the plugin doc's extras.
LAYOUTS = ("1:0", "1:7", "1:21", "2:21", "1:33", "2x2", "3x3", "4x4", "5x5", "4:0", "9:0", "16:0", "25:0", "1:1",
           "one_main_nine_around", "one_main_twelve_around", "two_mains_eight_around", "ac", "teams", "5:7",
           "ac_presentation_in_mix", "ac_presentation_in_mix_group")
_layout = choice(*LAYOUTS)
LAYOUTS_HELP = "Layouts: " + ", ".join(LAYOUTS) + "."


def layout(field, value):
    return _layout(field, value)


layout.describe = "one of the layouts listed above"  # the list itself is printed once, in the help text
layout.choices = LAYOUTS  # shell completion offers them

DTMF = pattern(r"[0-9*#A-Da-d]+", "DTMF digits only: 0-9, *, # and A-D")
ROLE = choice("chair", "guest")
DIAL_PROTOCOLS = ("sip", "h323", "rtmp", "mssip", "auto")
CALL_TYPES = ("video", "video-only", "audio")
KEEP_ALIVE = ("keep_conference_alive", "keep_conference_alive_if_multiple", "keep_conference_alive_never")
SEE_GUESTS = ("no_hosts", "always", "never")
END_ACTIONS = ("disconnect", "transfer")
MESSAGE_TYPES = ("text/plain", "application/json")
FECC_ACTIONS = ("start", "stop", "continue")
FECC_AXES = {"pan": ("left", "right"), "tilt": ("up", "down"), "zoom": ("in", "out")}

silent_after = int_range(1, 120)
reactivate_after = int_range(1, 5)

_ON = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}


def on_off(field, value):
    """A boolean setting written as on/off (also true/false, yes/no)."""
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key not in _ON:
        raise ValidationError(field, "must be on or off", value)
    return _ON[key]


on_off.describe = "on|off"


def host_or_chair(field, value):
    """Roles are 'chair' (host) and 'guest'; 'host' is accepted as the plugin doc's name for chair."""
    value = {"host": "chair"}.get(str(value).lower(), str(value).lower())
    return ROLE(field, value)


host_or_chair.describe = "chair (host)|guest"


def dial_role(field, value):
    value = str(value).upper()
    if value not in ("HOST", "GUEST"):
        raise ValidationError(field, "must be HOST or GUEST", value)
    return value


dial_role.describe = "HOST|GUEST"


def transfer_role(field, value):
    value = {"chair": "host"}.get(str(value).lower(), str(value).lower())
    if value not in ("host", "guest"):
        raise ValidationError(field, "must be host or guest", value)
    return value


transfer_role.describe = "host|guest"


def yes_no(field, value):
    return "yes" if value else "no"


def aspect_ratio(field, value):
    if not 0 <= value <= 2:
        raise ValidationError(field, "must be between 0 and 2 (e.g. 9/16 = 0.5625)", value)
    return value


aspect_ratio.describe = "0..2"


def positive(field, value):
    if value is not None and value <= 0:
        raise ValidationError(field, "must be more than 0", value)
    return value


positive.describe = "> 0"


def uuid_rule(field, value):
    return is_uuid(field, value)


uuid_rule.describe = "UUID"


def move_target(field, value):
    """Where breakout participants go: "main", "previous" or a breakout room UUID."""
    if value in ("main", "previous"):
        return value
    try:
        _uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(field, 'must be "main", "previous" or a breakout room UUID', value) from None
    return value


move_target.describe = "main|previous|UUID"


def video_mix_name(field, value):
    """video_mixes names: main, main.!personal or main.!<participant> (a UUID, or a name resolved later)."""
    value = str(value)
    if value == "main" or (value.startswith("main.!") and value[len("main.!"):].strip()):
        return value
    raise ValidationError(field, "must be main, main.!personal or main.!<participant uuid or name>", value)


video_mix_name.describe = "main|main.!personal|main.!<participant>"


def audio_mix_name(field, value):
    """Ducking mix names: dot-separated, no empty part, and 'main' only as the first part."""
    parts = str(value).split(".")
    if any(p == "" for p in parts):
        raise ValidationError(field, "a mix name may not have empty parts between dots", value)
    if "main" in parts[1:]:
        raise ValidationError(field, "'main' may only be the first part of a mix name", value)
    return value


def audio_mix_or_none(field, value):
    if str(value).lower() in ("none", "null"):
        return None
    return audio_mix_name(field, value)


audio_mix_or_none.describe = "mix name, or none to receive no audio"


def audio_mixes(field, values):
    """--mix NAME[:prominent] (repeatable) → [{"mix_name", "prominent"}]."""
    out = []
    for item in values or []:
        name, _, flag = str(item).partition(":")
        if flag not in ("", "prominent"):
            raise ValidationError(field, "must be NAME or NAME:prominent", item)
        out.append({"mix_name": audio_mix_name(field, name), "prominent": flag == "prominent"})
    return out


audio_mixes.describe = "NAME or NAME:prominent, repeatable"


def text_or_file(field, value):
    """SDP and similar blobs: literal text, @file, or - (stdin)."""
    import sys

    value = str(value)
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise ValidationError(field, f"cannot read {value[1:]}: {exc.strerror}") from None
    return value


text_or_file.describe = "text, @file or -"


def secret_text(field, value):
    """A secret read from a file or stdin (never argv): surrounding whitespace is not part of it."""
    value = str(value).strip()
    if not value:
        raise ValidationError(field, "is empty")
    return value


def resource_path(field, value):
    value = str(value).lstrip("/")
    if not value or ".." in value.split("/"):
        raise ValidationError(field, "must be a relative resource path without '..'", value)
    return value


resource_path.path_segments = True  # the builder checks each '/'-separated segment and keeps the '/'


def classification(field, value):
    if value < 0:
        raise ValidationError(field, "must be a level key of the theme (0 or more)", value)
    return value


def room_ref(field, value):
    """A breakout room: UUID, the short id the roster shows (a unique UUID prefix), or the room's name."""
    from confctl.core.validate import path_segment

    value = str(value)
    if not value.strip():
        raise ValidationError(field, "must be a breakout room UUID, short id or name", value)
    return path_segment(field, value)  # it may end up in a path: one safe segment (no '..', '/', '?', ...)


room_ref.describe = "UUID, short id or name"


def event_id(field, value):
    """An SSE event id (the node's are base64 text); only emptiness and control characters are invalid."""
    value = str(value)
    if not value.strip() or any(ord(c) < 32 for c in value):
        raise ValidationError(field, "must be the id of a presentation_frame event", value)
    return value


def participant_ref(field, value):
    """A participant: display name, full UUID, unique UUID prefix, or 'self'. Only emptiness is invalid."""
    if isinstance(value, (list, tuple)):
        return [participant_ref(field, v) for v in value]
    if not str(value).strip():
        raise ValidationError(field, "must be a display name, UUID, unique UUID prefix or 'self'", value)
    return str(value)


UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
