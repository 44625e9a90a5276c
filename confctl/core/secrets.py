"""Secret storage: the OS keyring (service "confctl"), an opt-in 0600 secrets file, or the environment.

The keyring is only ever touched through `_with_timeout`: on a headless host a keyring backend can block
on a D-Bus call forever, and a cron job must never hang. A keyring that hangs, fails or is locked is an error
that names the keyring, the profile and the field (exit 3) — never "no secret", which would silently turn a
PIN-protected Pexip join into a guest join.

The secrets file is refused, like ssh refuses a private key, when its mode lets the group or others read it.
"""

from __future__ import annotations

import os
import threading

from confctl.core.cachefile import _kind, bad, config_dir, key_path, locked, read_toml, write_private
from confctl.core.errors import AuthError, ConfigError

SERVICE = "confctl"
KEYRING_TIMEOUT = 3.0
_probe: bool | None = None
_problem: str | None = None


class KeyringError(AuthError):
    """The OS keyring did not answer, failed or is locked (exit 3, like missing credentials)."""


class UnsafeSecretsFile(AuthError):
    """The secrets file is readable by the group or others: refused (exit 3)."""


def keyring_timeout() -> float:
    try:
        return max(0.1, float(os.environ.get("CONFCTL_KEYRING_TIMEOUT") or KEYRING_TIMEOUT))
    except ValueError:
        raise ConfigError("CONFCTL_KEYRING_TIMEOUT: must be a number of seconds") from None


def _with_timeout(fn, *args, timeout: float | None = None):
    timeout = keyring_timeout() if timeout is None else timeout
    result: dict = {}

    def run():
        try:
            result["value"] = fn(*args)
        except Exception as exc:  # any backend failure means "not usable"
            result["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"the OS keyring did not answer within {timeout:g} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _reason(exc: BaseException, secret: str | None = None) -> str:
    """What went wrong with the keyring, in words (never the secret)."""
    from keyring import errors

    if isinstance(exc, TimeoutError):
        text = f"did not answer within {keyring_timeout():g} s"
    elif isinstance(exc, errors.KeyringLocked):
        text = "is locked"
    elif isinstance(exc, errors.NoKeyringError):
        text = "is not available (no keyring backend on this host)"
    else:
        text = f"failed ({type(exc).__name__}: {exc})" if str(exc) else f"failed ({type(exc).__name__})"
    if secret:
        text = text.replace(secret, "<redacted>")
    return text


def keyring_usable() -> bool:
    """Is there a real keyring backend that answers in time? Probed once per process."""
    global _probe, _problem
    if _probe is None:
        def probe():
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
            if isinstance(backend, fail.Keyring) or type(backend).__name__ == "Keyring" and \
                    type(backend).__module__.endswith("null"):
                return False
            backend.get_password(SERVICE, "__probe__")
            return True

        try:
            _probe = bool(_with_timeout(probe))
            _problem = None if _probe else "is not available (no keyring backend on this host)"
        except Exception as exc:
            _probe, _problem = False, _reason(exc)
    return _probe


def keyring_problem() -> str | None:
    """Why the keyring is not usable ("is locked", "did not answer within 3 s", ...), or None."""
    keyring_usable()
    return _problem


def _key(profile: str, field: str) -> str:
    return f"{profile}:{field}"


def _file_path():
    return config_dir() / "secrets.toml"


def file_mode() -> int | None:
    """The secrets file's permission bits (None when there is none)."""
    try:
        return os.stat(_file_path()).st_mode & 0o777
    except (FileNotFoundError, NotADirectoryError):
        return None


def _unsafe(mode: int | None) -> bool:
    return mode is not None and os.name != "nt" and bool(mode & 0o077)


def _file_load() -> dict:
    path = _file_path()
    data = read_toml(path)
    if data is None:
        return {}
    mode = file_mode()
    if _unsafe(mode):
        raise UnsafeSecretsFile(f"{path} has mode {mode:04o}: readable by others, so confctl refuses to use it",
                                hint=f"chmod 600 {path}")
    for profile, fields in data.items():
        if not isinstance(fields, dict):
            raise bad(path, key_path(profile), f"must be a table of field = secret (got {_kind(fields)})")
        for name, value in fields.items():
            if not isinstance(value, str):
                raise bad(path, key_path(profile, name), f"must be a string (got {_kind(value)})")
    return data


def _file_update(change) -> None:
    """A locked read-modify-write of the secrets file."""
    import tomli_w  # lazy: only a write needs it

    with locked():
        data = _file_load()
        change(data)
        write_private(_file_path(), tomli_w.dumps(data).encode())


def _keyring_error(action: str, profile: str, field: str, reason: str, env: str | None) -> KeyringError:
    hint = f"unlock or repair the keyring{f', or set {env} for this run' if env else ''}, or move the secret to the " \
           f"secrets file: `confctl profile edit {profile} --secret-store file --secret-stdin`"
    return KeyringError(f"cannot {action} the {field} of profile {profile!r}: the OS keyring {reason}", hint=hint)


def get(store: str, profile: str, field: str, *, env: str | None = None) -> str | None:
    """The stored secret, or None when the store holds none. A keyring that cannot answer raises KeyringError."""
    if store == "keyring":
        if not keyring_usable():
            raise _keyring_error("read", profile, field, keyring_problem() or "is not usable", env)
        import keyring

        try:
            return _with_timeout(keyring.get_password, SERVICE, _key(profile, field))
        except Exception as exc:
            raise _keyring_error("read", profile, field, _reason(exc), env) from None
    if store == "file":
        return _file_load().get(profile, {}).get(field)
    return None


def put(store: str, profile: str, field: str, value: str) -> None:
    if store == "keyring":
        if not keyring_usable():
            raise ConfigError(
                f"no usable OS keyring: the keyring {keyring_problem()}",
                hint="choose --secret-store file (a 0600 file) or env (CONFCTL_<PROVIDER>_<FIELD>)",
            )
        import keyring

        try:
            _with_timeout(keyring.set_password, SERVICE, _key(profile, field), value)
        except Exception as exc:
            raise _keyring_error("store", profile, field, _reason(exc, value), None) from None
    elif store == "file":
        _file_update(lambda data: data.setdefault(profile, {}).__setitem__(field, value))
    elif store == "env":
        raise ConfigError("secret store 'env' keeps no secret; set the environment variable instead")


def delete(store: str, profile: str, field: str) -> None:
    """Delete a stored secret. A keyring that cannot confirm the deletion raises KeyringError: the secret may
    still be there."""
    if store == "keyring":
        entry = f"service {SERVICE}, entry {_key(profile, field)}"
        if not keyring_usable():
            raise KeyringError(f"the {field} of profile {profile!r} could not be deleted: the OS keyring "
                               f"{keyring_problem()}; the secret may remain in it ({entry})",
                               hint=f"delete it when the keyring works: keyring del {SERVICE} {_key(profile, field)}")
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            _with_timeout(keyring.delete_password, SERVICE, _key(profile, field))
        except PasswordDeleteError:
            pass  # there was none
        except Exception as exc:
            raise KeyringError(f"the {field} of profile {profile!r} could not be deleted: the OS keyring "
                               f"{_reason(exc)}; the secret may remain in it ({entry})",
                               hint=f"delete it when the keyring works: keyring del {SERVICE} "
                                    f"{_key(profile, field)}") from None
    elif store == "file":
        if profile not in _file_load():
            return

        def drop(data):
            if profile in data:
                data[profile].pop(field, None)
                if not data[profile]:
                    del data[profile]

        _file_update(drop)


def describe(store: str, profile: str, field: str, *, env: str | None = None) -> str:
    """Where a secret lives, for `profile show` — never the secret itself, and never an exception."""
    if store == "env":
        return f"environment ({env} not set)" if env else "environment (not set)"
    if store == "keyring":
        where = f"OS keyring (service {SERVICE})"
        if not keyring_usable():
            return f"{where} — unusable: the keyring {keyring_problem()}"
    else:
        path = _file_path()
        mode = file_mode()
        where = f"secrets file {path}" + (f" (mode {mode:04o})" if mode is not None else "")
        if _unsafe(mode):
            return f"{where} — refused: readable by others; run chmod 600 {path}"
    try:
        present = get(store, profile, field) is not None
    except (ConfigError, AuthError) as exc:
        return f"{where} — unreadable: {exc.message}"
    return where if present else where + " — not set"
