"""The Mind API: what the core needs to know, and nothing heavy (see confctl.core.vendor). The implementation is
in provider.py (session and auth), tokens.py, endpoints.py, events.py and sim/."""

from confctl.core.vendor import EnvVar, Field, SimOption, Verb, VendorSpec

SPEC = VendorSpec(
    name="mind",
    order=30,
    help="Mind API: conferences, participants, recordings, streaming, SIP, WebSocket events.",
    provider="confctl.vendors.mind.provider:PROVIDER",
    fields=(
        Field("url", "API base URL", required=False, default="https://api.mind.com"),
        Field("app_id", "application id"),
        Field("token", "application token", secret=True),
        Field("conference", "default conference id", required=False),
    ),
    env=(
        EnvVar("CONFCTL_MIND_PARTICIPANT_TOKEN", "participant token for participant-only operations", secret=True),
        EnvVar("CONFCTL_MIND_RESUME_TIMEOUT", "seconds an event stream keeps reconnecting before exit 9 "
                                              "(default: --max-wait)"),
    ),
    profile_extras=("resume_timeout",),
    conference_help="conference id to follow, one WebSocket each (default: the profile's; repeatable)",
    follow_plan="confctl.vendors.mind.provider:plan_follow",
    sim_app="confctl.vendors.mind.sim.app:create_app",
    sim_controls="confctl.vendors.mind.sim.controls:app",
    sim_credentials={"app_id": "demo-app", "token": "demo-app-token", "conference": "demo-conference",
                     "participant_token": "demo-participant-token"},  # John Doe's, in the doc's example
    sim_options=(SimOption("mind_conference_limit", "seconds until a Mind conference ends (WebSocket close 4000); "
                           "0 = never", float, 0.0, "--mind-conference-limit"),
                 SimOption("activity", "every SECONDS a change in the demo meeting (someone joins, "
                           "leaves, stops or starts sending audio or a screen; default: off)", float, None, "--activity")),
    id_keys=("conferenceId",),
    model="confctl.vendors.mind.model:MODEL",
    # Mind's API cannot mute, lock or spotlight anyone: only expelling a participant is declared.
    verbs=(Verb("kick", "expels the participant: DELETE .../participants/{id} (its participant token dies)",
                "mind.participant.delete", params={"conference": "conference", "participant": "id"}),),
    secret_fields=("token", "participant_token"),
)
