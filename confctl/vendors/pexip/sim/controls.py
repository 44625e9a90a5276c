"""`confctl sim pexip ...`: drive a running Pexip simulator — people join, speak, present, raise hands and leave;
streams drop; the node enters maintenance; tokens expire sooner."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

UrlOpt = Annotated[Optional[str], typer.Option(
    "--url", help="the Pexip simulator's base URL (default: the Pexip profile's url: CONFCTL_PEXIP_URL, -p NAME "
                  "or the default Pexip profile)", show_default=False)]
ConfOpt = Annotated[Optional[str], typer.Option(
    "--conference", "-c", help="conference alias (default: the Pexip profile's conference, else meet.demo)",
    show_default=False)]
Who = Annotated[str, typer.Argument(help="participant display name or UUID")]


def _profile():
    """The Pexip profile a `confctl pexip` command would use (-p, CONFCTL_PROFILE, the default, or the
    environment), or None when there is none."""
    from confctl.core import config
    from confctl.core.errors import ConfctlError
    from confctl.core.state import state

    try:
        return config.resolve("pexip", state.profile)
    except ConfctlError:
        return None


def _call(url: str | None, what: str, body: dict | None = None, method: str = "POST") -> dict:
    from confctl.core.sim.client import SimClient

    profile = None if url else _profile()
    client = SimClient("pexip", url, fallback=profile.get("url") if profile else None,
                       where="pass --url, set CONFCTL_PEXIP_URL, or point a Pexip profile at the simulator "
                             "(`confctl sim serve` prints its URL)")
    if method == "GET":
        return client.get(what, params={"conference": (body or {}).get("conference")})
    return client.call(method, what, body)


def _conf(conference: str | None) -> str:
    if conference:
        return conference
    profile = _profile()
    return (profile.get("conference") if profile else None) or "meet.demo"


def _print(data) -> None:
    print(json.dumps(data, indent=2))


@app.command("join")
def join(name: Annotated[str, typer.Argument(help="display name")],
         role: Annotated[str, typer.Option(help="guest or host")] = "guest",
         protocol: Annotated[str, typer.Option(help="webrtc, sip, h323, ...")] = "webrtc",
         audio_only: Annotated[bool, typer.Option("--audio-only", help="an audio-only call")] = False,
         conference: ConfOpt = None, url: UrlOpt = None):
    """A participant joins (into the waiting room when the conference is locked and they are a guest)."""
    p = _call(url, "join", {"conference": _conf(conference), "name": name, "role": role, "protocol": protocol,
                            "audio_only": audio_only})
    print(p["uuid"])


@app.command("leave")
def leave(who: Who, conference: ConfOpt = None, url: UrlOpt = None):
    """A participant hangs up."""
    print(_call(url, "leave", {"conference": _conf(conference), "participant": who})["left"])


@app.command("speak")
def speak(who: Who, vad: Annotated[int, typer.Option(help="voice activity 0..100")] = 100,
          conference: ConfOpt = None, url: UrlOpt = None):
    """A participant speaks: a `stage` event puts them first with this voice activity."""
    _call(url, "speak", {"conference": _conf(conference), "participant": who, "vad": vad})


@app.command("present")
def present(who: Who, frames: Annotated[int, typer.Option(help="presentation_frame events to emit")] = 1,
            stop: Annotated[bool, typer.Option("--stop", help="stop presenting afterwards")] = False,
            conference: ConfOpt = None, url: UrlOpt = None):
    """A participant presents: presentation_start, N presentation_frame events (and presentation_stop)."""
    _call(url, "present", {"conference": _conf(conference), "participant": who, "frames": frames, "stop": stop})


@app.command("hand")
def hand(who: Who, lower: Annotated[bool, typer.Option("--lower", help="lower instead of raise")] = False,
         conference: ConfOpt = None, url: UrlOpt = None):
    """A participant raises (or lowers) their hand."""
    _call(url, "hand", {"conference": _conf(conference), "participant": who, "raise": not lower})


@app.command("refer")
def refer(to: Annotated[str, typer.Argument(help="alias the followers are referred to")],
          conference: ConfOpt = None, url: UrlOpt = None):
    """Send a `refer` event to every event stream of the conference."""
    _print(_call(url, "refer", {"conference": _conf(conference), "to": to}))


@app.command("drop-streams")
def drop_streams(down: Annotated[float, typer.Option(help="refuse new event streams (503) for S seconds",
                                                     metavar="S")] = 0.0, url: UrlOpt = None):
    """Close every open event stream, as a node restart or a network cut would."""
    _print(_call(url, "drop", {"down": down}))


@app.command("maintenance")
def maintenance(state: Annotated[str, typer.Argument(help="on or off")], url: UrlOpt = None):
    """Maintenance mode: /status and request_token answer 503."""
    if state not in ("on", "off"):
        from confctl.core.errors import ValidationError

        raise ValidationError("STATE", "must be on or off", state)
    _print(_call(url, "maintenance", {"on": state == "on"}))


@app.command("ttl")
def ttl(seconds: Annotated[int, typer.Argument(help="token lifetime for new and refreshed tokens", min=1)],
        url: UrlOpt = None):
    """Change how long tokens live (expired tokens end their participant)."""
    _print(_call(url, "ttl", {"seconds": seconds}))


@app.command("state")
def state(conference: ConfOpt = None, url: UrlOpt = None):
    """Everything the simulator holds for a conference, API participants included."""
    _print(_call(url, "state", {"conference": _conf(conference)}, method="GET"))


@app.command("reset")
def reset(url: UrlOpt = None):
    """Back to the seeded conferences."""
    _print(_call(url, "reset", {}))
