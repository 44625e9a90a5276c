"""`confctl top`: the live cockpit over every profile given (docs/top.md).

Everything is checked before the screen opens (a terminal on stdin, stdout and stderr, profiles, conferences, the
recording), so a mistake is an ordinary exit-2 error; Textual itself is imported only once the cockpit starts."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

NO_TTY_HINT = ("for scripts and pipes use `confctl participants --watch` (a live roster) or "
               "`confctl events follow` (the event stream)")


def top(
    all_profiles: Annotated[bool, typer.Option(
        "--all-profiles", help="every configured profile (else each -p NAME given, repeatable, or each vendor's "
                               "default profile)")] = False,
    conference: Annotated[Optional[list[str]], typer.Option(
        "--conference", "-c", metavar="ID", show_default=False,
        help="conference to watch: ID, or PROFILE:ID / PROVIDER:ID for one profile or provider only "
             "(default: each profile's conference field; repeatable)")] = None,
    replay: Annotated[Optional[str], typer.Option(
        "--replay", metavar="FILE", show_default=False,
        help="drive the cockpit from a recording (`events follow --record FILE`) instead of live streams; "
             "actions are off")] = None,
    speed: Annotated[Optional[str], typer.Option(
        "--speed", metavar="N|max", show_default=False,
        help="with --replay: N times as fast as recorded (default 1), or `max` for no pauses")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="T", show_default=False,
        help="with --replay: only events from T on (ISO 8601, or a duration like 10m before the recording's end)")]
    = None,
) -> None:
    """A live full-screen view of every profile's meetings (-p repeatable); keys act on the selection."""
    from confctl.core.errors import UsageError
    from confctl.core.state import state

    # Textual draws on stderr and reads stdin; stdout redirected means a script wanted output, not a screen.
    which = [n for n, s in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr)) if not s.isatty()]
    if which:
        raise UsageError(f"confctl top needs a terminal ({', '.join(which)} "
                         f"{'is' if len(which) == 1 else 'are'} not one)", hint=NO_TTY_HINT)
    if replay is None and (speed is not None or since is not None):
        raise UsageError(f"{'--speed' if speed is not None else '--since'} applies only with --replay FILE")
    engine, banner = (_replay_engine(replay, speed, since, bool(conference or all_profiles or state.profiles))
                      if replay is not None else _live_engine(list(state.profiles), all_profiles, conference))
    if state.color == "never":
        import os

        os.environ["NO_COLOR"] = "1"  # Textual draws in monochrome then
    from confctl.core.fleet.top import app

    app.run(engine, banner=banner, yes=state.yes)


def _live_engine(names: list[str], all_profiles: bool, conference: list[str] | None):
    from confctl.core.fleet.live import Live
    from confctl.core.fleet.sources import live_sources, profiles_for
    from confctl.core.fleet.top.engine import Engine
    from confctl.core.fleet.verbs import Connections

    profiles = profiles_for(names, all_profiles)
    sources = live_sources(profiles, conference)  # checks -c and every profile before anything starts
    if not sources:
        from confctl.core.errors import UsageError

        raise UsageError("nothing to watch: none of these profiles' vendors has a common model yet ("
                         + ", ".join(f"{p.name}: {p.provider.name}" for p in profiles) + ")")
    engine = Engine(Live(), sources, profiles={p.name: p for p in profiles}, connections=Connections(profiles))
    return engine, "confctl top"


def _replay_engine(path: str, speed: str | None, since: str | None, chose_profiles: bool):
    from confctl.core.errors import UsageError
    from confctl.core.events import replay
    from confctl.core.fleet.live import Live
    from confctl.core.fleet.top.engine import Engine

    if chose_profiles:
        raise UsageError("--replay plays what was recorded: it takes no -p/-c/--all-profiles")
    factory = replay.source(path, speed=speed if speed is not None else 1.0, since=since)
    shown = "max speed" if speed is not None and speed.strip().lower() == "max" else f"{speed or 1}x"
    engine = Engine(Live(), [("replay", factory)], announce=False, ended_note=None,
                    finished_note="replay finished",
                    why_no_actions="replay: keys act on live meetings only")
    return engine, f"confctl top — replay {path} ({shown})"
