"""Global options of one invocation (DESIGN §3), set by the root callback and read by every command."""

from __future__ import annotations

import contextvars
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

# Set inside `reads_sent()`: this thread's (this context's) look-ups are really sent under --dry-run.
_reads_sent: contextvars.ContextVar[bool] = contextvars.ContextVar("confctl_reads_sent", default=False)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass
class State:
    help_requested: bool = False  # -h/--help among the arguments: help text that costs work is built only then
    cli: bool = False  # running as the command line (not imported as a library): process-wide hooks are ours
    profiles: list[str] = field(default_factory=list)
    output: str | None = None
    query: str | None = None
    _dry_run: bool = field(default=False, repr=False)  # --dry-run; read it as `dry_run`
    debug: bool = False
    timeout: float = 30.0
    max_wait: float = 60.0
    no_input: bool = False
    color: str = "auto"
    yes: bool = False
    ca_bundle: str | None = None

    @property
    def dry_run(self) -> bool:
        """--dry-run was given, and this code is not inside `reads_sent()`."""
        return self._dry_run and not _reads_sent.get()

    @dry_run.setter
    def dry_run(self, value: bool) -> None:
        self._dry_run = value

    @property
    def profile(self) -> str | None:
        """The single profile named by --profile (events follow may take several). CONFCTL_PROFILE is not
        read here: it names the profile of its own provider only, so `config.resolve` applies it per provider
        and every other provider keeps its default profile (DESIGN §3)."""
        if len(self.profiles) > 1:
            from confctl.core.errors import UsageError

            raise UsageError("--profile was given more than once; only `events follow` takes several")
        return self.profiles[0] if self.profiles else None

    @property
    def interactive(self) -> bool:
        """May we prompt? Never with --no-input, CONFCTL_NO_INPUT, or when stdin is not a terminal."""
        return self.no_prompt_reason() is None

    def no_prompt_reason(self) -> str | None:
        """Why confctl may not ask (the real reason, not "no terminal" on a terminal); None when it may."""
        if self.no_input:
            return "--no-input was given"
        if _env_flag("CONFCTL_NO_INPUT"):
            return "CONFCTL_NO_INPUT is set"
        if not sys.stdin.isatty():
            return "no terminal to ask on: stdin is not a terminal"
        return None

    def output_format(self) -> str:
        fmt = self.output or os.environ.get("CONFCTL_OUTPUT")
        if fmt:
            return fmt
        return "table" if sys.stdout.isatty() else "json"

    def use_color(self, stream=None) -> bool:
        stream = stream or sys.stdout
        if self.color == "always":
            return True
        if self.color == "never" or "NO_COLOR" in os.environ:
            return False
        return stream.isatty()


state = State()


@contextmanager
def reads_sent():
    """Within the block, look-ups are sent for real under --dry-run (as a vendor command's name resolvers do),
    so the printed lines carry real ids; only requests that would change something are not sent. Per thread
    (a context variable), so a concurrent worker that is about to change something still sees --dry-run; a
    pool started inside the block hands it on with `contextvars.copy_context().run`."""
    token = _reads_sent.set(True)
    try:
        yield
    finally:
        _reads_sent.reset(token)


def reset() -> None:
    """Fresh state (tests run many invocations in one process)."""
    global state
    fresh = State()
    state.__dict__.update(fresh.__dict__)
    state.debug = _env_flag("CONFCTL_DEBUG")
