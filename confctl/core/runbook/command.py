"""`confctl run FILE`: validate the whole runbook, then plan (`--plan`) or apply it (`--resume` continues an
earlier apply). The report: one line per step for people, `-o jsonl` one JSON object per step as it ends,
`-o json|yaml` the list at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from confctl.core.errors import UsageError

MARKS = {"done": "ok", "already": "ok", "skipped": "--", "failed": "FAIL", "planned": ".."}


def schema_text() -> str:
    return (Path(__file__).with_name("runbook.schema.json")).read_text(encoding="utf-8")


class Reporter:
    """Streams the per-step report in the chosen format (secrets scrubbed as every confctl output is)."""

    def __init__(self):
        from confctl.core import output

        self.kind = output.fmt()
        self.items: list[dict] = []

    def __call__(self, it: dict) -> None:
        from confctl.core import output, redact

        it = redact.scrub_data(it)
        self.items.append(it)
        if self.kind == "jsonl":
            output.write(output.dumps(it))
        elif self.kind in ("table", "wide"):
            output.write(human(it))

    def close(self) -> None:
        from confctl.core import output

        if self.kind not in ("jsonl", "table", "wide"):
            output.emit(self.items, id_field="step")


def human(it: dict) -> str:
    word = it.get("plan") or it["status"]
    tail = it.get("error") or it.get("note") or ""
    took = f" ({it['duration']:.1f}s)" if it.get("duration") is not None and it["status"] != "planned" else ""
    mark = MARKS.get(it["status"], "")
    if it["status"] == "planned":
        mark = {"already done": "ok", "cannot run": "!!"}.get(word, "->")
    return f"{mark:>4}  {it['step']:<16} {word:<12} {it['what']}" + (f"  -- {tail}" if tail else "") + took


def run(
    file: Annotated[Optional[str], typer.Argument(metavar="FILE.yaml", show_default=False,
                                                  help="the runbook (docs/runbooks.md)")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="say what each step would do against the current state; "
                                                      "send nothing that changes it")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="continue an earlier apply from the first step not "
                                                          "done (its state file)")] = False,
    force: Annotated[bool, typer.Option("--force", help="with --resume: resume although the runbook changed "
                                                        "since")] = False,
    var: Annotated[Optional[list[str]], typer.Option("--var", metavar="NAME=VALUE", show_default=False,
                                                     help="set a variable (${vars.NAME}); repeatable")] = None,
    state_file: Annotated[Optional[str], typer.Option("--state", metavar="FILE", show_default=False,
                                                      help="the state file (default: one per runbook path under "
                                                           "the config folder)")] = None,
    check: Annotated[bool, typer.Option("--check", help="validate the runbook only (no look-up, nothing "
                                                        "sent)")] = False,
    schema: Annotated[bool, typer.Option("--schema", help="print the runbook JSON Schema (for editors) and "
                                                          "exit")] = False,
) -> None:
    """Run a runbook: its steps in order, skipping what already holds; --plan first shows what would change."""
    from confctl.core import output
    from confctl.core.runbook import engine, load
    from confctl.core.runbook.statefile import StateFile, default_path
    from confctl.core.state import state

    if schema:
        sys.stdout.write(schema_text())
        return
    if not file:
        raise UsageError("give the runbook: confctl run FILE.yaml", hint="docs/runbooks.md describes the format")
    if plan and resume:
        raise UsageError("--plan and --resume: the plan always covers every step")
    if force and not resume:
        raise UsageError("--force goes with --resume")
    if state.profiles:
        raise UsageError("-p/--profile does not apply to a runbook: its steps name their profiles",
                         hint="pass profile names as variables: --var pexip=NAME (used as ${vars.pexip})")
    if state.dry_run:
        raise UsageError("--dry-run does not apply to a runbook", hint="use --plan")
    reporter = Reporter()  # a bad -o is exit 2 before anything else
    book = load.load(file, load.parse_vars(var))
    if check:
        output.note(f"{file}: valid ({len(book.steps)} steps)")
        return
    if plan:
        items = engine.plan(book, reporter)
        reporter.close()
        cannot = [i for i in items if i.get("plan") == "cannot run"]
        if cannot:
            from confctl.core.errors import ConfctlError

            first = cannot[0]
            error = ConfctlError(f"{len(cannot)} step(s) cannot run; first: {first['step']!r}: {first['note']}")
            error.exit_code = first.get("exit_code") or 1
            raise error
        return
    _confirm(book)
    store = StateFile(Path(state_file) if state_file else default_path(book.path), book.path, book.sha256)
    store.lock()
    try:
        done_before = store.resume_from(force) if resume else {}
        if resume and not done_before:
            output.note(f"{file}: no earlier run to resume; starting from the first step")
        if not resume:
            store.save()  # a new run: an earlier state is replaced
        _sigterm_as_interrupt()
        try:
            items = engine.apply(book, store, done_before, reporter)
        except KeyboardInterrupt:
            done = len(store.data["steps"])
            output.note(f"interrupted: {done} of {len(book.steps)} steps done (recorded in {store.path}); "
                        f"`confctl run {file} --resume` continues from the next one")
            raise
        failure = engine.outcome(items)
        if failure is None:
            store.finish()
    finally:
        store.release()
        reporter.close()
    if failure is not None:
        raise failure


def _confirm(book) -> None:
    """Destructive endpoints and protected profiles are confirmed once, before the first step (--yes)."""
    from confctl.core.builder import confirm
    from confctl.core.runbook.load import profile_for

    risky, protected = [], set()
    for step in book.steps:
        if step.kind != "run":
            continue
        profile = profile_for(step.vendor, step.profile, step.id)
        if step.endpoint.confirm:
            risky.append(step.id)
        if profile.protected and step.endpoint.mutating:
            protected.add(profile.name)
    if risky or protected:
        what = f"run {book.path.name}" + (f" (steps {', '.join(risky)} are destructive)" if risky else "")
        confirm(what, protected=bool(protected), profile_name=", ".join(sorted(protected)))


def _sigterm_as_interrupt() -> None:
    """`kill` gets Ctrl-C's clean exit (exit 130, tokens released); the steps done so far are in the state."""
    from confctl.core.fleet.wait import _sigterm_as_interrupt as install

    install()
