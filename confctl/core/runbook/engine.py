"""Plan and apply: one pass over the steps in order.

plan: each step's goal checked against the current state with read-only look-ups (`probe`): "already done",
"will change", "will read", "will wait" or "cannot run" (and why); a step that uses the result of a step that
has not run yet is "will change (depends on ...)". Nothing that changes state is sent.

apply: a step whose goal already holds is skipped as "already"; otherwise it runs. After each step the state
file records it (atomically), so `--resume` continues from the first step not done."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from confctl.core.errors import ConfctlError, ServerError, UsageError, exit_code_for
from confctl.core.runbook import refs
from confctl.core.runbook.load import Runbook, RunbookError, Step, build_values, check_args, profile_for
from confctl.core.runbook.probe import Probe, run_probe, verb_probe, wait_probe


class StepTimedOut(ServerError):
    """A run or verb step took longer than its `timeout` (exit 7, as a request that timed out)."""


@dataclass
class Context:
    book: Runbook
    results: dict = field(default_factory=dict)
    conns: Any = None  # verbs.Connections: named profiles (verbs, waits)
    _by_profile: dict = field(default_factory=dict)  # (vendor, name) -> Connection, for run steps
    changing: dict = field(default_factory=dict)  # plan: probe key -> the earlier step that changes it
    changes: list = field(default_factory=list)  # plan: the steps so far that will change something

    def __post_init__(self):
        from confctl.core.fleet.verbs import Connections

        if self.conns is None:
            self.conns = Connections()

    def resolve(self, step: Step, where: str, value):
        try:
            return refs.substitute(value, self.book.variables, self.results)
        except refs.RefError as exc:
            raise RunbookError(step.id, where, str(exc)) from None

    def run_conn(self, step: Step):
        """The Connection a run step uses (its profile, the runbook's for its vendor, or the default)."""
        from confctl.core.fleet.connection import Connection

        profile = profile_for(step.vendor, step.profile, step.id)
        key = (step.vendor, profile.name)
        if key not in self._by_profile:
            self._by_profile[key] = Connection.open(profile)
        return self._by_profile[key]

    def values(self, step: Step) -> dict:
        """A run step's parameter values, references resolved and checked by the endpoint's rules."""
        conn = self.run_conn(step)
        args = {name: self.resolve(step, f"args.{name}", v) for name, v in step.args.items()}
        check_args(step, conn.provider, conn.profile, self.book.variables, self.results)
        return build_values(conn.provider, step.endpoint, step.preset, args, step.id)

    def close(self) -> None:
        for conn in self._by_profile.values():
            try:
                conn.close()
            except ConfctlError:
                pass
        self._by_profile.clear()
        self.conns.close()


def item(step: Step, status: str, *, note: str | None = None, result=None, error: ConfctlError | None = None,
         duration: float | None = None, plan: str | None = None, ctx: "Context | None" = None) -> dict:
    """One line of the report (the JSON Lines record of a step)."""
    what = refs.show(step.describe(), ctx.book.variables, ctx.results) if ctx is not None else step.what
    out = {"step": step.id, "name": step.name, "kind": step.kind, "what": what, "status": status}
    if plan is not None:
        out["plan"] = plan
    out["note"] = note
    out["result"] = result
    out["error"] = None
    if error is not None:
        out.update(error=error.message, exit_code=exit_code_for(error), status_code=error.status)
    out["duration"] = None if duration is None else round(duration, 3)
    return out


# -- plan ------------------------------------------------------------------------------------------------------
def plan(book: Runbook, emit: Callable[[dict], None]) -> list[dict]:
    ctx = Context(book)
    items = []
    try:
        for step in book.steps:
            it = _plan_step(ctx, step)
            items.append(it)
            emit(it)
    finally:
        ctx.close()
    return items


def _depends(step: Step, ctx: Context) -> set[str]:
    return refs.pending(step.raw, ctx.book.variables, ctx.results)


def _plan_step(ctx: Context, step: Step) -> dict:
    start = time.monotonic()
    waiting_on = _depends(step, ctx)
    if waiting_on:
        ctx.changes.append(step.id)
        return item(step, "planned", plan="will change", note="depends on " + ", ".join(sorted(waiting_on)),
                    duration=time.monotonic() - start, ctx=ctx)
    try:
        probe = _probe(ctx, step)
    except ConfctlError as exc:
        return item(step, "planned", plan="cannot run", note=exc.message, error=exc,
                    duration=time.monotonic() - start, ctx=ctx)
    earlier = ctx.changing.get(probe.key) if probe.key is not None else None
    if probe.holds and earlier:  # holds now, but an earlier step changes that first (start, then stop)
        ctx.changes.append(step.id)
        return item(step, "planned", plan="will change", note=f"after step {earlier!r} (now: {probe.note})",
                    duration=time.monotonic() - start, ctx=ctx)
    if probe.key is not None and not probe.holds:
        ctx.changing[probe.key] = step.id
    if probe.holds:
        ctx.results[step.id] = probe.result
        word = "already done"
    elif step.kind == "wait":
        word = "will wait"
    elif step.kind == "set":
        ctx.results[step.id] = probe.result
        word = "will set"
    elif step.kind == "run" and not step.endpoint.mutating:
        word = "will read"
        # A look-up before anything changes reads what it will read on apply: its result lets the plan check
        # the steps that use it. After a change it would read the state before that change: not read then.
        if reads_in_plan(step.endpoint) and not ctx.changes:
            try:
                ctx.results[step.id] = _plain(ctx.run_conn(step).call(step.endpoint.id, ctx.values(step)))
            except ConfctlError as exc:
                return item(step, "planned", plan="cannot run", note=exc.message, error=exc,
                            duration=time.monotonic() - start, ctx=ctx)
            return item(step, "planned", plan=word, note="read now for the plan", result=ctx.results[step.id],
                        duration=time.monotonic() - start, ctx=ctx)
    else:
        word = "will change"
    if word in ("will change", "will wait"):
        ctx.changes.append(step.id)
    return item(step, "planned", plan=word, note=probe.note, result=probe.result if probe.holds or
                step.kind == "set" else None, duration=time.monotonic() - start, ctx=ctx)


NOT_READ_IN_PLAN = {"pexip.events", "mind.recording.get", "mind.recording.preview"}  # streams, downloads


def reads_in_plan(ep) -> bool:
    return not ep.mutating and not ep.binary and ep.id not in NOT_READ_IN_PLAN


def _probe(ctx: Context, step: Step) -> Probe:
    if step.kind == "run":
        values = ctx.values(step)
        return run_probe(ctx.run_conn(step), step.endpoint, values)
    if step.kind == "verb":
        targets = ctx.resolve(step, "targets", step.targets)
        return verb_probe(ctx.conns, step, targets)[0]
    if step.kind == "wait":
        conds = ctx.resolve(step, "wait", step.conditions)
        return wait_probe(ctx.conns, step, conds, step.conference)[0]
    values = ctx.resolve(step, "set", step.values)
    return Probe(None, ", ".join(f"{k}={v}" for k, v in values.items()), values)


# -- apply -----------------------------------------------------------------------------------------------------
def apply(book: Runbook, store, done_before: dict, emit: Callable[[dict], None]) -> list[dict]:
    """Run every step not done before; returns the report items (in step order)."""
    ctx = Context(book)
    items: list[dict] = []
    stopped: Step | None = None
    try:
        for step in book.steps:
            if step.id in done_before:
                ctx.results[step.id] = done_before[step.id].get("result")
                how = "done" if done_before[step.id].get("status") == "done" else "already held"
                it = item(step, "skipped", note=f"{how} in an earlier run (--resume)", result=ctx.results[step.id])
                it["resumed"] = True
            elif stopped is not None:
                it = item(step, "skipped", note=f"not run: step {stopped.id!r} failed")
            else:
                it = _apply_step(ctx, step)
                if it["status"] in ("done", "already"):
                    ctx.results[step.id] = it["result"]
                    store.record(step.id, it["status"], it["result"])
                elif step.on_error == "stop":
                    stopped = step
            items.append(it)
            emit(it)
    finally:
        ctx.close()
    return items


def _apply_step(ctx: Context, step: Step) -> dict:
    start = time.monotonic()
    try:
        status, note, result = _with_timeout(step, lambda: _run(ctx, step))
    except ConfctlError as exc:
        return item(step, "failed", note=exc.hint, error=exc, duration=time.monotonic() - start, ctx=ctx)
    return item(step, status, note=note, result=_plain(result), duration=time.monotonic() - start, ctx=ctx)


def _with_timeout(step: Step, fn):
    """Run and give up after the step's timeout (a wait step's timeout is the wait's own). The HTTP timeout is
    capped by it too, so a hung request ends; a worker still running after it is abandoned."""
    from confctl.core.state import state

    if step.timeout is None or step.kind in ("wait", "set"):
        return fn()
    saved = state.timeout
    state.timeout = min(state.timeout, step.timeout)
    outcome: dict = {}

    def work():
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"step-{step.id}", daemon=True)
    worker.start()
    try:
        worker.join(step.timeout)
    finally:
        state.timeout = saved
    if worker.is_alive():
        raise StepTimedOut(f"step {step.id!r} did not finish within its timeout of {step.timeout:g}s",
                           hint="raise the step's timeout, or check the vendor is reachable")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _run(ctx: Context, step: Step) -> tuple[str, str | None, Any]:
    if step.kind == "set":
        values = ctx.resolve(step, "set", step.values)
        return "done", None, values
    if step.kind == "run":
        values = ctx.values(step)
        conn = ctx.run_conn(step)
        probe = run_probe(conn, step.endpoint, values)
        if probe.holds:
            return "already", probe.note, probe.result
        from confctl.core.runbook.load import split_bulk

        several = split_bulk(step.endpoint, values)
        results = [conn.call(step.endpoint.id, one) for one in several]
        if isinstance(getattr(conn.session, "rosters", None), dict):
            conn.session.rosters.clear()  # names cached by look-ups may have moved (a breakout opened)
        held = [r for r in results if isinstance(r, dict) and (r.get("already") or r.get("reused"))]
        result = results[0] if len(results) == 1 else {"items": results}
        if len(held) == len(results):
            return "already", (held[0].get("status") if len(held) == 1 else None) or "already held", result
        return "done", None, result
    if step.kind == "verb":
        return _run_verb(ctx, step)
    return _run_wait(ctx, step)


def _run_verb(ctx: Context, step: Step):
    from confctl.core.fleet.verbs import raise_for_failures, run_many

    targets = ctx.resolve(step, "targets", step.targets)
    probe, chosen = verb_probe(ctx.conns, step, targets)
    if probe.holds:
        return "already", probe.note, probe.result
    items = run_many(ctx.conns, step.verb, chosen)
    raise_for_failures([i for i in items if not i["ok"]], len(items), hint="the step's result lists them")
    changed = [i for i in items if not i.get("already")]
    status = "done" if changed else "already"
    return status, f"{step.verb}: {len(changed)} changed, {len(items) - len(changed)} already", {"items": items}


def _run_wait(ctx: Context, step: Step):
    from confctl.core.fleet import sources as live_sources
    from confctl.core.fleet import wait as waiting
    from confctl.core.events.record import mark_sync

    conds = ctx.resolve(step, "wait", step.conditions)
    probe, _ = wait_probe(ctx.conns, step, conds, step.conference)
    if probe.holds:
        return "already", probe.note, probe.result
    profiles = [ctx.conns.get(name).profile for name in step.profile]
    conditions = [waiting.parse(c) for c in conds]
    wants_events = any(c.kind == "event" for c in conditions)
    found = live_sources.live_sources(profiles, list(step.conference) or None, receive={} if wants_events else None)
    sources = [(label, mark_sync(f)) for label, f in found]
    if not sources:
        raise UsageError(f"step {step.id!r}: nothing to watch: none of the profiles' vendors has a common model")
    from confctl.core.fleet.model import PARTICIPANT_FIELDS
    from confctl.core.fleet.where import compile_all

    predicate = compile_all(step.where, PARTICIPANT_FIELDS) if step.where else None
    snapshot_first = {f"{p.provider.name}/{p.name}" for p in profiles
                      if p.provider.load_model() and not p.provider.load_model().stream_opens_with_state}
    waiter = waiting.Waiter(conditions, any_=step.any_, expected={label for label, _ in sources},
                            snapshot_first=snapshot_first, where=predicate)
    waiting.run_wait(waiter, sources, timeout=step.timeout, replaying=False)
    report = waiter.report()
    held = "; ".join(f"{c['for']} ({c['detail']})" for c in report["conditions"] if c["holds"])
    return "done", f"held: {held}", {"satisfied": True, "conditions": report["conditions"]}


def _plain(result):
    """A result the state file and the report can hold (bytes of a download become their size)."""
    if isinstance(result, (bytes, bytearray)):
        return {"bytes": len(result)}
    return result


def outcome(items: list[dict]) -> ConfctlError | None:
    """The run's exit: everything succeeded -> None (0); something -> exit 8; nothing -> the first failure's
    code. A step done in an earlier run counts as succeeded."""
    from confctl.core.errors import PartialFailure

    failed = [i for i in items if i["status"] == "failed"]
    if not failed:
        return None
    ok = [i for i in items if i["status"] in ("done", "already") or i.get("resumed")]
    names = ", ".join(repr(i["step"]) for i in failed)
    if ok:
        return PartialFailure(f"{len(failed)} of {len(items)} steps failed ({names}); {len(ok)} succeeded",
                              hint="fix the cause and run again with --resume (done steps are not repeated)")
    first = failed[0]
    error = ConfctlError(f"step {first['step']!r} failed: {first['error']}" +
                         (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "") + "; nothing succeeded",
                         status=first.get("status_code"))
    error.exit_code = first["exit_code"]
    return error
