"""The telephony conference gateway: what the core needs to know, and nothing heavy (see confctl.core.vendor).
The implementation is in provider.py (session and auth), endpoints.py, workflows.py, webhooks.py and sim/."""

from confctl.core.vendor import Field, FollowOption, SimOption, Verb, VendorSpec

_SESSION = {"uuid": "id"}  # a member is a call session

SPEC = VendorSpec(
    name="gateway",
    title="telephony-gateway",
    order=10,
    help="Telephony conference gateway: rooms, playback, session join/leave/mute, webhooks.",
    provider="confctl.vendors.gateway.provider:PROVIDER",
    fields=(
        Field("url", "gateway base URL, e.g. https://gateway.example.com"),
        Field("app_id", "application id (X-App-ID)"),
        Field("api_key", "API key (X-API-Key)", secret=True),
    ),
    takes_conference=False,
    conference_help="the gateway reports every room through its webhooks",
    follow_options=(
        FollowOption("listen", ("--listen",), "address for the local webhook receiver (default 127.0.0.1:8099)",
                     metavar="HOST:PORT", default="127.0.0.1:8099",
                     check="confctl.vendors.gateway.webhooks:parse_listen"),
        FollowOption("forward_to", ("--forward-to",), "also POST each webhook to URL", metavar="URL",
                     check="confctl.vendors.gateway.provider:check_forward_to"),
    ),
    sim_app="confctl.vendors.gateway.sim.app:create_app",
    sim_controls="confctl.vendors.gateway.sim.controls:app",
    sim_credentials={"app_id": "demo-app", "api_key": "demo-key"},
    sim_options=(
        SimOption("gateway_webhook", "URL the gateway simulator POSTs its webhooks to", str, flag="--gateway-webhook"),
        SimOption("cooldown_scale", "multiply the gateway's documented cooldowns", float, 1.0, "--cooldown-scale"),
        SimOption("playback_seconds", "how long a play lasts before conference.play.finished", float, 3.0),
        # Shared knobs (the first declaration wins): a live meeting for `participants`, the verbs and `top`.
        SimOption("meeting", "seed a live meeting (the gateway: room town-hall with four callers)", bool, False,
                  "--meeting"),
        SimOption("activity", "every SECONDS someone in the meeting speaks, raises or lowers a hand, joins or "
                              "leaves (default: off)", float, None, "--activity"),
    ),
    id_keys=("room_id",),
    model="confctl.vendors.gateway.model:MODEL",
    verbs=(
        Verb("mute", "session conference/mute", "gateway.session.mute", params=_SESSION, holds=("muted_audio", True)),
        Verb("unmute", "session conference/unmute", "gateway.session.unmute", params=_SESSION,
             holds=("muted_audio", False)),
        Verb("kick", "session conference/leave (the call stays up, out of the room)", "gateway.session.leave",
             params=_SESSION),
        Verb("mute-all", "mute each member (no room-wide mute)", target="conference", fanout="mute"),
        Verb("unmute-all", "unmute each member", target="conference", fanout="unmute"),
    ),
    secret_headers=("x-api-key",),
    secret_fields=("api_key",),
)
