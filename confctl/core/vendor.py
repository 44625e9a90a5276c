"""What a vendor declares about itself, once: `confctl/vendors/<name>/__init__.py` holds one `VendorSpec`.

The core builds everything vendor-specific from these specs: `profile add/edit` flags, `events follow`
options, `sim serve` mounts and `confctl sim <vendor>` groups, `-o id` keys, redaction and the documented
environment variables. A spec is cheap data: the implementation (the Provider subclass, the simulator, its
helper commands) is named by a lazy "module:attr" reference and imported only when a command needs it, so
`confctl --help` imports no vendor implementation.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping


def load_ref(ref: str) -> Any:
    """Import a "package.module:attr" reference."""
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Field:
    """A profile field. Every field can also come from its environment variable, CONFCTL_<VENDOR>_<FIELD>
    unless `env` says otherwise (DESIGN §4); `profile add/edit` take it as --kebab-name unless `flag` says
    otherwise (the secret field is never a flag: it comes from a prompt or --secret-stdin)."""

    name: str
    help: str
    secret: bool = False
    required: bool = True
    default: str | None = None
    flag: str | None = None
    env: str | None = None
    unless_env: str | None = None  # not needed when this variable is set (e.g. an exported access token)

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class EnvVar:
    """An environment variable the vendor reads besides its profile fields (documented with its help)."""

    name: str
    help: str
    secret: bool = False


@dataclass(frozen=True)
class FollowOption:
    """An option a vendor adds to `events follow` (and to `confctl <vendor> events`). `check`, a lazy
    "module:attr" reference to fn(value) -> None raising a ConfctlError, validates the value before any
    event source starts (exit 2, nothing started)."""

    name: str
    flags: tuple[str, ...]
    help: str
    metavar: str | None = None
    type: type = str
    default: Any = None
    multiple: bool = False
    check: str | None = None

    @property
    def flag(self) -> str:
        return self.flags[0]


@dataclass(frozen=True)
class SimOption:
    """A knob of the vendor's simulator: an attribute of SimConfig (tests set it), and a `confctl sim serve`
    option when `flag` is given. Several vendors may declare the same knob (the first declaration wins)."""

    name: str
    help: str
    type: type = float
    default: Any = None
    flag: str | None = None


@dataclass(frozen=True)
class FollowOptions:
    """What `Provider.follow(profile, options)` gets: the conferences to follow (from -c or the profile),
    the event that tells it to stop, and the values of the follow options its spec declares, by name."""

    conference: tuple[str, ...] = ()
    stop: threading.Event = field(default_factory=threading.Event)
    values: Mapping[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        """The value of one of the vendor's declared follow options (its default when not given)."""
        value = self.values.get(name)
        return default if value is None else value


@dataclass(frozen=True)
class Verb:
    """How a vendor carries out one cross-vendor verb (`confctl mute`, `lock`, ...; docs/model.md). Cheap data,
    so `confctl capabilities` imports no implementation.

    `endpoint`: the id of the endpoint that does it (None: the vendor model's `act()` does it another way);
    `params`: that endpoint's parameter names -> the target's attribute giving the value ("id", "conference",
    "name", or "=literal"); `holds`: (attribute, value) that means the goal already holds (muting someone
    muted is reported "already", nothing sent); `fanout`: a conference verb done as this participant verb on
    each participant (e.g. mute-all on a vendor without a conference-wide mute); `how`: one line for the
    capability matrix."""

    name: str
    how: str
    endpoint: str | None = None
    target: str = "participant"  # or "conference"
    params: Mapping[str, str] = field(default_factory=dict)
    holds: tuple[str, Any] | None = None
    fanout: str | None = None


@dataclass(frozen=True)
class VendorSpec:
    """Everything the core needs to know about one vendor."""

    name: str
    help: str
    provider: str  # "module:attr" of the Provider instance
    fields: tuple[Field, ...]
    env: tuple[EnvVar, ...] = ()
    # Keys a profile may hold beside its fields, each also read from CONFCTL_<VENDOR>_<KEY> (never a secret).
    profile_extras: tuple[str, ...] = ()
    order: int = 100  # place in help and tables (then by name)
    title: str = ""  # how the root help names it (default: the name, capitalised)
    # `events follow`: does -c/--conference apply, its help in `confctl <vendor> events` (or why it does not
    # apply), the options the vendor adds, and an optional plan hook "module:attr" -> fn(profile, options,
    # seen) -> FollowOptions | None, run for each followed profile before anything starts (`seen`: a dict shared
    # by the followed profiles of this vendor; None: nothing more to follow for this profile).
    takes_conference: bool = True
    conference_help: str = "conference id to follow (default: the profile's; repeatable)"
    follow_options: tuple[FollowOption, ...] = ()
    follow_plan: str | None = None
    # The simulator: "module:attr" of create_app(config), of the `confctl sim <vendor>` Typer app, and the
    # (demo, not secret) credentials it accepts, as profile field -> value.
    sim_app: str | None = None
    sim_controls: str | None = None
    sim_credentials: Mapping[str, str] = field(default_factory=dict)
    sim_options: tuple[SimOption, ...] = ()
    # `-o id`: the keys that identify one of this vendor's items; redaction: its secret header, query and
    # body field names.
    id_keys: tuple[str, ...] = ()
    # One view across vendors: "module:attr" of the vendor's VendorModel (confctl.core.fleet.vendor_model),
    # and the cross-vendor verbs it supports (a verb not listed is refused: exit 2 naming the vendor).
    model: str | None = None
    verbs: tuple[Verb, ...] = ()
    secret_headers: tuple[str, ...] = ()
    secret_query: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", self.name.capitalize())

    def env_var(self, field_name: str) -> str:
        declared = next((f.env for f in self.fields if f.name == field_name and f.env), None)
        return declared or f"CONFCTL_{self.name.upper()}_{field_name.upper()}"

    @property
    def secret_field(self) -> Field | None:
        return next((f for f in self.fields if f.secret), None)

    @property
    def module(self) -> str:
        return self.provider.partition(":")[0]

    def verb(self, name: str) -> Verb | None:
        return next((v for v in self.verbs if v.name == name), None)

    def load_model(self):
        """The vendor's VendorModel instance (None when it declares none)."""
        return load_ref(self.model) if self.model else None

    def load(self):
        """The provider implementation (a `confctl.core.provider.Provider`)."""
        return load_ref(self.provider)

    def env_vars(self) -> list[tuple[str, str]]:
        """(variable, help) for each profile field and each extra variable of this vendor."""
        out = [(self.env_var(f.name), f"{self.name}: {f.help}" + ("; secret" if f.secret else ""))
               for f in self.fields]
        return out + [(e.name, f"{self.name}: {e.help}" + ("; secret" if e.secret else "")) for e in self.env]

