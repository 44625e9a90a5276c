"""`confctl events follow` and each provider's `events` command: the shared options, one runner."""

from __future__ import annotations

import os

from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)

TypeOpt = Annotated[Optional[list[str]], typer.Option(
    "--type", "-t", help="only events whose type matches this glob (repeatable)", show_default=False,
    metavar="GLOB")]
CountOpt = Annotated[Optional[int], typer.Option("--count", "-n", help="stop after N events", show_default=False)]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", help="stop after S seconds (exit 0)",
                                                     show_default=False, metavar="S")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="stop after the first event of this type",
                                                 show_default=False, metavar="TYPE")]
ConferenceOpt = Annotated[Optional[list[str]], typer.Option(
    "--conference", "-c", help="conference to follow (alias / id; default: the profile's; repeatable where the "
    "provider allows)", show_default=False)]
ListenOpt = Annotated[str, typer.Option("--listen", help="gateway: address for the local webhook receiver",
                                        metavar="HOST:PORT")]
ForwardOpt = Annotated[Optional[str], typer.Option("--forward-to", help="gateway: also POST each webhook to URL",
                                                   show_default=False, metavar="URL")]
CursorOpt = Annotated[Optional[str], typer.Option(
    "--cursor-file", help="auvious: persist the event version here so the next run resumes exactly",
    show_default=False, metavar="FILE")]
FramesOpt = Annotated[Optional[str], typer.Option(
    "--save-frames", help="pexip: fetch a JPEG into DIR for each presentation_frame", show_default=False,
    metavar="DIR")]


def follow_profiles(provider_names: list[str] | None, profiles: list[str], *, types, count, timeout, until,
                    conference, listen, forward_to, cursor_file, save_frames) -> None:
    """Resolve profiles (several may be merged into one timeline) and run their event sources."""
    from confctl import config, output
    from confctl.events import runner
    from confctl.events.printer import Printer
    from confctl.providers import PROVIDERS
    data = config.load()
    targets: list[tuple[str, str | None]] = []
    if profiles:
        for name in profiles:
            entry = data["profiles"].get(name)
            if entry is None:
                raise config.ConfigError(f"no profile named {name!r}")
            if provider_names and entry["provider"] not in provider_names:
                raise config.ConfigError(f"profile {name!r} is a {entry['provider']} profile")
            targets.append((entry["provider"], name))
    else:
        candidates = provider_names or [p for p, info in PROVIDERS.items()
                                        if data["defaults"].get(p) or os.environ.get(info.env_var("url"))]
        if not candidates:
            raise config.ConfigError("no profile to follow", hint="pass --profile NAME (repeatable)")
        targets = [(p, None) for p in candidates]
    options = {"conference": conference or [], "listen": listen, "forward_to": forward_to,
               "cursor_file": cursor_file, "save_frames": save_frames}
    sources = []
    for provider_name, name in targets:
        profile = config.resolve(provider_name, name)
        provider = PROVIDERS[provider_name].load()
        sources.append((f"{provider_name}/{profile.name}",
                        (lambda prov, prof: lambda opts: prov.follow(prof, opts))(provider, profile)))
    fmt = output.fmt()
    printer = Printer("jsonl" if fmt in ("json", "jsonl") else "table", types)
    runner.run(sources, options, printer, count=count, timeout=timeout, until=until)


@app.command("follow")
def follow(types: TypeOpt = None, count: CountOpt = None, timeout: TimeoutOpt = None, until: UntilOpt = None,
           conference: ConferenceOpt = None, listen: ListenOpt = "127.0.0.1:8099", forward_to: ForwardOpt = None,
           cursor_file: CursorOpt = None, save_frames: FramesOpt = None):
    """Print live events, one line each (or JSON Lines with -o jsonl), from every --profile given, merged."""
    from confctl.state import state

    follow_profiles(None, state.profiles or ([state.profile] if state.profile else []), types=types, count=count,
                    timeout=timeout, until=until, conference=conference, listen=listen, forward_to=forward_to,
                    cursor_file=cursor_file, save_frames=save_frames)


def provider_command(provider_name: str):
    """`confctl <provider> events`: the same follower, limited to one provider."""

    def events(types: TypeOpt = None, count: CountOpt = None, timeout: TimeoutOpt = None, until: UntilOpt = None,
               conference: ConferenceOpt = None, listen: ListenOpt = "127.0.0.1:8099",
               forward_to: ForwardOpt = None, cursor_file: CursorOpt = None, save_frames: FramesOpt = None):
        from confctl.state import state

        follow_profiles([provider_name], [state.profile] if state.profile else [], types=types, count=count, timeout=timeout, until=until,
                        conference=conference, listen=listen, forward_to=forward_to, cursor_file=cursor_file,
                        save_frames=save_frames)

    events.__doc__ = f"Follow live {provider_name} events (same options as `confctl events follow`)."
    return events
