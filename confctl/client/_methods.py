"""The library's methods, built from the same `Endpoint` entries as the commands (confctl/vendors/<v>/endpoints.py):
one method per command path (kebab -> snake: `participant layout` -> `client.participant.layout`), positional
parameters where the command has arguments, keyword-only ones where it has options (named as the option:
`--conference` -> `conference=`), the help text as docstring. Calling one runs `build_call` (the same
validation, before anything is sent) and `send_call` (the same name resolvers and `already` rules).

Nothing here imports a vendor: the tables are read from the provider when a client is opened.
"""

from __future__ import annotations

import inspect
import keyword
import os
from dataclasses import dataclass, field
from typing import Any

# Extra keyword arguments some endpoints take beside their parameters (the CLI's --data / --all).
DATA, ALL_PAGES = "data", "all_pages"


@dataclass(frozen=True)
class Arg:
    """One Python argument of a method: the endpoint parameter it fills, or an extra (DATA, ALL_PAGES)."""

    name: str
    param: Any = None  # confctl.core.spec.Param, None for an extra
    positional: bool = False
    required: bool = False
    extra: str | None = None


@dataclass(frozen=True)
class MethodSpec:
    """What one method of a vendor's client does: the endpoint (an alias's preset values fixed) and its
    arguments in signature order."""

    name: str
    path: tuple[str, ...]  # the command path, as the CLI spells it
    endpoint: Any
    args: tuple[Arg, ...]
    preset: dict = field(default_factory=dict)
    help: str = ""
    alias: bool = False  # another command path for the endpoint (a friendly verb), not its own

    @property
    def signature(self) -> inspect.Signature:
        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        for a in self.args:
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD if a.positional else inspect.Parameter.KEYWORD_ONLY
            default = inspect.Parameter.empty if a.required else None
            if a.extra == ALL_PAGES:
                default = False
            params.append(inspect.Parameter(a.name, kind, default=default, annotation=annotation(a)))
        return inspect.Signature(params[1:])

    @property
    def doc(self) -> str:
        ep = self.endpoint
        lines = [self.help or ep.help, "", f"{ep.method} {ep.path}   [{ep.id}]",
                 f"CLI: confctl {ep.provider} {' '.join(self.path)}"]
        described = [a for a in self.args if a.param is not None and a.param.help]
        if described:
            lines += ["", "Args:"] + [f"    {a.name}: {a.param.help}" for a in described]
        if any(a.extra == DATA for a in self.args):
            lines.append(f"    {DATA}: the request body (a dict, or JSON text / @file); arguments override its fields")
        if any(a.extra == ALL_PAGES for a in self.args):
            lines.append(f"    {ALL_PAGES}: follow the cursor through every page and return all the items as one list")
        return "\n".join(lines)


def snake(word: str) -> str:
    name = word.replace("-", "_")
    return name + "_" if keyword.iskeyword(name) else name


def _option_name(p) -> str:
    """An option is named as the CLI option (`--conference` -> conference), else as the parameter."""
    flag = p.cli_flag.split("/")[0]
    name = snake(flag[2:]) if flag.startswith("--") else p.name
    return name if name.isidentifier() else p.name


def method_spec(provider, ep, alias=None) -> MethodSpec:
    from confctl.core.builder import _cmd_params

    preset = dict(alias.preset) if alias else {}
    params = [p for p in _cmd_params(provider, ep) if p.name not in preset]
    def needed(p) -> bool:  # a value must be given (no profile field or default stands in)
        return bool(p.required) and p.profile is None and p.default is None

    positional = [p for p in params if p.is_positional]
    positional.sort(key=lambda p: not needed(p))  # required arguments first, as the command orders them
    args: list[Arg] = []
    taken: set[str] = set()
    for p in positional:
        name = snake(p.name)
        args.append(Arg(name, p, positional=True, required=needed(p)))
        taken.add(name)
    for p in params:
        if p.is_positional:
            continue
        name = _option_name(p)
        if name in taken:
            name = snake(p.name)
        if name in taken:
            raise RuntimeError(f"{ep.id}: two parameters would both be the keyword {name!r}")
        args.append(Arg(name, p, required=needed(p)))
        taken.add(name)
    for extra, wanted in ((DATA, ep.data), (ALL_PAGES, ep.paginate is not None)):
        if wanted:
            name = extra if extra not in taken else extra + "_"
            args.append(Arg(name, extra=extra))
            taken.add(name)
    path = alias.command if alias else ep.command_path
    return MethodSpec(snake(path[-1]), tuple(path), ep, tuple(args), preset,
                      (alias.help if alias and alias.help else ep.help), alias is not None)


@dataclass
class Group:
    """A node of a vendor's command tree: methods by Python name, and sub-groups."""

    path: tuple[str, ...] = ()
    methods: dict[str, MethodSpec] = field(default_factory=dict)
    groups: dict[str, "Group"] = field(default_factory=dict)
    help: str = ""


# provider name -> its tree (built once per process: the tables never change while it runs)
_TREES: dict[str, Group] = {}

# What the client object itself offers; a vendor group of one of these names would be hidden by it.
RESERVED = frozenset({"close", "call_endpoint", "request", "events", "endpoints", "participants", "conferences", "vendor",
                      "profile", "connection", "mute", "unmute", "kick", "disconnect", "spotlight", "unspotlight",
                      "mute_all", "unmute_all", "lock", "unlock", "perform"})


def tree(provider) -> Group:
    found = _TREES.get(provider.name)
    if found is not None:
        return found
    root = Group(help=provider.info.help)
    for ep in provider.endpoints:
        for alias in (None, *ep.aliases):
            spec = method_spec(provider, ep, alias)
            node = root
            for word in spec.path[:-1]:
                key = snake(word)
                if key in node.methods:
                    raise RuntimeError(f"{provider.name}: `{' '.join(spec.path)}` is under a command of its own")
                if key not in node.groups:
                    sub = node.path + (word,)
                    node.groups[key] = Group(sub, help=provider.group_help.get(" ".join(sub), ""))
                node = node.groups[key]
            if spec.name in node.methods or spec.name in node.groups:
                raise RuntimeError(f"{provider.name}: `{' '.join(spec.path)}` is declared twice")
            node.methods[spec.name] = spec
    clash = (set(root.groups) | set(root.methods)) & RESERVED
    if clash:
        raise RuntimeError(f"{provider.name}: command(s) {sorted(clash)} would hide the client's own methods")
    _TREES[provider.name] = root
    return root


def walk(group: Group):
    """Every MethodSpec of a tree."""
    yield from group.methods.values()
    for sub in group.groups.values():
        yield from walk(sub)


# -- typing: what an argument takes (used for the runtime signature and the generated stubs) ------------------
def _choices(p) -> tuple[str, ...]:
    from confctl.core.builder import param_choices

    return param_choices(p)


def annotation(a: Arg, b: str = "") -> str:
    """The type of an argument as source text. `b`: the prefix of builtin names ("builtins." in the stubs,
    where a method named `list` would otherwise shadow the type)."""
    if a.extra == DATA:
        return f"{b}dict[{b}str, Any] | {b}list[Any] | {b}str | None"
    if a.extra == ALL_PAGES:
        return f"{b}bool"
    p = a.param
    fixed = _choices(p)
    base = {"str": f"{b}str", "int": f"{b}int", "float": f"{b}float", "bool": f"{b}bool", "json": "Any",
            "file": f"{b}str | os.PathLike[{b}str]", "list": f"{b}str | Sequence[{b}str]"}.get(p.type, f"{b}str")
    if fixed and p.type in ("str", "list"):
        lit = "Literal[" + ", ".join(repr(c) for c in fixed) + "]"
        base = lit if p.type == "str" else f"{lit} | Sequence[{lit}]"
    if a.required or p.type == "json":
        return base
    return f"{base} | None"


# -- calling: Python values -> the strings and lists build_call expects -----------------------------------------
def _field(p) -> str:
    return p.name.upper() if p.is_positional else p.cli_flag


def coerce(p, value: Any) -> Any:
    """A Python value for one parameter, checked against its declared type (ValidationError, nothing sent)."""
    import json

    from confctl.core.errors import ValidationError

    if value is None:
        return None
    where = _field(p)

    def text(v):
        if isinstance(v, str):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return str(v)
        raise ValidationError(where, f"must be a string (got {type(v).__name__})")

    if p.type == "bool":
        if not isinstance(value, bool):
            raise ValidationError(where, f"must be True or False (got {type(value).__name__})")
        return value
    if p.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(where, f"must be an integer (got {type(value).__name__})")
        return value
    if p.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(where, f"must be a number (got {type(value).__name__})")
        return float(value)
    if p.type == "list":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValidationError(where, f"must be a string or a list of strings (got {type(value).__name__})")
        return [text(v) for v in items]
    if p.type == "json":
        return value if isinstance(value, str) else json.dumps(value)
    if p.type == "file":
        return os.fspath(value) if isinstance(value, os.PathLike) else text(value)
    return text(value)
