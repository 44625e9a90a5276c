"""`confctl sim auvious ...`: drive a running Auvious simulator (activity for demos, token revocation for
trying the 401 re-fetch, state, reset)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

UrlOpt = Annotated[Optional[str], typer.Option(
    "--url", help="the Auvious simulator's base URL (default: CONFCTL_AUVIOUS_URL)", show_default=False)]


def _call(url: str | None, method: str, path: str, body: dict | None = None) -> dict:
    from confctl.core.sim.client import SimClient

    return SimClient("auvious", url).call(method, path, body)


@app.command("activity")
def activity(
    conference: Annotated[str, typer.Argument(help="conference id, e.g. demo-room")],
    user: Annotated[Optional[str], typer.Option(help="who joins (default: a random guest)", show_default=False)] = None,
    delay: Annotated[float, typer.Option(help="seconds between their steps", min=0)] = 0.5,
    url: UrlOpt = None,
):
    """Someone joins CONFERENCE, publishes a microphone, raises a hand and leaves (events for a demo)."""
    from confctl.core.validate import path_segment

    body = {"delay": delay} | ({"user": user} if user else {})
    result = _call(url, "POST", f"conferences/{path_segment('CONFERENCE', conference)}/activity", body)
    print(result["endpoint"])


@app.command("revoke-tokens")
def revoke_tokens(url: UrlOpt = None):
    """Invalidate every issued access token (the next request gets 401, then confctl fetches a new one)."""
    print(json.dumps(_call(url, "POST", "tokens/revoke")))


@app.command("expire-tokens")
def expire_tokens(url: UrlOpt = None):
    """Mark every issued access token as expired."""
    print(json.dumps(_call(url, "POST", "tokens/expire")))


@app.command("state")
def show_state(url: UrlOpt = None):
    """Conferences (version, members, events) and token counters."""
    print(json.dumps(_call(url, "GET", "state"), indent=2))


@app.command("reset")
def reset(url: UrlOpt = None):
    """Forget everything and re-seed the example conferences (demo-room, demo-room-old)."""
    _call(url, "POST", "reset")
    print("reset")
