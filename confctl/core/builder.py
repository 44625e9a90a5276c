"""The one builder: turns declarative `Endpoint` entries into Typer commands, and adds to every provider
`endpoints` (the table of what it covers) and `api` (a raw request sharing profile, auth, retries, output).
"""

from __future__ import annotations

import enum
import inspect
import os
import re
import shlex
import sys
from typing import Annotated, Any, Callable, Iterable, Iterator, Optional
from urllib.parse import quote

import typer

from confctl.core import output
from confctl.core.errors import (Aborted, AlreadyDone, ConfctlError, PartialFailure, UsageError, ValidationError,
                            exit_code_for)
from confctl.core.provider import Call, Provider
from confctl.core.spec import BODY, HEADER, LOCAL, PATH, QUERY, Alias, Endpoint, Param
from confctl.core.state import state
from confctl.core.validate import choice, path_segment, raw_path, read_data

_TYPES = {"str": str, "int": int, "float": float, "bool": bool, "json": str, "file": str}


# ---------------------------------------------------------------------------------------------------------
# Signature construction
# ---------------------------------------------------------------------------------------------------------
_CHOICE_TYPES: dict[tuple[str, ...], type[enum.Enum]] = {}


def choice_type(choices: tuple[str, ...]) -> type[enum.Enum]:
    """The choices as a real type (a str Enum): Typer validates them (exit 2) and lists them in help and in
    completions; the command gets the plain strings back (`_plain`)."""
    found = _CHOICE_TYPES.get(tuple(choices))
    if found is None:
        found = _CHOICE_TYPES[tuple(choices)] = enum.Enum("Choice", {c: c for c in choices}, type=str)
    return found


def param_choices(p: Param) -> tuple[str, ...]:
    """The fixed values a parameter takes: its own `choices`, or a case-sensitive choice rule's."""
    if p.choices:
        return tuple(p.choices)
    if p.rule is not None and getattr(p.rule, "case", True):
        return tuple(getattr(p.rule, "choices", None) or ())
    return ()


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _param_help(p: Param) -> str:
    text = p.help
    if p.choices and p.metavar:  # otherwise Typer shows them as the metavar
        text += f" [{'|'.join(p.choices)}]"
    if p.rule is not None and getattr(p.rule, "describe", None) and not p.choices:
        text += f" ({p.rule.describe})"
    if p.profile:
        text += f" (default: the profile's {p.profile})"
    if p.type == "json":
        text += " (JSON, @file or - for stdin)"
    return text.strip()


def _annotation(p: Param, bulk: bool = False):
    help_text = _param_help(p)
    fixed = param_choices(p)
    item = choice_type(fixed) if fixed and p.type in ("str", "list") else _TYPES.get(p.type, str)
    if p.type == "list" or bulk:
        py = Optional[list[item]]
    elif p.type == "bool":
        py = Optional[bool]
    else:
        py = Optional[item]
    metavar = p.metavar or (p.name.upper() if p.is_positional else None)
    if p.is_positional:
        required = p.required and not bulk and p.type != "list"
        info = typer.Argument(help=help_text, metavar=metavar, show_default=False)
        if required:
            py = item
    else:
        decls = [p.cli_flag]
        if p.type == "bool" and "/" not in p.cli_flag:
            decls = [f"{p.cli_flag}/--no-{p.cli_flag[2:]}"]
        if p.short:
            decls.append(p.short)
        info = typer.Option(*decls, help=help_text, metavar=metavar, show_default=False, hidden=p.hidden)
    return Annotated[py, info]


def _signature(params: list[tuple[str, Any, Any]]) -> inspect.Signature:
    ordered = sorted(params, key=lambda t: t[2] is not inspect.Parameter.empty)
    return inspect.Signature([
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=d) for n, a, d in ordered
    ])


def _extras(ep: Endpoint) -> list[tuple[str, Any, Any]]:
    extra = []
    if ep.data:
        extra.append(("_data", Annotated[Optional[str], typer.Option(
            "--data", "-d", help="request body as JSON, @file or - (stdin); options override its fields",
            show_default=False)], None))
    if ep.paginate:
        extra.append(("_all", Annotated[bool, typer.Option(
            "--all", help="follow the cursor through every page, printing items as they arrive")], False))
    if ep.bulk:
        extra.append(("_from_file", Annotated[Optional[str], typer.Option(
            "--from-file", help="read ids from FILE (- for stdin): one per line, or JSON Lines",
            metavar="FILE", show_default=False)], None))
        extra.append(("_concurrency", Annotated[int, typer.Option(
            "--concurrency", help="requests in flight at once", min=1, max=32)], 8))
    if ep.binary:
        extra.append(("_out_file", Annotated[Optional[str], typer.Option(
            "-O", "--output-file", help="write the bytes to FILE (default: stdout when it is not a terminal)",
            metavar="FILE", show_default=False)], None))
    return extra


def _cmd_params(provider: Provider, ep: Endpoint) -> tuple[Param, ...]:
    return tuple(ep.params) + tuple(provider.extra_params(ep))


def make_command(provider: Provider, ep: Endpoint, alias: Alias | None = None):
    params = [p for p in _cmd_params(provider, ep) if not (alias and p.name in alias.preset)]
    sig = [(p.name, _annotation(p, bulk=p.name == ep.bulk),
            inspect.Parameter.empty if (p.is_positional and p.required and p.name != ep.bulk and p.type != "list")
            else None)
           for p in params]
    sig += _extras(ep)

    def command(**kwargs):
        values = {k: _plain(v) for k, v in kwargs.items() if not k.startswith("_")}
        if alias:
            values.update(alias.preset)
        opts = {k[1:]: v for k, v in kwargs.items() if k.startswith("_")}
        run_endpoint(provider, ep, values, opts)

    command.__signature__ = _signature(sig)
    command.__name__ = "_".join(alias.command if alias else ep.command_path).replace("-", "_")
    command.__doc__ = (alias.help if alias and alias.help else ep.help)
    return command


def declared_in(provider: Provider) -> dict[int, str]:
    """id(endpoint) -> the file that declares it, as a repository path (`confctl/vendors/pexip/endpoints.py`):
    the module of the provider's package whose module-level table holds the entry. `--help` prints it, so the
    reader of a generated command knows which file to open."""
    package = type(provider).__module__.rpartition(".")[0]
    wanted = {id(ep) for ep in provider.endpoints}
    where: dict[int, str] = {}
    for name, module in sorted(dict(sys.modules).items()):  # a copy: another thread may import meanwhile
        if module is None or not name.startswith(package + "."):
            continue
        path = name.replace(".", "/") + ("/__init__.py" if hasattr(module, "__path__") else ".py")
        for value in list(vars(module).values()):
            if isinstance(value, tuple):
                for item in value:
                    if id(item) in wanted:
                        where.setdefault(id(item), path)
    return where


def _declared(where: str | None) -> list[str]:
    return ["", f"Declared in {where}"] if where else []


def _alias_epilog(ep: Endpoint, where: str | None) -> str:
    return "\n\n".join([f"Same request as `{' '.join(ep.command_path)}`: {ep.method} {ep.path}", *_declared(where)])


def _epilog(provider: Provider, ep: Endpoint, where: str | None = None) -> str:
    example = " ".join(shlex.quote(a) for a in example_argv(provider, ep))
    lines = [f"{ep.method} {ep.path}   [{ep.id}]", "", f"Example: {example}"]
    if ep.epilog:
        lines += ["", ep.epilog]
    return "\n\n".join(lines + _declared(where))


# ---------------------------------------------------------------------------------------------------------
# Examples
# ---------------------------------------------------------------------------------------------------------
def _example_tokens(p: Param, value: Any) -> list[str]:
    if p.is_positional:
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    if p.type == "bool":
        return [p.cli_flag.split("/")[0] if value else "--no-" + p.cli_flag[2:]]
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out += [p.cli_flag, str(v)]
        return out
    return [p.cli_flag, str(value)]


def example_argv(provider: Provider, ep: Endpoint) -> list[str]:
    """argv that sends exactly this endpoint's request against a usable profile."""
    head = ["confctl", provider.name, *ep.command_path]
    if ep.example is not None:
        return head + list(ep.example)
    args: list[str] = []
    positional = [p for p in ep.params if p.is_positional]
    for p in positional + [p for p in ep.params if not p.is_positional]:
        if p.example is None:
            continue
        if p.required or p.is_positional or p.example is not None:
            args += _example_tokens(p, p.example)
    return head + args


# ---------------------------------------------------------------------------------------------------------
# Running a command
# ---------------------------------------------------------------------------------------------------------
def confirm(action: str, *, protected: bool = False, profile_name: str = "") -> None:
    """Ask before destructive or protected actions; --yes skips; without a TTY it refuses."""
    if state.yes:
        return
    why = f" on protected profile {profile_name!r}" if protected else ""
    if not state.interactive:
        raise UsageError(f"refusing to run `{action}`{why} without confirmation",
                         hint=f"pass --yes to confirm ({state.no_prompt_reason()})")
    answer = typer.confirm(f"{action}{why}?", default=False, err=True)
    if not answer:
        raise Aborted(f"declined at the prompt: `{action}` was not run; nothing was sent")


def _convert(p: Param, value: Any) -> Any:
    if value is None:
        return None
    field = p.cli_flag if not p.is_positional else p.name.upper()
    if p.type == "json":
        return read_data(field, value)
    if p.type == "file":
        if value == "-":
            return sys.stdin.read()
        try:
            with open(value, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            raise ValidationError(field, f"cannot read {value}: {exc.strerror}") from None
    return value


def _validate(p: Param, value: Any) -> Any:
    field = p.cli_flag if not p.is_positional else p.name.upper()
    if p.choices:
        choice(*p.choices)(field, value)
    if p.rule is not None:
        value = p.rule(field, value)
    return value


def _path_value(p: Param, value: Any) -> Any:
    """Every path value is one safe segment (no traversal, nothing that ends the path) — exit 2, nothing sent.
    A rule marked `path_segments` (a relative resource path) allows '/' between safe segments."""
    field = p.cli_flag if not p.is_positional else p.name.upper()
    return path_segment(field, value, segments=getattr(p.rule, "path_segments", False))


def _set_nested(body: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value


def build_call(provider: Provider, ep: Endpoint, values: dict, profile, opts: dict | None = None) -> Call:
    """Validate the values and lay out path, query, body and headers. Raises before anything is sent."""
    opts = opts or {}
    body: dict | None = None
    if ep.method in ("POST", "PUT", "PATCH") and (ep.body or any(p.where == BODY for p in ep.params) or ep.data):
        body = dict(ep.body)
    if opts.get("data") is not None:
        extra = read_data("--data", opts["data"])
        if not isinstance(extra, dict):
            if any(p.where == BODY and values.get(p.name) is not None for p in ep.params) or ep.body:
                raise ValidationError("--data", "must be a JSON object when combined with options")
            body = extra
        else:
            body = {**(body or {}), **extra}
    query: dict = {}
    headers: dict = {}
    path_values: dict = {}
    resolved: dict = {}
    for p in _cmd_params(provider, ep):
        value = values.get(p.name)
        from_profile = value is None and p.profile is not None
        if from_profile:
            value = profile.get(p.profile)
        if value is None and p.default is not None:
            value = p.default
        if value is None or value == []:
            if p.required and not (p.name == ep.bulk and opts.get("from_file")):
                flag = p.name.upper() if p.is_positional else p.cli_flag
                if p.profile:
                    hint = f"pass {flag} or set the profile's {p.profile} field"
                else:
                    hint = None
                raise ValidationError(flag, "is required", hint=hint)
            resolved[p.name] = None
            continue
        try:
            value = _validate(p, _convert(p, value))
            if p.where == PATH:
                value = _path_value(p, value)
        except ValidationError as exc:
            if from_profile and exc.hint is None:
                var = profile.provider.env_var(p.profile)
                exc.hint = (f"the value comes from {var}" if os.environ.get(var) else
                            f"the value comes from the {p.profile} field of profile {profile.name!r}")
            raise
        resolved[p.name] = value
        if p.where == PATH:
            path_values[p.wire_name] = value
        elif p.where == QUERY:
            query[p.wire_name] = ("true" if value else "false") if isinstance(value, bool) else value
        elif p.where == BODY:
            if body is None:
                body = {}
            _set_nested(body, p.wire_name, value)
        elif p.where == HEADER:
            headers[p.wire_name] = str(value)
    call = Call(provider, ep, profile, resolved, ep.method, ep.path, query, body, headers, form=ep.form,
                path_values=path_values)
    if ep.check is not None:  # cross-option validation: exit 2 before any prompt, look-up or request
        ep.check(call)
    return call


def format_path(template: str, values: dict, multi: Iterable[str] = ()) -> str:
    """Fill a path template; each value must be one safe segment and is percent-encoded as one (the keys in
    `multi` are relative resource paths: safe segments joined by '/')."""
    out = template
    for key, value in values.items():
        several = key in multi
        path_segment(key, value, segments=several)
        out = out.replace("{" + key + "}", quote(str(value), safe="/" if several else ""))
    if "{" in out:
        missing = out[out.index("{") + 1: out.index("}")]
        raise ValidationError(missing, "is required (path parameter)")
    return out


def send_call(call: Call) -> Any:
    """Resolve names, apply provider hooks, send (or the endpoint's handler) and return the result."""
    for p in _cmd_params(call.provider, call.endpoint):
        # Resolvers run under --dry-run too (their look-ups are sent), so the printed line carries the real id.
        if p.resolve and call.values.get(p.name) is not None:
            value = call.provider.resolvers[p.resolve](call, call.values[p.name])
            if p.where == PATH:  # a resolved value is checked like a typed one
                value = _path_value(p, value)
            call.values[p.name] = value
            if p.where == PATH:
                call.path_values[p.wire_name] = value
            elif p.where == BODY and call.body is not None:
                _set_nested(call.body, p.wire_name, value)
            elif p.where == QUERY:
                call.query[p.wire_name] = value
    multi = [p.wire_name for p in _cmd_params(call.provider, call.endpoint)
             if p.where == PATH and getattr(p.rule, "path_segments", False)]
    call.path = format_path(call.endpoint.path, call.path_values, multi)
    call.provider.prepare(call)
    try:
        if call.endpoint.handler is not None:
            return call.endpoint.handler(call)
        response = call.send()
    except AlreadyDone as done:
        return already_result(call, done)
    return call.provider.result(call, response)


def already_result(call: Call, done: AlreadyDone) -> dict:
    """The goal already held (an endpoint's `already` rule): success, said in words."""
    target = " ".join(str(v) for v in call.path_values.values())
    output.note(f"{call.endpoint.command_path[0]} {target}: {done.note}; nothing to do".replace("  ", " "))
    return {**call.path_values, "status": done.note.replace(" ", "_"), "http_status": done.status,
            "already": True}


def run_endpoint(provider: Provider, ep: Endpoint, values: dict, opts: dict) -> None:
    from confctl.core import config
    from confctl.core.http import DryRunResult, dry_run_or

    profile = config.resolve(provider.name, state.profile)
    if ep.bulk:
        ids = BulkIds(values.get(ep.bulk) or [], opts.get("from_file"))
        try:
            # Every id is validated before anything is sent (exit 2, nothing sent), reading the file once.
            ids.check(lambda item: build_call(provider, ep, {**values, ep.bulk: item}, profile, opts))
            if not ids.count:
                raise ValidationError(ep.bulk.upper(), "give at least one id (arguments or --from-file)")
            if ids.repeats:
                output.warn(f"ignoring {ids.repeats} repeated id(s)")
            if ids.count > 1:
                return run_bulk(provider, ep, values, ids, ids.count, profile, opts)
        finally:
            ids.close()
        values = {**values, ep.bulk: ids.first}
    call = build_call(provider, ep, values, profile, opts)
    if not state.dry_run and ep.asks_first(profile):
        target = " ".join(str(v) for v in call.path_values.values())
        confirm(f"{' '.join(ep.command_path)} {target}".strip(), protected=profile.protected,
                profile_name=profile.name)
    with provider.session(profile) as session:
        call.session = session
        if ep.paginate and opts.get("all"):
            dry = dry_run_or(lambda: paginate_all(call))
            if isinstance(dry, DryRunResult):
                print_dry_run(session, profile, [dry.curl])
            return
        result = dry_run_or(lambda: send_call(call))
        if isinstance(result, DryRunResult):
            print_dry_run(session, profile, [result.curl])
            return
    if ep.binary:
        write_binary(result, opts.get("out_file"))
        return
    more = None
    if ep.paginate and isinstance(result, dict):  # --all was not given: say that more pages exist
        more = result.get(ep.paginate.cursor_key) or None
    output.emit(result, items=ep.paginate.items if ep.paginate else ep.items, id_field=ep.id_field,
                columns=ep.columns, more=more)


def print_dry_run(session, profile, curls: list[str]) -> None:
    """--dry-run output: the vendor's setup steps once (e.g. how to obtain a token), then one runnable curl
    line per request, as plain lines. A secret the lines read from a variable that is not set gets a note on
    stderr saying which variable to export and where the secret lives now."""
    setup = list(session.dry_run_setup())
    for line in setup + curls:
        output.write(line)
    text = "\n".join(setup + curls)
    for fdef in profile.provider.fields:
        var = profile.provider.env_var(fdef.name)
        if not fdef.secret or os.environ.get(var) or not re.search(r"\$\{?" + var + r"\b", text):
            continue
        output.note(f"note: the printed request reads ${var}, which is not set here; "
                    f"{_export_hint(profile, fdef.name, var)}")


def _export_hint(profile, field: str, var: str) -> str:
    """How to put the profile's secret into the variable the printed line reads — never the secret."""
    if not profile.from_file or profile.secret_store == "env":
        return f"export {var}=... (the secret) before running it"
    from confctl.core import secrets

    if profile.secret_store == "keyring":
        key = shlex.quote(secrets._key(profile.name, field))
        return (f"the secret is in the OS keyring; export it first, e.g. "
                f"export {var}=\"$(keyring get {secrets.SERVICE} {key})\"")
    return (f"the secret is in the secrets file {secrets._file_path()} ([{profile.name}] {field}); "
            f"export {var}=... with that value first")


def write_binary(result: Any, path: str | None) -> None:
    """Bytes go to -O FILE or to stdout when it is not a terminal — never onto a terminal."""
    data = result if isinstance(result, (bytes, bytearray)) else bytes(str(result), "utf-8")
    if path and path != "-":
        from pathlib import Path

        Path(path).write_bytes(data)
        output.note(f"wrote {len(data)} bytes to {path}")
        return
    if sys.stdout.isatty():
        raise UsageError("refusing to write binary data to a terminal", hint="use -O FILE or redirect stdout")
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def paginate_all(call: Call) -> None:
    """Stream every page's items; on Ctrl-C say which cursor resumes the listing without losing an item."""
    pg = call.endpoint.paginate
    stream = output.ItemStream(id_field=call.endpoint.id_field, columns=call.endpoint.columns, wrap=pg.items)
    resume = call.query.get(pg.cursor_param)  # fetches the first page not yet printed in full
    try:
        while True:
            if resume:
                call.query[pg.cursor_param] = resume
            page = send_call(call)
            for item in page.get(pg.items) or []:
                stream.add(item)
            resume = page.get(pg.cursor_key)
            if not resume:
                break
    except KeyboardInterrupt:
        stream.close()
        output.note(f"interrupted; resume with --cursor {shlex.quote(resume)}" if resume
                    else "interrupted during the first page; run the listing again")
        raise
    stream.close()


def iter_ids(source: str) -> Iterator[str]:
    """Ids one per line, or JSON Lines whose objects carry an id-like key ('-' reads stdin), read one line at
    a time: a file of a million ids is never held in memory."""
    if source == "-":
        yield from _ids_in(sys.stdin)
        return
    try:
        handle = open(source, encoding="utf-8")
    except OSError as exc:
        raise ValidationError("--from-file", f"cannot read {source}: {exc.strerror}") from None
    with handle:
        yield from _ids_in(handle)


def _ids_in(lines: Iterable[str]) -> Iterator[str]:
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("{", '"')):
            import json

            try:
                value = json.loads(line)
            except ValueError as exc:
                raise ValidationError("--from-file", f"line {lineno}: malformed JSON: {exc}") from None
            line = output.ident(value, None) if isinstance(value, dict) else str(value)
        yield line


def read_ids(source: str) -> list[str]:
    """Every id of `iter_ids` as a list."""
    return list(iter_ids(source))


class BulkIds:
    """The ids of one bulk command (arguments, then --from-file), each once, in input order. `check(fn)` reads
    them all once (fn validates each: exit 2 before anything is sent) and keeps them in a spool that holds at
    most SPOOL_MEMORY bytes in memory and the rest on disk; iterating afterwards reads the spool. What stays in
    memory per id is its entry in the set that drops repeats."""

    SPOOL_MEMORY = 1 << 20

    def __init__(self, args: Iterable[str], from_file: str | None):
        self.args = list(args)
        self.from_file = from_file
        self.count = self.repeats = 0
        self.first: str | None = None
        self._spool = None

    def check(self, validate: Callable[[str], Any]) -> None:
        import tempfile

        seen: set[str] = set()
        self._spool = tempfile.SpooledTemporaryFile(self.SPOOL_MEMORY, mode="w+", encoding="utf-8")
        for item in _chain(self.args, iter_ids(self.from_file) if self.from_file else ()):
            if item in seen:  # a repeat would only hit the vendor's per-item cooldown
                self.repeats += 1
                continue
            if "\n" in item:  # the spool holds one id per line
                raise ValidationError("ID", "may not contain a line break")
            validate(item)
            seen.add(item)
            self._spool.write(item + "\n")
            self.count += 1
            if self.first is None:
                self.first = item
        self._spool.seek(0)

    def __iter__(self) -> Iterator[str]:
        self._spool.seek(0)
        for line in self._spool:
            yield line[:-1]

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def _chain(*parts: Iterable[str]) -> Iterator[str]:
    for part in parts:
        yield from part


def run_bulk(provider: Provider, ep: Endpoint, values: dict, ids: Iterable[str], count: int, profile,
             opts: dict) -> None:
    """One request per id with bounded concurrency over one session (one HTTP client, kept-alive
    connections); one result line per item, in input order, printed as it completes. At most twice
    `--concurrency` items are in flight or waiting to be printed, so memory does not grow with the input (the
    failed items are kept for the summary).
    Exit 8 when some items failed and some succeeded; when every item failed, the exit code of that failure
    (the first item's if they differ). A goal that already held (the endpoint's `already` rules) is a
    success. The ids were validated before this runs (`BulkIds.check`)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    from confctl.core.http import DryRunResult, dry_run_or

    def call_for(item: str) -> Call:
        return build_call(provider, ep, {**values, ep.bulk: item}, profile, opts)

    if not state.dry_run and ep.asks_first(profile):
        confirm(f"{' '.join(ep.command_path)} {count} items", protected=profile.protected,
                profile_name=profile.name)
    with provider.session(profile) as session:
        if state.dry_run:  # one plain curl line per item, in input order (resolver look-ups are sent)
            curls = []
            for item in ids:
                call = call_for(item)
                call.session = session
                dry = dry_run_or(lambda: send_call(call))
                if isinstance(dry, DryRunResult):
                    curls.append(dry.curl)
            print_dry_run(session, profile, curls)
            return

        def run(item: str) -> dict:
            call = call_for(item)
            call.session = session
            try:
                result = send_call(call)
            except ConfctlError as exc:
                return {"id": item, "ok": False, "error": exc.message, "status": exc.status,
                        "exit_code": exit_code_for(exc)}
            done = {"id": item, "ok": True, "result": result}
            if isinstance(result, dict) and isinstance(result.get("status"), str):  # "already muted", "joining"
                done["note"] = result["status"].replace("_", " ")
            return done

        stream = output.ItemStream(id_field="id", columns=("id", "ok", "note", "error"))
        failed: list[dict] = []

        def report(item: dict) -> None:
            if not item["ok"]:
                failed.append(item)
            stream.add(item)

        workers = opts.get("concurrency") or 8
        pending: deque = deque()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="confctl-bulk") as pool:
            try:
                for item in ids:
                    pending.append(pool.submit(run, item))
                    if len(pending) >= 2 * workers:
                        report(pending.popleft().result())
                while pending:
                    report(pending.popleft().result())
            except BaseException:  # Ctrl-C: nothing not yet started is sent
                for future in pending:
                    future.cancel()
                raise
    stream.close()
    raise_for_failures(failed, count, hint="the results above say which; retry those with --from-file")


def raise_for_failures(failed: list[dict], total: int, *, hint: str) -> None:
    """A batch's outcome (bulk commands and the cross-vendor verbs): nothing failed -> return; some failed ->
    exit 8; every item failed -> that failure's exit code (the first item's if they differ). `failed` items
    carry "error", "status" and "exit_code"."""
    if not failed:
        return
    if len(failed) < total:
        raise PartialFailure(f"{len(failed)} of {total} items failed", hint=hint)
    first = failed[0]
    codes = sorted({f["exit_code"] for f in failed})
    error = ConfctlError(f"all {total} items failed" + ("" if len(codes) == 1 else
                         f" (exit codes {', '.join(map(str, codes))}; exiting with the first item's)") +
                         f"; first: {first['error']}", status=first["status"])
    error.exit_code = first["exit_code"]
    raise error


# ---------------------------------------------------------------------------------------------------------
# Provider app assembly
# ---------------------------------------------------------------------------------------------------------
BUILTIN_COMMANDS = ("events", "endpoints", "api")  # what every provider app has besides its endpoints


def _top_word(ep: Endpoint) -> set[str]:
    """The provider-level command names an endpoint adds (its own path's and its aliases' first words)."""
    return {ep.command_path[0], *(alias.command[0] for alias in ep.aliases)}


def provider_app(provider: Provider, only: str | None = None) -> typer.Typer:
    """The provider's command tree. With `only` (the command word after the provider on the command line),
    just that branch is built — the endpoints under it, or the one built-in or registered command — since
    nothing else can run; an unknown word (a typo) builds everything, so the error and its suggestion are
    the same. The provider's `registers` (the top-level names its `register()` adds; None: unknown) lets
    a command of another branch skip importing that code."""
    registers = getattr(provider, "registers", None)
    endpoint_words = set().union(*(_top_word(ep) for ep in provider.endpoints)) if provider.endpoints else set()
    known = endpoint_words | set(BUILTIN_COMMANDS) | set(registers or ())
    if only is not None and only not in known and registers is not None:
        only = None
    if only is not None and registers is None and only not in endpoint_words | set(BUILTIN_COMMANDS):
        only = None  # maybe a registered command: build everything

    def wanted(word: str) -> bool:
        return only is None or word == only

    app = typer.Typer(help=provider.info.help, no_args_is_help=True, rich_markup_mode=None)
    groups: dict[tuple[str, ...], typer.Typer] = {(): app}

    def group(path: tuple[str, ...]) -> typer.Typer:
        if path not in groups:
            parent = group(path[:-1])
            sub = typer.Typer(no_args_is_help=True, help=provider.group_help.get(" ".join(path), ""),
                              rich_markup_mode=None)
            parent.add_typer(sub, name=path[-1])
            groups[path] = sub
        return groups[path]

    # Which file declares each entry is only shown by --help, and finding out scans the vendor's modules.
    where = declared_in(provider) if state.help_requested else {}
    for ep in provider.endpoints:
        cmd_path = ep.command_path
        if wanted(cmd_path[0]):
            group(cmd_path[:-1]).command(cmd_path[-1], help=ep.help, epilog=_epilog(provider, ep, where.get(id(ep))),
                                         hidden=ep.hidden)(make_command(provider, ep))
        for alias in ep.aliases:
            if wanted(alias.command[0]):
                group(alias.command[:-1]).command(alias.command[-1], help=alias.help or ep.help,
                                                  epilog=_alias_epilog(ep, where.get(id(ep))))(
                    make_command(provider, ep, alias))
    if only is None or registers is None or only in registers:
        provider.register(app, group)
    if wanted("events"):
        from confctl.core.events.command import provider_command

        app.command("events", help=f"Follow live {provider.name} events (the options of `confctl events follow` "
                                   "that apply to it).")(
            provider_command(provider.name))
    if wanted("endpoints"):
        app.command("endpoints", help=f"List every {provider.name} endpoint confctl covers, with a runnable "
                                      "example.")(_endpoints_command(provider))
    if wanted("api"):
        app.command("api", help=f"Send a raw request to the {provider.name} API with this profile's auth, retries "
                                "and output (the escape hatch for endpoints confctl does not know yet).")(
            _api_command(provider))
    return app


def endpoint_rows(provider: Provider) -> list[dict]:
    return [{"id": ep.id, "method": ep.method, "path": ep.path,
             "command": " ".join(["confctl", provider.name, *ep.command_path]),
             "example": example_argv(provider, ep), "summary": ep.help}
            for ep in provider.endpoints]


def _endpoints_command(provider: Provider):
    def endpoints():
        rows = endpoint_rows(provider)
        if output.fmt() == "table" and not state.query:
            rows = [{"id": r["id"], "method": r["method"], "path": r["path"], "command": r["command"]} for r in rows]
        output.emit(rows, id_field="id")

    return endpoints


def api_example_path(provider: Provider) -> str:
    """A real path of this provider for `api --help`: its GET endpoint with the fewest path parameters,
    filled with the parameters' example values where they have one."""
    gets = [ep for ep in provider.endpoints if ep.method == "GET"] or list(provider.endpoints)
    if not gets:
        return "/"
    ep = min(gets, key=lambda e: e.path.count("{"))
    values = {p.wire_name: p.example for p in ep.params
              if p.where == PATH and isinstance(p.example, str) and f"{{{p.wire_name}}}" in ep.path}
    path = ep.path
    for key, value in values.items():
        path = path.replace("{" + key + "}", quote(value, safe=""))
    return path


def check_raw_request(method: str, path: str) -> str:
    """The rules of a raw request (`confctl <vendor> api`, the library's `request()`): a known method, a path
    relative to the profile's base URL (credentials stay on that host), no path tricks. Returns the method."""
    method = method.upper()
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        raise ValidationError("METHOD", "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", method)
    if path.startswith(("http://", "https://")):
        raise ValidationError("PATH", "must be relative to the profile's base URL (credentials stay on that host)")
    raw_path("PATH", path)
    return method


def _api_command(provider: Provider):
    path_help = "path relative to the profile's base URL, e.g. " + api_example_path(provider)

    def api(
        method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, PUT, PATCH, DELETE")],
        path: str = typer.Argument(..., help=path_help),  # a default, not Annotated: the help is per provider
        data: Annotated[Optional[str], typer.Option("--data", "-d", help="JSON body, @file or - (stdin)",
                                                    show_default=False)] = None,
        param: Annotated[Optional[list[str]], typer.Option("--param", "-q", help="query parameter KEY=VALUE (repeatable)",
                                                           show_default=False)] = None,
        header: Annotated[Optional[list[str]], typer.Option("--header", "-H", help="extra header 'Name: value' (repeatable)",
                                                            show_default=False)] = None,
    ):
        from confctl.core import config
        from confctl.core.http import DryRunResult, dry_run_or

        method = check_raw_request(method, path)
        query = {}
        for item in param or []:
            if "=" not in item:
                raise ValidationError("--param", "must be KEY=VALUE", item)
            k, v = item.split("=", 1)
            query[k] = v
        headers = {}
        for item in header or []:
            if ":" not in item:
                raise ValidationError("--header", "must be 'Name: value'", item)
            k, v = item.split(":", 1)
            headers[k.strip()] = v.strip()
        body = read_data("--data", data) if data is not None else None
        profile = config.resolve(provider.name, state.profile)
        if profile.protected and method not in ("GET", "HEAD", "OPTIONS") and not state.dry_run:
            confirm(f"{method} {path}", protected=True, profile_name=profile.name)
        with provider.session(profile) as session:
            response = dry_run_or(lambda: session.request(method, path, params=query, json_body=body, headers=headers))
            if isinstance(response, DryRunResult):
                print_dry_run(session, profile, [response.curl])
                return
        ctype = response.headers.get("content-type", "")
        if "json" in ctype:
            output.emit(session.json(response))  # broken JSON is exit 7, naming what came back
        elif ctype.startswith("text/") or not response.content:
            if response.content:
                output.write(response.text)
        else:
            write_binary(response.content, None)

    return api
