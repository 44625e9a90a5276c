"""Reading a runbook and validating all of it before any step runs: every problem is exit 2 naming the step
and the field, and nothing is sent (profiles are read from the configuration, no request is made)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confctl.core.errors import ConfctlError, UsageError, ValidationError
from confctl.core.runbook import refs

KINDS = ("run", "verb", "wait", "set")
COMMON = {"id", "name", "timeout", "on_error"}
KEYS = {"run": {"args", "profile"}, "verb": {"targets", "where"}, "wait": {"any", "conference", "where", "profile"},
        "set": set()}
TOP = {"runbook", "name", "description", "vars", "profiles", "steps"}
STEP_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
WAIT_TIMEOUT = 600.0  # a wait without a timeout still ends: cron jobs must not hang


class RunbookError(ValidationError):
    """Invalid runbook: names the step and the field (exit 2, nothing sent)."""

    def __init__(self, step: "str | None", where: str, rule: str, **kw):
        field_ = f"step {step!r}: {where}" if step else where
        super().__init__(field_, rule, **kw)
        self.step = step
        self.where = where


@dataclass
class Step:
    index: int
    id: str
    kind: str
    raw: dict
    name: str | None = None
    timeout: float | None = None
    on_error: str = "stop"
    profile: Any = None  # str (run, verb) or list (wait); may hold ${vars...}
    # run
    vendor: str | None = None
    endpoint: Any = None
    preset: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)
    command: str = ""
    positional: tuple = ()  # the args shown on the step's line (the command's positional parameters)
    # verb
    verb: str | None = None
    targets: list = field(default_factory=list)
    where: list = field(default_factory=list)
    # wait
    conditions: list = field(default_factory=list)
    any_: bool = False
    conference: list = field(default_factory=list)
    # set
    values: dict = field(default_factory=dict)

    what: str = ""  # describe(), the variables filled in

    def describe(self) -> str:
        if self.kind == "run":  # the command line it stands for, positional arguments included
            shown = [v if isinstance(v, str) else " ".join(map(str, v)) if isinstance(v, list) else str(v)
                     for k, v in self.args.items() if k in self.positional]
            return " ".join([self.command, *shown])
        if self.kind == "verb":
            return f"{self.verb} {' '.join(map(str, self.targets))}".strip()
        if self.kind == "wait":
            return "wait " + (" or " if self.any_ else " and ").join(self.raw["wait"] if isinstance(
                self.raw["wait"], list) else [self.raw["wait"]])
        return "set " + ", ".join(self.values)


@dataclass
class Runbook:
    path: Path
    text: str
    name: str | None
    variables: dict
    profiles: dict
    steps: list[Step]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)


def read(path: str) -> tuple[Path, str, Any]:
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such runbook") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML: {exc}") from None
    return p, text, data


def parse_vars(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not refs.PART.fullmatch(key):
            raise ValidationError("--var", f"{pair!r}: expected NAME=VALUE")
        out[key] = value
    return out


def load(path: str, overrides: dict | None = None) -> Runbook:
    """Read and validate the whole file (structure, commands, parameters, references, profiles)."""
    try:
        return _load(path, overrides)
    except RunbookError as exc:
        exc.message = f"{path}: {exc.message}"
        exc.args = (exc.message,)
        raise


def _load(path: str, overrides: dict | None) -> Runbook:
    p, text, data = read(path)
    if not isinstance(data, dict):
        raise RunbookError(None, "(top level)", "a runbook is a mapping with a `steps:` list")
    unknown = sorted(set(data) - TOP)
    if unknown:
        raise RunbookError(None, unknown[0], f"unknown key; the top level takes {', '.join(sorted(TOP))}")
    if data.get("runbook", 1) != 1:
        raise RunbookError(None, "runbook", "this confctl reads format 1", value=data.get("runbook"))
    variables = data.get("vars") or {}
    if not isinstance(variables, dict) or not all(isinstance(k, str) and refs.PART.fullmatch(k) for k in variables):
        raise RunbookError(None, "vars", "a mapping of NAME: value (NAME: letters, digits, '_' or '-')")
    variables = {**variables, **(overrides or {})}
    for key, value in variables.items():
        if refs.refs_in(value):
            raise RunbookError(None, f"vars.{key}", "a variable cannot hold a reference")
    profiles = data.get("profiles") or {}
    from confctl.core.registry import PROVIDERS

    if not isinstance(profiles, dict):
        raise RunbookError(None, "profiles", "a mapping of VENDOR: PROFILE")
    resolved_profiles = {}
    for vendor, name in profiles.items():
        if vendor not in PROVIDERS:
            raise RunbookError(None, f"profiles.{vendor}", f"not a vendor; one of {', '.join(PROVIDERS)}")
        resolved_profiles[vendor] = _vars_only(None, f"profiles.{vendor}", name, variables)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RunbookError(None, "steps", "a non-empty list of steps")
    book = Runbook(p, text, data.get("name"), variables, resolved_profiles, [])
    seen: dict[str, Step] = {}
    for i, raw in enumerate(raw_steps):
        step = _step(i, raw, book, seen)
        seen[step.id] = step
        step.what = refs.show(step.describe(), variables, {})
        book.steps.append(step)
    return book


def _vars_only(step_id, where: str, value, variables: dict):
    """A value that may use ${vars...} but no step result (profiles: chosen before anything runs)."""
    try:
        for ref in refs.refs_in(value):
            if ref.root != "vars":
                raise refs.RefError(f"${{{ref.text}}}: only ${{vars.NAME}} may be used here")
        return refs.substitute(value, variables, {})
    except refs.RefError as exc:
        raise RunbookError(step_id, where, str(exc), hint="variables come from `vars:` in the file or "
                           "`--var NAME=VALUE`") from None


def _step(i: int, raw, book: Runbook, seen: dict) -> Step:
    if not isinstance(raw, dict):
        raise RunbookError(f"#{i + 1}", "(step)", "a step is a mapping with an `id` and one of " + ", ".join(KINDS))
    sid = raw.get("id")
    label = sid if isinstance(sid, str) and sid else f"#{i + 1}"
    if not isinstance(sid, str) or not STEP_ID.fullmatch(sid):
        raise RunbookError(label, "id", "required: letters, digits, '_' or '-', starting with a letter",
                           value=sid)
    if sid == "vars":
        raise RunbookError(sid, "id", "`vars` is reserved for ${vars.NAME}")
    if sid in seen:
        raise RunbookError(sid, "id", f"duplicate step id (step #{seen[sid].index + 1} has it too)")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise RunbookError(sid, "(kind)", "give exactly one of " + ", ".join(KINDS) +
                           (f"; this step has {', '.join(kinds)}" if kinds else ""))
    kind = kinds[0]
    allowed = COMMON | {kind} | KEYS[kind]
    extra = sorted(set(raw) - allowed)
    if extra:
        raise RunbookError(sid, extra[0], f"unknown key for a {kind} step; it takes {', '.join(sorted(allowed))}")
    step = Step(i, sid, kind, raw, name=raw.get("name"))
    if step.name is not None and not isinstance(step.name, str):
        raise RunbookError(sid, "name", "must be text")
    on_error = raw.get("on_error", "stop")
    if on_error not in ("stop", "continue"):
        raise RunbookError(sid, "on_error", "must be stop or continue", value=on_error)
    step.on_error = on_error
    timeout = raw.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise RunbookError(sid, "timeout", "must be a number of seconds above 0", value=timeout)
    step.timeout = float(timeout) if timeout is not None else None
    _check_refs(step, raw, book, seen)
    if kind == "run":
        _run_step(step, raw, book)
    elif kind == "verb":
        _verb_step(step, raw, book)
    elif kind == "wait":
        _wait_step(step, raw, book)
    else:
        values = raw["set"]
        if not isinstance(values, dict) or not values or not all(
                isinstance(k, str) and refs.PART.fullmatch(k) for k in values):
            raise RunbookError(sid, "set", "a mapping of NAME: value (values may reference earlier steps)")
        step.values = values
    return step


def _check_refs(step: Step, raw: dict, book: Runbook, seen: dict) -> None:
    """Every reference names a variable or an earlier step (and a field a `set` step defines)."""
    fields = []
    for key, value in raw.items():
        if key in ("args", "set") and isinstance(value, dict):
            fields += [(f"{key}.{k}", v) for k, v in value.items()]
        elif key != "id":
            fields.append((key, value))
    for key, value in fields:
        try:
            found = refs.refs_in(value)
        except refs.RefError as exc:
            raise RunbookError(step.id, key, str(exc)) from None
        for ref in found:
            if ref.root == "vars":
                if ref.path[0] not in book.variables:
                    raise RunbookError(step.id, key, f"${{{ref.text}}}: no variable {ref.path[0]!r}",
                                       hint="define it under vars: or pass --var " + ref.path[0] + "=VALUE")
                continue
            if ref.root == step.id:
                raise RunbookError(step.id, key, f"${{{ref.text}}}: a step cannot use its own result")
            if ref.root not in seen:
                raise RunbookError(step.id, key, f"${{{ref.text}}}: no earlier step {ref.root!r}",
                                   hint="a step may use the results of the steps before it")
            target = seen[ref.root]
            if target.kind == "set" and ref.path and ref.path[0] not in target.values:
                raise RunbookError(step.id, key, f"${{{ref.text}}}: step {ref.root!r} sets "
                                   f"{', '.join(target.values)}, not {ref.path[0]!r}")
            if not ref.path and target.kind != "set":
                raise RunbookError(step.id, key, f"${{{ref.text}}}: name a field of the result, e.g. "
                                   f"${{{ref.root}.id}}")


# -- run: a vendor command by its words ----------------------------------------------------------------------
def find_command(words: str):
    """(provider, endpoint, preset) for command words like `pexip participant mute` (aliases included)."""
    from confctl.core.registry import PROVIDERS

    parts = str(words).split()
    if not parts or parts[0] not in PROVIDERS:
        raise LookupError(f"{words!r}: the first word is the vendor: one of {', '.join(PROVIDERS)}")
    provider = PROVIDERS[parts[0]].load()
    path = tuple(parts[1:])
    for ep in provider.endpoints:
        if ep.command_path == path:
            return provider, ep, {}
        for alias in ep.aliases:
            if tuple(alias.command) == path:
                return provider, ep, dict(alias.preset)
    close = sorted(" ".join((parts[0], *ep.command_path)) for ep in provider.endpoints
                   if path and ep.command_path[:1] == path[:1])
    raise LookupError(f"{words!r}: no such command" + (f"; {parts[0]} {path[0]} has: " + ", ".join(
        c.split(" ", 2)[2] for c in close) if close else f" (`confctl {parts[0]} endpoints` lists them)"))


def _coerce(p, value, where: str, sid: str):
    """A YAML value as the parameter's type (what Typer would have parsed from the command line)."""
    import json

    t = p.type
    bad = lambda what: RunbookError(sid, where, f"must be {what}", value=value)  # noqa: E731
    if t == "list":
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, (dict, list)) for v in items):
            raise bad("a list of values")
        return [v if isinstance(v, str) else json.dumps(v) for v in items]
    if t == "json":
        return value if isinstance(value, str) else json.dumps(value)
    if t == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad("true or false")
    if t == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        raise bad("an integer")
    if t == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad("a number") from None
    if isinstance(value, (dict, list)):
        raise bad("text")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def params_of(provider, ep) -> dict:
    from confctl.core.builder import _cmd_params

    return {p.name: p for p in _cmd_params(provider, ep)}


def build_values(provider, ep, preset: dict, args: dict, sid: str) -> dict:
    params = params_of(provider, ep)
    values = dict(preset)
    for name, value in args.items():
        values[name] = None if value is None else _coerce(params[name], value, f"args.{name}", sid)
    return values


def profile_for(vendor: str, name, sid: str, where: str = "profile"):
    """The config Profile a step uses: its own, the runbook's for the vendor, or the vendor's default."""
    from confctl.core import config

    try:
        return config.resolve(vendor, name)
    except ConfctlError as exc:
        raise RunbookError(sid, where, exc.message, hint=exc.hint) from None


def _run_step(step: Step, raw: dict, book: Runbook) -> None:
    sid = step.id
    try:
        provider, ep, preset = find_command(raw["run"])
    except LookupError as exc:
        raise RunbookError(sid, "run", str(exc)) from None
    step.vendor, step.endpoint, step.preset = provider.name, ep, preset
    step.command = " ".join((provider.name, *ep.command_path))
    args = raw.get("args") or {}
    if not isinstance(args, dict):
        raise RunbookError(sid, "args", "a mapping of parameter: value")
    params = params_of(provider, ep)
    for name in args:
        if name not in params or name in preset:
            names = ", ".join(n for n, p in params.items() if not p.hidden and n not in preset) or "none"
            raise RunbookError(sid, f"args.{name}", f"`{step.command}` has no such parameter; it takes: {names}")
    step.args = args
    step.positional = tuple(n for n, p in params.items() if p.is_positional)
    name = raw.get("profile", book.profiles.get(provider.name))
    step.profile = _vars_only(sid, "profile", name, book.variables)
    if step.profile is not None and not isinstance(step.profile, str):
        raise RunbookError(sid, "profile", "must be a profile name")
    profile = profile_for(provider.name, step.profile, sid)
    check_args(step, provider, profile, book.variables, {})


def check_args(step: Step, provider, profile, variables: dict, results: dict) -> None:
    """Validate the args with the endpoint's own rules (build_call: nothing is sent). A value that depends on
    a step not yet run is checked with the parameter's example in its place; its own check comes when it is
    known. A bulk parameter's values are checked one by one, as the command checks them."""
    from confctl.core.builder import build_call

    ep = step.endpoint
    params = params_of(provider, ep)
    deferred, args = set(), {}
    for name, value in step.args.items():
        if refs.pending(value, variables, results):
            deferred.add(name)
            continue
        try:
            args[name] = refs.substitute(value, variables, results)
        except refs.RefError as exc:
            raise RunbookError(step.id, f"args.{name}", str(exc)) from None
    values = build_values(provider, ep, step.preset, args, step.id)
    for name in deferred:
        values[name] = _placeholder(params[name])
    flags = {p.cli_flag: n for n, p in params.items()} | {n.upper(): n for n in params}
    for one in split_bulk(ep, values):
        try:
            build_call(provider, ep, one, profile)
        except ValidationError as exc:
            name = flags.get(exc.field)
            if name in deferred:
                continue
            where = f"args.{name}" if name else exc.field
            raise RunbookError(step.id, where, exc.rule if name else exc.message.split(": ", 1)[-1],
                               hint=exc.hint) from None


def _placeholder(p):
    """A stand-in for a value known only at run time: the parameter's example, else a value of its type."""
    if p.example is not None:
        return p.example
    return {"int": 0, "float": 0.0, "bool": False, "list": ["x"], "json": "{}"}.get(p.type, "x")


def split_bulk(ep, values: dict) -> list[dict]:
    """One set of values per request: a bulk parameter (several session ids) is sent once per value."""
    if ep.bulk and isinstance(values.get(ep.bulk), list):
        return [{**values, ep.bulk: item} for item in values[ep.bulk]] or [values]
    return [values]


# -- verb: a cross-vendor verb on addressed targets ----------------------------------------------------------
def _verb_step(step: Step, raw: dict, book: Runbook) -> None:
    from confctl.core.fleet import targets as addressing
    from confctl.core.fleet.model import CONFERENCE_FIELDS, PARTICIPANT_FIELDS
    from confctl.core.fleet.verbs import VERBS, verb_name
    from confctl.core.fleet.where import compile_all

    sid = step.id
    try:
        step.verb = verb_name(str(raw["verb"]))
    except UsageError as exc:
        raise RunbookError(sid, "verb", exc.message, hint=exc.hint) from None
    kind = VERBS[step.verb][0]
    targets = raw.get("targets")
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        shape = "PROFILE:CONFERENCE/PARTICIPANT or PROFILE:CONFERENCE" if kind == "participant" else \
            "PROFILE:CONFERENCE"
        raise RunbookError(sid, "targets", f"one or more addresses: {shape}")
    step.targets = targets
    where = raw.get("where") or []
    if isinstance(where, str):
        where = [where]
    if not isinstance(where, list):
        raise RunbookError(sid, "where", "a filter or a list of filters, e.g. role==guest")
    step.where = where
    try:
        compile_all(where, PARTICIPANT_FIELDS if kind == "participant" else CONFERENCE_FIELDS)
    except ValidationError as exc:
        raise RunbookError(sid, "where", exc.message) from None
    for i, text in enumerate(targets):
        if refs.pending(text, book.variables, {}) - {"vars"}:
            continue  # a target from a step's result: checked when known
        text = _vars_only(sid, f"targets[{i}]", text, book.variables)
        try:
            address = addressing.parse(text)
        except ValidationError as exc:
            raise RunbookError(sid, f"targets[{i}]", exc.message.split(": ", 1)[-1]) from None
        from confctl.core import config

        entry = config.load()["profiles"].get(address.profile)
        if entry is None:
            raise RunbookError(sid, f"targets[{i}]", f"{text!r}: no profile named {address.profile!r}",
                               hint="`confctl profile list` shows the profiles")
        from confctl.core.registry import PROVIDERS

        spec = PROVIDERS[entry["provider"]]
        if spec.verb(step.verb) is None:
            raise RunbookError(sid, "verb", f"{spec.name} (profile {address.profile!r}) does not support "
                               f"`{step.verb}`", hint="`confctl capabilities` shows which vendor supports what")


# -- wait: conditions over the live model ---------------------------------------------------------------------
def _wait_step(step: Step, raw: dict, book: Runbook) -> None:
    from confctl.core.fleet import wait as waiting
    from confctl.core.fleet.model import PARTICIPANT_FIELDS
    from confctl.core.fleet.where import compile_all

    sid = step.id
    conds = raw["wait"]
    conds = [conds] if isinstance(conds, str) else conds
    if not isinstance(conds, list) or not conds or not all(isinstance(c, str) for c in conds):
        raise RunbookError(sid, "wait", "a condition or a list of conditions: " + waiting.SYNTAX)
    for i, text in enumerate(conds):
        if refs.pending(text, book.variables, {}):
            continue
        try:
            waiting.parse(_vars_only(sid, f"wait[{i}]", text, book.variables))
        except ValidationError as exc:
            raise RunbookError(sid, f"wait[{i}]", exc.rule) from None
    step.conditions = conds
    any_ = raw.get("any", False)
    if not isinstance(any_, bool):
        raise RunbookError(sid, "any", "must be true or false", value=any_)
    step.any_ = any_
    conference = raw.get("conference") or []
    conference = [conference] if isinstance(conference, str) else conference
    if not isinstance(conference, list) or not all(isinstance(c, str) for c in conference):
        raise RunbookError(sid, "conference", "a conference id (or PROFILE:ID), or a list of them")
    step.conference = [_vars_only(sid, "conference", c, book.variables) for c in conference]
    where = raw.get("where") or []
    step.where = [where] if isinstance(where, str) else where
    try:
        compile_all(step.where, PARTICIPANT_FIELDS)
    except ValidationError as exc:
        raise RunbookError(sid, "where", exc.message) from None
    names = raw.get("profile")
    if names is None:
        names = list(book.profiles.values())
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RunbookError(sid, "profile", "the profile(s) to watch: a name or a list (or set profiles: at the "
                           "top of the runbook)")
    step.profile = [_vars_only(sid, "profile", n, book.variables) for n in names]
    from confctl.core import config

    configured = config.load()["profiles"]
    for name in step.profile:
        if name not in configured:
            raise RunbookError(sid, "profile", f"no profile named {name!r}",
                               hint="`confctl profile list` shows the profiles")
    if step.timeout is None:
        step.timeout = WAIT_TIMEOUT
