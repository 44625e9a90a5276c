"""`confctl sim mind ...`: drive a running Mind simulator (participants join, leave, speak; a conference ends;
sockets drop). Talks to the simulator's /_sim routes at CONFCTL_MIND_URL (or --url)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

UrlOpt = Annotated[Optional[str], typer.Option("--url", help="simulator base URL (default: $CONFCTL_MIND_URL)",
                                               show_default=False)]
ConfOpt = Annotated[Optional[str], typer.Option("--conference", "-c", show_default=False,
                                                help="conference id (default: $CONFCTL_MIND_CONFERENCE)")]


def _post(url: str | None, conference: str | None, action: str, body: dict | None = None) -> None:
    """POST /_sim/<conference>/<action> (or /_sim/<action> when conference is "") and print the answer."""
    from confctl.core.errors import ConfigError
    from confctl.core.sim.client import SimClient
    from confctl.core.validate import path_segment

    if conference is None:
        conference = os.environ.get("CONFCTL_MIND_CONFERENCE")
    if conference is None:
        raise ConfigError("need a conference", hint="set CONFCTL_MIND_CONFERENCE (printed by `confctl sim serve`) "
                          "or pass -c")
    client = SimClient("mind", url, where="set CONFCTL_MIND_URL (printed by `confctl sim serve`) or pass --url")
    path = f"{path_segment('--conference', conference)}/{action}" if conference else action
    print(json.dumps(client.post(path, body or {})), flush=True)


@app.command("join")
def join(name: Annotated[str, typer.Argument(help="participant name (an existing offline one comes online)")],
         role: Annotated[str, typer.Option(help="role of a new participant")] = "speaker",
         url: UrlOpt = None, conference: ConfOpt = None):
    """A participant joins (participant.created, or participant.updated online=true)."""
    _post(url, conference, "join", {"name": name, "role": role})


@app.command("leave")
def leave(participant: Annotated[str, typer.Argument(help="participant id or name")],
          url: UrlOpt = None, conference: ConfOpt = None):
    """A participant goes offline (participant.updated online=false)."""
    _post(url, conference, "leave", {"participant": participant})


@app.command("media")
def media(participant: Annotated[str, typer.Argument(help="participant id or name")],
          audio: Annotated[Optional[bool], typer.Option("--audio/--no-audio", show_default=False,
                                                        help="send microphone audio or not")] = None,
          video: Annotated[Optional[bool], typer.Option("--video/--no-video", show_default=False,
                                                        help="send camera video or not")] = None,
          screen: Annotated[Optional[bool], typer.Option("--screen/--no-screen", show_default=False,
                                                         help="share a screen (secondary video) or not")] = None,
          url: UrlOpt = None, conference: ConfOpt = None):
    """What a participant sends changes: microphone, camera, screen (participant.updated)."""
    body = {k: v for k, v in (("audio", audio), ("video", video), ("screen", screen)) if v is not None}
    _post(url, conference, "media", {"participant": participant, **body})


@app.command("expel")
def expel(participant: Annotated[str, typer.Argument(help="participant id or name")],
          url: UrlOpt = None, conference: ConfOpt = None):
    """A participant is removed by someone other than the application (participant.deleted)."""
    _post(url, conference, "expel", {"participant": participant})


@app.command("speak")
def speak(participant: Annotated[str, typer.Argument(help="participant id or name")],
          text: Annotated[str, typer.Argument(help="what they say (transcribed while recording)")],
          url: UrlOpt = None, conference: ConfOpt = None):
    """A participant says something; it lands in the transcription while recording or transcribing."""
    _post(url, conference, "speak", {"participant": participant, "text": text})


@app.command("message")
def message(participant: Annotated[str, typer.Argument(help="sender: participant id or name")],
            text: Annotated[str, typer.Argument(help="message text")],
            to: Annotated[str, typer.Option(help="conference, application or a participant id")] = "conference",
            url: UrlOpt = None, conference: ConfOpt = None):
    """A participant sends a message (message.created reaches the application unless sent to a participant)."""
    _post(url, conference, "message", {"participant": participant, "text": text, "to": to})


@app.command("end")
def end(url: UrlOpt = None, conference: ConfOpt = None):
    """The conference reaches its duration limit: sockets close with 4000 and it is gone."""
    _post(url, conference, "end")


@app.command("drop")
def drop(code: Annotated[int, typer.Option(help="close code sent to the followers")] = 1012,
         then_join: Annotated[Optional[list[str]], typer.Option("--then-join", show_default=False,
                                                                help="while down: this name joins")] = None,
         then_leave: Annotated[Optional[list[str]], typer.Option("--then-leave", show_default=False,
                                                                 help="while down: this participant leaves")] = None,
         reset_handshakes: Annotated[int, typer.Option(
             "--reset-handshakes", min=0, help="reset the next N reconnects during the opening handshake")] = 0,
         url: UrlOpt = None, conference: ConfOpt = None):
    """Drop the conference's WebSockets, optionally with changes made before anyone can reconnect."""
    then = [{"action": "join", "name": n} for n in then_join or []]
    then += [{"action": "leave", "participant": p} for p in then_leave or []]
    _post(url, conference, "drop", {"code": code, "then": then, "reset_handshakes": reset_handshakes})


@app.command("reset")
def reset(url: UrlOpt = None):
    """Close every socket and restore the seeded conferences (for demos)."""
    _post(url, "", "reset")
