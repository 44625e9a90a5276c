"""`confctl events follow` and each provider's `events` command: the shared options, one runner.

Which options a provider takes is declared in its spec (VendorSpec.follow_options): `confctl <provider>
events --help` shows only that provider's, `confctl events follow --help` shows all of them, each marked with
its provider. Everything — profiles, conferences and options — is checked before any source starts, so a
mistake never leaves a webhook receiver or a token behind.

`--conference` / `-c` (repeatable): `PROFILE:ID` (or `PROVIDER:ID`) goes to that profile (or to the followed
profiles of that provider) only. A plain `ID` goes to the profiles whose provider takes a conference (its spec's
`takes_conference`; the gateway's does not) and that were not given one by name: when only one such profile is
followed, to it; when several are, to those without a conference of their own (the profile's `conference`
field) — and it is ambiguous, an error, when each of them has one. A profile left without a conference uses
its `conference` field. It is an error (exit 2, nothing started) when a profile still has no conference, when
a prefix names a profile that takes no conference, or when no followed profile takes the plain `-c`.
"""

from __future__ import annotations

import inspect
import os
from typing import Annotated, Optional

import typer

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                  help="Follow live events from one or more profiles, merged into one timeline.")

TypeOpt = Annotated[Optional[list[str]], typer.Option(
    "--type", "-t", help="only events whose type matches this glob (repeatable)", show_default=False,
    metavar="GLOB")]
CountOpt = Annotated[Optional[int], typer.Option("--count", "-n", help="stop after N events", show_default=False)]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", help="stop after S seconds (exit 0)",
                                                     show_default=False, metavar="S")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="stop after the first event of this type",
                                                 show_default=False, metavar="TYPE")]
RecordOpt = Annotated[Optional[str], typer.Option(
    "--record", help="also append every envelope received to FILE (JSON Lines, created 0600, secrets masked; "
                     "whatever --type shows) for `confctl events replay`", show_default=False, metavar="FILE")]
ForwardOpt = Annotated[Optional[str], typer.Option("--forward-to", help="also POST each webhook to URL",
                                                   show_default=False, metavar="URL")]

def _takes_conference(provider: str) -> bool:
    from confctl.core.registry import PROVIDERS

    spec = PROVIDERS.get(provider)
    return bool(spec and spec.takes_conference)


def vendor_options() -> dict:
    """name -> (FollowOption, providers declaring it): the options vendors add, from their specs. The help is
    shown as is in a provider's own `events --help`, and prefixed with its providers in `events follow --help`."""
    from confctl.core.registry import PROVIDERS

    table: dict = {}
    for spec in PROVIDERS.values():
        for option in spec.follow_options:
            table.setdefault(option.name, (option, []))[1].append(spec.name)
    return table


def _conference_option(provider: str | None):
    from confctl.core.registry import PROVIDERS

    if provider is not None:
        help_text = PROVIDERS[provider].conference_help
    else:
        takers = ", ".join(n for n, spec in PROVIDERS.items() if spec.takes_conference)
        help_text = (f"conference to follow: ID for every profile that takes one ({takers}), or PROFILE:ID / "
                     "PROVIDER:ID for one profile / provider only (default: each profile's conference field; "
                     "repeatable)")
    return Annotated[Optional[list[str]], typer.Option("--conference", "-c", help=help_text, metavar="ID",
                                                       show_default=False)]


def _option(option, providers: list[str], provider: str | None):
    help_text = option.help if provider is not None else f"[{', '.join(providers)}] {option.help}"
    kind = Optional[list[option.type]] if option.multiple else Optional[option.type]
    return Annotated[kind, typer.Option(*option.flags, help=help_text, metavar=option.metavar,
                                        show_default=False)]


def _command(provider: str | None, body):
    """A Typer command function taking the common options plus `provider`'s own (every one when None)."""
    common = [("types", TypeOpt), ("count", CountOpt), ("timeout", TimeoutOpt), ("until", UntilOpt),
              ("record", RecordOpt)]
    if provider is None or _takes_conference(provider):
        common.append(("conference", _conference_option(provider)))
    own = [(name, _option(option, providers, provider)) for name, (option, providers) in vendor_options().items()
           if provider is None or provider in providers]
    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=a)
              for n, a in common + own]

    def command(**kwargs):
        body(**kwargs)

    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command


# -- resolving what to follow ----------------------------------------------------------------------------------
def _targets(provider_names, profiles, data) -> list[tuple[str, str | None]]:
    from confctl.core import config, output
    from confctl.core.registry import PROVIDERS

    targets: list[tuple[str, str | None]] = []
    if profiles:
        for name in profiles:
            entry = data["profiles"].get(name)
            if entry is None:
                raise config.no_profile(name)
            if provider_names and entry["provider"] not in provider_names:
                raise config.ConfigError(f"profile {name!r} is a {entry['provider']} profile, not "
                                         f"{' or '.join(provider_names)}")
            if (entry["provider"], name) in targets:
                # Following it twice would open two sockets for one Mind conference, and each would knock
                # the other off (close 4001): follow it once.
                output.warn(f"profile {name!r} given more than once; following it once")
                continue
            targets.append((entry["provider"], name))
        return targets
    # No --profile: one profile per provider, its default (CONFCTL_PROFILE stands in for the default of its
    # own provider only), or the environment-only profile where CONFCTL_<PROVIDER>_URL is set.
    chosen = {p: data["defaults"].get(p) for p in PROVIDERS}
    env_name = os.environ.get("CONFCTL_PROFILE")
    env_entry = data["profiles"].get(env_name) if env_name else None
    if env_entry is not None and env_entry.get("provider") in chosen:
        chosen[env_entry["provider"]] = env_name
    candidates = [p for p in (provider_names or PROVIDERS)
                  if provider_names or chosen[p] or os.environ.get(PROVIDERS[p].env_var("url"))]
    if not candidates:
        raise config.ConfigError("no profile to follow", hint="pass --profile NAME (repeatable), or set a "
                                                              "default profile with `confctl profile use NAME`")
    return [(p, chosen[p]) for p in candidates]


def assign_conferences(profiles: list, values: list[str]) -> list[list[str]]:
    """For each profile (in order), the conferences given for it on the command line (see the module
    docstring). Environment-only profiles are all named "env", so PROVIDER:ID is how to tell them apart."""
    from confctl.core.errors import ValidationError

    given: list[list[str]] = [[] for _ in profiles]
    plain: list[str] = []
    for value in values:
        prefix, sep, rest = value.partition(":")
        chosen = [i for i, p in enumerate(profiles) if p.name == prefix] if sep else []
        if sep and not chosen:
            chosen = [i for i, p in enumerate(profiles) if p.provider.name == prefix]
        if not chosen:
            plain.append(value)
            continue
        if not rest:
            raise ValidationError("--conference", f"{value!r} names no conference after the colon")
        for i in chosen:
            if not _takes_conference(profiles[i].provider.name):
                raise ValidationError("--conference", f"{prefix!r} is a {profiles[i].provider.name} profile, "
                                                      "which takes no conference")
            given[i].append(rest)
    if plain:
        takers = [i for i, p in enumerate(profiles) if _takes_conference(p.provider.name) and not given[i]]
        if not takers:
            if not any(_takes_conference(p.provider.name) for p in profiles):
                from confctl.core.registry import PROVIDERS

                why = "; ".join(dict.fromkeys(PROVIDERS[p.provider.name].conference_help for p in profiles
                                              if p.provider.name in PROVIDERS))
                raise ValidationError("--conference", "none of the followed profiles takes a conference"
                                      + (f" ({why})" if why else ""))
            raise ValidationError("--conference", "every followed profile already has a PROFILE:ID conference; "
                                                  f"{plain[0]!r} would apply to none")
        if len(takers) > 1:
            # Several could take it: it goes to those with no conference of their own (no profile field).
            # When each has one, it is ambiguous: the user must say which with PROFILE:ID.
            open_ = [i for i in takers if not profiles[i].get("conference")]
            if not open_:
                names = ", ".join(f"{profiles[i].provider.name}/{profiles[i].name}" for i in takers)
                raise ValidationError("--conference", f"{plain[0]!r} is ambiguous: {names} each have a "
                                                      "conference of their own",
                                      hint=f"say which with -c PROFILE:{plain[0]} (or PROVIDER:{plain[0]})")
            if len(open_) < len(takers):
                from confctl.core import output

                output.note("-c " + " -c ".join(plain) + ": for " + ", ".join(
                    f"{profiles[i].provider.name}/{profiles[i].name}" for i in open_)
                    + " (the others follow their own conference)")
            takers = open_
        for i in takers:
            given[i].extend(plain)
    return [list(dict.fromkeys(confs)) for confs in given]


def _check_conference(profile, conference: str) -> None:
    """A conference id goes into a URL path: refuse what would change the path (exit 2, nothing started)."""
    from confctl.core.validate import path_segment

    path_segment(f"--conference (profile {profile.name!r})", conference)


def require_fields(profile) -> None:
    """A missing url/app id/key ... now, not after other sources started (exit 2 or 3, nothing started)."""
    for field in profile.provider.fields:
        if not field.required or field.name == "conference":  # -c may stand in for the conference
            continue
        if field.unless_env and os.environ.get(field.unless_env):
            continue  # e.g. an exported access token needs no client secret
        profile.require(field.name)


def follow_source(provider, profile, options):
    """A runner source (factory(stop)) for one planned profile: its provider's follower with the run's stop."""
    import dataclasses

    return lambda stop: provider.follow(profile, dataclasses.replace(options, stop=stop))


def plan(provider_names: list[str] | None, profile_names: list[str], conference: list[str],
         values: dict, *, resolved: list | None = None) -> list[tuple]:
    """Everything checked before anything starts: [(label, provider, profile, its FollowOptions)]. `values`
    holds the vendor follow options given on the command line, by name. `resolved`: the profiles, already
    resolved (the live model's sources), instead of looking them up by name."""
    import dataclasses

    from confctl.core import config
    from confctl.core.errors import UsageError
    from confctl.core.registry import PROVIDERS
    from confctl.core.vendor import FollowOptions, load_ref

    if resolved is None:
        data = config.load()
        resolved = [config.resolve(provider_name, name)
                    for provider_name, name in _targets(provider_names, profile_names, data)]
    followed = {p.provider.name for p in resolved}
    declared = vendor_options()
    for name, (option, providers) in declared.items():  # an option for a provider nobody follows is a mistake
        if values.get(name) is not None and not followed & set(providers):
            raise UsageError(f"{option.flag} applies to {', '.join(providers)}, which is not being followed")
    conferences = assign_conferences(resolved, list(conference or []))
    for name, (option, _) in declared.items():
        if values.get(name) is not None and option.check:
            load_ref(option.check)(values[name])

    sources, seen = [], {}
    for profile, own_conferences in zip(resolved, conferences):
        kind = profile.provider.name
        spec = PROVIDERS[kind]
        own = {o.name: (values.get(o.name) if values.get(o.name) is not None else o.default)
               for o in spec.follow_options}
        options = FollowOptions(conference=tuple(own_conferences), values=own)
        if spec.takes_conference and not options.conference and profile.get("conference"):
            options = dataclasses.replace(options, conference=(profile.get("conference"),))
        require_fields(profile)
        if spec.follow_plan:
            options = load_ref(spec.follow_plan)(profile, options, seen.setdefault(kind, {}))
            if options is None:
                continue  # the vendor has nothing more to follow for this profile
        if spec.takes_conference and not options.conference:
            fix = (f"`confctl profile edit {profile.name} --conference ID`" if profile.from_file
                   else profile.provider.env_var("conference"))
            raise UsageError(f"{kind} profile {profile.name!r}: no conference to follow",
                             hint=f"pass --conference ID (or -c {profile.name if profile.from_file else kind}"
                                  f":ID), or set the profile's conference ({fix})")
        for one in options.conference:
            _check_conference(profile, one)
        sources.append((f"{kind}/{profile.name}", spec.load(), profile, options))
    return sources


def check_run(count, timeout) -> None:
    from confctl.core.errors import UsageError

    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    if timeout is not None and timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")


def printer_for(types):
    from confctl.core import output
    from confctl.core.events.printer import Printer

    fmt = output.fmt()
    return Printer("jsonl" if fmt in ("json", "jsonl") else "table", types)


def follow_profiles(provider_names: list[str] | None, profiles: list[str], *, types=None, count=None,
                    timeout=None, until=None, conference=None, record=None, **values) -> None:
    """Resolve and check every profile (several may be merged into one timeline), then run their sources.
    `values`: the vendor follow options, by name."""
    from confctl.core.events import runner

    check_run(count, timeout)
    planned = plan(provider_names, profiles, list(conference or []), values)
    # The runner hands each source its stop event; every provider gets its own typed FollowOptions.
    sources = [(label, follow_source(p, prof, own)) for label, p, prof, own in planned]
    printer = printer_for(types)
    if record is None:
        runner.run(sources, printer, count=count, timeout=timeout, until=until)
        return
    from confctl.core.events.record import Recorder, mark_sync

    # Opened after every check above and before any source starts: a bad path is exit 2 with nothing started.
    with Recorder(printer, record) as recorder:
        runner.run([(label, mark_sync(factory)) for label, factory in sources], recorder, count=count,
                   timeout=timeout, until=until)


def _follow_all(**kwargs):
    from confctl.core.state import state

    follow_profiles(None, list(state.profiles), **kwargs)


follow = app.command("follow", help=(
    "Print live events, one line each (or JSON Lines with -o jsonl), from every --profile given, merged. "
    "Without --profile: the default profile of each provider. Options marked [provider] apply to those "
    "profiles only; -c ID goes to every profile that takes a conference, -c PROFILE:ID to one."))(
    _command(None, _follow_all))


@app.command("replay", help=(
    "Print a recording made with `events follow --record FILE` exactly as the live events were printed "
    "(-o jsonl: the same bytes), paced as they arrived (--speed 10: ten times as fast, --speed max: no pauses)."))
def replay_command(
    file: Annotated[str, typer.Argument(help="a recording (JSON Lines) made with --record", metavar="FILE",
                                        show_default=False)],
    speed: Annotated[str, typer.Option("--speed", help="a factor above 0 (2 = twice as fast) or `max`",
                                       metavar="N|max")] = "1",
    since: Annotated[Optional[str], typer.Option(
        "--since", help="only events from T on: ISO 8601 (2026-12-01T10:00:00Z) or a duration (10m, 1h30m) "
                        "counted back from the recording's last event", show_default=False, metavar="T")] = None,
    types: TypeOpt = None,
    count: CountOpt = None,
    timeout: TimeoutOpt = None,
    until: UntilOpt = None,
):
    from confctl.core.events import replay, runner

    check_run(count, timeout)
    # Everything (speed, since, every line of the file) is checked before the first event is printed.
    factory = replay.source(file, speed=replay.parse_speed(speed), since=since)
    runner.run([(f"replay/{os.path.basename(file)}", factory)], printer_for(types), count=count,
               timeout=timeout, until=until)


def provider_command(provider_name: str):
    """`confctl <provider> events`: the same follower, limited to one provider and its own options."""

    def events(**kwargs):
        from confctl.core.state import state

        follow_profiles([provider_name], list(state.profiles), **kwargs)

    return _command(provider_name, events)
