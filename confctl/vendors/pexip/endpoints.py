"""Every row of the Pexip client REST API v2 inventory (tests/data/pexip.tsv), one declarative entry each.

Participant arguments take a display name, a UUID, a unique UUID prefix or `self` (confctl's own API
participant), in any room: a participant found in a breakout room is addressed under /breakouts/{uuid}/.
`--breakout ROOM` (a UUID, the short id the roster shows, or the room's name) on every conference, participant
and call command sends the same request under /breakouts/{uuid}/ (added by the provider, see __init__.py).

Examples are UUIDs, never display names: they must send their request to any node (a name is resolved by a
look-up first, and a node without that name sends nothing). The simulator seeds these UUIDs, so the examples
also succeed against it.
"""

from __future__ import annotations

from confctl.core.spec import BODY, LOCAL, PATH, QUERY, Alias, Endpoint, Param

from . import rules, workflows

C = "/api/client/v2/conferences/{alias}"
P = C + "/participants/{participant}"
K = P + "/calls/{call}"

EX_PARTICIPANT = "65b4af2f-657a-4081-98a8-b17667628ce3"  # main room of the profile's conference
EX_AUDIO_PARTICIPANT = "a0196175-b462-48a1-b95c-f322c3af57c1"  # main room
EX_BREAKOUT_PARTICIPANT = "1c5e2b7a-3f4d-4e8a-9b1c-2d3e4f5a6b7c"  # in EX_BREAKOUT
EX_BREAKOUT_PARTICIPANT_2 = "2d6f3c8b-4a5e-4f9b-8c2d-3e4f5a6b7c8d"  # in EX_BREAKOUT
# On the second conference (SCRATCH), for examples that end or move someone.
EX_SCRATCH_PARTICIPANT = "3e7a4d9c-5b6f-4a0c-9d3e-4f5a6b7c8d9e"
EX_SCRATCH_PARTICIPANT_2 = "4f8b5e0d-6c7a-4b1d-8e4f-5a6b7c8d9e0f"
EX_WAITING_PARTICIPANT = "eca55900-274d-498c-beba-2169aad9ce1f"  # in the waiting room
EX_EVENT_ID = "MTAuNDQuOTkuMl8xOA=="  # the doc's example presentation_frame event id
EX_CALL = "50ed679d-c622-4c0e-b251-e217f2aa030b"
EX_CALL_2 = "c34f35f1-1060-438c-9e87-6c2dffb9c998"
EX_BREAKOUT = "00000000-0000-0000-0000-000000000001"
EX_SCRATCH_BREAKOUT = "00000000-0000-0000-0000-000000000002"
SCRATCH = ("--conference", "meet.scratch")  # examples that end things run on a second seeded conference

alias = Param("alias", PATH, flag="--conference", short="-c", profile="conference", required=True,
              help="conference alias")
participant = Param("participant", PATH, required=True, rule=rules.participant_ref, resolve="participant",
                    metavar="PARTICIPANT", example=EX_PARTICIPANT,
                    help="display name, UUID, unique UUID prefix, or self (any room: one in a breakout room is "
                         "addressed there)")
self_participant = Param("participant", PATH, positional=True, default="self", rule=rules.participant_ref,
                         resolve="participant", metavar="[PARTICIPANT]",
                         help="the participant making the request (default: self, confctl's own participant)")
call = Param("call", PATH, required=True, rule=rules.uuid_rule, example=EX_CALL, help="call UUID")
breakout = Param("breakout", PATH, required=True, rule=rules.room_ref, resolve="breakout", example=EX_BREAKOUT,
                 metavar="BREAKOUT", help="breakout room: UUID, the short id the roster shows, or its name")
digits = Param("digits", BODY, required=True, positional=True, rule=rules.DTMF, example="1234",
               help="DTMF digits")
sdp = Param("sdp", BODY, rule=rules.text_or_file, help="session description (text, @file or -)")
# The doc: presentation.jpeg / presentation_high.jpeg "require the token and the event ID of the
# presentation_frame event ... as a header or a query parameter".
FRAME_ID = Param("id", QUERY, required=True, rule=rules.event_id, example=EX_EVENT_ID, metavar="EVENT_ID",
                 help="id of the presentation_frame event (`confctl pexip events -o jsonl` shows it)")


def setting(example="on"):
    return Param("setting", BODY, required=True, positional=True, rule=rules.on_off, metavar="on|off",
                 example=example, help="on or off")


def fecc_params() -> tuple[Param, ...]:
    """FECC to a participant also names it in the body as `target` (the workflow adds it)."""
    return (
        Param("action", BODY, required=True, choices=rules.FECC_ACTIONS, example="start",
              help="start, stop or continue"),
        Param("pan", LOCAL, choices=rules.FECC_AXES["pan"], example="left", help="pan direction"),
        Param("tilt", LOCAL, choices=rules.FECC_AXES["tilt"], help="tilt direction"),
        Param("zoom", LOCAL, choices=rules.FECC_AXES["zoom"], help="zoom direction"),
        Param("timeout", BODY, type="int", rule=rules.positive, default=None,
              help="milliseconds to send the signal (recommended: 1000 for start, 200 for continue)"),
    )


def message_params() -> tuple[Param, ...]:
    return (
        Param("payload", BODY, positional=True, help="the message text", example="Hello World", metavar="TEXT"),
        Param("json_payload", LOCAL, type="json", flag="--json",
              help="send an application/json message with this payload instead of text"),
        Param("type", BODY, hidden=True, help="MIME type (set from --json)"),
    )


def layout_params(prefix: str = "transforms.") -> tuple[Param, ...]:
    t = prefix
    return (
        Param("layout", BODY, wire=t + "layout", rule=rules.layout, metavar="LAYOUT", example="2:21",
              help="layout for everyone (VMR) / hosts (alias of host_layout)"),
        Param("host_layout", BODY, wire=t + "host_layout", rule=rules.layout, metavar="LAYOUT",
              help="Virtual Auditorium host layout"),
        Param("guest_layout", BODY, wire=t + "guest_layout", rule=rules.layout, metavar="LAYOUT",
              help="Virtual Auditorium guest layout (400 on a VMR)"),
        Param("enable_extended_ac", BODY, type="bool", wire=t + "enable_extended_ac",
              help="extended Adaptive Composition (with layout ac)"),
        Param("enable_active_speaker_indication", BODY, type="bool", wire=t + "enable_active_speaker_indication",
              flag="--active-speaker-indication", help="active speaker indication"),
        Param("enable_overlay_text", BODY, type="bool", wire=t + "enable_overlay_text", flag="--overlay-text",
              help="participant name overlay text"),
        Param("free_form_overlay_text", BODY, type="list", wire=t + "free_form_overlay_text",
              flag="--free-form-overlay-text", metavar="TEXT", help="custom overlay text per position (repeatable)"),
        Param("ai_enabled_indicator", BODY, type="bool", wire=t + "ai_enabled_indicator",
              flag="--ai-indicator", help="AI-enabled indicator"),
        Param("live_captions_indicator", BODY, type="bool", wire=t + "live_captions_indicator",
              flag="--live-captions-indicator", help="live captions indicator"),
        Param("recording_indicator", BODY, type="bool", wire=t + "recording_indicator",
              flag="--recording-indicator", help="recording indicator"),
        Param("streaming_indicator", BODY, type="bool", wire=t + "streaming_indicator",
              flag="--streaming-indicator", help="streaming indicator"),
        Param("streaming_layout", BODY, wire=t + "streaming.layout", rule=rules.layout, metavar="LAYOUT",
              help="layout for streaming participants"),
        Param("streaming_waiting_screen", BODY, type="bool", wire=t + "streaming.waiting_screen_enabled",
              flag="--streaming-waiting-screen", help="holding screen for streaming participants"),
        Param("streaming_presentation_in_mix", BODY, type="bool", wire=t + "streaming.presentation_in_mix",
              flag="--streaming-presentation-in-mix", help="presentation in the streaming mix"),
    )


CONFERENCE_REQUESTS = ("dial", "lock", "unlock", "start_conference", "muteguests", "unmuteguests",
                       "set_guests_can_unmute", "set_guests_can_present", "set_guests_can_see_guests", "disconnect",
                       "message", "transform_layout", "clearallbuzz", "clearspotlights", "silent_video_detection",
                       "set_classification_level", "set_message_text", "set_pinning_config")
PARTICIPANT_REQUESTS = ("disconnect", "mute", "unmute", "video_muted", "video_unmuted", "client_mute",
                        "client_unmute", "allowrxpresentation", "denyrxpresentation", "spotlighton", "spotlightoff",
                        "unlock", "dtmf", "message", "show_live_captions", "hide_live_captions", "overlaytext",
                        "role", "fecc", "buzz", "clearbuzz", "transfer", "preferred_aspect_ratio", "layout_group",
                        "send_to_audio_mixes", "receive_from_audio_mix")

PARTICIPANT_COLUMNS = ("uuid", "display_name", "role", "service_type", "protocol", "is_muted", "is_video_muted",
                       "is_presenting", "buzz_time", "spotlight")


# Each helper takes the inventory id written out in full, so one grep for an id finds where it is declared.
def _last(id_: str, group: str) -> str:
    prefix = f"pexip.{group}."
    if not id_.startswith(prefix):
        raise ValueError(f"{id_}: expected an id under {prefix}")
    return id_[len(prefix):]


def conf(id_: str, method: str, req: str, help: str, *params: Param, command=(), **kw) -> Endpoint:
    name = _last(id_, "conference")
    return Endpoint(id_, method, f"{C}/{req}", help, params=(alias, *params),
                    command=command or ("conference", name.replace("_", "-")), **kw)


def part(id_: str, req: str, help: str, *params: Param, command=(), who: Param = participant, **kw) -> Endpoint:
    name = _last(id_, "participant")
    return Endpoint(id_, kw.pop("method", "POST"), f"{P}/{req}", help,
                    params=(alias, who, *params), command=command or ("participant", name.replace("_", "-")),
                    **kw)


def callep(id_: str, help: str, *params: Param, **kw) -> Endpoint:
    name = _last(id_, "call")
    return Endpoint(id_, "POST", f"{K}/{name}", help, params=(alias, participant, call, *params),
                    command=("call", name.replace("_", "-")), **kw)


ENDPOINTS = (
    # -- token lifecycle ------------------------------------------------------------------------------------
    Endpoint(
        "pexip.token.request", "POST", C + "/request_token",
        "Request a token and keep it cached, so later commands reuse (and refresh) this one participant.",
        params=(alias,
                Param("display_name", BODY, profile="display_name", help="name shown to the meeting"),
                Param("call_tag", BODY, help="call tag for this participant (default: confctl)"),
                Param("direct_media", BODY, type="bool", help="announce direct media support"),
                Param("chosen_idp", BODY, rule=rules.uuid_rule, help="SSO: identity provider UUID to sign in with"),
                Param("sso_token", BODY, type="file", flag="--sso-token-file", rule=rules.secret_text,
                      metavar="FILE", help="SSO: file (or - for stdin) holding the token from the identity provider"),
                Param("conference_extension", BODY, metavar="ALIAS",
                      help="Virtual Reception: alias of the target conference")),
        handler=workflows.token_request, auth="none",
        epilog="The PIN goes in the 'pin' header from the profile (CONFCTL_PEXIP_PIN); a guest of a conference "
               "whose guests need no PIN sends 'none'. The token itself is never printed; `confctl pexip token "
               "release` ends the participant.",
    ),
    Endpoint("pexip.token.refresh", "POST", C + "/refresh_token",
             "Refresh the cached token now (requesting one first when none is cached).",
             params=(alias,), handler=workflows.token_refresh, auth="none"),
    Endpoint("pexip.token.release", "POST", C + "/release_token",
             "Release the cached token: confctl's participant leaves the meeting.",
             params=(alias,), handler=workflows.token_release, auth="none"),

    # -- conference control ---------------------------------------------------------------------------------
    conf("pexip.conference.dial",
         "POST", "dial", "Dial out from the conference (Hosts only); prints the new participant(s).",
         Param("destination", BODY, required=True, positional=True, example="sip:bob@example.com",
               help="the address to call"),
         Param("protocol", BODY, choices=rules.DIAL_PROTOCOLS, default="auto",
               help="auto uses Call Routing Rules (default); the others need the legacy dial-out API"),
         Param("role", BODY, rule=rules.dial_role, default="GUEST", help="privileges of the dialled participant"),
         Param("presentation_url", BODY, help="RTMP only: separate RTMP destination for presentation"),
         Param("streaming", BODY, type="bool", rule=rules.yes_no,
               help="mark the participant as a streaming/recording device"),
         Param("dtmf_sequence", BODY, rule=rules.DTMF, help="DTMF to send once the call starts"),
         Param("source_display_name", BODY, help="calling display name"),
         Param("source", BODY, help="source URI (valid for the conference)"),
         Param("call_type", BODY, choices=rules.CALL_TYPES, help="limit the media of the call"),
         Param("keep_conference_alive", BODY, choices=rules.KEEP_ALIVE, help="when the conference may end"),
         Param("remote_display_name", BODY, help="friendly name for the participant"),
         Param("text", BODY, help="overlay text instead of remote_display_name"),
         Param("wait", LOCAL, type="bool", help="follow events until it connects, is rejected or 30 s pass"),
         handler=workflows.dial, check=workflows.check_dial, aliases=(Alias(("conference", "dial-out")),),
         columns=PARTICIPANT_COLUMNS,
         id_field="uuid"),
    conf("pexip.conference.status",
         "GET", "conference_status", "Show the conference status (locked, guests muted, started, ...)."),
    conf("pexip.conference.lock", "POST", "lock", "Lock the conference: new participants wait for a Host."),
    conf("pexip.conference.unlock", "POST", "unlock", "Unlock the conference."),
    conf("pexip.conference.start",
         "POST", "start_conference", "Start the conference: guests in the waiting room join."),
    conf("pexip.conference.muteguests", "POST", "muteguests", "Mute all Guests.", command=("conference", "mute-guests"),
         aliases=(Alias(("conference", "mute-all-guests")),)),
    conf("pexip.conference.unmuteguests",
         "POST", "unmuteguests", "Unmute all Guests.", command=("conference", "unmute-guests"),
         aliases=(Alias(("conference", "unmute-all-guests")),)),
    conf("pexip.conference.guests_can_unmute", "POST", "set_guests_can_unmute",
         "Allow or forbid Guests to unmute themselves after a Host muted them.", setting()),
    conf("pexip.conference.guests_can_present",
         "POST", "set_guests_can_present", "Allow or forbid Guests to present.", setting()),
    conf("pexip.conference.guests_can_see_guests", "POST", "set_guests_can_see_guests",
         "Whether Guests see other Guests (Virtual Auditorium).",
         Param("setting", BODY, required=True, positional=True, choices=rules.SEE_GUESTS, example="always",
               help="no_hosts, always or never")),
    conf("pexip.conference.disconnect_all",
         "POST", "disconnect", "Disconnect every participant, confctl's own included.",
         confirm=True, example=("--yes", "--conference", "meet.open")),
    conf("pexip.conference.message",
         "POST", "message", "Send a chat message to everyone (text, or --json for an application "
         "payload).", *message_params(), handler=workflows.message, check=workflows.check_message),
    conf("pexip.conference.participants",
         "GET", "participants", "List the participants (see also `confctl pexip participants "
         "--watch`).", columns=PARTICIPANT_COLUMNS, id_field="uuid",
         aliases=(Alias(("participant", "list")),)),
    conf("pexip.conference.transform_layout", "POST", "transform_layout",
         "Change the layout, indicators, overlay text and streaming options. " + rules.LAYOUTS_HELP,
         *layout_params(), data=True, handler=workflows.transform_layout, check=workflows.check_layout,
         aliases=(Alias(("conference", "set-layout")),)),
    conf("pexip.conference.clearallbuzz",
         "POST", "clearallbuzz", "Lower all raised hands.", command=("conference", "lower-all-hands"),
         aliases=(Alias(("conference", "clearallbuzz")),)),
    conf("pexip.conference.clearspotlights", "POST", "clearspotlights", "Remove every spotlight.",
         command=("conference", "clear-spotlights")),
    conf("pexip.conference.silent_video_detection", "POST", "silent_video_detection",
         "Configure silent video detection (Adaptive Composition).",
         Param("enable", BODY, type="bool", wire="config.enable", example=True, help="detect silent video"),
         Param("silent_after", BODY, type="int", wire="config.silent_after", rule=rules.silent_after,
               help="seconds of silent video before removal from the mix (1..120, default 15)"),
         Param("require_no_faces", BODY, type="bool", wire="config.require_no_faces",
               help="a detected face keeps the participant (default on)"),
         Param("reactivate_after", BODY, type="int", wire="config.reactivate_after", rule=rules.reactivate_after,
               help="seconds of moving video before no longer silent (1..5, default 2)")),
    conf("pexip.conference.set_classification_level", "POST", "set_classification_level",
         "Set the classification level (a level key of the conference theme).",
         Param("level", BODY, type="int", required=True, positional=True, rule=rules.classification, example=1,
               help="level key"), command=("conference", "set-classification")),
    conf("pexip.conference.get_classification_level", "GET", "get_classification_level",
         "Show the classification levels and the current one.", command=("conference", "get-classification")),
    conf("pexip.conference.theme", "GET", "theme", "Show the theme metadata (direct media)."),
    conf("pexip.conference.theme_resource",
         "GET", "theme/{resource_path}", "Fetch one theme resource (binary: -O FILE or a pipe).",
         Param("resource_path", PATH, required=True, rule=rules.resource_path, example="background.jpg",
               help="resource path from the theme metadata"), binary=True),
    conf("pexip.conference.available_layouts",
         "GET", "available_layouts", "List the layouts available to this conference.",
         Param("annotate", QUERY, type="bool", help="include tags (equal, speaker-focus, ...)"),
         command=("conference", "layouts")),
    conf("pexip.conference.layout_svgs", "GET", "layout_svgs", "SVG drawings of the active layouts."),
    conf("pexip.conference.set_message_text",
         "POST", "set_message_text", "Set the message banner ('' clears it; \\n for lines).",
         Param("text", BODY, required=True, positional=True, example="Back in 5 minutes", help="banner text"),
         aliases=(Alias(("conference", "banner")),)),
    conf("pexip.conference.get_message_text", "GET", "get_message_text", "Show the message banner text."),
    conf("pexip.conference.set_pinning_config",
         "POST", "set_pinning_config", "Apply a pinning configuration from the theme.",
         Param("pinning_config", BODY, required=True, positional=True, example="basic_backfill",
               metavar="NAME", help="pinning configuration name")),
    conf("pexip.conference.get_pinning_config", "GET", "get_pinning_config", "Show the current pinning configuration."),
    conf("pexip.conference.available_pinning_configs",
         "GET", "available_pinning_configs", "List the pinning configurations.",
         command=("conference", "pinning-configs")),

    # -- video mixes (personal layouts) ---------------------------------------------------------------------
    Endpoint("pexip.video_mix.create", "POST", C + "/video_mixes/create",
             "Create a video mix: main, main.!personal (yourself) or main.!<participant uuid>.",
             params=(alias, Param("mix_name", BODY, required=True, positional=True, rule=rules.video_mix_name, resolve="video_mix",
                                  example="main.!personal", metavar="MIX", help="mix name")),
             command=("video-mix", "create")),
    Endpoint("pexip.video_mix.configure", "POST", C + "/video_mixes/{mix_name}/configure",
             "Set the layout of a video mix. " + rules.LAYOUTS_HELP,
             params=(alias, Param("mix_name", PATH, required=True, rule=rules.video_mix_name, resolve="video_mix",
                                  example="main", metavar="MIX", help="mix name"),
                     Param("layout", BODY, wire="transform_layout.layout", required=True, rule=rules.layout,
                           example="1:7", help="layout")),
             command=("video-mix", "configure")),
    Endpoint("pexip.video_mix.delete", "POST", C + "/video_mixes/{mix_name}/delete", "Remove a personal layout.",
             params=(alias, Param("mix_name", PATH, required=True, rule=rules.video_mix_name, resolve="video_mix",
                                  example="main.!" + EX_PARTICIPANT, metavar="MIX", help="mix name")),
             command=("video-mix", "delete")),

    # -- participants ---------------------------------------------------------------------------------------
    part("pexip.participant.disconnect", "disconnect", "Disconnect a participant (from a breakout room: entirely).",
         example=(EX_SCRATCH_PARTICIPANT, *SCRATCH)),
    part("pexip.participant.mute", "mute", "Mute a participant's audio."),
    part("pexip.participant.unmute", "unmute", "Unmute a participant's audio."),
    part("pexip.participant.video_muted",
         "video_muted", "Mute a participant's video.", command=("participant", "video-mute")),
    part("pexip.participant.video_unmuted",
         "video_unmuted", "Unmute a participant's video.", command=("participant", "video-unmute")),
    part("pexip.participant.client_mute",
         "client_mute", "Show the participant's local microphone as muted (no server mute)."),
    part("pexip.participant.client_unmute", "client_unmute", "Show the participant's local microphone as unmuted."),
    part("pexip.participant.allowrxpresentation",
         "allowrxpresentation", "Allow the participant to receive presentation.",
         command=("participant", "allow-presentation")),
    part("pexip.participant.denyrxpresentation", "denyrxpresentation", "Stop the participant receiving presentation.",
         command=("participant", "deny-presentation")),
    part("pexip.participant.spotlighton",
         "spotlighton", "Spotlight a participant.", command=("participant", "spotlight-on"),
         aliases=(Alias(("participant", "spotlight")),)),
    part("pexip.participant.spotlightoff", "spotlightoff", "Remove a participant's spotlight.",
         command=("participant", "spotlight-off")),
    part("pexip.participant.unlock", "unlock", "Admit a participant from the waiting room of a locked conference.",
         command=("participant", "admit"), aliases=(Alias(("participant", "unlock")),), example=(EX_WAITING_PARTICIPANT, *SCRATCH)),
    part("pexip.participant.dtmf", "dtmf", "Send DTMF digits to a participant.", digits),
    part("pexip.participant.message", "message", "Send a direct message (text, or --json for an application payload).",
         *message_params(), handler=workflows.message, check=workflows.check_message),
    part("pexip.participant.calls",
         "calls", "Add a WebRTC call element to confctl's own participant (returns call_uuid, sdp).",
         Param("call_type", BODY, default="WEBRTC", choices=("WEBRTC",), help="call type"),
         Param("sdp", BODY, required=True, rule=rules.text_or_file, example="v=0", help="the offer SDP "
               "(text, @file or -)"),
         Param("fecc_supported", BODY, type="bool", help="this participant accepts FECC"),
         Param("media_type", BODY, choices=rules.CALL_TYPES, help="media the client sends"),
         Param("present", BODY, choices=("main",), help="receive presentation in place of main video"),
         who=self_participant, command=("participant", "add-call"), aliases=(Alias(("participant", "calls")),)),
    part("pexip.participant.show_live_captions", "show_live_captions", "Start live captions for a participant.",
         command=("participant", "show-captions")),
    part("pexip.participant.hide_live_captions", "hide_live_captions", "Stop live captions for a participant.",
         command=("participant", "hide-captions")),
    part("pexip.participant.overlaytext", "overlaytext", "Change a participant's name overlay text.",
         Param("text", BODY, required=True, positional=True, example="The Dude", help="overlay text"),
         command=("participant", "overlay-text")),
    part("pexip.participant.pres_in_mix",
         "pres_in_mix", "Whether you see presentation in the layout mix (AC; yourself only).",
         Param("state", BODY, type="bool", required=True, flag="--on/--off", example=True,
               help="presentation in the mix"), who=self_participant),
    part("pexip.participant.role", "role", "Change a participant's role: chair (host) or guest.",
         Param("role", BODY, required=True, positional=True, rule=rules.host_or_chair, example="chair",
               help="chair (host) or guest"), command=("participant", "set-role"),
         aliases=(Alias(("participant", "role")),)),
    part("pexip.participant.get_attestation",
         "get_attestation", "A JWT asserting your role (verify with `pexip node jwk`).",
         who=self_participant, method="GET", command=("participant", "attestation"),
         handler=workflows.attestation),
    part("pexip.participant.fecc",
         "fecc", "Far-end camera control of a participant.", *fecc_params(), handler=workflows.fecc,
         check=workflows.check_fecc),
    part("pexip.participant.buzz", "buzz", "Raise a participant's hand.", command=("participant", "raise-hand"),
         aliases=(Alias(("participant", "buzz")),)),
    part("pexip.participant.clearbuzz",
         "clearbuzz", "Lower a participant's hand.", command=("participant", "lower-hand"),
         aliases=(Alias(("participant", "clearbuzz")),)),
    part("pexip.participant.transfer", "transfer", "Transfer a participant to another conference.",
         Param("conference_alias", BODY, required=True, flag="--to", example="meet.demo", metavar="ALIAS",
               help="target conference alias"),
         Param("role", BODY, required=True, rule=rules.transfer_role, example="guest", help="host or guest"),
         Param("pin", BODY, type="file", flag="--pin-file", rule=rules.secret_text, metavar="FILE",
               help="file (or - for stdin) with the target's PIN for that role"),
         example=(EX_SCRATCH_PARTICIPANT_2, "--to", "meet.demo", "--role", "guest", *SCRATCH)),
    part("pexip.participant.take_floor", "take_floor", "Signal that you start sending full-motion presentation.",
         who=self_participant),
    part("pexip.participant.release_floor",
         "release_floor", "Signal that you stopped sending full-motion presentation.",
         who=self_participant),
    part("pexip.participant.avatar",
         "avatar.jpg", "Fetch a participant's avatar (binary: -O FILE or a pipe).", method="GET",
         binary=True),
    part("pexip.participant.statistics",
         "statistics", "Report media statistics (direct media; yourself).", who=self_participant,
         data=True, example=("--data", '{"audio": {"rx_bitrate": 64.4, "rx_codec": "opus"}}')),
    part("pexip.participant.preferred_aspect_ratio",
         "preferred_aspect_ratio", "The aspect ratio the participant wants (0..2).",
         Param("aspect_ratio", BODY, type="float", required=True, positional=True, rule=rules.aspect_ratio,
               example=0.5625, metavar="RATIO", help="0..2, e.g. 0.5625 for 9/16"),
         command=("participant", "aspect-ratio")),
    part("pexip.participant.layout_group", "layout_group", "Assign a participant to a layout group (pinning).",
         Param("layout_group", BODY, required=True, positional=True, example="a", metavar="GROUP",
               help="layout group name")),
    part("pexip.participant.send_to_audio_mixes",
         "send_to_audio_mixes", "Set the audio mixes a participant sends to (ducking); "
         "no --mix resets to main.",
         Param("mixes", BODY, type="list", flag="--mix", rule=rules.audio_mixes, default=[], metavar="NAME",
               example=["main:prominent"], help="NAME or NAME:prominent (repeatable)"),
         handler=workflows.audio_mixes),
    part("pexip.participant.receive_from_audio_mix", "receive_from_audio_mix", "Set the audio mix a participant hears.",
         Param("mix_name", BODY, required=True, positional=True, rule=rules.audio_mix_or_none, example="main",
               metavar="MIX", help="mix name, or none for no audio"),),

    # -- breakout rooms -------------------------------------------------------------------------------------
    Endpoint("pexip.breakout.create", "POST", C + "/breakouts",
             "Create a breakout room, optionally moving participants from the main room into it.",
             params=(alias,
                     Param("name", BODY, required=True, positional=True, example="Room 1", help="room name"),
                     Param("duration", BODY, type="int", rule=rules.non_negative,
                           help="seconds the room stays open (0 = indefinitely)"),
                     Param("end_action", BODY, choices=rules.END_ACTIONS,
                           help="at the end: transfer back to main (default) or disconnect"),
                     Param("participants", LOCAL, type="list", flag="--participant", rule=rules.participant_ref,
                           resolve="participant", metavar="PARTICIPANT",
                           help="participant of the main room to move in (repeatable; names work)"),
                     Param("guests_allowed_to_leave", BODY, type="bool", help="guests may return to main")),
             data=True, handler=workflows.breakout_create, id_field="breakout_uuid"),
    Endpoint("pexip.breakout.conference_control", "POST", C + "/breakouts/{breakout}/{request}",
             "Send a conference control request to one breakout room (like --breakout on conference commands).",
             params=(alias, breakout,
                     Param("request", PATH, required=True, choices=CONFERENCE_REQUESTS, example="muteguests",
                           help="the conference request")),
             data=True, command=("breakout", "control")),
    Endpoint("pexip.breakout.participant_control", "POST",
             C + "/breakouts/{breakout}/participants/{participant}/{request}",
             "Send a participant request inside a breakout room (like --breakout on participant commands).",
             params=(alias, breakout,
                     Param("participant", PATH, required=True, rule=rules.participant_ref, resolve="participant",
                           metavar="PARTICIPANT", example=EX_BREAKOUT_PARTICIPANT,
                           help="display name, UUID or unique UUID prefix"),
                     Param("request", PATH, required=True, choices=PARTICIPANT_REQUESTS, example="mute",
                           help="the participant request")),
             data=True, command=("breakout", "participant-control")),
    Endpoint("pexip.breakout.close", "POST", C + "/breakouts/{breakout}/disconnect",
             "Close one breakout room (its end action applies).", params=(alias, breakout), confirm=True,
             example=(EX_SCRATCH_BREAKOUT, "--yes", *SCRATCH)),
    Endpoint("pexip.breakout.empty", "POST", C + "/breakouts/empty",
             "Move everyone back to the main room; the rooms stay open.", params=(alias,), example=SCRATCH),
    Endpoint("pexip.breakout.buzz", "POST", C + "/breakoutbuzz",
             "Ask for help in a breakout room (--breakout ROOM, or the room confctl's participant is in).",
             params=(alias,), command=("breakout", "ask-for-help"), aliases=(Alias(("breakout", "buzz")),)),
    Endpoint("pexip.breakout.clearbuzz", "POST", C + "/clearbreakoutbuzz", "Dismiss a help request.",
             params=(alias,), command=("breakout", "dismiss-help"), aliases=(Alias(("breakout", "clearbuzz")),)),
    Endpoint("pexip.breakout.clearbuzz_room", "POST", C + "/breakouts/{breakout}/clearbreakoutbuzz",
             "Dismiss the help request of one breakout room.", params=(alias, breakout),
             command=("breakout", "dismiss-help-room")),
    Endpoint("pexip.breakout.move", "POST", C + "/breakouts/{breakout}/participants/breakout",
             "Move participants out of a breakout room: to main, to another room, or back to their previous room.",
             params=(alias,
                     Param("breakout", PATH, required=True, rule=rules.room_ref, resolve="breakout", flag="--from",
                           metavar="BREAKOUT", positional=False, example=EX_BREAKOUT,
                           help="the breakout room they are in (UUID, short id or name)"),
                     Param("breakout_uuid", BODY, required=True, flag="--to", rule=rules.move_target,
                           resolve="breakout_target", example="main", metavar="ROOM",
                           help='"main", "previous" or a breakout room (UUID, short id or name)'),
                     Param("participants", BODY, type="list", positional=True, rule=rules.participant_ref,
                           resolve="participant", metavar="[PARTICIPANT]...", example=[EX_BREAKOUT_PARTICIPANT_2], default=[],
                           help="who to move (names work); none = everyone in the room")),
             handler=workflows.breakout_move),
    Endpoint("pexip.breakout.close_all", "POST", C + "/breakouts/disconnect",
             "Close every breakout room (their end actions apply).", params=(alias,), confirm=True,
             command=("breakout", "close-all"),
             example=("--yes", *SCRATCH)),
    Endpoint("pexip.breakout.move_from_main", "POST", C + "/participants/breakout",
             "Move participants from the main room into a breakout room.",
             params=(alias,
                     Param("breakout_uuid", BODY, required=True, flag="--to", rule=rules.room_ref,
                           resolve="breakout", example=EX_BREAKOUT, metavar="BREAKOUT",
                           help="target breakout room (UUID, short id or name)"),
                     Param("participants", BODY, type="list", positional=True, required=True,
                           rule=rules.participant_ref, resolve="participant", metavar="PARTICIPANT...",
                           example=[EX_AUDIO_PARTICIPANT], help="who to move (names work)")),
             command=("breakout", "move-from-main"), handler=workflows.breakout_move),
    Endpoint("pexip.breakout.leave", "POST", C + "/leavebreakout",
             "Return confctl's participant from its breakout room to the main room.", params=(alias,)),

    # -- calls ----------------------------------------------------------------------------------------------
    callep("pexip.call.ack", "Start media on a call (direct media: with the local SDP).", sdp),
    callep("pexip.call.disconnect", "Disconnect one call of a participant.", example=(EX_PARTICIPANT, EX_CALL_2)),
    callep("pexip.call.dtmf", "Send DTMF digits on a gateway call.", digits),
    callep("pexip.call.new_candidate", "Send a trickle ICE candidate.",
           Param("candidate", BODY, required=True, example="candidate:1 1 udp 2124262783 192.0.2.1 50000 typ host",
                 help="candidate-attribute (RFC 5245)"),
           Param("mid", BODY, required=True, example="0", help="media stream identifier"),
           Param("ufrag", BODY, example="YAeD", help="ICE username fragment"),
           Param("pwd", BODY, help="ICE password")),
    callep("pexip.call.update", "Send a new SDP (e.g. ICE restart).",
           Param("sdp", BODY, required=True, rule=rules.text_or_file, example="v=0", help="the new SDP"),
           Param("fecc_supported", BODY, type="bool", help="this participant accepts FECC")),
    callep("pexip.call.fecc", "Far-end camera control on a gateway call.", *fecc_params(), handler=workflows.fecc,
         check=workflows.check_fecc),

    # -- events, presentation, node -------------------------------------------------------------------------
    Endpoint("pexip.events", "GET", C + "/events",
             "Follow this conference's server-sent events (like `confctl pexip events`).",
             params=(alias,
                     Param("types", LOCAL, type="list", flag="--type", short="-t", metavar="GLOB",
                           help="only events whose type matches (repeatable)"),
                     Param("count", LOCAL, type="int", short="-n", rule=rules.positive, help="stop after N events"),
                     Param("timeout", LOCAL, type="float", rule=rules.positive, metavar="S",
                           help="stop after S seconds"),
                     Param("until", LOCAL, metavar="TYPE", help="stop after the first event of this type"),
                     Param("save_frames", LOCAL, metavar="DIR", help="fetch a JPEG into DIR per presentation_frame")),
             command=("conference", "events"), handler=workflows.events, example=("--count", "1", "--timeout", "10")),
    Endpoint("pexip.presentation.frame", "GET", C + "/presentation.jpeg",
             "Fetch the latest presentation frame (binary: -O FILE or a pipe).",
             params=(alias, FRAME_ID), binary=True, command=("presentation", "frame")),
    Endpoint("pexip.presentation.frame_high", "GET", C + "/presentation_high.jpeg",
             "Fetch the latest presentation frame in high resolution (binary).",
             params=(alias, FRAME_ID), binary=True, command=("presentation", "frame-high")),
    Endpoint("pexip.node.status", "GET", "/api/client/v2/status",
             "Is the Conferencing Node in maintenance mode? (exit 7 when it is)", auth="none",
             idempotent=False),  # not idempotent here: report a 503 at once instead of retrying it
    Endpoint("pexip.node.jwk", "GET", "/api/client/v2/jwk", "The JSON Web Key Set that verifies attestation JWTs.",
             auth="none"),
)

# Commands that take --breakout: the doc says a breakout room "can be controlled by hosts like a normal VMR";
# breakoutbuzz is sent under /breakouts/{uuid}/ like clearbreakoutbuzz.
BREAKOUT_SCOPED = ("pexip.conference.", "pexip.participant.", "pexip.call.", "pexip.video_mix.",
                   "pexip.breakout.buzz")
