"""The Mind API's 27 operations (per the Mind API reference, a draft), one declarative entry each.

The saved doc page lost each operation's method and path; tests/data/mind.tsv reconstructs them and says how
sure each row is. THIS TABLE IS THE ONLY PLACE THE PATHS LIVE: correcting a row is a one-line change here, and
`confctl mind api METHOD PATH` reaches anything the table gets wrong meanwhile.

`auth` says who the docs allow (the session turns a 403 into "this needs ... token"):
  application  only the application token
  moderator    the application, or a moderator participant of the conference
  member       the application, or any participant of the conference
  self         only the participant itself (its own participant token)
"""

from __future__ import annotations

import json

from confctl.core.spec import BODY, LOCAL, PATH, QUERY, Alias, Endpoint, Param
from confctl.core.validate import int_range, is_uuid, url

from . import workflows
from .rules import ADDRESSEE, PATH_ID, PROXY_URI, SIP_ADDRESS, non_negative

LAYOUTS = ("mosaic", "selector", "presenting_mosaic", "presenting_selector")
ROLES = ("moderator", "presenter", "speaker", "attendee")

# Example ids are the doc's own; the simulator seeds them (plus a few spare ones that destructive examples
# consume, so every example succeeds in a fresh simulator whatever the order).
EX_CONF = "1cf69ae4-4c54-47cf-b409-97e88f62fe12"
EX_PART = "24300bf9-d9f2-4bbf-9719-8660d110bc63"
EX_STREAM = "3eb26018-7147-4762-a01c-967c1d2522ab"
EX_CONF_DELETE = "5a1f2b6c-0d3e-4f50-8a61-7b2c3d4e5f60"
EX_CONF_CLEAR = "9b8c7d6e-5f40-4321-a0b1-c2d3e4f5a6b7"
EX_PART_DELETE = "6f1e2d3c-4b5a-4697-8877-665544332211"
EX_STREAM_DELETE = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
EX_SDP = "v=0\r\no=- 435746465422294 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"

app = Param("app_id", PATH, wire="applicationId", profile="app_id", required=True, hidden=True, rule=PATH_ID,
            help="application id")


def conf(example: str = EX_CONF) -> Param:
    return Param("conference", PATH, wire="conferenceId", profile="conference", short="-c", required=True,
                 rule=PATH_ID, metavar="ID", help="conference id", example=example)


def participant(example: str = EX_PART, bulk: bool = False) -> Param:
    if bulk:
        return Param("participant", PATH, wire="participantId", type="list", required=True, positional=True,
                     rule=is_uuid, help="participant id(s)", metavar="PARTICIPANT_ID...", example=[example])
    return Param("participant", PATH, wire="participantId", required=True, rule=is_uuid, help="participant id",
                 metavar="PARTICIPANT_ID", example=example)


def streaming(example: str = EX_STREAM, bulk: bool = False) -> Param:
    if bulk:
        return Param("streaming", PATH, wire="streamingId", type="list", required=True, positional=True,
                     rule=is_uuid, help="streaming id(s)", metavar="STREAMING_ID...", example=[example])
    return Param("streaming", PATH, wire="streamingId", required=True, rule=is_uuid, help="streaming id",
                 metavar="STREAMING_ID", example=example)


layout = Param("layout", BODY, choices=LAYOUTS, help="video layout")
role = Param("role", BODY, choices=ROLES, help="participant role")
priority = Param("priority", BODY, type="float", rule=non_negative, help="priority (a number >= 0)")
name = Param("name", BODY, help="display name")
wait = (
    Param("wait", LOCAL, type="bool", flag="--wait", help="poll until the transcription is complete (200)"),
    Param("interval", LOCAL, type="float", default=2.0, rule=int_range(0.1, 60), metavar="S",
          help="seconds between polls with --wait (default 2)"),
    Param("wait_timeout", LOCAL, type="float", default=600.0, rule=int_range(1, 86400), metavar="S",
          help="give up --wait after S seconds (exit 1; default 600)"),
)
output_file = Param("output_file", LOCAL, flag="--output-file", short="-O", metavar="FILE",
                    help="write to FILE, streamed to disk (default: stdout when it is not a terminal)")

ENDPOINTS = (
    # -- conferences ----------------------------------------------------------------------------------------
    Endpoint(
        "mind.conference.create", "POST", "/{applicationId}", "Create a conference (application token only).",
        params=(app, Param("name", BODY, help="conference name", example="Weekly standup"),
                Param("layout", BODY, choices=LAYOUTS, help="video layout (server default: mosaic)",
                      example="mosaic")),
        data=True, auth="application",
    ),
    Endpoint(
        "mind.conference.get", "GET", "/{applicationId}/{conferenceId}", "Show a conference.",
        params=(app, conf(), Param("detailed", QUERY, type="bool", flag="--detailed",
                                   help="include the transcription, participants and (application only) "
                                        "streamings", example=True)),
        auth="member",
    ),
    Endpoint(
        "mind.conference.delete", "DELETE", "/{applicationId}/{conferenceId}",
        "Delete a conference: expels everyone and deletes its data (application token only).",
        params=(app, conf(EX_CONF_DELETE)), confirm=True, auth="application",
        example=("--conference", EX_CONF_DELETE, "--yes"),
    ),
    Endpoint(
        "mind.conference.update", "PATCH", "/{applicationId}/{conferenceId}",
        "Rename a conference (application or a moderator).",
        params=(app, conf(), Param("name", BODY, help="new conference name", required=True,
                                   example="Modified meeting name")),
        data=True, auth="moderator",
    ),
    # -- recording ------------------------------------------------------------------------------------------
    Endpoint(
        "mind.recording.get", "GET", "/{applicationId}/{conferenceId}/recording",
        "Download the recording as MP4, or its JPEG thumbnail (application or a moderator).",
        params=(app, conf(), Param("format", LOCAL, choices=("mp4", "jpeg"), default="mp4", example="mp4",
                                   help="MP4 recording or JPEG thumbnail (sets the Accept header)"),
                output_file),
        handler=workflows.download, auth="moderator",
        example=("--conference", EX_CONF, "--format", "mp4", "-O", "/tmp/mind-recording.mp4"),
    ),
    Endpoint(
        "mind.recording.preview", "GET", "/{applicationId}/{conferenceId}/recording/preview",
        "Download the WebP preview of the recording (application or a moderator).",
        params=(app, conf(), output_file), handler=workflows.download, accept="image/webp", auth="moderator",
        example=("--conference", EX_CONF, "-O", "/tmp/mind-preview.webp"),
    ),
    Endpoint(
        "mind.recording.start", "POST", "/{applicationId}/{conferenceId}/recording/start",
        "Start or resume recording (application or a moderator).", params=(app, conf()), idempotent=True,
        auth="moderator",
    ),
    Endpoint(
        "mind.recording.stop", "POST", "/{applicationId}/{conferenceId}/recording/stop",
        "Stop or pause recording (application or a moderator).", params=(app, conf()), idempotent=True,
        auth="moderator",
    ),
    Endpoint(
        "mind.recording.transcription", "GET", "/{applicationId}/{conferenceId}/recording/transcription",
        "Transcription of the recording; partial (206) while recording or just after, --wait polls until "
        "complete (application or a moderator).",
        params=(app, conf(), *wait), items="utterances", columns=("timestamp", "participantId", "text"),
        handler=workflows.transcription, auth="moderator",
    ),
    # -- live transcription ---------------------------------------------------------------------------------
    Endpoint(
        "mind.transcription.get", "GET", "/{applicationId}/{conferenceId}/transcription",
        "Show whether live transcription is started.", params=(app, conf()), auth="member",
    ),
    Endpoint(
        "mind.transcription.update", "PATCH", "/{applicationId}/{conferenceId}/transcription",
        "Start or stop live transcription (application token only).",
        params=(app, conf(), Param("started", BODY, type="bool", flag="--start/--stop", required=True,
                                   help="start or stop transcribing", example=True)),
        aliases=(Alias(("transcription", "start"), {"started": True}, "Start live transcription."),
                 Alias(("transcription", "stop"), {"started": False}, "Stop live transcription.")),
        auth="application",
    ),
    # -- messages -------------------------------------------------------------------------------------------
    Endpoint(
        "mind.message.send", "POST", "/{applicationId}/{conferenceId}/messages",
        "Send a text message to the whole conference, one participant, or the application.",
        params=(app, conf(),
                Param("text", BODY, required=True, positional=True, help="message text", example="Hello, all!"),
                Param("send_to", BODY, wire="sendTo", flag="--to", default="conference", rule=ADDRESSEE,
                      metavar="WHO", help="conference (everyone and the application; default), application, "
                                          "or a participant id")),
        id_field="id", auth="member",
    ),
    # -- participants ---------------------------------------------------------------------------------------
    Endpoint(
        "mind.participant.list", "GET", "/{applicationId}/{conferenceId}/participants",
        "List the participants of a conference.", params=(app, conf()), id_field="id",
        columns=("id", "name", "role", "online", "priority"), auth="member",
    ),
    Endpoint(
        "mind.participant.create", "POST", "/{applicationId}/{conferenceId}/participants",
        "Create a participant (application token only). Its participant token is shown only with --show-token "
        "or written to --token-file (mode 0600); it cannot be fetched again.",
        params=(app, conf(), Param("name", BODY, help="display name", example="John Doe"),
                Param("priority", BODY, type="float", rule=non_negative, help="priority (a number >= 0)", example=1),
                Param("role", BODY, choices=ROLES, help="role (server default: speaker)", example="speaker"),
                Param("layout", BODY, choices=LAYOUTS, help="layout (deprecated; default: the conference's)"),
                Param("show_token", LOCAL, type="bool", flag="--show-token",
                      help="include the participant token in the output"),
                Param("token_file", LOCAL, metavar="FILE",
                      help="write the participant token to FILE (mode 0600, atomic)")),
        data=True, id_field="id", handler=workflows.create_participant, auth="application",
    ),
    Endpoint(
        "mind.participant.delete_all", "DELETE", "/{applicationId}/{conferenceId}/participants",
        "Expel every participant of a conference (application token only).",
        params=(app, conf(EX_CONF_CLEAR)), command=("participant", "delete-all"), confirm=True,
        example=("--conference", EX_CONF_CLEAR, "--yes"),
        auth="application",
    ),
    Endpoint(
        "mind.participant.get", "GET", "/{applicationId}/{conferenceId}/participants/{participantId}",
        "Show a participant.", params=(app, conf(), participant()), id_field="id", auth="member",
    ),
    Endpoint(
        "mind.participant.session", "POST", "/{applicationId}/{conferenceId}/participants/{participantId}",
        "(Re)initiate the participant's WebRTC session with an SDP offer; prints the answer (only the "
        "participant itself: --as-participant or CONFCTL_MIND_PARTICIPANT_TOKEN).",
        params=(app, conf(), participant(),
                Param("sdp", BODY, type="file", metavar="FILE", help="SDP offer read from FILE (- for stdin)")),
        data=True, example=(EX_PART, "--conference", EX_CONF, "--data", json.dumps({"sdp": EX_SDP})),
        auth="self",
    ),
    Endpoint(
        "mind.participant.delete", "DELETE", "/{applicationId}/{conferenceId}/participants/{participantId}",
        "Expel participant(s) (application token only).",
        params=(app, conf(), participant(EX_PART_DELETE, bulk=True)), bulk="participant", confirm=True,
        example=(EX_PART_DELETE, "--conference", EX_CONF, "--yes"),
        auth="application",
    ),
    Endpoint(
        "mind.participant.update", "PATCH", "/{applicationId}/{conferenceId}/participants/{participantId}",
        "Modify a participant (application or a moderator; others only their own name and layout).",
        params=(app, conf(), participant(), Param("name", BODY, help="display name", example="John Roe"),
                priority, Param("role", BODY, choices=ROLES, help="participant role", example="speaker"),
                Param("layout", BODY, choices=LAYOUTS, help="layout (deprecated)")),
        data=True, id_field="id", auth="moderator",
    ),
    Endpoint(
        "mind.participant.dial", "POST",
        "/{applicationId}/{conferenceId}/participants/{participantId}/dial",
        "Dial out to a participant over SIP and print the call status; exit 1 unless it is answered.",
        params=(app, conf(), participant(),
                Param("caller", BODY, wire="from", flag="--from", required=True, rule=SIP_ADDRESS,
                      metavar="ADDRESS", help="caller",
                      example="John Doe <sip:johndoe@example.com:5060>"),
                Param("callee", BODY, wire="to", flag="--to", required=True, rule=SIP_ADDRESS, metavar="ADDRESS",
                      help="callee",
                      example="Jane Doe <sip:janedoe@example.com:5060>"),
                Param("proxy", BODY, rule=PROXY_URI, metavar="URI", help="SIP proxy to route the call through",
                      example="sip:example.com:5060"),
                Param("dial_timeout", BODY, wire="timeout", flag="--timeout", type="int", rule=int_range(5, 30),
                      metavar="S", help="seconds to wait for an answer (server default 30)", example=15)),
        handler=workflows.dial, auth="moderator",
    ),
    Endpoint(
        "mind.participant.forward", "POST",
        "/{applicationId}/{conferenceId}/participants/{participantId}/forward",
        "Forward the participant's current SIP call to another SIP URI (application or a moderator).",
        params=(app, conf(), participant(),
                Param("destination", BODY, required=True, positional=True, rule=PROXY_URI, metavar="SIP_URI",
                      help="SIP URI to forward the call to", example="sip:example.com:5060")),
        auth="moderator",
    ),
    Endpoint(
        "mind.participant.hangup", "POST",
        "/{applicationId}/{conferenceId}/participants/{participantId}/hangup",
        "Hang up the participant's SIP call at any stage; does nothing when there is no call.",
        params=(app, conf(), participant()), idempotent=True, auth="moderator",
    ),
    # -- streamings -----------------------------------------------------------------------------------------
    Endpoint(
        "mind.streaming.list", "GET", "/{applicationId}/{conferenceId}/streamings",
        "List the RTMP(S) streamings of a conference and whether each is alive (application token only).",
        params=(app, conf()), id_field="id", columns=("id", "alive", "url"), handler=workflows.list_streamings,
        auth="application",
    ),
    Endpoint(
        "mind.streaming.create", "POST", "/{applicationId}/{conferenceId}/streamings",
        "Stream the conference to an RTMP(S) URL (application token only).",
        params=(app, conf(), Param("url", BODY, required=True, positional=True, rule=url("rtmp", "rtmps"),
                                   metavar="URL", help="destination rtmp:// or rtmps:// URL",
                                   example="rtmps://a.rtmps.youtube.com/live2/abcd-efgh-ijkl-mnop-qrst")),
        id_field="id", auth="application",
    ),
    Endpoint(
        "mind.streaming.delete_all", "DELETE", "/{applicationId}/{conferenceId}/streamings",
        "Delete every streaming of a conference (application token only).",
        params=(app, conf(EX_CONF_CLEAR)), command=("streaming", "delete-all"), confirm=True,
        example=("--conference", EX_CONF_CLEAR, "--yes"),
        auth="application",
    ),
    Endpoint(
        "mind.streaming.get", "GET", "/{applicationId}/{conferenceId}/streamings/{streamingId}",
        "Show a streaming (application token only).", params=(app, conf(), streaming()), id_field="id",
        auth="application",
    ),
    Endpoint(
        "mind.streaming.delete", "DELETE", "/{applicationId}/{conferenceId}/streamings/{streamingId}",
        "Delete streaming(s) (application token only).",
        params=(app, conf(), streaming(EX_STREAM_DELETE, bulk=True)), bulk="streaming", confirm=True,
        example=(EX_STREAM_DELETE, "--conference", EX_CONF, "--yes"),
        auth="application",
    ),
)

# Notifications are not a REST operation, but their path lives here too (doc: wss://<host>/<app>/<conference>).
NOTIFICATIONS = "/{applicationId}/{conferenceId}"
BY_ID = {ep.id: ep for ep in ENDPOINTS}


def path(endpoint_id: str, **values: str) -> str:
    """The wire path of a table entry, e.g. path("mind.conference.get", applicationId=..., conferenceId=...),
    for workflows that make their own requests (event re-syncs, `profile test`)."""
    from confctl.core.builder import format_path

    template = NOTIFICATIONS if endpoint_id == "notifications" else BY_ID[endpoint_id].path
    return format_path(template, values)
