"""`confctl sim gateway ...`: drive a running gateway simulator (create calls, route its webhooks)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

UrlOpt = Annotated[Optional[str], typer.Option(
    "--url", help="the gateway simulator's base URL (default: CONFCTL_GATEWAY_URL)", show_default=False)]


def _post(url: str | None, path: str, body: dict) -> dict:
    from confctl.core.sim.client import SimClient

    return SimClient("gateway", url).post(path, body)


@app.command("calls")
def calls(count: Annotated[int, typer.Option("--count", "-n", help="how many call sessions", min=1)] = 1,
          room: Annotated[Optional[str], typer.Option(help="put them in this room already joined",
                                                      show_default=False)] = None,
          url: UrlOpt = None):
    """Create call sessions (as if calls arrived) and print their uuids, one per line."""
    for sid in _post(url, "sessions", {"count": count, "room_id": room})["sessions"]:
        print(sid)


@app.command("webhook")
def webhook(target: Annotated[str, typer.Argument(help="URL to POST webhooks to ('' to stop)")], url: UrlOpt = None):
    """Point the simulator's webhooks at TARGET (e.g. a `confctl events follow` receiver)."""
    print(_post(url, "webhook", {"url": target})["url"] or "webhooks off")
