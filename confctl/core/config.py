"""Profiles in <user config dir>/confctl/config.toml (DESIGN §4), overlaid by CONFCTL_<PROVIDER>_<FIELD>.

File layout:
    [defaults]            provider -> default profile name
    [profiles.NAME]       provider, fields, protected, secret_store, ca_bundle

Precedence for every value (DESIGN §3, as aws and gh): a command-line flag, then the environment
(CONFCTL_<PROVIDER>_<FIELD>), then the profile, then the built-in default. `Profile.source` says which one won.

Every read-modify-write of config.toml (and of secrets.toml) runs under one inter-process lock (`update()`),
so concurrent `confctl profile add|edit|remove|use` never lose each other's changes.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# The files and the lock under the config folder live in cachefile (secrets.py shares them); re-exported here.
from confctl.core.cachefile import (LOCK_TIMEOUT, _kind, _not_a_folder, bad, config_dir, ensure_dir,  # noqa: F401
                                    key_path, locked, read_toml, write_private)
from confctl.core import secrets
from confctl.core.errors import AuthError, ConfigError
from confctl.core.registry import PROVIDERS, ProviderInfo
from confctl.core.validate import BASE_URL_RULE, is_base_url

SECRET_STORES = ("keyring", "file", "env")
PROFILE_KEYS = ("provider", "protected", "secret_store", "ca_bundle")

PRECEDENCE = ("Precedence for every profile value: a command-line flag, then the environment "
              "(CONFCTL_<PROVIDER>_<FIELD>), then the profile, then the built-in default. CONFCTL_PROFILE selects "
              "the profile of its own provider only; the other providers keep their default profiles.")


def cache_dir() -> Path:
    """Token caches live beside the config: the folder (and its missing parents) is created 0700, files 0600."""
    return ensure_dir(config_dir() / "cache")


def config_path() -> Path:
    return config_dir() / "config.toml"


# -- reading and checking ---------------------------------------------------------------------------------
def check(data: dict, path: Path) -> dict:
    """Validate the whole of config.toml against its schema; the first problem is a ConfigError naming the
    file and the key."""
    for key in data:
        if key not in ("defaults", "profiles"):
            raise bad(path, key_path(key), "unknown key (the file has [defaults] and [profiles.NAME] tables)")
    defaults = data.setdefault("defaults", {})
    profiles = data.setdefault("profiles", {})
    if not isinstance(defaults, dict):
        raise bad(path, "defaults", f"must be a table of provider = profile name (got {_kind(defaults)})")
    if not isinstance(profiles, dict):
        raise bad(path, "profiles", f"must be a table of [profiles.NAME] tables (got {_kind(profiles)})")
    for provider, name in defaults.items():
        if provider not in PROVIDERS:
            raise bad(path, key_path("defaults", provider), f"not a provider (one of {', '.join(PROVIDERS)})")
        if not isinstance(name, str):
            raise bad(path, key_path("defaults", provider), f"must be a profile name (got {_kind(name)})")
    for name, entry in profiles.items():
        check_entry(name, entry, path)
    return data


def check_entry(name: str, entry, path: Path) -> None:
    here = key_path("profiles", name)
    if not isinstance(entry, dict):
        raise bad(path, here, f"must be a table (got {_kind(entry)})")
    provider = entry.get("provider")
    if provider is None:
        raise bad(path, here, f"missing key provider (one of {', '.join(PROVIDERS)})")
    if not isinstance(provider, str):
        raise bad(path, key_path("profiles", name, "provider"), f"must be a string (got {_kind(provider)})")
    if provider not in PROVIDERS:
        raise bad(path, key_path("profiles", name, "provider"),
                  f"unknown provider {provider!r} (one of {', '.join(PROVIDERS)})")
    info = PROVIDERS[provider]
    plain = [f.name for f in info.fields if not f.secret] + list(info.profile_extras)
    for key, value in entry.items():
        where = key_path("profiles", name, key)
        if key == "resume_timeout":
            try:
                ok = not isinstance(value, bool) and float(value) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise bad(path, where, f"must be a positive number of seconds (got {value!r})")
        elif key in plain or key in ("ca_bundle", "secret_store"):
            if not isinstance(value, str):
                raise bad(path, where, f"must be a string (got {_kind(value)})")
            if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
                raise bad(path, where, "contains a control character (CR, LF, NUL ...)")
        if key == "url" and not is_base_url(value):
            raise bad(path, where, f"{BASE_URL_RULE} (got {value!r})")
        elif key == "secret_store" and value not in SECRET_STORES:
            raise bad(path, where, f"must be one of {', '.join(SECRET_STORES)} (got {value!r})")
        elif key == "protected" and not isinstance(value, bool):
            raise bad(path, where, f"must be true or false (got {_kind(value)})")
        elif info.secret_field is not None and key == info.secret_field.name:
            raise ConfigError(f"{path}: {where}: a secret does not belong in config.toml",
                              hint=f"remove it from {path}, then `confctl profile edit {name} --secret-stdin`")
        elif key not in plain and key not in PROFILE_KEYS:
            raise bad(path, where, f"unknown key for a {provider} profile (keys: "
                                   f"{', '.join(plain + list(PROFILE_KEYS))})")


def load() -> dict:
    path = config_path()
    data = read_toml(path)
    if data is None:
        if config_dir().exists() and not config_dir().is_dir():
            raise _not_a_folder(config_dir())
        return {"defaults": {}, "profiles": {}}
    return check(data, path)


# -- writing ----------------------------------------------------------------------------------------------
def save(data: dict) -> None:
    import tomli_w

    path = config_path()
    try:
        write_private(path, tomli_w.dumps(data).encode())
    except OSError as exc:  # the old file is still whole: the new one is renamed over it only when complete
        raise ConfigError(f"{path}: cannot write: {exc.strerror or exc}") from None


@contextmanager
def update():
    """One locked read-modify-write cycle of config.toml: yields the freshly read data, saved when the block
    ends without an exception."""
    with locked():
        data = load()
        yield data
        save(data)


# -- resolved profiles ------------------------------------------------------------------------------------
_warned: set[tuple[str, str]] = set()
_cleaned: dict[tuple[str, str], str] = {}


def _clean(label: str, value: str | None) -> str | None:
    """A value bound for a header: one trailing line ending is dropped (warned about once), any other control
    character is exit 2 naming `label` (the variable, or the profile and field) without echoing the value."""
    if not value:
        return value
    key = (label, value)
    if key not in _cleaned:
        from confctl.core import output
        from confctl.core.redact import clean_secret

        _cleaned[key] = clean_secret(label, value, warn=output.warn)
    return _cleaned[key]


@dataclass
class Profile:
    """A resolved profile: file values overlaid by the environment. Secrets are fetched on demand."""

    name: str
    provider: ProviderInfo
    values: dict = field(default_factory=dict)
    protected: bool = False
    secret_store: str = "env"
    ca_bundle: str | None = None
    from_file: bool = False
    chosen_by: str = "default"  # "--profile", "CONFCTL_PROFILE", "default" or "environment"

    def _env(self, name: str) -> str | None:
        var = self.provider.env_var(name)
        return _clean(var, os.environ.get(var)) or None

    def get(self, name: str, default=None):
        env = self._env(name)
        if env:
            own = self.values.get(name)
            if own not in (None, "", env) and self.chosen_by in ("--profile", "CONFCTL_PROFILE") and (self.name, name) not in _warned:
                _warned.add((self.name, name))  # an explicit profile overridden by the environment: say so once
                from confctl.core import output

                output.warn(f"{self.provider.env_var(name)} overrides the {name} of profile {self.name!r}")
            return env
        value = self.values.get(name)
        if value not in (None, ""):
            return value
        fdef = next((f for f in self.provider.fields if f.name == name), None)
        if fdef and fdef.default is not None:
            return fdef.default
        return default

    def source(self, name: str) -> str:
        """Where the value of a field comes from: `environment (VAR)`, `profile NAME`, `default` or `not set`."""
        if self._env(name):
            return f"environment ({self.provider.env_var(name)})"
        if self._is_secret(name):
            return f"profile {self.name!r}" if self.from_file else "not set"
        if self.values.get(name) not in (None, ""):
            return f"profile {self.name!r}"
        fdef = next((f for f in self.provider.fields if f.name == name), None)
        return "default" if fdef and fdef.default is not None else "not set"

    def origin(self, name: str) -> str:
        """Words for an error or hint about a value: the variable when it came from the environment."""
        label = name.replace("_", " ")
        if self._env(name):
            return self.provider.env_var(name)
        if self.from_file and self.values.get(name) not in (None, ""):
            return f"the {label} of profile {self.name!r}"
        return f"the default {label}" if self.source(name) == "default" else f"the {label}"

    def require(self, name: str) -> str:
        secret = self._is_secret(name)
        value = self.secret(name) if secret else self.get(name)
        label = f"{self.provider.name} {name.replace('_', ' ')}"
        var = self.provider.env_var(name)
        if value in (None, ""):
            if self.from_file:
                where = f"profile {self.name!r}"
                fix = (f"`confctl profile edit {self.name} --secret-stdin`" if secret
                       else f"`confctl profile edit {self.name} --{name.replace('_', '-')} VALUE`")
            else:
                where = "the environment (no profile selected)"
                fix = f"`confctl profile add NAME --provider {self.provider.name}`"
            cls = AuthError if secret else ConfigError
            raise cls(f"{label} is not set in {where}", hint=f"set {var}, or {fix}")
        if name == "url" and not is_base_url(value):
            raise ConfigError(f"{self.origin('url')}: {BASE_URL_RULE} (got {value!r})")
        return value

    def _is_secret(self, name: str) -> bool:
        return any(f.name == name and f.secret for f in self.provider.fields)

    def secret(self, name: str) -> str | None:
        """The secret from the environment, else from the profile's store. A store that cannot answer (a hung,
        failing or locked keyring, an unsafe secrets file) raises: never treat it as "no secret"."""
        env = self._env(name)
        if env:
            return env
        if not self.from_file:
            return None
        value = secrets.get(self.secret_store, self.name, name, env=self.provider.env_var(name))
        return _clean(f"the {name} of profile {self.name!r}", value)

    def secret_location(self, name: str) -> str:
        var = self.provider.env_var(name)
        if self._env(name):
            return f"environment ({var})"
        if not self.from_file:
            return f"environment ({var} not set)"
        return secrets.describe(self.secret_store, self.name, name, env=var)


def no_profile(name: str) -> ConfigError:
    """The one error for a profile name that config.toml does not hold."""
    return ConfigError(f"no profile named {name!r}", hint="`confctl profile list` shows the profiles")


def resolve(provider: str, name: str | None) -> Profile:
    """The profile a `provider` command uses: --profile NAME; else CONFCTL_PROFILE when it names a profile of
    this provider; else the provider's default profile; else an environment-only profile (every field from
    CONFCTL_<PROVIDER>_<FIELD>)."""
    info = PROVIDERS[provider]
    data = load()
    path = config_path()
    chosen_by = "--profile"
    if name is None:
        wanted = os.environ.get("CONFCTL_PROFILE") or None
        if wanted is not None:
            entry = data["profiles"].get(wanted)
            if entry is None:
                raise ConfigError(f"CONFCTL_PROFILE: no profile named {wanted!r}",
                                  hint="`confctl profile list` shows the profiles; unset CONFCTL_PROFILE to use the "
                                       "default profiles")
            if entry["provider"] == provider:  # another provider's profile: this one keeps its default
                name, chosen_by = wanted, "CONFCTL_PROFILE"
    if name is None:
        name, chosen_by = data["defaults"].get(provider), "default"
        if name is None:
            return Profile("env", info, chosen_by="environment")
        entry = data["profiles"].get(name)
        if entry is None or entry["provider"] != provider:
            what = "no profile" if entry is None else f"a {entry['provider']} profile"
            raise ConfigError(f"{path}: {key_path('defaults', provider)}: names {what} {name!r}",
                              hint=f"`confctl profile use NAME` makes another {provider} profile the default")
        return from_entry(name, entry, chosen_by)
    entry = data["profiles"].get(name)
    if entry is None:
        raise no_profile(name)
    if entry["provider"] != provider:
        raise ConfigError(f"profile {name!r} is a {entry['provider']} profile; `confctl {provider}` needs a "
                          f"{provider} profile", hint=f"`confctl profile list` shows the {provider} profiles")
    return from_entry(name, entry, chosen_by)


def from_entry(name: str, entry: dict, chosen_by: str = "--profile") -> Profile:
    info = PROVIDERS[entry["provider"]]
    keys = [f.name for f in info.fields if not f.secret] + list(info.profile_extras)  # spec's extras
    values = {k: entry[k] for k in keys if k in entry}
    return Profile(
        name,
        info,
        values,
        protected=bool(entry.get("protected", False)),
        secret_store=entry.get("secret_store", "keyring"),
        ca_bundle=entry.get("ca_bundle"),
        from_file=True,
        chosen_by=chosen_by,
    )
