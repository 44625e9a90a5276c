"""`confctl wait`: block until conditions over the live model (or the event stream) hold, for scripts.

Conditions (`--for`, repeatable; all must hold, or one with `--any`):
  participants OP N   how many people are in the followed conferences (OP: >= > <= < == !=)
  empty               nobody is (participants==0)
  joined:NAME         someone named NAME (or with that id; a glob like 'Al*' matches names) is in
  left:NAME           nobody named NAME is in (someone who never came counts as left)
  muted:NAME / unmuted:NAME, speaking:NAME, hand:NAME, presenting:NAME
                      someone named NAME is in, with that flag true (unmuted: false)
  locked / unlocked   every followed conference is (un)locked
  event:GLOB          an event whose type matches GLOB arrived after the wait began (opening rosters and
                      snapshots do not count); once seen it stays true
`--where EXPR` (as in `confctl participants`) narrows which participants the participant conditions look at.

State conditions are checked against the opening state too: one that already holds returns at once. A condition
that an incomplete view could make true by mistake (empty, <, <=, ==, !=, left, locked) waits until every source
has delivered its opening state: a snapshot, or Pexip's opening roster (its breakout rooms' too: the source has
then been quiet for SETTLE seconds or moved on to later events).

Exit 0 when they hold (what held is said on stderr; `-o json|yaml|jsonl` also prints the state on stdout),
11 on --timeout (or when a replayed recording ends first), 2 for a malformed condition (nothing started),
130 on Ctrl-C after every source cleaned up (tokens released).
"""

from __future__ import annotations

import fnmatch
import json
import operator
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Optional

import typer

from confctl.core.errors import ConfctlError, ValidationError

SETTLE = 0.3  # seconds of quiet after an opening roster before it counts as complete
FLAGS = {"muted": ("muted_audio", True), "unmuted": ("muted_audio", False), "speaking": ("speaking", True),
         "hand": ("hand_raised", True), "presenting": ("presenting", True)}
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
       "=": operator.eq, "!=": operator.ne}
_COUNT = re.compile(r"^participants\s*(>=|<=|==|!=|>|<|=)\s*(\d+)$")
SYNTAX = ("participants>=N (or > < <= == !=), empty, joined:NAME, left:NAME, muted:NAME, unmuted:NAME, "
          "speaking:NAME, hand:NAME, presenting:NAME, locked, unlocked, event:GLOB")


class Satisfied(Exception):
    """Raised by the waiter's print() to end the run as soon as the conditions hold."""


class WaitTimedOut(ConfctlError):
    """A `confctl wait` condition did not hold before --timeout (or before a replay ended)."""

    exit_code = 11


@dataclass
class Condition:
    text: str
    kind: str  # count | present | absent | flag | locked | event
    op: str = ""
    number: int = 0
    name: str = ""
    flag: tuple = ()
    glob: str = ""
    seen: dict | None = None  # event: the first matching envelope

    @property
    def needs_opening_state(self) -> bool:
        """Could an incomplete view make it true by mistake?"""
        if self.kind == "count":
            return not OPS[self.op](self.number + 1, self.number) or self.op == "!="
        return self.kind in ("absent", "locked")


def parse(text: str) -> Condition:
    """One --for condition; a malformed one is exit 2 naming it and the syntax."""
    raw = text.strip()
    low = raw.lower()
    match = _COUNT.match(low.replace(" ", ""))
    if match:
        return Condition(raw, "count", op=match.group(1), number=int(match.group(2)))
    if low == "empty":
        return Condition(raw, "count", op="==", number=0)
    if low in ("locked", "unlocked"):
        return Condition(raw, "locked", flag=("locked", low == "locked"))
    kind, sep, arg = raw.partition(":")
    kind = kind.strip().lower()
    arg = arg.strip()
    if sep and arg:
        if kind == "event":
            return Condition(raw, "event", glob=arg)
        if kind == "joined":
            return Condition(raw, "present", name=arg)
        if kind == "left":
            return Condition(raw, "absent", name=arg)
        if kind in FLAGS:
            return Condition(raw, "flag", name=arg, flag=FLAGS[kind])
    if sep and not arg and kind in ("event", "joined", "left", *FLAGS):
        raise ValidationError("--for", f"{raw!r} names nothing after the colon")
    raise ValidationError("--for", f"{raw!r} is not a condition; one of: {SYNTAX}")


def name_matches(person, name: str) -> bool:
    """NAME is the participant's id, its name (case-insensitive), or a glob over the name."""
    if person.id == name:
        return True
    have = (person.name or "").casefold()
    want = name.casefold()
    if any(ch in name for ch in "*?["):
        return fnmatch.fnmatchcase(have, want)
    return have == want


@dataclass
class SourceState:
    ready: bool = False
    roster_done: bool = False  # an opening roster's main room ended (its breakouts may follow)
    opening: bool = False  # an opening roster has begun
    last_time: float | None = None  # the last opening item: its envelope time, and when it arrived
    last_wall: float = 0.0


@dataclass
class Waiter:
    """The runner's printer: folds every envelope into a Live and checks the conditions after each one."""

    conditions: list[Condition]
    any_: bool = False
    expected: set = field(default_factory=set)  # "vendor/profile" of every followed source (empty: a replay)
    snapshot_first: set = field(default_factory=set)  # sources whose opening state is a snapshot, nothing else
    where: object = None
    clock: object = time.monotonic
    live: object = None
    sources: dict = field(default_factory=dict)
    satisfied: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)
    everything_in: bool = False  # the sources ended: what is known is all there is

    def __post_init__(self):
        if self.live is None:
            from confctl.core.fleet.live import Live

            self.live = Live()

    # -- the runner's printer interface -----------------------------------------------------------------
    def wanted(self, event: dict) -> bool:
        return True

    def print(self, event: dict) -> None:
        from confctl.core.events.replay import parse_time

        opening = bool(event.pop("_record_sync", False) or event.pop("_sync", False))
        with self.lock:
            label = f"{event.get('provider')}/{event.get('profile')}"
            src = self.sources.setdefault(label, SourceState())
            when = parse_time(event.get("time"))
            etype = event.get("type")
            if not src.ready and etype not in ("gap", "reconnected"):  # those say nothing of the state
                if etype == "snapshot" and not opening:
                    src.ready = True
                elif opening:
                    if etype.endswith("sync_end") and not event.get("breakout"):
                        src.roster_done = True
                    src.opening, src.last_time, src.last_wall = True, when, self.clock()
                elif label in self.snapshot_first:
                    pass  # e.g. a webhook that arrived before the first poll: the state is still to come
                elif not src.opening:
                    src.ready = True  # a stream that opens with no state of its own: nothing more to wait for
                elif src.roster_done and when is not None and src.last_time is not None \
                        and when - src.last_time >= SETTLE:
                    src.ready = True  # a later event: the opening burst is over
                else:
                    src.last_time, src.last_wall = when, self.clock()
            self.live.apply(event)
            if etype not in ("snapshot", "reconnected", "gap") and not opening:
                for cond in self.conditions:
                    if cond.kind == "event" and cond.seen is None and fnmatch.fnmatchcase(etype, cond.glob):
                        cond.seen = event
            if self.check():
                raise Satisfied  # out of the runner at once (its cleanup stops every source)

    def flush(self) -> None:
        pass

    def write(self, event: dict) -> None:
        self.print(event)

    # -- deciding ----------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Called a few times a second: an opening roster followed by quiet is complete."""
        with self.lock:
            now = self.clock()
            for src in self.sources.values():
                if not src.ready and src.roster_done and now - src.last_wall >= SETTLE:
                    src.ready = True
            self.check()

    def opening_complete(self) -> bool:
        if self.everything_in:
            return True
        known = set(self.sources)
        if not known or not self.expected <= known:
            return False
        return all(s.ready for s in self.sources.values())

    def people(self) -> list:
        people = list(self.live.participants.values())
        return [p for p in people if self.where(p)] if self.where else people

    def holds(self, cond: Condition) -> bool:
        if cond.kind == "event":
            return cond.seen is not None
        if cond.needs_opening_state and not self.opening_complete():
            return False
        people = self.people()
        if cond.kind == "count":
            return OPS[cond.op](len(people), cond.number)
        if cond.kind == "present":
            return any(name_matches(p, cond.name) for p in people)
        if cond.kind == "absent":
            return not any(name_matches(p, cond.name) for p in people)
        if cond.kind == "flag":
            attr, value = cond.flag
            return any(name_matches(p, cond.name) and getattr(p, attr) is value for p in people)
        if cond.kind == "locked":
            confs = list(self.live.conferences.values())
            return bool(confs) and all(c.locked is cond.flag[1] for c in confs)
        return False

    def check(self) -> bool:
        if not self.satisfied:
            results = [self.holds(c) for c in self.conditions]
            if (any if self.any_ else all)(results):
                self.satisfied = True
                self.done.set()
        return self.satisfied

    # -- reporting ---------------------------------------------------------------------------------------
    def detail(self, cond: Condition) -> str:
        people = self.people()
        if cond.kind == "event":
            seen = cond.seen
            return (f"{seen['type']} from {seen.get('provider')}/{seen.get('profile')} at {seen.get('time')}"
                    if seen else "not seen")
        if cond.kind == "count":
            return f"{len(people)} participant{'s' if len(people) != 1 else ''}"
        if cond.kind == "locked":
            confs = list(self.live.conferences.values())
            return ", ".join(f"{c.profile}:{c.name or c.id} {'locked' if c.locked else 'unlocked'}"
                             for c in confs) or "no conference seen"
        found = [p for p in people if name_matches(p, cond.name)]
        flag = f" {cond.flag[0]}=" if cond.kind == "flag" else ""
        return ", ".join(f"{p.profile}:{p.conference}/{p.name or p.id}"
                         + (f"{flag}{json.dumps(getattr(p, cond.flag[0]))}" if flag else "")
                         for p in found) or "nobody by that name"

    def report(self) -> dict:
        with self.lock:
            conds = [{"for": c.text, "holds": self.holds(c), "detail": self.detail(c),
                      **({"event": c.seen} if c.seen else {})} for c in self.conditions]
            return {"satisfied": self.satisfied, "any": self.any_, "conditions": conds,
                    "conferences": [c.to_dict() for c in self.live.conferences.values()],
                    "participants": [p.to_dict() for p in self.people()]}


# -- the command -------------------------------------------------------------------------------------------
def _refuse_unknowable(conditions: list[Condition], profiles: list) -> None:
    """A condition no followed vendor can ever report (the gateway has no lock) is exit 2, not a wait until
    --timeout."""
    for cond in conditions:
        attr = cond.flag[0] if cond.kind in ("flag", "locked") else None
        if attr is None:
            continue
        blind = []
        for p in profiles:
            model = p.provider.load_model()
            mapping = getattr(model, "mapping", {}) or {}
            how = mapping.get(attr) or mapping.get(f"{'conference' if cond.kind == 'locked' else 'participant'}.{attr}")
            if isinstance(how, str) and how.strip().lower().startswith("null"):
                blind.append(f"{p.provider.name} ({how})")
        if profiles and len(blind) == len(profiles):
            raise ValidationError("--for", f"{cond.text!r}: no followed vendor reports {attr}: " + "; ".join(blind))


def _filtered(factory, profiles: set, conferences: set):
    """A replay source limited to the envelopes of the -p profiles / -c conferences given."""

    def gen(stop):
        inner = factory(stop)
        try:
            for event in inner:
                if profiles and event.get("profile") not in profiles:
                    continue
                if conferences and event.get("conference") not in conferences \
                        and f"{event.get('profile')}:{event.get('conference')}" not in conferences:
                    continue
                yield event
        finally:
            inner.close()

    return gen


def run_wait(waiter: Waiter, sources: list, *, timeout: float | None, replaying: bool,
             clock=time.monotonic, step: float = 0.1) -> None:
    """Run the sources in a worker thread until the conditions hold, --timeout passes or the sources end;
    then stop them and wait for their cleanup (tokens released) before returning or raising."""
    from confctl.core.events import runner

    stop = threading.Event()
    outcome: dict = {}

    def work():
        try:
            runner.run(sources, waiter, stop=stop)
        except Satisfied:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            outcome["error"] = exc
        finally:
            waiter.done.set()

    worker = threading.Thread(target=work, name="wait-sources", daemon=True)
    deadline = None if timeout is None else clock() + timeout
    timed_out = False
    worker.start()
    try:
        while not waiter.done.wait(step):
            waiter.tick()
            if deadline is not None and clock() >= deadline:
                timed_out = True
                break
    finally:  # Ctrl-C lands here too: stop every source and let it clean up before exiting 130
        stop.set()
        _join(worker)
    if waiter.satisfied:
        return
    if outcome.get("error") is not None:
        raise outcome["error"]
    if not timed_out:  # every source ended: what was seen is all there is
        with waiter.lock:
            waiter.everything_in = True
            waiter.check()
        if waiter.satisfied:
            return
    raise WaitTimedOut(_unmet(waiter, timed_out, timeout, replaying))


def _join(worker: threading.Thread) -> None:
    while worker.is_alive():
        try:
            worker.join(15)
            return
        except KeyboardInterrupt:  # a second Ctrl-C while cleaning up: keep cleaning up
            continue


def _unmet(waiter: Waiter, timed_out: bool, timeout, replaying: bool) -> str:
    with waiter.lock:
        missing = [f"{c.text} ({waiter.detail(c)})" for c in waiter.conditions if not waiter.holds(c)]
    unmet = f"none of {'; '.join(missing)} held" if waiter.any_ and len(missing) > 1 \
        else f"{'; '.join(missing)} did not hold"
    if timed_out:
        return f"timed out after {timeout:g}s: {unmet}"
    return f"the {'recording' if replaying else 'event streams'} ended first: {unmet}"


def _print_report(waiter: Waiter) -> None:
    from confctl.core import output
    from confctl.core.state import state

    if (state.output or os.environ.get("CONFCTL_OUTPUT")) and output.fmt() in ("json", "jsonl", "yaml"):
        from confctl.core.events.record import clean

        output.emit(clean(waiter.report()))  # raw records can hold secrets (a Mind participant's token)


def _sigterm_as_interrupt() -> None:
    """`kill` gets Ctrl-C's clean exit (tokens released), as `events follow` does."""
    import signal

    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)


def wait(
    for_: Annotated[list[str], typer.Option(
        "--for", help="a condition (repeatable): participants>=N (> < <= == !=), empty, joined:NAME, "
                      "left:NAME, muted:NAME, unmuted:NAME, speaking:NAME, hand:NAME, presenting:NAME, locked, "
                      "unlocked, event:GLOB", metavar="COND", show_default=False)],
    any_: Annotated[bool, typer.Option("--any", help="return when any condition holds (default: all)")] = False,
    timeout: Annotated[Optional[float], typer.Option(
        "--timeout", help="give up after S seconds: exit 11", metavar="S", show_default=False)] = None,
    all_profiles: Annotated[bool, typer.Option("--all-profiles", help="follow every configured profile")] = False,
    conference: Annotated[Optional[list[str]], typer.Option(
        "--conference", "-c", help="conference to follow: ID, PROFILE:ID or PROVIDER:ID (repeatable; as in "
                                   "`events follow`)", metavar="ID", show_default=False)] = None,
    where: Annotated[Optional[list[str]], typer.Option(
        "--where", help="only participants matching EXPR count (e.g. role==guest; repeatable)", metavar="EXPR",
        show_default=False)] = None,
    replay: Annotated[Optional[str], typer.Option(
        "--replay", help="evaluate over a recording (events follow --record) instead of live events",
        metavar="FILE", show_default=False)] = None,
    speed: Annotated[str, typer.Option("--speed", help="with --replay: a factor above 0, or max",
                                       metavar="N|max")] = "1",
    listen: Annotated[Optional[str], typer.Option(
        "--listen", help="gateway profiles: receive their webhooks on HOST:PORT too (default with an event: "
                         "condition: 127.0.0.1:8099, as events follow)", metavar="HOST:PORT",
        show_default=False)] = None,
):
    """Block until the conditions hold over every --profile's live model (or a recording), then exit 0."""
    from confctl.core import output
    from confctl.core.errors import UsageError
    from confctl.core.fleet import sources as live_sources
    from confctl.core.fleet.model import PARTICIPANT_FIELDS
    from confctl.core.state import state

    conditions = [parse(text) for text in for_]
    if timeout is not None and not timeout > 0:
        raise UsageError("--timeout must be more than 0 seconds")
    predicate = None
    if where:
        from confctl.core.fleet.where import compile_all

        predicate = compile_all(list(where), PARTICIPANT_FIELDS)
    output.fmt()  # a bad -o is exit 2 before anything starts
    if replay is not None:
        from confctl.core.events import replay as replay_mod

        if listen is not None:
            raise UsageError("--listen applies to live gateway profiles, not --replay")
        if all_profiles:
            raise UsageError("--replay and --all-profiles: a recording holds the profiles it recorded; "
                             "-p NAME keeps one")
        factory = replay_mod.source(replay, speed=replay_mod.parse_speed(speed))
        factory = _filtered(factory, set(state.profiles), set(conference or ()))
        from confctl.core.events.record import mark_sync

        sources, expected = [(f"replay/{os.path.basename(replay)}", mark_sync(factory))], set()
        snapshot_first = set()
    else:
        if speed != "1":
            raise UsageError("--speed applies to --replay only")
        profiles = live_sources.profiles_for(list(state.profiles), all_profiles)
        _refuse_unknowable(conditions, profiles)
        from confctl.core.events.record import mark_sync

        # Events of a polled vendor exist only as webhooks: with an event: condition (or --listen) its
        # receiver runs beside the polling, as `events follow` runs it.
        wants_events = listen is not None or any(c.kind == "event" for c in conditions)
        receive = ({"listen": listen} if listen else {}) if wants_events else None
        found = live_sources.live_sources(profiles, conference, receive=receive)
        sources = [(label, mark_sync(f)) for label, f in found]
        if not sources:
            raise UsageError("nothing to follow: none of the profiles' vendors has a common model")
        expected = {label for label, _ in sources}
        snapshot_first = {f"{p.provider.name}/{p.name}" for p in profiles
                          if p.provider.load_model() and not p.provider.load_model().stream_opens_with_state}
    waiter = Waiter(conditions, any_=any_, expected=expected, snapshot_first=snapshot_first, where=predicate)
    _sigterm_as_interrupt()
    try:
        run_wait(waiter, sources, timeout=timeout, replaying=replay is not None)
    except WaitTimedOut:
        _print_report(waiter)
        raise
    report = waiter.report()
    held = [c for c in report["conditions"] if c["holds"]]
    output.note("wait: " + "; ".join(f"{c['for']} holds ({c['detail']})" for c in held))
    _print_report(waiter)
