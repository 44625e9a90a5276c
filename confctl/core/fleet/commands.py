"""The cross-vendor commands (docs/model.md): `conferences`, `participants` (also `--watch`), the verbs
(`mute`, `unmute`, `kick`/`disconnect`, `spotlight`, `unspotlight`, `mute-all`, `unmute-all`, `lock`,
`unlock`) and `capabilities`.

Profiles: every --profile given, every configured one with --all-profiles, else each vendor's default profile
(as `events follow` picks them). Profiles are queried concurrently. A listing prints what the profiles that
answered returned; each profile that failed gets its error on stderr, and the exit code is 8 when some failed,
that failure's code when all failed (as for a batch).
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Optional

import typer

from confctl.core import output
from confctl.core.errors import ConfctlError, PartialFailure, UsageError, ValidationError, exit_code_for
from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS, Conference, Participant
from confctl.core.state import state

AllOpt = Annotated[bool, typer.Option("--all-profiles", help="every configured profile (instead of -p)")]
ConfOpt = Annotated[Optional[list[str]], typer.Option(
    "--conference", "-c", metavar="[PROFILE:]CONF",
    help="only this conference (id or name); PROFILE:CONF (or VENDOR:CONF) for one profile (repeatable)",
    show_default=False)]


def _where_opt(fields: tuple[str, ...]):
    return Annotated[Optional[list[str]], typer.Option(
        "--where", "-w", metavar="EXPR", show_default=False,
        help="filter: FIELD==VALUE, !=, >=, <=, ~= (regex); true/false/null parsed; repeatable, all must "
             f"hold. Fields: {', '.join(fields)}")]


WhereOpt = _where_opt(PARTICIPANT_FIELDS)
ConferenceWhereOpt = _where_opt(CONFERENCE_FIELDS)
TargetsArg = Annotated[Optional[list[str]], typer.Argument(
    metavar="[TARGET]...", show_default=False,
    help="PROFILE:CONFERENCE/PARTICIPANT or PROFILE:CONFERENCE (ids, unique id prefixes or names)")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, max=64,
                                             help="requests in flight at once for many targets")]

CONFERENCE_COLUMNS = CONFERENCE_FIELDS
PARTICIPANT_COLUMNS = PARTICIPANT_FIELDS
REPORT_COLUMNS = ("target", "ok", "note", "error", "vendor")  # narrow terminals drop from the right; JSON adds name


# ---------------------------------------------------------------------------------------------------------
# Which profiles, which conferences
# ---------------------------------------------------------------------------------------------------------
def _configured() -> dict:
    from confctl.core import config

    return config.load()["profiles"]


def select(all_profiles: bool, conference: list[str] | None, extra: list[str] = ()) -> tuple[list, dict]:
    """The profiles to act on and, per profile name, the conferences -c gave it (PROFILE:CONF or VENDOR:CONF
    go to that profile or vendor; a plain CONF to every profile not given one by name). `extra`: profiles named
    by targets. A -c PROFILE:CONF naming a configured profile that -p did not select adds it."""
    from confctl.core.fleet.sources import profiles_for

    known = _configured()
    named, plain = [], []
    for value in conference or []:
        prefix, sep, rest = value.partition(":")
        if sep and (prefix in known or prefix in _vendors()):
            if not rest:
                raise ValidationError("--conference", f"{value!r} names no conference after the colon")
            named.append((prefix, rest))
        else:
            plain.append(value)
    names = list(state.profiles)
    by_profile = [p for p, _ in named if p in known]
    if not names and not all_profiles and (extra or (by_profile and not plain)):
        names = list(dict.fromkeys([*extra, *by_profile]))  # only what the targets / -c name
    try:
        profiles = profiles_for(names, all_profiles)
    except UsageError as exc:
        if exc.message != "no profile to follow":
            raise
        raise UsageError("no profile given and no default profile", hint="pass -p PROFILE (repeatable) or "
                         "--all-profiles, or set a default profile with `confctl profile use NAME`") from None
    chosen = {p.name for p in profiles}
    for name in dict.fromkeys([*extra, *by_profile]):
        if name not in chosen:
            profiles += profiles_for([name])
            chosen.add(name)
    wanted: dict[str, list[tuple[str, bool]]] = {}  # profile -> [(conference, named for this profile)]
    for prefix, conf in named:
        hits = [p for p in profiles if p.name == prefix] or [p for p in profiles if p.provider.name == prefix]
        if not hits:
            raise ValidationError("--conference", f"{prefix!r} is none of the profiles given")
        for p in hits:
            wanted.setdefault(p.name, []).append((conf, True))
    if plain:
        for p in profiles:
            if p.name not in wanted:
                wanted.setdefault(p.name, []).extend((conf, False) for conf in plain)
    return profiles, wanted


def _vendors() -> set[str]:
    from confctl.core.registry import PROVIDERS

    return set(PROVIDERS)


def _model(profile):
    model = profile.provider.load_model()
    if model is None:
        raise UsageError(f"{profile.provider.name} (profile {profile.name!r}) has no common model yet",
                         hint="`confctl capabilities` lists the vendors")
    return model


def _gather(conns, profiles: list, wanted: dict, people: bool) -> tuple[list[Conference], list[Participant], list]:
    """Every profile's conferences (those -c named) and, with `people`, everyone in them — concurrently.
    Returns (conferences, participants, [(profile, error)])."""

    from confctl.core.errors import ApiError, RateLimitedError

    def one(profile):
        model = _model(profile)
        conn = conns.get(profile)
        asked = dict(wanted.get(profile.name, ()))
        if not asked:
            return model.snapshot(conn) if people else (model.conferences(conn), [])
        confs, ppl = [], []
        for value, named in asked.items():
            try:
                c, p = model.snapshot(conn, (value,))
            except ApiError as exc:  # the vendor refused that id (404, or Auvious' 400 "not found")
                if named or isinstance(exc, RateLimitedError):  # -c PROFILE:CONF must be there; a plain
                    raise                                       # -c may belong to another profile
                continue
            confs += [x for x in c if x.key not in {y.key for y in confs}]
            ppl += [x for x in p if x.key not in {y.key for y in ppl}]
        return confs, ppl if people else []

    confs: list[Conference] = []
    ppl: list[Participant] = []
    failed = []
    if not profiles:
        return confs, ppl, failed
    # Each worker runs in a copy of this context, so look-ups made under reads_sent() (a dry run resolving its
    # targets) are sent from the workers too.
    with ThreadPoolExecutor(max_workers=min(8, len(profiles))) as pool:
        futures = [(p, pool.submit(contextvars.copy_context().run, one, p)) for p in profiles]
        for profile, future in futures:
            try:
                c, people_ = future.result()
            except ConfctlError as exc:
                failed.append((profile, exc))
                continue
            confs += c
            ppl += people_
    return confs, ppl, failed


def _check_plain_conferences(wanted: dict, confs: list[Conference], failed: list) -> None:
    """A -c that no profile knows is a mistake (exit 2), not an empty listing."""
    if failed:
        return
    seen = {c.id for c in confs} | {c.name for c in confs if c.name}
    asked = {v for values in wanted.values() for v, _named in values}
    missing = sorted(asked - seen)
    if missing:
        raise ValidationError("--conference", f"no conference {', '.join(map(repr, missing))} in the profiles given",
                              hint="`confctl conferences` lists them")


def _report_failures(failed: list, total: int) -> None:
    """Each failed profile's error on stderr; exit 8 when others answered, that failure's code when none did."""
    from confctl.core.fleet.verbs import raise_for_failures

    if not failed:
        return
    if len(failed) == total == 1:
        raise failed[0][1]
    items = []
    for profile, exc in failed:
        output.note(f"error: profile {profile.name!r} ({profile.provider.name}): {exc.message}")
        items.append({"error": f"profile {profile.name!r}: {exc.message}", "status": exc.status,
                      "exit_code": exit_code_for(exc)})
    if len(failed) < total:
        raise PartialFailure(f"{len(failed)} of {total} profiles failed; the others are listed",
                             hint="the errors above say which")
    raise_for_failures(items, total, hint="the errors above say which")


# ---------------------------------------------------------------------------------------------------------
# Listings
# ---------------------------------------------------------------------------------------------------------
def address(item: Conference | Participant) -> str:
    from confctl.core.fleet.verbs import label

    return label(item)


def _row(item) -> dict:
    return {k: v for k, v in item.to_dict().items() if k != "raw"}


def show(items: list, columns: tuple[str, ...]) -> None:
    """A listing: a table of the common fields (like every confctl table), the common schema with `raw` in
    json/jsonl/yaml, the addresses the verbs take with -o id."""
    kind = output.fmt()
    if kind == "id" and not state.query:
        for item in items:
            output.write(address(item))
        return
    if output.tabular() and not state.query:
        output.emit([_row(i) for i in items], columns=columns, id_field="id")
        return
    output.emit([i.to_dict() for i in items], id_field="id")


def conferences(all_profiles: AllOpt = False, conference: ConfOpt = None, where: ConferenceWhereOpt = None) -> None:
    """Every profile's conferences in the common model (docs/model.md)."""
    from confctl.core.fleet.verbs import Connections
    from confctl.core.fleet.where import compile_all

    keep = compile_all(where, CONFERENCE_FIELDS)
    profiles, wanted = select(all_profiles, conference)
    with Connections(profiles) as conns:
        confs, _, failed = _gather(conns, profiles, wanted, people=False)
    _check_plain_conferences(wanted, confs, failed)
    if len(failed) < len(profiles):  # when every profile failed there is nothing to list, only the error
        show([c for c in confs if keep(c)], CONFERENCE_COLUMNS)
    _report_failures(failed, len(profiles))


def participants(
    all_profiles: AllOpt = False,
    conference: ConfOpt = None,
    where: WhereOpt = None,
    watch: Annotated[bool, typer.Option("--watch", help="keep the table current from the live event streams "
                                                        "(polled for vendors without one); Ctrl-C ends")] = False,
    replay: Annotated[Optional[str], typer.Option("--replay", metavar="FILE", show_default=False,
                                                  help="with --watch: feed it from a recording "
                                                       "(`events follow --record`) instead of live streams")] = None,
    speed: Annotated[Optional[str], typer.Option("--speed", metavar="N|max", show_default=False,
                                                 help="with --replay: replay N times faster, or `max`")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", metavar="S", show_default=False,
                                                     help="with --watch: stop after S seconds")] = None,
) -> None:
    """Everyone in every profile's conferences, breakout rooms included, in the common model."""
    from confctl.core.fleet.verbs import Connections
    from confctl.core.fleet.where import compile_all

    keep = compile_all(where, PARTICIPANT_FIELDS)
    if (replay or speed or timeout is not None) and not watch:
        raise UsageError("--replay, --speed and --timeout go with --watch")
    if speed and not replay:
        raise UsageError("--speed goes with --replay")
    if watch:
        return _watch(all_profiles, conference, keep, replay, speed, timeout)
    profiles, wanted = select(all_profiles, conference)
    with Connections(profiles) as conns:
        confs, people, failed = _gather(conns, profiles, wanted, people=True)
    _check_plain_conferences(wanted, confs, failed)
    if len(failed) < len(profiles):
        show([p for p in people if keep(p)], PARTICIPANT_COLUMNS)
    _report_failures(failed, len(profiles))


def _watch(all_profiles, conference, keep, replay, speed, timeout) -> None:
    """A live table on a terminal (rich Live, redrawn a few times a second from the live model); when the run
    ends (Ctrl-C, --timeout, the end of a replay) the final roster is printed in the chosen format when stdout
    is not a terminal."""
    import sys
    import threading

    from confctl.core.events.runner import run
    from confctl.core.fleet.live import Feeder, Live

    if replay:
        from confctl.core.events.replay import source

        if conference or all_profiles or state.profiles:
            raise UsageError("--replay plays the recording as it is; -p, --all-profiles and -c do not apply",
                             hint="filter with --where, e.g. --where profile==NAME")
        sources = [(f"replay/{replay}", source(replay, speed=speed or 1.0))]
    else:
        from confctl.core.fleet.sources import live_sources

        profiles, _ = select(all_profiles, None)
        sources = live_sources(profiles, list(conference or []))
    live = Live()

    def rows():
        with live.lock:
            people = sorted((p for p in live.participants.values() if keep(p)),
                            key=lambda p: (p.vendor, p.profile, p.conference, p.room or "", p.name or "", p.id))
        return people

    tty = sys.stdout.isatty() and output.tabular()
    stop = threading.Event()
    if not tty:
        try:
            run(sources, Feeder(live), timeout=timeout, stop=stop)
        finally:  # Ctrl-C too (exit 130): the roster as it was when the run ended
            show(rows(), PARTICIPANT_COLUMNS)
        return
    from rich.live import Live as RichLive

    def render():
        return _rich_table(rows(), live)

    with RichLive(get_renderable=render, console=output.console(), refresh_per_second=4, transient=False,
                  screen=False):
        run(sources, Feeder(live), timeout=timeout, stop=stop)


def _rich_table(people: list[Participant], live):
    """The --watch table: the columns and cells of `participants`, fitted to the terminal as every confctl
    table is (low-value columns dropped first, ids, names and rooms kept whole; -o wide keeps all), with each
    source's stream health as its caption."""
    import shutil

    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from confctl.core.output import _allocate, _cell, _fit

    cols = list(PARTICIPANT_COLUMNS)
    cells = [{c: _cell(row.get(c), c) for c in cols} for row in map(_row, people)]
    widths = {c: max([cell_len(c)] + [cell_len(r[c]) for r in cells]) for c in cols}
    room = shutil.get_terminal_size().columns
    if output.fmt() != "wide":
        cols = _fit(cols, widths, room, "id")
    fitted = _allocate(cols, widths, room, "id")
    health = "  ".join(f"{src}: {h.state}" for src, h in sorted(live.health.items())) or "connecting..."
    hidden = [c for c in PARTICIPANT_COLUMNS if c not in cols]
    caption = f"{len(people)} participants   {health}" + (f"\n(hidden at this width: {', '.join(hidden)}; "
                                                             "-o wide shows all)" if hidden else "")
    t = Table(show_edge=False, header_style="bold", caption=caption, caption_justify="left")
    for c in cols:
        t.add_column(c, overflow="ellipsis", no_wrap=True, width=fitted[c])
    for r in cells:
        t.add_row(*(Text(r[c]) for c in cols))
    return t


# ---------------------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------------------
def _check_support(verb: str, profiles: list, *, filtered: bool = False) -> None:
    """Exit 2 naming the first vendor that does not support the verb — before anything is sent."""
    from confctl.core.fleet.verbs import unsupported, verb_name

    name = verb_name(verb)
    for profile in profiles:
        if profile.provider.verb(name) is None:
            vendor = profile.provider.name
            narrow = (f"; leave its profiles out (-p, or --where 'vendor!={vendor}')" if filtered else "")
            raise unsupported(profile, name, narrow)


def _profile_filter(conds_text: list[str] | None, fields: tuple[str, ...]):
    """The --where conditions on `vendor` and `profile` alone, checkable before any look-up."""
    from confctl.core.fleet.where import parse

    conds = [parse(e, fields) for e in conds_text or ()]
    early = [c for c in conds if c.field in ("vendor", "profile")]
    return lambda profile: all(c({"vendor": profile.provider.name, "profile": profile.name}) for c in early)


def run_verb(name: str, targets: list[str] | None, all_profiles: bool, conference: list[str] | None,
             where: list[str] | None, concurrency: int) -> None:
    from confctl.core.builder import confirm, print_dry_run
    from confctl.core.fleet import targets as addressing
    from confctl.core.fleet.verbs import VERBS, Connections, raise_for_failures, reading, run_many, verb_name
    from confctl.core.fleet.where import compile_all

    name = verb_name(name)
    kind = VERBS[name][0]
    fields = PARTICIPANT_FIELDS if kind == "participant" else CONFERENCE_FIELDS
    keep = compile_all(where, fields)
    targets = list(targets or [])
    if not targets and not where and not conference:
        shape = "PROFILE:CONFERENCE/PARTICIPANT" if kind == "participant" else "PROFILE:CONFERENCE"
        raise UsageError(f"`{name}` needs a target ({shape}) or a filter (--where, -c)",
                         hint=f"e.g. confctl {name} '{shape}', or confctl {name} -p PROFILE --where "
                              + ("'role==guest'" if kind == "participant" else "'locked==false'")
                              + f" (`confctl {kind}s -o id` prints the addresses)")
    default = state.profiles[0] if len(state.profiles) == 1 else None
    addresses = [addressing.parse(t, default) for t in targets]
    known = _configured()
    for a in addresses:
        if a.profile not in known:
            raise ValidationError("TARGET", f"{a.text!r}: no profile named {a.profile!r}",
                                  hint="`confctl profile list` shows the profiles")
    if addresses:
        if conference:
            raise UsageError("-c selects conferences for --where; with TARGETs name the conference in each target")
        profiles, wanted = select(False, None, [a.profile for a in addresses])
        profiles = [p for p in profiles if p.name in {a.profile for a in addresses}]
    else:
        profiles, wanted = select(all_profiles, conference)
        early = _profile_filter(where, fields)
        profiles = [p for p in profiles if early(p)]
    for p in profiles:
        _model(p)
    _check_support(name, profiles, filtered=not addresses)

    with Connections(profiles) as conns:
        chosen = reading(lambda: _resolve(conns, addresses, profiles, wanted, kind, keep))
        if not chosen:
            output.note(f"{name}: nothing matches; nothing to do")
            return
        _check_support(name, [conns.get(t.profile).profile for t in chosen])
        if not state.dry_run:
            protected = sorted({t.profile for t in chosen if conns.get(t.profile).profile.protected})
            if name == "kick" or protected:
                what = addressing_label(chosen[0]) if len(chosen) == 1 else f"{len(chosen)} {kind}s"
                confirm(f"{name} {what}", protected=bool(protected), profile_name=", ".join(protected))
        if state.dry_run:
            items = run_many(conns, name, chosen, concurrency=concurrency)
            for profile in profiles:
                curls = [c for t, i in zip(chosen, items) if t.profile == profile.name for c in i.get("dry_run", ())]
                if curls:
                    conn = conns.get(profile)
                    print_dry_run(conn.ensure_session(), conn.profile, curls)
            for item in items:
                if not item["ok"]:
                    output.note(f"{item['target']}: {item['error']}")
                elif not item.get("dry_run"):
                    output.note(f"{item['target']}: {item['note']}; nothing to send")
            raise_for_failures([i for i in items if not i["ok"]], len(items), hint="the errors above say which")
            return
        stream = output.ItemStream(id_field="target", columns=REPORT_COLUMNS)
        items = run_many(conns, name, chosen, concurrency=concurrency, on_item=stream.add)
    stream.close()
    raise_for_failures([i for i in items if not i["ok"]], len(items), hint="the report above says which")


def addressing_label(target) -> str:
    from confctl.core.fleet.verbs import label

    name = getattr(target, "name", None)
    return label(target) + (f" ({name})" if name and name != target.id else "")


def _resolve(conns, addresses, profiles, wanted, kind: str, keep) -> list:
    """Every target, resolved and filtered, before anything is sent (look-ups only). A conference address on
    a participant verb means everyone in it."""
    from confctl.core.fleet.targets import Lookup

    chosen: list = []
    if addresses:
        lookup = Lookup(conns)
        for a in addresses:
            found = lookup.resolve(a)
            if isinstance(found, Conference) and kind == "participant":
                chosen += lookup.participants(found.profile, found.id)
            elif isinstance(found, Participant) and kind == "conference":
                raise UsageError(f"{a.text!r} is a participant; this verb acts on a conference (PROFILE:CONFERENCE)")
            else:
                chosen.append(found)
    else:
        confs, people, failed = _gather(conns, profiles, wanted, people=kind == "participant")
        if failed:
            profile, exc = failed[0]
            exc.message = f"profile {profile.name!r}: {exc.message} (nothing was sent)"
            raise exc
        _check_plain_conferences(wanted, confs, failed)
        chosen = people if kind == "participant" else confs
    unique = {}
    for t in chosen:
        if keep(t):
            unique.setdefault((type(t).__name__, *t.key), t)
    return list(unique.values())


def _verb_command(verb: str, doc: str):
    from confctl.core.fleet.verbs import VERBS

    if VERBS[verb][0] == "participant":
        def command(targets: TargetsArg = None, all_profiles: AllOpt = False, conference: ConfOpt = None,
                    where: WhereOpt = None, concurrency: ConcurrencyOpt = 8) -> None:
            run_verb(verb, targets, all_profiles, conference, where, concurrency)
    else:
        def command(targets: TargetsArg = None, all_profiles: AllOpt = False, conference: ConfOpt = None,
                    where: ConferenceWhereOpt = None, concurrency: ConcurrencyOpt = 8) -> None:
            run_verb(verb, targets, all_profiles, conference, where, concurrency)

    command.__name__ = verb.replace("-", "_")
    command.__doc__ = doc
    return command


mute = _verb_command("mute", "Mute participants (audio) of any vendor.")
unmute = _verb_command("unmute", "Unmute participants (audio) of any vendor.")
kick = _verb_command("kick", "Disconnect participants of any vendor (asks first; -y confirms).")
spotlight = _verb_command("spotlight", "Spotlight participants of any vendor.")
unspotlight = _verb_command("unspotlight", "Remove the spotlight from participants of any vendor.")
mute_all = _verb_command("mute-all", "Mute every guest of conferences of any vendor.")
unmute_all = _verb_command("unmute-all", "Unmute every guest of conferences of any vendor.")
lock = _verb_command("lock", "Lock conferences of any vendor.")
unlock = _verb_command("unlock", "Unlock conferences of any vendor.")


# ---------------------------------------------------------------------------------------------------------
# Capabilities
# ---------------------------------------------------------------------------------------------------------
def how_cell(verb) -> str:
    """One matrix cell: the endpoint that does it, "per participant (...)" for a fan-out, "-" when refused."""
    if verb is None:
        return "-"
    if verb.fanout:
        return f"per participant ({verb.fanout})"
    return verb.endpoint or "vendor model"


def matrix() -> tuple[list[str], list[dict]]:
    """(vendors, rows): one row per verb, one column per vendor (registry order)."""
    from confctl.core.fleet.verbs import VERBS
    from confctl.core.registry import PROVIDERS

    vendors = list(PROVIDERS)
    rows = [{"verb": v, **{n: how_cell(PROVIDERS[n].verb(v)) for n in vendors}} for v in VERBS]
    return vendors, rows


def matrix_markdown() -> str:
    """The matrix as a Markdown table (README and docs/model.md show it; a test keeps them equal)."""
    vendors, rows = matrix()
    lines = ["| verb | " + " | ".join(vendors) + " |", "|---" * (len(vendors) + 1) + "|"]
    for row in rows:
        lines.append(f"| `{row['verb']}` | " + " | ".join(
            "-" if row[v] == "-" else f"`{row[v]}`" for v in vendors) + " |")
    return "\n".join(lines) + "\n"


def capabilities() -> None:
    """Which cross-vendor verb each vendor supports, and how (the endpoint it uses); `-` means refused."""
    from confctl.core.fleet.verbs import VERBS
    from confctl.core.registry import PROVIDERS

    if output.tabular() and not state.query:
        _, rows = matrix()
        output.emit(rows, columns=("verb", *PROVIDERS), id_field="verb")
        return
    data = []
    for name in VERBS:
        for vendor, spec in PROVIDERS.items():
            v = spec.verb(name)
            data.append({"verb": name, "vendor": vendor, "supported": v is not None,
                         "target": VERBS[name][0], "how": how_cell(v), "detail": v.how if v else None,
                         "endpoint": v.endpoint if v else None, "fanout": v.fanout if v else None})
    output.emit(data, id_field="verb")
