"""The Auvious RTC API's 21 endpoints (per the Auvious RTC API v1.9.5 reference), one declarative entry each."""

from __future__ import annotations

from confctl.core.spec import BODY, LOCAL, PATH, QUERY, Alias, Endpoint, Param

from . import rules, workflows

EX_CONF = "demo-room"
EX_SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
EX_CANDIDATE = "candidate:842163049 1 udp 1677729535 192.0.2.10 54400 typ srflx raddr 0.0.0.0 rport 0"
STREAM_TYPES = ("MIC", "CAM", "SCREEN", "MIC_AND_CAM")


def conference(example: str = EX_CONF) -> Param:
    return Param("conference", BODY, wire="conferenceId", help="conference id", required=True, positional=True,
                 example=example, metavar="CONFERENCE")


def conference_path() -> Param:
    return Param("id", PATH, help="conference id", required=True, example=EX_CONF, metavar="CONFERENCE")


def endpoint(example: str | None = "ep-alice", required: bool = True, help: str = "your user endpoint id") -> Param:
    return Param("endpoint", BODY, wire="userEndpointId", help=help, required=required, short="-e",
                 example=example)


def stream(example: str = "stream-alice-cam", help: str = "stream id") -> Param:
    return Param("stream", BODY, wire="streamId", help=help, required=True, positional=True, example=example,
                 metavar="STREAM")


def meta(string_values: bool = False) -> tuple[Param, ...]:
    """--meta KEY=VALUE (repeatable) and --meta-json JSON|@file|- ; merged into `metadata` by workflows."""
    kind = "string " if string_values else ""
    return (
        Param("meta", LOCAL, type="list", flag="--meta", metavar="KEY=VALUE",
              help=f"{kind}metadata entry (repeatable)",
              rule=rules.string_pairs if string_values else rules.pairs),
        Param("meta_json", LOCAL, type="json", flag="--meta-json", metavar="JSON",
              help=f"{kind}metadata as a JSON object", rule=rules.string_values if string_values
              else rules.json_object),
    )


def new_metadata(example: list[str]) -> tuple[Param, ...]:
    """Positional KEY=VALUE pairs and --data JSON|@file|- ; merged into `newMetadata` by workflows."""
    return (
        Param("pairs", LOCAL, type="list", positional=True, metavar="KEY=VALUE...", rule=rules.pairs,
              help="metadata entries", example=example),
        Param("data", LOCAL, type="json", flag="--data", short="-d", metavar="JSON",
              help="metadata as a JSON object (entries given as KEY=VALUE override it)", rule=rules.json_object),
    )


def sdp_params(answer_what: str) -> tuple[Param, ...]:
    return (
        Param("sdp", BODY, wire="sdpOffer", help="SDP offer",
              required=True, rule=rules.sdp, metavar="SDP", example=EX_SDP),
        Param("answer", LOCAL, flag="--answer", metavar="FILE|-",
              help=f"write the SDP answer to FILE (mode 0600) or - (stdout, raw); {answer_what} goes to stderr"),
    )


def ice_params() -> tuple[Param, ...]:
    return (
        Param("candidate", LOCAL, type="list", flag="--candidate", metavar="CANDIDATE",
              help="ICE candidate line, e.g. 'candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host' "
                   "(repeatable)", rule=lambda f, v: [rules.candidate_string(f, c) for c in v],
              example=[EX_CANDIDATE]),
        Param("sdp_mid", LOCAL, flag="--sdp-mid", help="sdpMid for --candidate lines", example="0"),
        Param("sdp_mline_index", LOCAL, type="int", flag="--sdp-mline-index", rule=rules.non_negative,
              help="sdpMLineIndex for --candidate lines", example=0),
        Param("candidates", LOCAL, flag="--candidates", metavar="FILE|-", rule=rules.candidates_file,
              help="ICE candidates from a file or stdin"),
    )


ENDPOINTS = (
    Endpoint(
        "auvious.oauth.token", "POST", "/security/oauth/token",
        "Fetch a client-credentials access token and cache it; prints its metadata, never the token unless asked.",
        command=("token",), auth="client", idempotent=True, handler=workflows.token,
        aliases=(Alias(("oauth", "token")),),
        params=(
            Param("cached", LOCAL, type="bool", flag="--cached",
                  help="reuse the cached token while it is valid (no request then)"),
            Param("show_token", LOCAL, type="bool", flag="--show-token",
                  help="print the access token itself on stdout (refused when stdout is a terminal)"),
            Param("token_file", LOCAL, flag="--token-file", metavar="FILE",
                  help="write the access token to FILE (mode 0600, atomic)"),
        ),
        example=(),
        epilog="The token comes from the profile's token_url (default: URL + /security/oauth/token) with "
               "grant_type=client_credentials; the client authenticates with HTTP Basic. Every other command "
               "fetches and caches a token on its own.",
    ),
    Endpoint(
        "auvious.conference.create", "POST", "/rtc-api/conferences/create", "Create a conference.",
        params=(
            Param("conference_id", BODY, wire="conferenceId", flag="--id",
                  help="conference id (must be unique; default: the server picks one)"),
            Param("mode", BODY, choices=("ROUTER",), help="conference mode (only ROUTER is currently supported)"),
            Param("organization", BODY, wire="organizationId", help="organization id (internal use)"),
            Param("creator_endpoint", BODY, wire="creatorEndpoint", help="the creator's user endpoint id"),
            Param("interaction", BODY, wire="interactionId", help="interaction id this conference belongs to"),
            *meta(string_values=True),
        ),
        id_field="id", handler=workflows.with_metadata("metadata"),
        example=("--mode", "ROUTER", "--meta", "topic=standup"),
    ),
    Endpoint(
        "auvious.conference.get", "GET", "/rtc-api/conferences/{id}",
        "Show a conference: participants, their endpoints and streams, metadata, version.",
        params=(conference_path(),), id_field="id", handler=workflows.show_conference,
    ),
    Endpoint(
        "auvious.conference.simple_view", "GET", "/rtc-api/conferences/{id}/simpleView",
        "Show the simple view of a conference (participants -> endpoints -> streams).",
        command=("conference", "simple-view"), params=(conference_path(),), id_field="id",
        handler=workflows.show_simple_view,
    ),
    Endpoint(
        "auvious.conference.events", "GET", "/rtc-api/conferences/{id}/events",
        "One long-poll of a conference's events since version V (blocks a few seconds when there are none). "
        "`confctl auvious events -c ID` follows them.",
        params=(conference_path(),
                Param("since", QUERY, type="int", wire="v", flag="--since", short="-v", default=0,
                      rule=rules.non_negative, help="conference version to start from", example=0)),
        items=None, id_field="id", columns=("conferenceVersion", "timestamp", "type", "id"),
    ),
    Endpoint(
        "auvious.conference.active", "GET", "/rtc-api/conferences/active",
        "List the active conferences of your organization.", id_field="id", handler=workflows.list_active,
    ),
    Endpoint(
        "auvious.conference.end", "POST", "/rtc-api/conferences/end", "End a conference for every member.",
        params=(conference("demo-room-old"), endpoint(), Param("reason", BODY, help="why it ended")),
        confirm=True, example=("demo-room-old", "--endpoint", "ep-alice", "--reason", "wrap-up", "--yes"),
    ),
    Endpoint(
        "auvious.conference.join", "POST", "/rtc-api/conferences/join", "Join a conference with a user endpoint.",
        params=(conference(), endpoint("ep-carol", help="the joining user endpoint id"), *meta()),
        id_field="id", handler=workflows.with_metadata("metadata"),
        example=(EX_CONF, "--endpoint", "ep-carol", "--meta", "displayName=Carol"),
    ),
    Endpoint(
        "auvious.conference.leave", "POST", "/rtc-api/conferences/leave", "Leave a conference.",
        params=(conference(), endpoint("ep-dave", help="the leaving user endpoint id"),
                Param("reason", BODY, help="why", example="done")),
    ),
    Endpoint(
        "auvious.conference.interaction", "POST", "/rtc-api/conferences/interaction",
        "Set the interaction id this conference relates to.", command=("conference", "set-interaction"),
        params=(conference(), Param("interaction", BODY, wire="interactionId", help="interaction id",
                                    required=True, positional=True, example="INT-4711", metavar="INTERACTION"),
                endpoint(required=False)),
        idempotent=True,
    ),
    Endpoint(
        "auvious.conference.update_metadata", "POST", "/rtc-api/conferences/updateMetadata",
        "Set one conference metadata key (operation SET).", command=("conference", "metadata", "set"),
        params=(
            conference(),
            Param("key", BODY, help="metadata key", required=True, positional=True, example="topic",
                  metavar="KEY"),
            Param("value", BODY, help="value (SET only)", positional=True, example="Weekly sync",
                  metavar="VALUE"),
            endpoint(),
            Param("operation", BODY, choices=("SET", "REMOVE"), default="SET", hidden=True,
                  help="SET or REMOVE"),
        ),
        aliases=(Alias(("conference", "metadata", "remove"), preset={"operation": "REMOVE"},
                       help="Remove one conference metadata key (operation REMOVE)."),),
        idempotent=True, handler=workflows.update_metadata,
    ),
    Endpoint(
        "auvious.conference.send_event", "POST", "/rtc-api/conferences/sendEvent",
        "Send an event to every member of a conference; prints how many received it (SERVICE role only).",
        command=("conference", "send-event"),
        params=(
            conference(),
            Param("type", LOCAL, help="event type, e.g. HandRaisedEvent", required=True,
                  positional=True, rule=rules.event_type, example="HandRaisedEvent", metavar="TYPE"),
            Param("field", LOCAL, type="list", flag="--field", short="-f", metavar="KEY=VALUE", rule=rules.pairs,
                  help="event attribute (repeatable)",
                  example=["userEndpointId=ep-alice"]),
            Param("data", LOCAL, type="json", flag="--data", short="-d", metavar="JSON", rule=rules.json_object,
                  help="event attributes as a JSON object (--field entries override it)"),
            Param("timestamp", LOCAL, rule=rules.instant, help="event time (default: now)"),
            Param("qos", BODY, choices=("BEST_EFFORT", "AT_LEAST_ONCE"), default="BEST_EFFORT",
                  help="delivery guarantee"),
            Param("mask", BODY, type="list", wire="masks", flag="--mask", metavar="JSONPATH", rule=rules.jsonpath,
                  help="a string field to mask when the event is stored or logged (repeatable)"),
        ),
        handler=workflows.send_event,
    ),
    Endpoint(
        "auvious.participant.update_metadata", "POST", "/rtc-api/conferences/updateParticipantMetadata",
        "Replace a participant endpoint's metadata (KEY=VALUE pairs and/or --data JSON).",
        command=("participant", "set-metadata"),
        params=(conference(), *new_metadata(["displayName=Alice"]), endpoint()),
        idempotent=True, handler=workflows.with_metadata("newMetadata", required=True),
    ),
    Endpoint(
        "auvious.stream.publish", "POST", "/rtc-api/conferences/publishStream",
        "Publish a stream: send the SDP offer, get the stream id and SDP answer.",
        params=(
            conference(), endpoint(),
            Param("type", BODY, wire="conferenceStreamType", choices=STREAM_TYPES, required=True, short="-t",
                  help="stream type", example="CAM"),
            *sdp_params("the stream id"),
            Param("stream_id", BODY, wire="streamId", flag="--stream-id", help="stream id (default: server's)"),
            Param("bitrate", BODY, type="int", wire="videoBitrate", rule=rules.positive_int32,
                  help="video bitrate in bits per second"),
            *meta(),
        ),
        id_field="streamId", handler=workflows.sdp_exchange("streamId"),
    ),
    Endpoint(
        "auvious.stream.unpublish", "POST", "/rtc-api/conferences/unpublishStream", "Unpublish one of your streams.",
        params=(conference(), stream("stream-alice-screen"), endpoint()),
    ),
    Endpoint(
        "auvious.stream.view", "POST", "/rtc-api/conferences/viewStream",
        "View a published stream: send the SDP offer, get the viewer id and SDP answer.",
        params=(
            conference(), stream(), endpoint("ep-bob", help="the viewer's user endpoint id"),
            *sdp_params("the viewer id"),
            Param("viewer", BODY, wire="viewerId", help="viewer id (default: the server's)"),
            *meta(string_values=True),
        ),
        id_field="viewerId", handler=workflows.sdp_exchange("viewerId"),
    ),
    Endpoint(
        "auvious.stream.stop_view", "POST", "/rtc-api/conferences/stopViewStream",
        "Stop viewing a stream (on leaving, or when it was unpublished).", command=("stream", "stop-view"),
        params=(conference(), stream(), endpoint("ep-bob", help="the viewer's user endpoint id"),
                Param("viewer", BODY, wire="viewerId", help="viewer id from `stream view`", required=True,
                      example="viewer-bob-2")),
        idempotent=True,
    ),
    Endpoint(
        "auvious.stream.update_metadata", "POST", "/rtc-api/conferences/updateStreamMetadata",
        "Replace a stream's metadata (KEY=VALUE pairs and/or --data JSON).", command=("stream", "set-metadata"),
        params=(conference(), stream(), *new_metadata(["label=front-camera"]), endpoint()),
        idempotent=True, handler=workflows.with_metadata("newMetadata", required=True),
    ),
    Endpoint(
        "auvious.stream.update_bitrate", "POST", "/rtc-api/conferences/updatePublishedStreamBitrate",
        "Change the video bitrate of a published stream.", command=("stream", "set-bitrate"),
        params=(
            conference(), endpoint(),
            Param("bitrate", BODY, type="int", wire="videoBitrate", required=True, short="-b",
                  rule=rules.positive_int32, help="video bitrate in bits per second", example=500000),
            Param("stream", BODY, wire="streamId", help="stream id (default: your published stream)",
                  example="stream-alice-cam"),
        ),
        idempotent=True,
    ),
    Endpoint(
        "auvious.stream.publish_ice", "POST", "/rtc-api/conferences/addPublishStreamIceCandidates",
        "Add ICE candidates to a published stream (after `stream publish`).", command=("stream", "publish-ice"),
        params=(conference(), stream(), endpoint(), *ice_params()),
        idempotent=True, handler=workflows.ice,
    ),
    Endpoint(
        "auvious.stream.view_ice", "POST", "/rtc-api/conferences/addViewStreamIceCandidates",
        "Add ICE candidates to a stream you view (after `stream view`).", command=("stream", "view-ice"),
        params=(conference(), stream(), endpoint("ep-bob", help="the viewer's user endpoint id"),
                Param("viewer", BODY, wire="viewerId", help="viewer id from `stream view`", required=True,
                      example="viewer-bob-1"),
                *ice_params()),
        idempotent=True, handler=workflows.ice,
    ),
)
