"""`confctl sim ...`: serve the simulators, plus per-vendor controls (make calls join, speak, leave...)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from confctl.core.sim.server import VENDORS, optional_ref

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind (0 picks a free one)")] = 8765,
    gateway_webhook: Annotated[Optional[str], typer.Option(
        "--gateway-webhook", help="URL the gateway simulator POSTs its webhooks to", show_default=False)] = None,
    cooldown_scale: Annotated[float, typer.Option(help="multiply the gateway's documented cooldowns")] = 1.0,
    pexip_token_ttl: Annotated[int, typer.Option(help="seconds a Pexip token lives")] = 120,
    mind_conference_limit: Annotated[float, typer.Option(
        help="seconds until a Mind conference ends (WebSocket close 4000); 0 = never")] = 0,
    auvious_token_ttl: Annotated[int, typer.Option(help="seconds an Auvious access token lives")] = 300,
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help="serve only this vendor's simulator (repeatable)", show_default=False)] = None,
    env_file: Annotated[Optional[str], typer.Option(
        "--env-file", help="also write the environment variables to FILE (mode 0600)", show_default=False)] = None,
):
    """Run the simulator of every vendor API until interrupted; print ready-to-use environment variables."""
    from confctl.core.sim.server import RunningSim, SimConfig

    config = SimConfig(gateway_webhook=gateway_webhook, cooldown_scale=cooldown_scale,
                       pexip_token_ttl=pexip_token_ttl, mind_conference_limit=mind_conference_limit,
                       auvious_token_ttl=auvious_token_ttl)
    if only:
        unknown = set(only) - set(VENDORS)
        if unknown:
            from confctl.core.errors import UsageError

            raise UsageError(f"--only: unknown simulator(s) {', '.join(sorted(unknown))}; "
                             f"choose from {', '.join(VENDORS)}")
        config.vendors = tuple(v for v in VENDORS if v in only)
    sim = RunningSim(config, host=host, port=port).start()
    lines = [f"export {k}={v}" for k, v in sim.env().items()]
    print("\n".join(lines), flush=True)
    if env_file:
        from pathlib import Path

        from confctl.core.config import write_private

        write_private(Path(env_file), ("\n".join(lines) + "\n").encode())
    print(f"simulators listening on {sim.url} ({', '.join(sim.app.state.vendors)}); Ctrl-C stops",
          file=sys.stderr, flush=True)
    try:
        sim.thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _add_controls() -> None:
    from confctl.core.registry import PROVIDERS

    for vendor in VENDORS:
        controls = optional_ref(PROVIDERS[vendor].sim_controls)
        if controls is not None:
            app.add_typer(controls, name=vendor, help=f"Drive the {vendor} simulator (for demos and tests).")


_add_controls()
