"""The cockpit's engine, apart from the screen: the event runner feeding the live model in a background
thread, and the actions (verbs on the selection) run through shared connections. `close()` stops the runner
and closes every connection — which releases the Pexip and Auvious tokens — whatever ended the session."""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

from confctl.core.errors import ConfctlError
from confctl.core.fleet.live import Feeder, Health, Live
from confctl.core.fleet.model import Conference, Participant


def _supported(vendor: str, verb: str) -> bool:
    from confctl.core.registry import PROVIDERS

    spec = PROVIDERS.get(vendor)
    return spec is not None and spec.verb(verb) is not None


class Engine:
    """sources: runner sources (label, factory(stop)). profiles: config Profiles by name (for actions and the
    protected flag); connections: a verbs.Connections (None: actions are refused, e.g. in a replay)."""

    def __init__(self, live: Live, sources: list, *, profiles: dict | None = None, connections=None,
                 perform: Callable | None = None,
                 supported: Callable[[str, str], bool] = _supported, why_no_actions: str = "",
                 announce: bool = True, ended_note: str | None = "stream ended",
                 finished_note: str = "every stream has ended"):
        self.live = live
        self.sources = sources
        self.profiles = profiles or {}
        self.connections = connections
        self._perform = perform
        self.supported = supported
        self.why_no_actions = why_no_actions or "no connection to act through"
        self.announce = announce  # show each source as "connecting" until its first envelope
        self.ended_note = ended_note  # a source's health once it ended by itself (None: leave it as it was)
        self.finished_note = finished_note  # what the screen says once every source has ended
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: str | None = None  # why the runner ended, when it failed
        self.finished = False
        self.events: deque = deque(maxlen=2000)  # envelopes not yet shown in the tail (drained by the screen)
        live.listeners.append(self.events.append)

    # -- the runner -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.announce:
            with self.live.lock:
                for label, _ in self.sources:
                    self.live.health.setdefault(label, Health())
                self.live.version += 1
        self.thread = threading.Thread(target=self._run, name="top-events", daemon=True)
        self.thread.start()

    def _guard(self, label: str, factory):
        """One source whose failure ends only itself: its health says why, the other sources go on."""
        def guarded(stop):
            def gen():
                try:
                    yield from factory(stop)
                except ConfctlError as exc:
                    self._ended(label, exc.message)
                except Exception as exc:  # noqa: BLE001 - shown on screen, never a traceback over the UI
                    self._ended(label, f"unexpected error: {type(exc).__name__}: {exc}")
                else:
                    if not stop.is_set() and self.ended_note:
                        self._ended(label, self.ended_note)
            return gen()
        return guarded

    def _ended(self, label: str, detail: str) -> None:
        with self.live.lock:
            health = self.live.health.setdefault(label, Health())
            health.state, health.detail = "ended", detail[:200]
            self.live.version += 1

    def _run(self) -> None:
        from confctl.core.events import runner

        try:
            runner.run([(label, self._guard(label, f)) for label, f in self.sources], Feeder(self.live),
                       stop=self.stop)
        except ConfctlError as exc:
            self.error = exc.message
        except Exception as exc:  # noqa: BLE001 - see _guard
            self.error = f"unexpected error: {type(exc).__name__}: {exc}"
        finally:
            self.finished = True
            with self.live.lock:
                self.live.version += 1

    def close(self, timeout: float = 5.0) -> None:
        """Stop the runner (each source releases its own token as it ends) and close every connection."""
        self.stop.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout)
        if self.connections is not None:
            self.connections.close()

    # -- actions ----------------------------------------------------------------------------------------------
    def protected(self, target: Conference | Participant) -> bool:
        profile = self.profiles.get(target.profile)
        return bool(getattr(profile, "protected", False))

    def refusal(self, verb: str, target: Conference | Participant) -> str | None:
        """Why this action cannot run at all (asked before any confirmation); None when it can."""
        if self.connections is None:
            return self.why_no_actions
        if not self.supported(target.vendor, verb):
            return f"{target.vendor}: {verb} not supported"
        return None

    def perform(self, verb: str, target: Conference | Participant) -> dict:
        """Run one verb on one target (blocking: call from a worker thread). Raises ConfctlError."""
        perform = self._perform
        if perform is None:
            from confctl.core.fleet.verbs import perform
        conn = self.connections.get(self.profiles.get(target.profile) or target.profile)
        outcome = perform(conn, verb, target)
        if self._perform is None and not outcome.get("already") and not outcome.get("dry_run"):
            self._reread(conn, target)
        return outcome

    def _reread(self, conn, target: Conference | Participant) -> None:
        """A vendor whose stream does not report this client's own changes (Mind): re-read the target's
        conference into the live model, so the screen shows what the action did."""
        from confctl.core.registry import PROVIDERS

        spec = PROVIDERS.get(target.vendor)
        model = spec.load_model() if spec is not None else None
        if model is None or model.own_changes_streamed:
            return
        from confctl.core.fleet.sources import snapshot_event

        conference = target.id if isinstance(target, Conference) else target.conference
        try:
            self.live.apply(snapshot_event(conn, (conference,)))
        except ConfctlError:
            pass  # the action itself succeeded; only the screen lags behind until the next re-read
