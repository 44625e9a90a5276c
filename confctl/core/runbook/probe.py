"""Does a step's goal already hold? Read-only look-ups only (a listing, a status), used by --plan to say
"already done" and by apply to skip such a step (so re-running a runbook is safe).

A run step has a probe when its endpoint has a state to read back: the vendor's status call answers whether
the conference is locked, the room exists, the recording runs. Steps without one are "will change", and
apply relies on the endpoint's own `already` rules (409 "already muted" -> success)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from confctl.core.errors import ApiError, ConflictError


@dataclass
class Probe:
    holds: bool | None  # True: already done; False: will change; None: not known without running it
    note: str
    result: Any = None  # what the step's result would be when it holds (references resolve in the plan)
    key: Any = None  # the piece of state it read: a later step reading the same one sees earlier changes


def _status_flag(status_endpoint: str, path: tuple[str, ...], want: Any, words: tuple[str, str]):
    """A probe that reads one field of a status call: `want` there means the goal holds."""

    def probe(conn, values: dict) -> Probe:
        ep = conn.endpoint(status_endpoint)
        names = {p.name for p in ep.params}
        status = conn.call(status_endpoint, {k: v for k, v in values.items() if k in names})
        node = status
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        key = (conn.name, status_endpoint, path, tuple(sorted((k, str(v)) for k, v in values.items() if k in names)))
        if node == want:
            return Probe(True, words[0], {"already": True, "status": words[0].replace(" ", "_")}, key)
        return Probe(False, words[1], key=key)

    return probe


def _room_create(conn, values: dict) -> Probe:
    """The gateway's idempotent create: a room of that name exists -> reuse it (with reuse: true)."""
    name = values.get("name")
    cursor = None
    while True:
        page = conn.call("gateway.room.list", {"limit": 200, **({"cursor": cursor} if cursor else {})})
        for room in page.get("conferences") or ():
            if room.get("name") == name:
                if not values.get("reuse"):
                    raise ConflictError(f"a room named {name!r} already exists: {room.get('room_id')}",
                                        hint="add `reuse: true` to the step's args to reuse it", status=409)
                return Probe(True, f"room {name!r} exists: reusing {room.get('room_id')}",
                             {"room_id": room.get("room_id"), "name": name, "reused": True})
        cursor = page.get("cursor")
        if not cursor:
            return Probe(False, f"creates room {name!r}")


def _breakout_create(conn, values: dict) -> Probe:
    """Pexip: a breakout room of that name is open with someone in it -> reuse it (its uuid is the result, as
    create's is). Read through the common model (a room's participants carry its name and uuid); an empty
    room is not seen this way, so it would be opened again."""
    name = values.get("name")
    _, people = conn.profile.provider.load_model().snapshot(conn, (values["alias"],))
    for person in people:
        if person.room == name and isinstance(person.raw, dict) and person.raw.get("room") not in (None, "main"):
            uuid = person.raw["room"]
            return Probe(True, f"breakout room {name!r} is open: {uuid}", {"breakout_uuid": uuid, "reused": True})
    return Probe(False, f"opens breakout room {name!r}")


PROBES: dict[str, Callable] = {
    "pexip.breakout.create": _breakout_create,
    "gateway.room.create": _room_create,
    "pexip.conference.lock": _status_flag("pexip.conference.status", ("locked",), True,
                                          ("already locked", "locks the conference")),
    "pexip.conference.unlock": _status_flag("pexip.conference.status", ("locked",), False,
                                            ("already unlocked", "unlocks the conference")),
    "pexip.conference.muteguests": _status_flag("pexip.conference.status", ("guests_muted",), True,
                                                ("guests already muted", "mutes the guests")),
    "pexip.conference.unmuteguests": _status_flag("pexip.conference.status", ("guests_muted",), False,
                                                  ("guests already unmuted", "unmutes the guests")),
    "mind.recording.start": _status_flag("mind.conference.get", ("recording", "started"), True,
                                         ("already recording", "starts recording")),
    "mind.recording.stop": _status_flag("mind.conference.get", ("recording", "started"), False,
                                        ("recording already stopped", "stops recording")),
}


def _verb_backed(conn, endpoint, values: dict) -> Probe | None:
    """A command that is how the vendor does a cross-vendor verb with a `holds` rule (Pexip's participant mute
    is its `mute`): the common model says whether the goal holds — the participant named is muted already.
    None when the endpoint is no such verb's, or its values do not say which conference."""
    from confctl.core.fleet import targets as addressing
    from confctl.core.fleet.verbs import VERBS, holds

    spec = conn.profile.provider
    verb = next((v for v in spec.verbs if v.endpoint == endpoint.id and v.holds is not None), None)
    if verb is None:
        return None
    param = {attr: name for name, attr in verb.params.items() if not attr.startswith("=")}
    model = spec.load_model()
    done = VERBS[verb.name][1]
    if verb.target == "conference":
        conf_value = values.get(param.get("id"))
        if conf_value is None:
            return None
        confs, _ = model.snapshot(conn, (str(conf_value),))
        target = addressing.one(str(conf_value), confs, "conference", f"profile {conn.name!r}")
    else:
        conf_value, who = values.get(param.get("conference")), values.get(param.get("id"))
        if conf_value is None or who is None:
            return None
        people = model.participants(conn, str(conf_value))
        target = addressing.one(str(who), people, "participant", f"{conn.name}:{conf_value}")
    if holds(verb, target):
        return Probe(True, f"already {done}", {"already": True, "status": f"already_{done.replace(' ', '_')}"})
    return Probe(False, f"{verb.name} {target.name or target.id}")


def run_probe(conn, endpoint, values: dict) -> Probe:
    """The probe of a run step (values: the endpoint's parameter values, references resolved)."""
    from confctl.core.fleet.verbs import reading

    probe = PROBES.get(endpoint.id)
    several = endpoint.bulk and isinstance(values.get(endpoint.bulk), list)  # sent once per value: no probe
    if not several and (probe is not None or any(v.endpoint == endpoint.id and v.holds for v in conn.profile.provider.verbs)):
        filled = conn.build(endpoint.id, values).values  # profile defaults filled in (the conference alias)
        if probe is not None:
            return reading(lambda: probe(conn, filled))
        found = reading(lambda: _verb_backed(conn, endpoint, filled))
        if found is not None:
            return found
    if not endpoint.mutating:
        return Probe(None, "reads (nothing changes)")
    return Probe(None, "sends " + " ".join(endpoint.command_path))


def verb_targets(conns, step, targets: list[str]) -> list:
    """The Conference/Participant objects a verb step acts on: its addresses resolved (a conference address on
    a participant verb means everyone in it), then its `where` filter. Look-ups only."""
    from confctl.core.fleet import targets as addressing
    from confctl.core.fleet.commands import _resolve
    from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS
    from confctl.core.fleet.verbs import VERBS, reading
    from confctl.core.fleet.where import compile_all

    kind = VERBS[step.verb][0]
    keep = compile_all(step.where, PARTICIPANT_FIELDS if kind == "participant" else CONFERENCE_FIELDS)
    addresses = [addressing.parse(t) for t in targets]
    return reading(lambda: _resolve(conns, addresses, [], {}, kind, keep))


def _holds(conns, name: str, target) -> bool:
    """The verb's goal holds for the target; for a verb done participant by participant (the gateway's
    mute-all), when it holds for each of them (as `perform` would find)."""
    from confctl.core.fleet.verbs import HOST_ROLES, holds, reading, verb_of

    conn = conns.get(target.profile)
    verb = verb_of(conn, name, target)
    if holds(verb, target):
        return True
    if not verb.fanout:
        return False
    model = conn.profile.provider.load_model()
    people = [p for p in reading(lambda: model.participants(conn, target.id))
              if (p.role or "").lower() not in HOST_ROLES]
    return all(_holds(conns, verb.fanout, p) for p in people)


def verb_probe(conns, step, targets: list[str]) -> tuple[Probe, list]:
    from confctl.core.fleet.verbs import VERBS

    chosen = verb_targets(conns, step, targets)
    done = VERBS[step.verb][1]
    if not chosen:
        return Probe(True, "nothing matches; nothing to do", {"items": []}), chosen
    pending = [t for t in chosen if not _holds(conns, step.verb, t)]
    if not pending:
        return Probe(True, f"all {len(chosen)} already {done}", {"items": []}), chosen
    names = ", ".join(str(t.name or t.id) for t in pending[:5]) + (" ..." if len(pending) > 5 else "")
    return Probe(False, f"{step.verb} {len(pending)} of {len(chosen)}: {names}"), chosen


def _conferences_of(values: list[str], profile: str, vendor: str) -> tuple[list[str], list[str]]:
    """The conferences a wait step names for one profile: (those named PROFILE:ID or VENDOR:ID, plain ids)."""
    named, plain = [], []
    for value in values:
        prefix, sep, rest = value.partition(":")
        if sep and prefix in (profile, vendor):
            named.append(rest)
        elif not sep:
            plain.append(value)
    return named, plain


def wait_probe(conns, step, conditions: list[str], conference: list[str]) -> tuple[Probe, Any]:
    """The wait conditions evaluated once over a snapshot of each watched profile."""
    from confctl.core.fleet import wait as waiting
    from confctl.core.fleet.model import PARTICIPANT_FIELDS
    from confctl.core.fleet.sources import snapshot_event
    from confctl.core.fleet.verbs import reading
    from confctl.core.fleet.where import compile_all

    predicate = compile_all(step.where, PARTICIPANT_FIELDS) if step.where else None
    waiter = waiting.Waiter([waiting.parse(c) for c in conditions], any_=step.any_, where=predicate)
    for name in step.profile:
        conn = conns.get(name)
        named, plain = _conferences_of(conference, name, conn.vendor)
        mine = list(named)
        for value in plain:  # a plain conference id may belong to another watched profile
            try:
                reading(lambda: conn.profile.provider.load_model().snapshot(conn, (value,)))
                mine.append(value)
            except ApiError:
                continue
        if plain and not mine:
            continue
        waiter.live.apply(reading(lambda: snapshot_event(conn, tuple(mine))))
    waiter.everything_in = True
    if waiter.check():
        report = waiter.report()
        return Probe(True, "holds now: " + "; ".join(f"{c['for']} ({c['detail']})" for c in report["conditions"]),
                     {"satisfied": True, "conditions": report["conditions"]}), waiter
    report = waiter.report()
    missing = [f"{c['for']} ({c['detail']})" for c in report["conditions"] if not c["holds"]]
    return Probe(False, f"waits up to {step.timeout:g}s for: " + "; ".join(missing)), waiter
