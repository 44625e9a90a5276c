"""Profiles in <user config dir>/confctl/config.toml (DESIGN §4), overlaid by CONFCTL_<PROVIDER>_<FIELD>.

File layout:
    [defaults]            provider -> default profile name
    [profiles.NAME]       provider, fields, protected, secret_store, ca_bundle
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from confctl.errors import AuthError, ConfigError
from confctl.providers import PROVIDERS, ProviderInfo

SECRET_STORES = ("keyring", "file", "env")


def config_dir() -> Path:
    override = os.environ.get("CONFCTL_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("confctl", appauthor=False))


def cache_dir() -> Path:
    """Token caches live beside the config (mode 0700 folder, 0600 files)."""
    return config_dir() / "cache"


def config_path() -> Path:
    return config_dir() / "config.toml"


def load() -> dict:
    path = config_path()
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {"defaults": {}, "profiles": {}}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    data.setdefault("defaults", {})
    data.setdefault("profiles", {})
    return data


def write_private(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename) with mode 0600, creating the folder 0700."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save(data: dict) -> None:
    import tomli_w

    write_private(config_path(), tomli_w.dumps(data).encode())


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

    def get(self, name: str, default=None):
        env = os.environ.get(self.provider.env_var(name))
        if env:
            return env
        value = self.values.get(name)
        if value not in (None, ""):
            return value
        fdef = next((f for f in self.provider.fields if f.name == name), None)
        if fdef and fdef.default is not None:
            return fdef.default
        return default

    def require(self, name: str) -> str:
        value = self.secret(name) if self._is_secret(name) else self.get(name)
        if value in (None, ""):
            var = self.provider.env_var(name)
            where = f"profile {self.name!r}" if self.from_file else "the environment"
            raise AuthError(
                f"{self.provider.name} {name.replace('_', ' ')} is not set in {where}",
                hint=f"set {var}, or run `confctl profile add --provider {self.provider.name}`",
            ) if self._is_secret(name) else ConfigError(
                f"{self.provider.name} {name.replace('_', ' ')} is not set in {where}",
                hint=f"set {var}, or `confctl profile edit {self.name} --{name.replace('_', '-')} ...`",
            )
        return value

    def _is_secret(self, name: str) -> bool:
        return any(f.name == name and f.secret for f in self.provider.fields)

    def secret(self, name: str) -> str | None:
        env = os.environ.get(self.provider.env_var(name))
        if env:
            return env
        if not self.from_file:
            return None
        from confctl import secrets

        return secrets.get(self.secret_store, self.name, name)

    def secret_location(self, name: str) -> str:
        if os.environ.get(self.provider.env_var(name)):
            return f"environment ({self.provider.env_var(name)})"
        from confctl import secrets

        return secrets.describe(self.secret_store, self.name, name)


def resolve(provider: str, name: str | None) -> Profile:
    """The profile a `provider` command uses: --profile / CONFCTL_PROFILE, else the provider's default,
    else an environment-only profile (every field from CONFCTL_<PROVIDER>_<FIELD>)."""
    info = PROVIDERS[provider]
    data = load()
    if name is None:
        name = data["defaults"].get(provider)
    if name is None:
        return Profile("env", info)
    entry = data["profiles"].get(name)
    if entry is None:
        raise ConfigError(f"no profile named {name!r}", hint="`confctl profile list` shows the profiles")
    if entry.get("provider") != provider:
        raise ConfigError(f"profile {name!r} is a {entry.get('provider')} profile, not {provider}")
    return from_entry(name, entry)


def from_entry(name: str, entry: dict) -> Profile:
    info = PROVIDERS[entry["provider"]]
    values = {f.name: entry[f.name] for f in info.fields if f.name in entry and not f.secret}
    return Profile(
        name,
        info,
        values,
        protected=bool(entry.get("protected", False)),
        secret_store=entry.get("secret_store", "keyring"),
        ca_bundle=entry.get("ca_bundle"),
        from_file=True,
    )
