"""The live model: conferences, participants and stream health of every followed profile, kept current by
folding event envelopes (and polled snapshots, which arrive as `snapshot` envelopes) into it. `top`, `wait` and
`participants --watch` read it; a recorded stream replays into it exactly as a live one does."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from confctl.core.fleet.model import Conference, Participant


@dataclass
class Health:
    """One source's stream: connected / reconnecting / gap / polling / ended, and when it last changed."""

    state: str = "connecting"
    since: str | None = None
    detail: str = ""


def conference_from(data: dict) -> Conference:
    return Conference(**{k: data.get(k) for k in Conference.__dataclass_fields__})


def participant_from(data: dict) -> Participant:
    return Participant(**{k: data.get(k) for k in Participant.__dataclass_fields__})


@dataclass
class Live:
    conferences: dict[tuple, Conference] = field(default_factory=dict)
    participants: dict[tuple, Participant] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)  # "vendor/profile" -> Health
    tail: deque = field(default_factory=lambda: deque(maxlen=500))  # the latest envelopes
    version: int = 0  # bumped on every change
    listeners: list[Callable[[dict], None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _models: dict = field(default_factory=dict, repr=False)

    # -- folding ------------------------------------------------------------------------------------------
    def apply(self, event: dict) -> None:
        with self.lock:
            source = f"{event.get('provider')}/{event.get('profile')}"
            health = self.health.setdefault(source, Health())
            etype = event.get("type")
            if etype == "snapshot":
                self.load_snapshot(event)
                # A polled source's read (after a `reconnected` too) says it is polling; the snapshot that
                # opens a stream says the stream is being opened on current state: connected.
                if (event.get("data") or {}).get("polled"):
                    if health.state != "polling":
                        health.state, health.since, health.detail = "polling", event.get("time"), ""
                elif health.state == "connecting":
                    health.state, health.since = "connected", event.get("time")
            elif etype in ("reconnected", "gap"):
                health.state, health.since = etype, event.get("time")
                health.detail = ", ".join(f"{k}={v}" for k, v in (event.get("data") or {}).items())[:80]
            else:
                if health.state != "connected":
                    health.state, health.since, health.detail = "connected", event.get("time"), ""
                model = self._model(event.get("provider"))
                if model is not None:
                    model.apply(self, event)
            self.tail.append(event)
            self.version += 1
        for listener in list(self.listeners):
            listener(event)

    def _model(self, vendor: str | None):
        if vendor not in self._models:
            from confctl.core.registry import PROVIDERS

            spec = PROVIDERS.get(vendor)
            self._models[vendor] = spec.load_model() if spec is not None else None
        return self._models[vendor]

    def load_snapshot(self, event: dict) -> None:
        """Replace what one profile's snapshot covers: its conferences (those listed) and their participants."""
        profile = event.get("profile")
        data = event.get("data") or {}
        confs = [conference_from(c) for c in data.get("conferences") or []]
        covered = {c.id for c in confs} | set(data.get("covers") or [])
        for key in [k for k in self.participants if k[0] == profile and k[1] in covered]:
            del self.participants[key]
        for conf in confs:
            self.conferences[conf.key] = conf
        for p in data.get("participants") or []:
            person = participant_from(p)
            self.participants[person.key] = person

    # -- helpers for vendor models --------------------------------------------------------------------------
    def upsert_conference(self, conf: Conference) -> None:
        self.conferences[conf.key] = conf

    def remove_conference(self, profile: str, conference: str) -> None:
        self.conferences.pop((profile, conference), None)
        for key in [k for k in self.participants if k[:2] == (profile, conference)]:
            del self.participants[key]

    def upsert_participant(self, person: Participant) -> None:
        self.participants[person.key] = person
        self._count(person.profile, person.conference)

    def remove_participant(self, profile: str, conference: str, participant: str) -> Participant | None:
        gone = self.participants.pop((profile, conference, participant), None)
        self._count(profile, conference)
        return gone

    def participant(self, profile: str, conference: str, participant: str) -> Participant | None:
        return self.participants.get((profile, conference, participant))

    def _count(self, profile: str, conference: str) -> None:
        conf = self.conferences.get((profile, conference))
        if conf is not None:
            conf.participants = sum(1 for k in self.participants if k[:2] == (profile, conference))

    # -- reading --------------------------------------------------------------------------------------------
    def people(self, profile: str | None = None, conference: str | None = None) -> list[Participant]:
        with self.lock:
            return [p for p in self.participants.values()
                    if (profile is None or p.profile == profile) and (conference is None or p.conference == conference)]


class Feeder:
    """A runner printer (confctl.core.events.runner.run) that folds every envelope into a live model."""

    def __init__(self, live: Live):
        self.live = live

    def wanted(self, event: dict) -> bool:
        return True

    def print(self, event: dict) -> None:
        self.live.apply(event)
