"""The declarative endpoint entry: one `Endpoint` per inventory row, turned into a command by `builder`.

An entry says what the vendor's docs say — method, path template, parameters with their types, validation
and help, and example values — and nothing about Typer or httpx.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

# Parameter locations on the wire.
PATH, QUERY, BODY, HEADER, LOCAL = "path", "query", "body", "header", "local"


@dataclass(frozen=True)
class Param:
    """One input of an endpoint.

    name:       Python identifier; the CLI option is `--kebab-name` unless `flag` says otherwise, and the wire
                name is `name` unless `wire` says otherwise (a dotted wire name nests in the body: "a.b").
    where:      path | query | body | header | local (consumed by a handler, never sent as is).
    type:       str | int | float | bool | list (repeatable option / variadic argument) | json (parsed JSON
                text, `@file` or `-`) | file (read as text: path or `-`).
    positional: a CLI argument rather than an option (path parameters are positional unless they have a
                profile default).
    profile:    take the default from this profile field (e.g. the Pexip conference alias).
    choices:    allowed values, validated and shown in help.
    rule:       a `confctl.core.validate` rule, run after type conversion.
    example:    the value used in the generated example argv (required params must have one).
    resolve:    name of a provider resolver that turns user input into the wire value (e.g. a participant
                display name into its UUID); runs after validation of the raw input is skipped.
    """

    name: str
    where: str = BODY
    type: str = "str"
    help: str = ""
    required: bool = False
    positional: bool | None = None
    flag: str | None = None
    short: str | None = None
    wire: str | None = None
    default: Any = None
    choices: tuple[str, ...] = ()
    rule: Callable | None = None
    example: Any = None
    profile: str | None = None
    metavar: str | None = None
    resolve: str | None = None
    hidden: bool = False

    @property
    def wire_name(self) -> str:
        return self.wire or self.name

    @property
    def is_positional(self) -> bool:
        if self.positional is not None:
            return self.positional
        return self.where == PATH and self.profile is None

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Paginate:
    """Cursor pagination: the request parameter, the response key holding the next cursor, and the items."""

    items: str
    cursor_param: str = "cursor"
    cursor_key: str = "cursor"


@dataclass(frozen=True)
class Alias:
    """Another command path for the same request (a friendly verb), optionally with preset values."""

    command: tuple[str, ...]
    preset: dict = field(default_factory=dict)
    help: str | None = None


@dataclass(frozen=True)
class Already:
    """An error answer meaning the goal already holds (idempotent success, exit 0): the HTTP status and a
    regular expression the server's error message matches; `note` is what confctl reports."""

    status: int
    match: str
    note: str


@dataclass(frozen=True)
class Endpoint:
    """One inventory row.

    id:        the inventory id, e.g. "gateway.room.play"; the command path defaults to its parts after the
               provider ("room", "play").
    items:     response key holding a list (tables, jsonl and `-o id` print its items).
    id_field:  the identifier printed by `-o id`.
    bulk:      name of a positional list parameter: the request is sent once per value, concurrently
               (bounded), with `--from-file FILE|-`; exit 8 when some fail.
    confirm:   destructive: ask before sending (skipped with --yes; refused without a TTY).
    handler:   callable(call) -> result, replacing the plain send for workflows built on this request.
    auth:      which credentials the provider uses ("default", "none", or a provider-specific kind).
    example:   explicit example argv after the command path; default: built from the params' examples.
    already:   `Already` rules: error answers that mean "nothing to do" (e.g. 409 "already muted").
    check:     callable(call) -> None run once the call is built, before any prompt or request (name look-ups
               included): validation that spans several options; raises ValidationError (exit 2).
    """

    id: str
    method: str
    path: str
    help: str
    params: tuple[Param, ...] = ()
    command: tuple[str, ...] = ()
    aliases: tuple[Alias, ...] = ()
    body: dict = field(default_factory=dict)
    data: bool = False
    items: str | None = None
    id_field: str | None = None
    columns: tuple[str, ...] = ()
    paginate: Paginate | None = None
    bulk: str | None = None
    confirm: bool = False
    idempotent: bool | None = None
    binary: bool = False
    accept: str | None = None
    form: bool = False
    auth: str = "default"
    handler: Callable | None = None
    example: tuple[str, ...] | None = None
    epilog: str | None = None
    hidden: bool = False
    already: tuple[Already, ...] = ()
    check: Callable | None = None

    @property
    def provider(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def command_path(self) -> tuple[str, ...]:
        return self.command or tuple(self.id.split(".")[1:])

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")

    @property
    def mutating(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")

    def asks_first(self, profile) -> bool:
        """Destructive endpoints, and any change on a protected profile, are confirmed first (--yes)."""
        return self.confirm or (profile.protected and self.mutating)

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)
