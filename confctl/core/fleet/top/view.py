"""What the cockpit shows, as plain rows and strings read from the live model (no Textual here, so the rules
are testable alone and cheap to import)."""

from __future__ import annotations

from confctl.core.fleet.live import Live
from confctl.core.fleet.model import Conference, Participant

# Terse headers and words (k9s-like), so both panes fit 100 columns; docs/top.md explains each.
CONFERENCE_COLUMNS = ("vendor", "profile", "conference", "#", "lock")
PARTICIPANT_COLUMNS = ("name", "role", "talk", "mic", "cam", "hand", "share", "room")


def flag(value: bool | None, yes: str, no: str = "") -> str:
    """A boolean cell: the word when it holds, `no` when it does not, "?" when the vendor cannot know."""
    if value is None:
        return "?"
    return yes if value else no


def conferences(live: Live) -> list[Conference]:
    """Every conference, sorted; one a vendor model listed no record for (only participants) is shown too."""
    with live.lock:
        confs = dict(live.conferences)
        for person in live.participants.values():
            key = (person.profile, person.conference)
            if key not in confs:
                confs[key] = Conference(person.vendor, person.profile, person.conference,
                                        participants=sum(1 for k in live.participants if k[:2] == key))
    return sorted(confs.values(), key=lambda c: (c.vendor, c.profile, (c.name or c.id).lower(), c.id))


def conference_row(conf: Conference) -> tuple[str, ...]:
    count = "?" if conf.participants is None else str(conf.participants)
    return (conf.vendor, conf.profile, conf.name or conf.id, count, flag(conf.locked, "yes"))


def matches(person: Participant, text: str) -> bool:
    """The `/` filter: a case-insensitive substring of the name or the role."""
    text = text.strip().lower()
    return not text or text in (person.name or "").lower() or text in (person.role or "").lower()


def participants(live: Live, conference: tuple[str, str] | None, text: str = "") -> list[Participant]:
    if conference is None:
        return []
    people = [p for p in live.people(*conference) if matches(p, text)]
    return sorted(people, key=lambda p: ((p.room or ""), (p.name or "").lower(), p.id))


def participant_row(person: Participant) -> tuple[str, ...]:
    return (person.name or person.id, person.role or "", flag(person.speaking, "yes"),
            flag(person.muted_audio, "muted", "on"), flag(person.muted_video, "off", "on"),
            flag(person.hand_raised, "up"), flag(person.presenting, "yes"), person.room or "")


def health(live: Live) -> list[tuple[str, str, str]]:
    """(source, state, detail) per source, as the live model tracks them."""
    with live.lock:
        return sorted((source, h.state, h.detail) for source, h in live.health.items())


class Tail:
    """Which envelopes the event tail shows: all but a polled snapshot that found nothing new (a polled vendor
    sends one every few seconds). A shown snapshot reads "conferences=N participants=M"."""

    def __init__(self):
        self._last: dict[str, str] = {}

    def wanted(self, event: dict) -> bool:
        if event.get("type") != "snapshot":
            if event.get("type") in ("gap", "reconnected"):  # after these, the next snapshot is news again
                self._last.pop(f"{event.get('provider')}/{event.get('profile')}", None)
            return True
        import json

        data = event.get("data") or {}
        digest = json.dumps([data.get("conferences"), data.get("participants")], sort_keys=True, default=str)
        source = f"{event.get('provider')}/{event.get('profile')}"
        if self._last.get(source) == digest:
            return False
        self._last[source] = digest
        return True


def event_line(event: dict) -> tuple[str, str, str, str, str]:
    """(clock, source, where, type, summary) of one envelope, as `events follow` prints it."""
    from confctl.core.events.printer import summary

    where = event.get("conference") or "-"
    if event.get("breakout"):
        where += f"[breakout {str(event['breakout'])[:8]}]"
    data = event.get("data")
    if event.get("type") == "snapshot" and isinstance(data, dict):
        text = f"conferences={len(data.get('conferences') or [])} participants={len(data.get('participants') or [])}"
    else:
        text = summary(data)
    return ((event.get("time") or "")[11:23], f"{event.get('provider')}/{event.get('profile')}", where,
            str(event.get("type")), text)


# verb -> what the outcome line says once done ("muted Bob")
DONE = {"mute": "muted", "unmute": "unmuted", "kick": "disconnected", "spotlight": "spotlighted",
        "unspotlight": "removed the spotlight from", "mute-all": "muted the guests of",
        "unmute-all": "unmuted the guests of", "lock": "locked", "unlock": "unlocked"}
# verb -> the question a confirmation asks
ASK = {"mute": "Mute", "unmute": "Unmute", "kick": "Disconnect", "spotlight": "Spotlight",
       "unspotlight": "Remove the spotlight from", "mute-all": "Mute every guest of",
       "unmute-all": "Unmute every guest of", "lock": "Lock", "unlock": "Unlock"}


def who(target: Conference | Participant) -> str:
    return target.name or target.id


def question(verb: str, target: Conference | Participant, protected: bool) -> str:
    """What a confirmation asks: "Disconnect Bob (prod:meet.demo)?", naming a protected profile as such."""
    if isinstance(target, Participant):
        text = f"{ASK[verb]} {who(target)} ({target.profile}:{target.conference})"
    else:
        text = f"{ASK[verb]} {target.profile}:{target.id}"
        if target.name not in (None, target.id):
            text += f" ({target.name})"
    return text + "?" + (f"\n{target.profile} is a protected profile." if protected else "")


def outcome(verb: str, target: Conference | Participant, result: dict) -> str:
    """The line shown after an action: "muted Bob", "Bob: already muted", "muted the guests of x: muted 3 of 4"."""
    note = (result or {}).get("note") or ""
    if (result or {}).get("already"):
        return f"{who(target)}: {note or 'nothing to do'}"
    from confctl.core.fleet.verbs import VERBS

    line = f"{DONE.get(verb, verb)} {who(target)}"
    # perform's plain note only repeats the verb ("muted"); a fan-out's says how many ("muted 3 of 4")
    if note and note != VERBS.get(verb, ("", ""))[1]:
        line += f": {note}"
    return line
