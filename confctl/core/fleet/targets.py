"""Addressing across vendors: `PROFILE:CONFERENCE/PARTICIPANT` (a participant), `PROFILE:CONFERENCE` (a
conference). CONFERENCE and PARTICIPANT are an id, a unique id prefix (4+ characters) or a name; the first of
these that matches anything wins (exact id, exact name, name ignoring case, id prefix). Ambiguous or missing
-> exit 2 listing the candidates, before anything is sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from confctl.core.errors import UsageError, ValidationError
from confctl.core.fleet.model import Conference, Participant

SHAPES = "PROFILE:CONFERENCE/PARTICIPANT or PROFILE:CONFERENCE"


@dataclass(frozen=True)
class Address:
    profile: str
    conference: str
    participant: str | None
    text: str


def parse(text: str, default_profile: str | None = None) -> Address:
    """Split an address. Without `PROFILE:` the one --profile given (if exactly one) is meant."""
    profile, sep, rest = text.partition(":")
    if not sep:
        if default_profile is None:
            raise ValidationError("TARGET", f"{text!r} names no profile: expected {SHAPES}",
                                  hint="e.g. sim-pexip:meet.demo/Bob (or give exactly one --profile)")
        profile, rest = default_profile, text
    conference, slash, participant = rest.partition("/")
    if not profile or not conference or (slash and not participant):
        raise ValidationError("TARGET", f"{text!r}: expected {SHAPES}")
    return Address(profile, conference, participant if slash else None, text)


def pick(value: str, items: list, *, id_of, name_of) -> list:
    """The items `value` names: the first non-empty tier of exact id, exact name, name ignoring case,
    unique id prefix (4+ characters)."""
    folded = value.casefold()
    tiers = (
        lambda i: str(id_of(i)) == value,
        lambda i: name_of(i) == value,
        lambda i: str(name_of(i) or "").casefold() == folded,
        lambda i: len(value) >= 4 and str(id_of(i)).casefold().startswith(folded),
    )
    for test in tiers:
        found = [i for i in items if test(i)]
        if found:
            return found
    return []


def one(value: str, items: list, what: str, where: str, *, id_of=lambda i: i.id, name_of=lambda i: i.name):
    found = pick(value, items, id_of=id_of, name_of=name_of)
    if len(found) == 1:
        return found[0]

    def listing(xs):
        return "; ".join(f"{id_of(x)}  {name_of(x) or ''}".rstrip() for x in xs[:20]) + (" ..." if len(xs) > 20 else "")

    if found:
        raise UsageError(f"{what} {value!r} is ambiguous in {where}: {len(found)} match: {listing(found)}",
                         hint="use the id (or a longer id prefix)",
                         detail={"candidates": [{"id": id_of(x), "name": name_of(x)} for x in found]})
    raise UsageError(f"no {what} matches {value!r} in {where}",
                     hint=("present: " + listing(items)) if items else f"{where} has no {what}s")


class Lookup:
    """Listings of each profile's conferences and participants, fetched once per run and shared."""

    def __init__(self, conns):
        self.conns = conns
        self._confs: dict[str, list[Conference]] = {}
        self._people: dict[tuple[str, str], list[Participant]] = {}
        self._lock = threading.Lock()

    def model(self, profile: str):
        return self.conns.get(profile).profile.provider.load_model()

    def conferences(self, profile: str) -> list[Conference]:
        if profile not in self._confs:
            conn = self.conns.get(profile)
            confs = self.model(profile).conferences(conn)
            with self._lock:
                self._confs[profile] = confs
        return self._confs[profile]

    def participants(self, profile: str, conference: str) -> list[Participant]:
        key = (profile, conference)
        if key not in self._people:
            conn = self.conns.get(profile)
            people = self.model(profile).participants(conn, conference)
            with self._lock:
                self._people[key] = people
        return self._people[key]

    def conference(self, profile: str, value: str) -> Conference:
        """By id or name in one snapshot when it names one exactly (one look-up: a Pexip alias needs no
        listing), else from the profile's listing by id, name or unique id prefix."""
        from confctl.core.errors import NotFoundError

        try:
            confs, people = self.model(profile).snapshot(self.conns.get(profile), (value,))
        except NotFoundError:
            confs, people = [], []
        exact = [c for c in confs if c.id == value] or [c for c in confs if c.name == value]
        if len(exact) == 1:
            with self._lock:
                self._people[(profile, exact[0].id)] = [p for p in people if p.conference == exact[0].id]
            return exact[0]
        return one(value, self.conferences(profile), "conference", f"profile {profile!r}")

    def resolve(self, address: Address) -> Conference | Participant:
        conf = self.conference(address.profile, address.conference)
        if address.participant is None:
            return conf
        people = self.participants(address.profile, conf.id)
        return one(address.participant, people, "participant", f"{address.profile}:{conf.id}")
