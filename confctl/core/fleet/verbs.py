"""Cross-vendor verbs on one target (`perform`) or many (`run_many`), and the open connections they share.

`perform` is what `confctl mute ...`, `top`'s keys and scripts all call: it refuses a verb the target's vendor
does not declare (exit 2 naming the vendor, nothing sent), reports a goal that already holds ("already muted",
nothing sent), and otherwise runs the vendor model's `act()`.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable

from confctl.core.errors import ConfctlError, UsageError, exit_code_for
from confctl.core.fleet.model import Conference, Participant

# verb -> (target kind, what the goal is called once it holds: "muted" -> "already muted")
VERBS: dict[str, tuple[str, str]] = {
    "mute": ("participant", "muted"),
    "unmute": ("participant", "unmuted"),
    "kick": ("participant", "disconnected"),
    "spotlight": ("participant", "spotlighted"),
    "unspotlight": ("participant", "not spotlighted"),
    "mute-all": ("conference", "muted"),
    "unmute-all": ("conference", "unmuted"),
    "lock": ("conference", "locked"),
    "unlock": ("conference", "unlocked"),
}
ALIASES = {"disconnect": "kick"}
# Roles a conference-wide verb done participant by participant (Verb.fanout) leaves alone: "mute every guest".
HOST_ROLES = frozenset({"host", "chair", "chairperson", "moderator", "owner", "agent", "presenter"})


def verb_name(name: str) -> str:
    name = ALIASES.get(name, name)
    if name not in VERBS:
        raise UsageError(f"unknown verb {name!r}", hint="verbs: " + ", ".join(VERBS))
    return name


def spec_of(conn) -> Any:
    return conn.profile.provider


def verb_of(conn, name: str, target: Conference | Participant | None = None):
    """The vendor's Verb for `name`, or UsageError (exit 2) naming the vendor — nothing is sent."""
    name = verb_name(name)
    spec = spec_of(conn)
    verb = spec.verb(name)
    if verb is None:
        raise unsupported(conn.profile, name)
    kind = VERBS[name][0]
    if target is not None and kind != ("conference" if isinstance(target, Conference) else "participant"):
        shape = "PROFILE:CONFERENCE" if kind == "conference" else "PROFILE:CONFERENCE/PARTICIPANT"
        raise UsageError(f"`{name}` acts on a {kind}, addressed as {shape}")
    return verb


def unsupported(profile, name: str, hint: str = "") -> UsageError:
    """The refusal of a verb the profile's vendor does not declare (exit 2, nothing sent)."""
    return UsageError(f"{profile.provider.name} does not support `{name}` (profile {profile.name!r}); nothing was "
                      "sent", hint="`confctl capabilities` shows which vendor supports which verb, and how" + hint)


def holds(verb, target) -> bool:
    """Does the target's known state already say the goal holds (the verb's `holds` rule)?"""
    if verb.holds is None:
        return False
    attr, value = verb.holds
    return getattr(target, attr, None) == value


def perform(conn, verb_name_: str, target: Conference | Participant) -> dict:
    """Carry out one verb on one target. Returns {"ok": True, "note": ...} ("already": True when the goal
    already held, nothing sent; "dry_run": [curl lines] under --dry-run) or raises the ConfctlError."""
    from confctl.core.http import DryRunResult, dry_run_or

    verb = verb_of(conn, verb_name_, target)
    done = VERBS[verb.name][1]
    if holds(verb, target):
        return {"ok": True, "already": True, "note": f"already {done}"}
    if verb.fanout:
        return _fanout(conn, verb, target)
    from confctl.core import output

    model = spec_of(conn).load_model()
    with output.notes_muted():  # the per-target report says it; the vendor command's progress line would repeat it
        result = dry_run_or(lambda: model.act(conn, verb, target))
    if isinstance(result, DryRunResult):
        return {"ok": True, "note": "dry run: not sent", "dry_run": [result.curl]}
    if isinstance(result, dict) and result.get("already"):
        return {"ok": True, "already": True, "note": f"already {done}"}
    return {"ok": True, "note": done}


def _fanout(conn, verb, conf: Conference) -> dict:
    """A conference verb done as a participant verb on each non-host participant (e.g. mute-all on a vendor
    without a conference-wide mute). Fails on the first participant that fails."""
    model = spec_of(conn).load_model()
    people = [p for p in reading(lambda: model.participants(conn, conf.id)) if (p.role or "").lower() not in HOST_ROLES]
    results = [perform(conn, verb.fanout, p) for p in people]
    done = VERBS[verb.name][1]
    curls = [c for r in results for c in r.get("dry_run", ())]
    if curls:
        return {"ok": True, "note": "dry run: not sent", "dry_run": curls}
    changed = sum(1 for r in results if not r.get("already"))
    if not changed:
        return {"ok": True, "already": True, "note": f"already {done}" if people else "nobody to act on"}
    return {"ok": True, "note": f"{done} {changed} of {len(people)}"}


def reading(fn):
    """Run look-ups for real under --dry-run too: they only read (as a vendor command's name resolvers do),
    so the printed lines carry the real ids. Only the requests that would change something are not sent."""
    from confctl.core.state import reads_sent

    with reads_sent():
        return fn()


def label(target: Conference | Participant) -> str:
    """PROFILE:CONFERENCE or PROFILE:CONFERENCE/PARTICIPANT (the address the verbs take)."""
    if isinstance(target, Conference):
        return f"{target.profile}:{target.id}"
    return f"{target.profile}:{target.conference}/{target.id}"


def report_item(target, vendor: str, outcome: dict | None = None, error: ConfctlError | None = None) -> dict:
    """One line of a verb's per-target report."""
    item = {"target": label(target), "vendor": vendor, "name": getattr(target, "name", None),
            "ok": error is None, "note": None, "error": None}
    if error is not None:
        item.update(error=error.message, status=error.status, exit_code=exit_code_for(error))
    else:
        item["note"] = (outcome or {}).get("note")
        if (outcome or {}).get("already"):
            item["already"] = True
    return item


def run_many(conns: "Connections", verb: str, targets: Iterable[Conference | Participant], *,
             concurrency: int = 8, on_item: Callable[[dict], None] | None = None) -> list[dict]:
    """`perform` on every target with bounded concurrency; one report item per target, in target order
    (`on_item` sees each as it is ready, in order). Errors become failed items; nothing raises."""
    from concurrent.futures import ThreadPoolExecutor

    targets = list(targets)

    def one(target) -> dict:
        conn = conns.get(target.profile)
        try:
            outcome = perform(conn, verb, target)
        except ConfctlError as exc:
            return report_item(target, conn.vendor, error=exc)
        item = report_item(target, conn.vendor, outcome)
        if outcome.get("dry_run"):
            item["dry_run"] = outcome["dry_run"]
        return item

    items = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for item in pool.map(one, targets):
            items.append(item)
            if on_item is not None:
                on_item(item)
    return items


class Connections:
    """One open Connection per profile, opened on first use and closed together (which releases the tokens
    Pexip and Auvious sessions hold). Thread-safe; use as a context manager."""

    def __init__(self, profiles: Iterable = ()):
        self._profiles = {p.name: p for p in profiles}
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, profile) -> None:
        self._profiles.setdefault(profile.name, profile)

    def get(self, profile) -> Any:
        """The Connection of a profile (a config Profile, or the name of one added or configured)."""
        from confctl.core.fleet.connection import Connection

        name = profile if isinstance(profile, str) else profile.name
        with self._lock:
            conn = self._open.get(name)
            if conn is None:
                if not isinstance(profile, str):
                    self._profiles.setdefault(name, profile)
                elif name not in self._profiles:
                    self._profiles[name] = _configured(name)
                conn = self._open[name] = Connection.open(self._profiles[name])
            return conn

    __getitem__ = get

    def __iter__(self):
        return iter(list(self._open.values()))

    def close(self) -> None:
        with self._lock:
            conns, self._open = list(self._open.values()), {}
        for conn in conns:
            try:
                conn.close()
            except ConfctlError:  # a token that cannot be released expires on its own; keep closing the rest
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _configured(name: str):
    from confctl.core import config

    entry = config.load()["profiles"].get(name)
    if entry is None:
        raise config.no_profile(name)
    return config.resolve(entry["provider"], name)


def raise_for_failures(failed: list[dict], total: int, *, hint: str) -> None:
    """A batch's outcome, exactly as bulk commands report theirs (confctl.core.builder.raise_for_failures):
    nothing failed -> return; some failed -> exit 8; every item failed -> that failure's exit code."""
    from confctl.core.builder import raise_for_failures as outcome

    outcome(failed, total, hint=hint)
