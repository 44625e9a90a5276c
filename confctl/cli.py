"""The root command: global options, lazy registration of command groups, and the one place that turns
exceptions into exit codes (DESIGN §3, §5).

Typer and the vendor registry are imported when the command tree is first built (`_load_tree`), not when this
module is: `confctl --help` is answered from a cache of its own text when nothing it is made of has changed
(`cached_root_help`), and then imports neither.
"""

from __future__ import annotations

import importlib
import sys
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

from confctl import __version__
from confctl.core.state import reset, state

if TYPE_CHECKING:  # bound at run time by _load_tree (Typer resolves the annotations below against it)
    import typer

    from confctl.core.registry import PROVIDERS

# Top-level groups that are not providers: name -> (help, module exposing `app`).
GROUPS = {
    "profile": ("Manage profiles and their secrets.", "confctl.core.profiles"),
    "events": ("Follow live events from one or more profiles.", "confctl.core.events.command"),
    "sim": ("Run the built-in simulators of every vendor API on loopback.", "confctl.core.sim.command"),
}

# Top-level commands of the one view across vendors: name -> (help, "module:function"). Imported only when
# selected, so `confctl --help` (and every other command) loads none of them — `top` alone imports Textual.
COMMANDS = {
    "conferences": ("List the conferences of every profile given, in the common model.",
                    "confctl.core.fleet.commands:conferences"),
    "participants": ("List everyone in every profile's conferences (breakouts included), in the common model.",
                     "confctl.core.fleet.commands:participants"),
    "mute": ("Mute participants of any vendor: PROFILE:CONFERENCE/PARTICIPANT or --where.",
             "confctl.core.fleet.commands:mute"),
    "unmute": ("Unmute participants of any vendor.", "confctl.core.fleet.commands:unmute"),
    "kick": ("Disconnect participants of any vendor (alias: disconnect).", "confctl.core.fleet.commands:kick"),
    "disconnect": ("Disconnect participants of any vendor (same as kick).", "confctl.core.fleet.commands:kick"),
    "spotlight": ("Spotlight participants of any vendor.", "confctl.core.fleet.commands:spotlight"),
    "unspotlight": ("Remove the spotlight from participants of any vendor.",
                    "confctl.core.fleet.commands:unspotlight"),
    "mute-all": ("Mute every guest of conferences of any vendor: PROFILE:CONFERENCE.",
                 "confctl.core.fleet.commands:mute_all"),
    "unmute-all": ("Unmute every guest of conferences of any vendor.", "confctl.core.fleet.commands:unmute_all"),
    "lock": ("Lock conferences of any vendor: PROFILE:CONFERENCE.", "confctl.core.fleet.commands:lock"),
    "unlock": ("Unlock conferences of any vendor.", "confctl.core.fleet.commands:unlock"),
    "capabilities": ("Which cross-vendor verb each vendor supports, and how.",
                     "confctl.core.fleet.commands:capabilities"),
    "top": ("A live full-screen view of every profile's meetings; keys act on the selection.",
            "confctl.core.fleet.top.command:top"),
    "wait": ("Block until a condition over the live model or the event stream holds (for scripts).",
             "confctl.core.fleet.wait:wait"),
    "run": ("Run a runbook: steps across vendors, --plan first, idempotent apply, --resume.",
            "confctl.core.runbook.command:run"),
}

# Global options that may also be written after the command (kubectl-style); moved to the front before
# parsing. --timeout is not among them: after `events follow` it means "stop after S seconds".
HOISTED_FLAGS = {"--dry-run", "--debug", "--no-input", "-y", "--yes"}
HOISTED_VALUED = {"-p", "--profile", "-o", "--output", "--query", "--color", "--max-wait", "--ca-bundle"}
ROOT_VALUED = HOISTED_VALUED | {"--timeout"}


def hoist(args: list[str]) -> list[str]:
    """Move global options found after the command path to the front, so `confctl gateway room list -o json`
    works like `confctl -o json gateway room list`."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    seen_command = False
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name = arg.split("=", 1)[0]
        if not seen_command:
            if arg.startswith("-"):
                front.append(arg)
                if name in ROOT_VALUED and "=" not in arg and i + 1 < len(args):
                    front.append(args[i + 1])
                    i += 1
                i += 1
                continue
            seen_command = True
        if name in HOISTED_FLAGS:
            front.append(arg)
        elif name in HOISTED_VALUED:
            front.append(arg)
            if "=" not in arg and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def selected_group(args: list[str]) -> str | None:
    """The first command word, skipping global options and their values."""
    return selected_path(args)[0]


def selected_path(args: list[str]) -> tuple[str | None, str | None]:
    """(the first command word, the word right after it when that is not an option): which group, and which
    of its branches, the command line runs — the only part of the tree that needs building."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            return None, None
        if arg.startswith("-"):
            if arg.split("=", 1)[0] in ROOT_VALUED and "=" not in arg:
                i += 1
            i += 1
            continue
        after = args[i + 1] if i + 1 < len(args) else None
        return arg, (after if after is not None and not after.startswith("-") else None)
    return None, None


def _root_callback(
    ctx: typer.Context,
    profile: Annotated[Optional[list[str]], typer.Option(
        "-p", "--profile", help="profile to use (env CONFCTL_PROFILE); `events follow` takes several",
        show_default=False, metavar="NAME")] = None,
    output: Annotated[Optional[str], typer.Option(
        "-o", "--output", help="table (default on a TTY), wide, json, jsonl, yaml or id (env CONFCTL_OUTPUT)",
        show_default=False, metavar="FORMAT")] = None,
    query: Annotated[Optional[str], typer.Option(
        "--query", help="JMESPath expression applied to the JSON result", show_default=False, metavar="EXPR")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the request as a curl line; send nothing")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="log requests and responses to stderr, secrets elided "
                                                         "(env CONFCTL_DEBUG)")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="per-request timeout in seconds", metavar="S")] = 30.0,
    max_wait: Annotated[float, typer.Option("--max-wait", help="cap on total retry waiting in seconds",
                                            metavar="S")] = 60.0,
    no_input: Annotated[bool, typer.Option("--no-input", help="never prompt (env CONFCTL_NO_INPUT; implied "
                                                               "without a TTY)")] = False,
    color: Annotated[str, typer.Option("--color", help="auto, always or never (NO_COLOR honoured)",
                                       metavar="WHEN")] = "auto",
    yes: Annotated[bool, typer.Option("-y", "--yes", help="confirm destructive or protected actions")] = False,
    ca_bundle: Annotated[Optional[str], typer.Option("--ca-bundle", help="extra CA certificates (PEM) to trust",
                                                     show_default=False, metavar="FILE")] = None,
    version: Annotated[bool, typer.Option("--version", help="print the version and exit")] = False,
):
    import typer

    if version:
        print(f"confctl {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        print(ctx.get_help())
        raise typer.Exit(0)
    from confctl.core.errors import UsageError

    if color not in ("auto", "always", "never"):
        raise UsageError(f"--color: must be auto, always or never (got {color!r})")
    if timeout <= 0 or max_wait < 0:
        raise UsageError("--timeout must be positive and --max-wait not negative")
    state.output = output
    state.query = query
    state.profiles = list(profile or [])
    state.dry_run = dry_run
    state.debug = debug or state.debug
    state.timeout = timeout
    state.max_wait = max_wait
    state.no_input = no_input
    state.color = color
    state.yes = yes
    state.ca_bundle = ca_bundle
    # Exit 2 must mean nothing was sent: the output format and the JMESPath expression are checked here,
    # before any command runs, not when the result is printed. Help is always shown.
    if not state.help_requested:
        from confctl.core import output as out

        out.fmt()
        out.compile_query()


def asks_for_help(args: list[str]) -> bool:
    words = args[:args.index("--")] if "--" in args else args
    return "-h" in words or "--help" in words


# Where `confctl completion` and `confctl man` find the generated files: installed as data files under the
# environment's prefix (pyproject.toml), or in the checkout next to the package (an editable install).
SHARE = {"bash": "bash-completion/completions/confctl.bash", "zsh": "zsh/site-functions/_confctl",
         "fish": "fish/vendor_completions.d/confctl.fish"}
CHECKOUT = {"bash": "completions/confctl.bash", "zsh": "completions/_confctl", "fish": "completions/confctl.fish"}


def _generated(installed: str, checkout: str):
    from pathlib import Path

    for candidate in (Path(sys.prefix) / "share" / installed, Path(__file__).resolve().parent.parent / checkout):
        if candidate.is_file():
            return candidate
    from confctl.core.errors import ConfctlError

    raise ConfctlError(f"{installed.rsplit('/', 1)[-1]} is not installed with this copy of confctl",
                       hint="reinstall with `pip install .`, or run from a checkout")


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion(shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish", show_default=False,
                                                     metavar="SHELL")]):
    """Print the shell completion script (offers commands, options, every choice and profile names)."""
    path = _generated(SHARE[shell.value], CHECKOUT[shell.value])
    sys.stdout.write(path.read_text(encoding="utf-8"))


# The manual pages: confctl(1) and one per provider or group (confctl-gateway(1), ...). `Topic`, the enum of
# them, is made by _load_tree.


def man(topic: Annotated[Optional[Topic], typer.Argument(
        help=f"confctl (the default), a provider ({', '.join(PROVIDERS)}) or a group ({', '.join(GROUPS)})",
        show_default=False, metavar="TOPIC")] = None):
    """Show a manual page: opened with man(1) on a terminal, printed as roff source otherwise."""
    import shutil
    import subprocess

    page = "confctl" if topic is None or topic.value == "confctl" else f"confctl-{topic.value}"
    path = _generated(f"man/man1/{page}.1", f"man/{page}.1")
    if sys.stdout.isatty() and shutil.which("man"):
        import typer

        raise typer.Exit(subprocess.call(["man", "-l", str(path)]))
    sys.stdout.write(path.read_text(encoding="utf-8"))


def _root_help() -> str:
    """The root help line, naming every vendor."""
    names = [spec.title for spec in PROVIDERS.values()]
    listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    return f"confctl — one command line for {listed} conferences."


def _load_tree() -> None:
    """Bind what building the tree needs as this module's globals: typer, the vendor registry, the man-page
    topics and the root help line (the annotations above are resolved against them)."""
    if "Topic" in globals():
        return
    import typer

    from confctl.core.registry import PROVIDERS

    globals().update(typer=typer, PROVIDERS=PROVIDERS)
    globals()["Topic"] = Enum("Topic", {name: name for name in ("confctl", *PROVIDERS, *GROUPS)}, type=str)
    globals()["ROOT_HELP"] = _root_help()


def __getattr__(name: str):
    """`confctl.cli.PROVIDERS`, `.Topic`, `.ROOT_HELP`, `.typer`, as before the lazy import."""
    if name in ("typer", "PROVIDERS", "Topic", "ROOT_HELP"):
        _load_tree()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _placeholder():
    """Stands in for a top-level command that was not selected (never runs: the selected one is built)."""


def build_app(load: str | set[str] | None = None, branch: str | None = None) -> typer.Typer:
    """The root app. Only the groups named in `load` ("*" for all) are built in full; the others are
    placeholders carrying their help, so `confctl --help` imports no provider, httpx or keyring. `branch`
    (with one provider in `load`): the provider's command word on the command line; only that branch of
    its tree is built (`builder.provider_app`)."""
    _load_tree()
    import typer

    from confctl.core.registry import PROVIDERS

    # Help fills the terminal (click stops at 80 columns by default); subcommands inherit the setting.
    app = typer.Typer(name="confctl", add_completion=False, rich_markup_mode=None,
                      pretty_exceptions_enable=False,
                      context_settings={"help_option_names": ["-h", "--help"],
                                        "max_content_width": terminal_columns()})
    app.callback(invoke_without_command=True, help=ROOT_HELP)(_root_callback)
    wanted = set(PROVIDERS) | set(GROUPS) | set(COMMANDS) if load == "*" else ({load} if isinstance(load, str) else (load or set()))
    for name, info in PROVIDERS.items():
        if name in wanted:
            from confctl.core.builder import provider_app

            app.add_typer(provider_app(info.load(), branch if isinstance(load, str) else None), name=name,
                          help=info.help)
        else:
            app.add_typer(typer.Typer(help=info.help), name=name, help=info.help)
    for name, (help_text, module) in GROUPS.items():
        if name in wanted:
            app.add_typer(importlib.import_module(module).app, name=name, help=help_text)
        else:
            app.add_typer(typer.Typer(help=help_text), name=name, help=help_text)
    for name, (help_text, ref) in COMMANDS.items():
        if name in wanted or load == "*":
            from confctl.core.vendor import load_ref

            app.command(name, help=help_text)(load_ref(ref))
        else:
            app.command(name, help=help_text, context_settings={"ignore_unknown_options": True,
                                                                "allow_extra_args": True})(_placeholder)
    app.command("completion", help="Print the completion script for bash, zsh or fish.")(completion)
    app.command("man", help="Show the manual page of confctl or of one provider or group.")(man)
    return app


# ---------------------------------------------------------------------------------------------------------
# `confctl --help` from a cache of its own text
# ---------------------------------------------------------------------------------------------------------
ROOT_HELP_ARGS = (["--help"], ["-h"])


def terminal_columns() -> int:
    """The width help is wrapped to: what shutil.get_terminal_size() reports (COLUMNS, else the terminal
    on stdout, else 80), without importing shutil."""
    import os

    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _help_cache_file() -> str | None:
    """Where the root help is cached: the config folder's cache/ when CONFCTL_CONFIG_DIR names it; else the
    user cache folder on Linux ($XDG_CACHE_HOME or ~/.cache, as platformdirs says, without importing it);
    elsewhere nowhere (the help is built every time)."""
    import os

    override = os.environ.get("CONFCTL_CONFIG_DIR")
    if override:
        return os.path.join(override, "cache", "root-help.txt")
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return os.path.join(base, "confctl", "root-help.txt")
    return None


def help_signature(package: str | None = None) -> str:
    """Everything the root help is made of, as one line: confctl's version, the interpreter, the width, the
    installed Typer, and the path, size and modification time of every source file of the package (the
    vendors' specs included). Any change to one of them is a different signature: the cached text is never
    served stale."""
    import os
    from importlib.util import find_spec

    root = package or os.path.dirname(os.path.abspath(__file__))
    typer_spec = find_spec("typer")
    typer_file = typer_spec.origin if typer_spec is not None else ""
    typer_stat = os.stat(typer_file) if typer_file else None
    parts = [__version__, sys.version, sys.executable, str(terminal_columns()),
             f"{typer_file}:{typer_stat.st_mtime_ns if typer_stat else 0}"]
    folders = [root]
    files = []
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    files.append(f"{entry.path[len(root):]}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts + sorted(files)).replace("\n", " ")


def cached_root_help() -> str | None:
    """The cached `confctl --help` text when its signature still matches, else None."""
    path = _help_cache_file()
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            stored = fh.readline().rstrip("\n")
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text and stored == help_signature() else None


def store_root_help(text: str) -> None:
    """Cache the root help under its signature (a private file, written atomically); never an error."""
    path = _help_cache_file()
    if path is None or not text:
        return
    try:
        from pathlib import Path

        from confctl.core.cachefile import ensure_dir, write_private

        target = Path(path)
        ensure_dir(target.parent)
        write_private(target, (help_signature() + "\n" + text).encode("utf-8"))
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass


def _write_out(text: str) -> int:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        return broken_pipe()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, then map the outcome to an exit code (DESIGN §5). Returns the code when called with
    argv (tests), exits otherwise."""
    args = hoist(list(sys.argv[1:] if argv is None else argv))
    # Only a real command line (argv None) uses the cache: a caller passing argv (tests) builds the help.
    root_help = argv is None and args in ROOT_HELP_ARGS
    if root_help:
        text = cached_root_help()
        if text is not None:
            code = _write_out(text)
            if argv is None:
                sys.exit(code)
            return code
    reset()
    state.cli = True
    state.help_requested = asks_for_help(args)
    code = 0
    try:
        app = build_app(*selected_path(args))
        if root_help:  # kept, to answer the next `confctl --help` from the cache
            import contextlib
            import io

            captured = io.StringIO()
            try:
                with contextlib.redirect_stdout(captured):
                    result = app(args=args, prog_name="confctl", standalone_mode=False)
            finally:
                sys.stdout.write(captured.getvalue())
            if result in (0, None):
                store_root_help(captured.getvalue())
        else:
            result = app(args=args, prog_name="confctl", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except BaseException as exc:  # noqa: BLE001 - the one place that maps everything to an exit code
        code = handle(exc)
    finally:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            code = broken_pipe()
    if argv is None:
        sys.exit(code)
    return code


# The reader of stdout went away (`confctl ... | head -1`): exit quietly with 141 (128 + SIGPIPE), the code a
# shell reports for any program a pipe cut short.
EXIT_BROKEN_PIPE = 141


def broken_pipe() -> int:
    """Point stdout at /dev/null, so that the interpreter's last flush does not print "Exception ignored"."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def handle(exc: BaseException) -> int:
    import typer

    from confctl.core import output
    from confctl.core.errors import ConfctlError, exit_code_for

    # click turns EPIPE into SystemExit(1); either way the pipe was cut.
    if isinstance(exc, BrokenPipeError) or isinstance(exc.__context__, BrokenPipeError):
        return broken_pipe()
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if isinstance(exc, typer.Exit):
        return exc.exit_code
    if isinstance(exc, (typer.Abort, KeyboardInterrupt)):
        print("interrupted", file=sys.stderr)
        return 130
    from confctl.core.validate import choice_error

    exc = choice_error(exc) or exc  # a refused choice reads like every other rule: "--qos: must be one of ..."
    if isinstance(exc, typer.TyperException):  # usage errors from the parser
        code = getattr(exc, "exit_code", 2)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group without a command: its help, like bare confctl
            print(exc.ctx.get_help())
            return 0
        if sys.stderr.isatty() and hasattr(exc, "show"):
            exc.show()
        else:
            output.error(type("E", (), {"message": exc.format_message(), "hint": "see --help"})(), code)
        return code
    code = exit_code_for(exc)
    if not isinstance(exc, ConfctlError):
        if state.debug:
            import traceback

            traceback.print_exc()
        exc = ConfctlError(f"unexpected error: {type(exc).__name__}: {exc}",
                           hint="run with --debug for details")
    output.error(exc, code)
    return code
