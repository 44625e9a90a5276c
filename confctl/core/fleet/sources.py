"""Where the live model's envelopes come from: for each profile, its vendor's event stream (opened with a
snapshot where the stream does not start with the current state), or, for a vendor without a usable stream,
a snapshot polled every few seconds. Each source is a runner factory, fn(stop) -> iterator of envelopes, so
`top`, `wait` and `participants --watch` merge them exactly as `events follow` does.

Conferences (`-c`, repeatable): for streamed profiles exactly `events follow`'s rules (PROFILE:ID, PROVIDER:ID,
plain ID to the profiles that take a conference, each profile's `conference` field). A polled profile (the
gateway) follows every conference it can see unless `-c PROFILE:ID` / `-c PROVIDER:ID` names some; a plain
`-c ID` goes to the polled profiles only when no streamed profile takes it.

Polling (`polled`): one snapshot every `interval` seconds, counted from the start of the previous one but never
sooner than that snapshot took (a slow server is not hit back to back); an error is reported once as a `gap`
record and doubles the pause (up to a minute), recovery is a `reconnected` record followed by the fresh
snapshot. A 429 is first retried by the HTTP layer as its Retry-After says (within --max-wait). Errors that
cannot heal by waiting (credentials, usage) end the source: the command exits with their code.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

from confctl.core.events import envelope

MAX_BACKOFF = 60.0


def profiles_for(names: list[str], all_profiles: bool = False) -> list:
    """The profiles to act on: each --profile given, every configured one with --all-profiles, or else the
    default profile of each vendor (as `events follow` picks them)."""
    from confctl.core import config
    from confctl.core.events.command import _targets

    data = config.load()
    if all_profiles:  # every configured profile (any -p given is among them)
        names = list(data["profiles"])
        if not names:
            raise config.ConfigError("no profiles configured", hint="`confctl profile add` creates one")
    return [config.resolve(vendor, name) for vendor, name in _targets(None, list(names), data)]


def snapshot_event(conn, conferences: tuple[str, ...] = (), *, polled: bool = False) -> dict:
    """One profile's current state as a `snapshot` envelope (common-model dicts, each with its raw record).
    `polled`: the source has no stream and this is one of its periodic reads (its health reads "polling")."""
    model = conn.profile.provider.load_model()
    confs, people = model.snapshot(conn, conferences)
    data = {"conferences": [c.to_dict() for c in confs], "participants": [p.to_dict() for p in people],
            "covers": sorted({c.id for c in confs} | set(conferences))}
    if polled:
        data["polled"] = True
    return envelope.make(conn.vendor, conn.name, "snapshot", data)


def _fatal(exc) -> bool:
    """Errors waiting cannot heal: wrong or missing credentials, bad input."""
    from confctl.core.errors import AuthError, UsageError

    return isinstance(exc, (AuthError, UsageError))


def polled(conn, conferences: tuple[str, ...], stop, interval: float, *, clock=time.monotonic,
           wait: Callable[[float], object] | None = None) -> Iterator[dict]:
    """Snapshots every `interval` seconds until `stop` (see the module docstring for the pacing and backoff).
    `clock` and `wait` (default: stop.wait) are seams for tests. Closes `conn` when it ends."""
    from confctl.core.errors import ConfctlError

    pause = wait or stop.wait
    interval = max(float(interval), 0.1)
    backoff, failing = interval, False
    try:
        while not stop.is_set():
            started = clock()
            try:
                event = snapshot_event(conn, conferences, polled=True)
            except ConfctlError as exc:
                if _fatal(exc):
                    raise
                if not failing:
                    yield envelope.gap(conn.vendor, conn.name, reason=exc.message, polling=True)
                    backoff = interval
                failing = True
                backoff = min(backoff * 2, MAX_BACKOFF)
                delay = backoff
            else:
                if failing:
                    yield envelope.reconnected(conn.vendor, conn.name, resynced="snapshot")
                failing, backoff = False, interval
                yield event
                took = clock() - started
                delay = max(interval - took, took, 0.0)
            # stop.wait returns at once when stop is set; an injected wait is called in slices so a test's stop
            # (or a run's) is honoured within a second either way.
            left = delay
            while left > 0 and not stop.is_set():
                step = min(left, 1.0)
                pause(step)
                left -= step
    finally:
        conn.close()


def _split_conferences(polled_profiles: list, streamed: list, values: list[str]) -> tuple[list[str], dict]:
    """The -c values for the streamed profiles (left to events follow's rules) and, per polled profile, the
    conferences to keep (the module docstring says how)."""
    from confctl.core.errors import ValidationError

    def hits(group, prefix):
        return [p for p in group if prefix in (p.name, p.provider.name)]

    to_streams, plain = [], []
    to_polled: dict[int, list[str]] = {id(p): [] for p in polled_profiles}
    for value in values:
        prefix, sep, rest = value.partition(":")
        on_polled = hits(polled_profiles, prefix) if sep else []
        on_streams = hits(streamed, prefix) if sep else []
        if on_polled and not rest:
            raise ValidationError("--conference", f"{value!r} names no conference after the colon")
        for p in on_polled:
            to_polled[id(p)].append(rest)
        if on_streams or not on_polled:
            (to_streams if on_streams else plain).append(value)
    if plain and polled_profiles and not any(p.provider.takes_conference for p in streamed):
        for p in polled_profiles:
            to_polled[id(p)].extend(plain)
    else:
        to_streams += plain
    return to_streams, to_polled


def live_sources(profiles: list, conference: list[str] | None = None, *,
                 receive: dict | None = None) -> list[tuple[str, object]]:
    """Runner sources for every profile: stream vendors through `events follow`'s plan (so -c rules and checks
    are the same, all before anything starts), polled vendors through `polled()`. A vendor without a common
    model is left out with a warning. `receive`: also run the polled vendors' own follower beside the polling
    (the gateway's webhook receiver), with these follow options (e.g. {"listen": "127.0.0.1:8099"}; {} for its
    defaults) — for events that exist only as webhooks (conference.play.finished)."""
    from confctl.core import output
    from confctl.core.events.command import follow_source, plan, require_fields
    from confctl.core.fleet.connection import Connection

    models = {}
    for p in profiles:
        model = p.provider.load_model()
        if model is None:
            output.warn(f"{p.provider.name} profile {p.name!r}: this vendor has no common model yet; left out")
            continue
        models[id(p)] = model
    kept = [p for p in profiles if id(p) in models]
    streamed = [p for p in kept if models[id(p)].streams]
    polled_profiles = [p for p in kept if not models[id(p)].streams]
    to_streams, to_polled = _split_conferences(polled_profiles, streamed, list(conference or []))
    if not to_streams:
        # With no -c, a stream vendor that can list its conferences (Auvious: the active ones) follows the
        # conferences its snapshot shows when the profile names none (Mind cannot list: still "no conference").
        for p in streamed:
            if p.provider.takes_conference and not p.get("conference"):
                # Environment-only profiles are all named "env": PROVIDER:ID says which one is meant.
                prefix = p.name if sum(q.name == p.name for q in kept) == 1 else p.provider.name
                with Connection.open(p) as conn:
                    to_streams += [f"{prefix}:{c.id}" for c in models[id(p)].conferences(conn)]
    sources: list[tuple[str, object]] = []
    if streamed:
        for label, provider, profile, options in plan(None, [], to_streams, {}, resolved=streamed):
            model = profile.provider.load_model()

            def factory(stop, follow=follow_source(provider, profile, options), profile=profile,
                        options=options, model=model):
                def gen():
                    if not model.stream_opens_with_state:
                        with Connection.open(profile) as conn:
                            yield snapshot_event(conn, options.conference)
                    yield from follow(stop)
                return gen()

            sources.append((label, factory))
    elif to_streams:
        from confctl.core.errors import ValidationError

        raise ValidationError("--conference", f"{to_streams[0]!r} matches none of the profiles followed")
    if receive and not polled_profiles:
        from confctl.core.errors import UsageError

        raise UsageError(f"--{next(iter(receive)).replace('_', '-')}: no followed profile receives webhooks "
                         "(it applies to gateway profiles)")
    if receive is not None and polled_profiles:
        for label, provider, profile, options in plan(None, [], [], dict(receive), resolved=polled_profiles):
            sources.append((label, follow_source(provider, profile, options)))
    for profile in polled_profiles:
        model = models[id(profile)]
        require_fields(profile)
        sources.append((f"{profile.provider.name}/{profile.name}",
                        lambda stop, profile=profile, model=model: polled(
                            Connection.open(profile), tuple(to_polled[id(profile)]), stop, model.poll_interval)))
    return sources
