"""The Auvious RTC API: what the core needs to know, and nothing heavy (see confctl.core.vendor). The
implementation is in provider.py (session), oauth.py, endpoints.py, events.py and sim/."""

from confctl.core.vendor import EnvVar, Field, FollowOption, SimOption, Verb, VendorSpec

SPEC = VendorSpec(
    name="auvious",
    order=40,
    help="Auvious RTC API: conferences, members, streams, metadata, long-poll events.",
    provider="confctl.vendors.auvious.provider:PROVIDER",
    fields=(
        Field("url", "API base URL", required=False, default="https://auvious.video"),
        Field("client_id", "OAuth 2.0 client id"),
        Field("client_secret", "OAuth 2.0 client secret", secret=True, unless_env="CONFCTL_AUVIOUS_TOKEN"),
        Field("token_url", "OAuth 2.0 token URL (default: URL + /security/oauth/token)", required=False),
        Field("conference", "default conference id for `events follow`", required=False),
    ),
    env=(
        EnvVar("CONFCTL_AUVIOUS_TOKEN", "an access token obtained by other means, used as is (no fetch, no "
                                        "cache)", secret=True),
    ),
    conference_help="conference id to follow (default: the profile's conference, else the cursor file's; "
                    "repeatable)",
    follow_options=(
        FollowOption("cursor_file", ("--cursor-file",),
                     "persist the event version here so the next run resumes exactly", metavar="FILE",
                     check="confctl.vendors.auvious.provider:check_cursor_file"),
    ),
    follow_plan="confctl.vendors.auvious.provider:plan_follow",
    sim_app="confctl.vendors.auvious.sim.app:create_app",
    sim_controls="confctl.vendors.auvious.sim.controls:app",
    sim_credentials={"client_id": "demo-client", "client_secret": "demo-secret"},
    sim_options=(
        SimOption("auvious_token_ttl", "seconds an Auvious access token lives", int, 300, "--auvious-token-ttl"),
        SimOption("poll_wait", "seconds an Auvious long-poll blocks when nothing is new", float, 3.0),
        SimOption("activity", "every SECONDS a change in the demo meeting (someone joins, "
                  "publishes or unpublishes a stream, leaves; default: off)", float, None, "--activity"),
    ),
    id_keys=("conferenceId", "conference_id"),
    model="confctl.vendors.auvious.model:MODEL",
    # The RTC API has no mute, lock or spotlight. LeaveConferenceWebCommand takes any member's userEndpointId
    # (the organization's client-credentials token is not one member), so an operator can remove an endpoint.
    verbs=(Verb("kick", "removes the endpoint from the conference: POST conferences/leave with its "
                        "userEndpointId (its client learns it from the ConferenceLeftEvent)",
                "auvious.conference.leave",
                params={"conference": "conference", "endpoint": "id", "reason": "=removed by an operator"}),),
    secret_query=("access_token", "client_secret"),
    secret_fields=("client_secret", "access_token", "refresh_token", "id_token"),
)
