"""Where the live model's envelopes come from: for each profile, its vendor's event stream (opened with a
snapshot where the stream does not start with the current state), or, for a vendor without a usable stream,
a snapshot polled every few seconds. Each source is a runner factory, fn(stop) -> iterator of envelopes, so
`top`, `wait` and `participants --watch` merge them exactly as `events follow` does."""

from __future__ import annotations

import dataclasses
import time
from typing import Iterator

from confctl.core.events import envelope


def profiles_for(names: list[str], all_profiles: bool = False) -> list:
    """The profiles to act on: each --profile given, every configured one with --all-profiles, or else the
    default profile of each vendor (as `events follow` picks them)."""
    from confctl.core import config
    from confctl.core.events.command import _targets

    data = config.load()
    if all_profiles:
        names = list(data["profiles"])
        if not names:
            raise config.ConfigError("no profiles configured", hint="`confctl profile add` creates one")
    return [config.resolve(vendor, name) for vendor, name in _targets(None, list(names), data)]


def snapshot_event(conn, conferences: tuple[str, ...] = ()) -> dict:
    """One profile's current state as a `snapshot` envelope (common-model dicts, each with its raw record)."""
    model = conn.profile.provider.load_model()
    confs, people = model.snapshot(conn, conferences)
    return envelope.make(conn.vendor, conn.name, "snapshot",
                         {"conferences": [c.to_dict() for c in confs],
                          "participants": [p.to_dict() for p in people],
                          "covers": sorted({c.id for c in confs} | set(conferences))})


def polled(conn, conferences: tuple[str, ...], stop, interval: float, *, clock=time.monotonic) -> Iterator[dict]:
    """Snapshots every `interval` seconds until `stop`; an error doubles the wait (up to a minute) and is
    reported once as a `gap` record, recovery as `reconnected`."""
    from confctl.core.errors import ConfctlError

    wait, failing = interval, False
    try:
        while not stop.is_set():
            try:
                event = snapshot_event(conn, conferences)
            except ConfctlError as exc:
                if not failing:
                    yield envelope.gap(conn.vendor, conn.name, reason=exc.message)
                failing, wait = True, min(wait * 2, 60.0)
            else:
                if failing:
                    yield envelope.reconnected(conn.vendor, conn.name, resynced="snapshot")
                failing, wait = False, interval
                yield event
            stop.wait(wait)
    finally:
        conn.close()


def live_sources(profiles: list, conference: list[str] | None = None) -> list[tuple[str, object]]:
    """Runner sources for every profile: stream vendors through `events follow`'s plan (so -c rules and checks
    are the same), polled vendors through `polled()`."""
    from confctl.core.events.command import plan
    from confctl.core.fleet.connection import Connection

    streamed = [p for p in profiles if p.provider.load_model() and p.provider.load_model().streams]
    polled_profiles = [p for p in profiles if p not in streamed and p.provider.load_model()]
    sources: list[tuple[str, object]] = []
    if streamed:
        planned = plan(None, [p.name for p in streamed], list(conference or []), {})
        for label, provider, profile, options in planned:
            model = profile.provider.load_model()

            def factory(stop, provider=provider, profile=profile, options=options, model=model):
                def gen():
                    if not model.stream_opens_with_state:
                        with Connection.open(profile) as conn:
                            yield snapshot_event(conn, options.conference)
                    yield from provider.follow(profile, dataclasses.replace(options, stop=stop))
                return gen()

            sources.append((label, factory))
    for profile in polled_profiles:
        model = profile.provider.load_model()
        sources.append((f"{profile.provider.name}/{profile.name}",
                        lambda stop, profile=profile, model=model: polled(
                            Connection.open(profile), tuple(conference or ()), stop, model.poll_interval)))
    return sources
