"""The gateway's 13 endpoints (per the gateway's Conference API reference), one declarative entry each."""

from __future__ import annotations

from confctl.core.spec import BODY, LOCAL, PATH, QUERY, Already, Endpoint, Paginate, Param
from confctl.core.validate import chain, http_url, int_range, max_items, pattern

from . import workflows

ROOM_NAME = pattern(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
                    "letters, digits, '-' and '_' only, starting with a letter or digit, at most 64 characters")
ROOM_ID = pattern(r"[A-Za-z0-9]{5}-room-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                  "must look like {5-char-prefix}-room-{uuid}")
SESSION_ID = pattern(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}", "a call session uuid (letters, digits, '.', '_', ':', '-')")

EX_ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"
EX_SESSION = "acW68-5d7c2a10-7f3e-4d2b-9c4a-1e2f3a4b5c6d"

room_id = Param("room_id", PATH, help="room id ({prefix}-room-{uuid})", required=True, rule=ROOM_ID, example=EX_ROOM)
session = Param("uuid", PATH, type="list", help="call session uuid(s)", required=True, rule=SESSION_ID,
                example=EX_SESSION, metavar="UUID...")
command_uid = Param("command_uid", BODY, help="idempotency key (default: generated; reused on retry)",
                    hidden=True)


def _limit(hi: int) -> Param:
    return Param("limit", QUERY, type="int", help=f"items per page (1..{hi}, server default 50)",
                 rule=int_range(1, hi))


cursor = Param("cursor", QUERY, help="opaque cursor from a previous page (pass through unchanged)")

ENDPOINTS = (
    Endpoint(
        "gateway.room.create", "POST", "/api/v1/conferences", "Create a conference room.",
        params=(
            Param("name", BODY, help="room name", required=True, positional=True, rule=ROOM_NAME,
                  example="weekly-standup"),
            Param("reuse", LOCAL, type="bool", help="if the name is taken, print the existing room id and "
                  "exit 0 (idempotent for cron)", flag="--reuse"),
        ),
        id_field="room_id", handler=workflows.create_room,
    ),
    Endpoint(
        "gateway.room.list", "GET", "/api/v1/conferences", "List the rooms of this application.",
        params=(_limit(200), cursor), paginate=Paginate(items="conferences"), id_field="room_id",
        columns=("room_id", "name", "members", "created_at"),
    ),
    Endpoint("gateway.room.get", "GET", "/api/v1/conferences/{room_id}",
             "Show a room: members, playback status, volume and URLs.", params=(room_id,), id_field="room_id"),
    Endpoint(
        "gateway.room.members", "GET", "/api/v1/conferences/{room_id}/members", "List the sessions in a room.",
        params=(room_id, _limit(1000), cursor), paginate=Paginate(items="members"), id_field="uuid",
        columns=("uuid", "did", "caller_id", "muted"),
    ),
    Endpoint("gateway.room.delete", "DELETE", "/api/v1/conferences/{room_id}",
             "Destroy a room: stops recording, removes every member.", params=(room_id,), confirm=True,
             id_field="room_id", example=(EX_ROOM, "--yes")),
    Endpoint(
        "gateway.room.play", "POST", "/api/v1/conferences/{room_id}/play",
        "Play audio files (http/https URLs, at most 128) into a room.",
        params=(room_id, Param("urls", BODY, type="list", help="audio file URL(s)", required=True, positional=True,
                               rule=chain(max_items(128, 1), http_url),
                               example=["https://cdn.example.com/announcement.wav"], metavar="URL...")),
        id_field="operation_id", epilog="Rate limit: 2 s per room (conf_play).",
    ),
    Endpoint("gateway.room.pause", "POST", "/api/v1/conferences/{room_id}/pause",
             "Toggle pause/resume of the room's playback.", params=(room_id,), idempotent=False),
    Endpoint("gateway.room.stop", "POST", "/api/v1/conferences/{room_id}/stop", "Stop the room's playback.",
             params=(room_id,), idempotent=True),
    Endpoint(
        "gateway.room.volume", "POST", "/api/v1/conferences/{room_id}/volume",
        "Set the playback volume (-50..7; negative attenuates).",
        params=(room_id, Param("volume", BODY, type="int", help="volume level", required=True, flag="--level",
                               short="-l", rule=int_range(-50, 7), example=2)),
        idempotent=True,
    ),
    Endpoint(
        "gateway.session.join", "POST", "/api/v1/sessions/{uuid}/commands/conference/join",
        "Join call session(s) to a room (members join muted).",
        params=(session, Param("room_id", BODY, help="room to join", required=True, flag="--room", rule=ROOM_ID,
                               example=EX_ROOM), command_uid),
        bulk="uuid", idempotent=True, handler=workflows.session_command,
    ),
    # The doc's "already" answers mean the goal holds: success (exit 0), reported as "already ...".
    Endpoint("gateway.session.leave", "POST", "/api/v1/sessions/{uuid}/commands/conference/leave",
             "Remove call session(s) from their room.", params=(session, command_uid), bulk="uuid",
             idempotent=True, handler=workflows.session_command,
             already=(Already(404, r"not in (a|any) conference", "already left"),)),
    Endpoint("gateway.session.mute", "POST", "/api/v1/sessions/{uuid}/commands/conference/mute",
             "Mute conference member(s).", params=(session, command_uid), bulk="uuid", idempotent=True,
             handler=workflows.session_command, already=(Already(409, r"\balready muted", "already muted"),)),
    Endpoint("gateway.session.unmute", "POST", "/api/v1/sessions/{uuid}/commands/conference/unmute",
             "Unmute conference member(s).", params=(session, command_uid), bulk="uuid", idempotent=True,
             handler=workflows.session_command, already=(Already(409, r"\balready unmuted", "already unmuted"),)),
)
