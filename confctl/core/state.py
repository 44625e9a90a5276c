"""Global options of one invocation (DESIGN §3), set by the root callback and read by every command."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")


@dataclass
class State:
    help_requested: bool = False  # -h/--help among the arguments: help text that costs work is built only then
    cli: bool = False  # running as the command line (not imported as a library): process-wide hooks are ours
    profiles: list[str] = field(default_factory=list)
    output: str | None = None
    query: str | None = None
    dry_run: bool = False
    debug: bool = False
    timeout: float = 30.0
    max_wait: float = 60.0
    no_input: bool = False
    color: str = "auto"
    yes: bool = False
    ca_bundle: str | None = None

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


def reset() -> None:
    """Fresh state (tests run many invocations in one process)."""
    global state
    fresh = State()
    state.__dict__.update(fresh.__dict__)
    state.debug = _env_flag("CONFCTL_DEBUG")
