"""`confctl events follow` and each provider's `events` command: the shared options, one runner.

Which options a provider takes is one table (OPTIONS): `confctl <provider> events --help` shows only that
provider's, `confctl events follow --help` shows all of them, each marked with its provider. Everything —
profiles, conferences and options — is checked before any source starts, so a mistake never leaves a
webhook receiver or a token behind.

`--conference` / `-c` (repeatable): `PROFILE:ID` (or `PROVIDER:ID`) goes to that profile (or to the followed
profiles of that provider) only. A plain `ID` goes to the profiles whose provider takes a conference (pexip,
mind, auvious; the gateway takes none) and that were not given one by name: when only one such profile is
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

TAKES_CONFERENCE = ("pexip", "mind", "auvious")

TypeOpt = Annotated[Optional[list[str]], typer.Option(
    "--type", "-t", help="only events whose type matches this glob (repeatable)", show_default=False,
    metavar="GLOB")]
CountOpt = Annotated[Optional[int], typer.Option("--count", "-n", help="stop after N events", show_default=False)]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", help="stop after S seconds (exit 0)",
                                                     show_default=False, metavar="S")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="stop after the first event of this type",
                                                 show_default=False, metavar="TYPE")]
ForwardOpt = Annotated[Optional[str], typer.Option("--forward-to", help="also POST each webhook to URL",
                                                   show_default=False, metavar="URL")]

DEFAULT_LISTEN = "127.0.0.1:8099"

# name -> (flags, metavar, help, providers, repeatable). The help is shown as is in a provider's own
# `events --help`, and prefixed with the providers it applies to in `events follow --help`.
OPTIONS = {
    "conference": (("--conference", "-c"), "ID", None, TAKES_CONFERENCE, True),
    "listen": (("--listen",), "HOST:PORT", f"address for the local webhook receiver (default {DEFAULT_LISTEN})",
               ("gateway",), False),
    "forward_to": (("--forward-to",), "URL", "also POST each webhook to URL", ("gateway",), False),
    "cursor_file": (("--cursor-file",), "FILE", "persist the event version here so the next run resumes exactly",
                    ("auvious",), False),
    "save_frames": (("--save-frames",), "DIR", "fetch a JPEG into DIR for each presentation_frame",
                    ("pexip",), False),
}
CONFERENCE_HELP = {
    "pexip": "conference alias to follow (default: the profile's; repeatable)",
    "mind": "conference id to follow, one WebSocket each (default: the profile's; repeatable)",
    "auvious": "conference id to follow (default: the profile's conference, else the cursor file's; repeatable)",
    None: "conference to follow: ID for every profile that takes one (pexip, mind, auvious), or PROFILE:ID / "
          "PROVIDER:ID for one profile / provider only (default: each profile's conference field; repeatable)",
}


def _option(name: str, provider: str | None):
    flags, metavar, help_text, providers, repeatable = OPTIONS[name]
    if name == "conference":
        help_text = CONFERENCE_HELP[provider]
    elif provider is None:
        help_text = f"[{', '.join(providers)}] {help_text}"
    kind = Optional[list[str]] if repeatable else Optional[str]
    return Annotated[kind, typer.Option(*flags, help=help_text, metavar=metavar, show_default=False)]


def _command(provider: str | None, body):
    """A Typer command function taking the common options plus `provider`'s own (every one when None)."""
    names = [n for n, spec in OPTIONS.items() if provider is None or provider in spec[3]]
    common = [("types", TypeOpt), ("count", CountOpt), ("timeout", TimeoutOpt), ("until", UntilOpt)]
    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=a)
              for n, a in common + [(n, _option(n, provider)) for n in names]]

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
                raise config.ConfigError(f"no profile named {name!r}", hint="`confctl profile list` shows them")
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
            if profiles[i].provider.name not in TAKES_CONFERENCE:
                raise ValidationError("--conference", f"{prefix!r} is a {profiles[i].provider.name} profile, "
                                                      "which takes no conference")
            given[i].append(rest)
    if plain:
        takers = [i for i, p in enumerate(profiles) if p.provider.name in TAKES_CONFERENCE and not given[i]]
        if not takers:
            if not any(p.provider.name in TAKES_CONFERENCE for p in profiles):
                raise ValidationError("--conference", "none of the followed profiles takes a conference (the "
                                                      "gateway reports every room through its webhooks)")
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


def plan(provider_names: list[str] | None, profile_names: list[str], options: dict) -> list[tuple]:
    """Everything checked before anything starts: [(label, provider, profile, its own options)]."""
    from confctl.core import config, output
    from confctl.core.errors import UsageError, ValidationError
    from confctl.core.registry import PROVIDERS

    data = config.load()
    resolved = [config.resolve(provider_name, name)
                for provider_name, name in _targets(provider_names, profile_names, data)]
    followed = {p.provider.name for p in resolved}
    for option, spec in OPTIONS.items():  # an option for a provider nobody follows is a mistake, not a no-op
        if option != "conference" and options.get(option) is not None and not followed & set(spec[3]):
            raise UsageError(f"{spec[0][0]} applies to {', '.join(spec[3])}, which is not being followed")
    conferences = assign_conferences(resolved, list(options.get("conference") or []))
    if options.get("listen") is not None:
        from confctl.vendors.gateway.webhooks import parse_listen

        parse_listen(options["listen"])
    if options.get("forward_to") is not None and not options["forward_to"].startswith(("http://", "https://")):
        raise ValidationError("--forward-to", "must be an http:// or https:// URL")
    cursor_conferences: list[str] = []
    if options.get("cursor_file"):
        if os.path.isdir(options["cursor_file"]):
            raise ValidationError("--cursor-file", f"{options['cursor_file']} is a directory")
        cursor_conferences = _cursor_conferences(options["cursor_file"])
    if options.get("save_frames") and os.path.exists(options["save_frames"]) \
            and not os.path.isdir(options["save_frames"]):
        raise ValidationError("--save-frames", f"{options['save_frames']} exists and is not a directory")

    sources, mind_sockets = [], {}
    for profile, own_conferences in zip(resolved, conferences):
        kind = profile.provider.name
        own = {"conference": own_conferences}
        if kind in TAKES_CONFERENCE and not own["conference"]:
            default = profile.get("conference") or (cursor_conferences if kind == "auvious" else None)
            if not default:
                fix = (f"`confctl profile edit {profile.name} --conference ID`" if profile.from_file
                       else profile.provider.env_var("conference"))
                raise UsageError(f"{kind} profile {profile.name!r}: no conference to follow",
                                 hint=f"pass --conference ID (or -c {profile.name if profile.from_file else kind}"
                                      f":ID), or set the profile's conference ({fix})")
            own["conference"] = default if isinstance(default, list) else [default]
        for conference in own["conference"]:
            _check_conference(profile, conference)
        for field in PROVIDERS[kind].fields:  # missing url/app id/key ... now, not after other sources started
            if not field.required or field.name == "conference":  # -c may stand in for the conference
                continue
            if field.secret and kind == "auvious" and os.environ.get("CONFCTL_AUVIOUS_TOKEN"):
                continue  # an exported access token needs no client secret
            profile.require(field.name)
        if kind == "mind":
            from confctl.vendors.mind.events import resume_window
            from confctl.core.state import state

            resume_window(profile, state.max_wait)  # a bad CONFCTL_MIND_RESUME_TIMEOUT is exit 2 now
            # Two sockets for one Mind conference knock each other off (close 4001): follow each once.
            keep = []
            for conference in own["conference"]:
                key = (profile.get("url"), profile.get("app_id"), conference)
                if key in mind_sockets:
                    output.warn(f"mind conference {conference} is already followed through profile "
                                f"{mind_sockets[key]!r}; following it once")
                    continue
                mind_sockets[key] = profile.name
                keep.append(conference)
            if not keep:
                continue
            own["conference"] = keep
        sources.append((f"{kind}/{profile.name}", PROVIDERS[kind].load(), profile, own))
    return sources


def _cursor_conferences(path: str) -> list[str]:
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return [str(c) for c in data.get("conferences", {})]
    except (OSError, ValueError, AttributeError):
        return []  # missing (a first run) or unreadable: the follower reports it precisely


def follow_profiles(provider_names: list[str] | None, profiles: list[str], *, types=None, count=None,
                    timeout=None, until=None, conference=None, listen=None, forward_to=None, cursor_file=None,
                    save_frames=None) -> None:
    """Resolve and check every profile (several may be merged into one timeline), then run their sources."""
    from confctl.core import output
    from confctl.core.events import runner
    from confctl.core.events.printer import Printer
    from confctl.core.errors import UsageError

    if count is not None and count < 1:
        raise UsageError("--count must be at least 1")
    if timeout is not None and timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    options = {"conference": conference or [], "listen": listen, "forward_to": forward_to,
               "cursor_file": cursor_file, "save_frames": save_frames}
    planned = plan(provider_names, profiles, options)
    shared = {**options, "listen": listen or DEFAULT_LISTEN}
    sources = [(label, (lambda prov, prof, own: lambda opts: prov.follow(prof, {**opts, **own}))(p, prof, own))
               for label, p, prof, own in planned]
    fmt = output.fmt()
    printer = Printer("jsonl" if fmt in ("json", "jsonl") else "table", types)
    runner.run(sources, shared, printer, count=count, timeout=timeout, until=until)


def _follow_all(**kwargs):
    from confctl.core.state import state

    follow_profiles(None, list(state.profiles), **kwargs)


follow = app.command("follow", help=(
    "Print live events, one line each (or JSON Lines with -o jsonl), from every --profile given, merged. "
    "Without --profile: the default profile of each provider. Options marked [provider] apply to those "
    "profiles only; -c ID goes to every profile that takes a conference, -c PROFILE:ID to one."))(
    _command(None, _follow_all))


def provider_command(provider_name: str):
    """`confctl <provider> events`: the same follower, limited to one provider and its own options."""

    def events(**kwargs):
        from confctl.core.state import state

        follow_profiles([provider_name], list(state.profiles), **kwargs)

    return _command(provider_name, events)
