"""Pexip Infinity (client REST API v2): what the core needs to know, and nothing heavy (see
confctl.core.vendor). The implementation is in provider.py (session, tokens), endpoints.py, events.py and sim/."""

from confctl.core.vendor import EnvVar, Field, FollowOption, SimOption, Verb, VendorSpec

_WHO = {"alias": "conference", "participant": "id"}  # a participant verb's endpoint parameters
_CONF = {"alias": "id"}

SPEC = VendorSpec(
    name="pexip",
    order=20,
    help="Pexip Infinity client REST API v2: conferences, participants, breakouts, calls, live events.",
    provider="confctl.vendors.pexip.provider:PROVIDER",
    fields=(
        Field("url", "Conferencing Node base URL, e.g. https://pexip.example.com"),
        Field("conference", "conference alias, e.g. meet.alice"),
        Field("display_name", "display name used when requesting a token", required=False, default="confctl"),
        Field("pin", "host or guest PIN", secret=True, required=False),
    ),
    env=(
        EnvVar("CONFCTL_PEXIP_CONFERENCE_EXTENSION", "conference extension sent when requesting a token "
                                                     "(Virtual Reception / extension lookups)"),
        EnvVar("CONFCTL_PEXIP_CHOSEN_IDP", "SSO identity provider UUID to sign in with"),
        EnvVar("CONFCTL_PEXIP_SSO_TOKEN", "SSO token sent when requesting a token", secret=True),
        EnvVar("CONFCTL_PEXIP_CALL_TAG", "call tag of confctl's own participant (default: confctl)"),
        EnvVar("CONFCTL_PEXIP_RESUME_TIMEOUT", "seconds an event stream keeps trying to resume before exit 9 "
                                               "(default: 120)"),
        EnvVar("CONFCTL_PEXIP_TOKEN", "a token obtained by other means (e.g. the steps a dry run prints), used "
                                      "as is", secret=True),
    ),
    profile_extras=("conference_extension", "chosen_idp", "call_tag", "resume_timeout"),
    conference_help="conference alias to follow (default: the profile's; repeatable)",
    follow_options=(
        FollowOption("save_frames", ("--save-frames",), "fetch a JPEG into DIR for each presentation_frame",
                     metavar="DIR", check="confctl.vendors.pexip.provider:check_save_frames"),
        FollowOption("connect_rate", ("--connect-rate",), "join at most N conferences per second when following "
                     "many (default 25/s, after a first burst of as many)", metavar="N/s",
                     check="confctl.vendors.pexip.events:check_connect_rate"),
    ),
    sim_app="confctl.vendors.pexip.sim.app:create_app",
    sim_controls="confctl.vendors.pexip.sim.controls:app",
    sim_credentials={"conference": "meet.demo", "pin": "1234", "display_name": "confctl"},
    sim_options=(
        SimOption("pexip_token_ttl", "seconds a Pexip token lives", int, 120, "--pexip-token-ttl"),
        # Shared with the other simulators (the first declaration wins): meet.demo comes alive.
        SimOption("activity", "every SECONDS someone in the meeting speaks, raises or lowers a hand, joins or "
                              "leaves (default: off)", float, None, "--activity"),
    ),
    id_keys=("participant_uuid",),
    model="confctl.vendors.pexip.model:MODEL",
    verbs=(
        Verb("mute", "participant mute (in a breakout room: that room's path)", "pexip.participant.mute",
             params=_WHO, holds=("muted_audio", True)),
        Verb("unmute", "participant unmute", "pexip.participant.unmute", params=_WHO, holds=("muted_audio", False)),
        Verb("kick", "participant disconnect", "pexip.participant.disconnect", params=_WHO),
        Verb("spotlight", "participant spotlighton (already: its spotlight is set)", "pexip.participant.spotlighton",
             params=_WHO),
        Verb("unspotlight", "participant spotlightoff", "pexip.participant.spotlightoff", params=_WHO),
        Verb("mute-all", "conference muteguests (Guests only; Hosts keep their audio)",
             "pexip.conference.muteguests", target="conference", params=_CONF),
        Verb("unmute-all", "conference unmuteguests", "pexip.conference.unmuteguests", target="conference",
             params=_CONF),
        Verb("lock", "conference lock (newcomers wait for a Host)", "pexip.conference.lock", target="conference",
             params=_CONF, holds=("locked", True)),
        Verb("unlock", "conference unlock", "pexip.conference.unlock", target="conference", params=_CONF,
             holds=("locked", False)),
    ),
    secret_headers=("token", "pin"),
    secret_fields=("token", "pin", "sso_token"),
)
