"""`confctl sim ...`: serve the simulators, plus per-vendor controls (make calls join, speak, leave...)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from confctl.core.sim.server import VENDORS, optional_ref

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)


def serve(
    host: Annotated[str, typer.Option(help="address to bind (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind (0 picks a free one)")] = 8765,
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help="serve only this vendor's simulator (repeatable)", show_default=False)] = None,
    env_file: Annotated[Optional[str], typer.Option(
        "--env-file", help="also write the environment variables to FILE (mode 0600)", show_default=False)] = None,
    **knobs,
):
    """Run the simulator of every vendor API until interrupted; print ready-to-use environment variables."""
    from confctl.core.sim.server import RunningSim, SimConfig

    config = SimConfig(**knobs)
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


def _serve_command():
    """`serve` with one option per simulator knob a vendor's spec offers as a flag (e.g. --pexip-token-ttl)."""
    import inspect

    from confctl.core.sim.server import sim_options

    sig = inspect.signature(serve, eval_str=True)
    params = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for name, option in sim_options().items():
        if option.flag:
            kind = option.type if option.default is not None else Optional[option.type]
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option.default,
                                            annotation=Annotated[kind, typer.Option(
                                                option.flag, help=option.help,
                                                show_default=option.default is not None)]))

    def command(**kwargs):
        return serve(**kwargs)

    command.__doc__ = serve.__doc__
    command.__signature__ = inspect.Signature(params)
    return command


app.command("serve")(_serve_command())


def _add_controls() -> None:
    from confctl.core.registry import PROVIDERS

    for vendor in VENDORS:
        controls = optional_ref(PROVIDERS[vendor].sim_controls)
        if controls is not None:
            app.add_typer(controls, name=vendor, help=f"Drive the {vendor} simulator (for demos and tests).")


_add_controls()
