"""Secret storage: the OS keyring (service "confctl"), an opt-in 0600 secrets file, or the environment.

The keyring is only ever touched through `_with_timeout`: on a headless host a keyring backend can block
on a D-Bus call forever, and a cron job must never hang.
"""

from __future__ import annotations

import threading
import tomllib

from confctl.errors import ConfigError

SERVICE = "confctl"
KEYRING_TIMEOUT = 3.0
_probe: bool | None = None


def _with_timeout(fn, *args, timeout: float = KEYRING_TIMEOUT):
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


def keyring_usable() -> bool:
    """Is there a real keyring backend that answers in time? Probed once per process."""
    global _probe
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
        except Exception:
            _probe = False
    return _probe


def _key(profile: str, field: str) -> str:
    return f"{profile}:{field}"


def _file_path():
    from confctl.config import config_dir

    return config_dir() / "secrets.toml"


def _file_load() -> dict:
    try:
        with open(_file_path(), "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}


def _file_save(data: dict) -> None:
    import tomli_w

    from confctl.config import write_private

    write_private(_file_path(), tomli_w.dumps(data).encode())


def get(store: str, profile: str, field: str) -> str | None:
    if store == "keyring":
        if not keyring_usable():
            return None
        import keyring

        try:
            return _with_timeout(keyring.get_password, SERVICE, _key(profile, field))
        except Exception:
            return None
    if store == "file":
        return _file_load().get(profile, {}).get(field)
    return None


def put(store: str, profile: str, field: str, value: str) -> None:
    if store == "keyring":
        if not keyring_usable():
            raise ConfigError(
                "no usable OS keyring on this host",
                hint="choose --secret-store file (a 0600 file) or env (CONFCTL_<PROVIDER>_<FIELD>)",
            )
        import keyring

        _with_timeout(keyring.set_password, SERVICE, _key(profile, field), value)
    elif store == "file":
        data = _file_load()
        data.setdefault(profile, {})[field] = value
        _file_save(data)
    elif store == "env":
        raise ConfigError("secret store 'env' keeps no secret; set the environment variable instead")


def delete(store: str, profile: str, field: str) -> None:
    if store == "keyring" and keyring_usable():
        import keyring

        try:
            _with_timeout(keyring.delete_password, SERVICE, _key(profile, field))
        except Exception:
            pass
    elif store == "file":
        data = _file_load()
        if profile in data:
            data[profile].pop(field, None)
            if not data[profile]:
                del data[profile]
            _file_save(data)


def describe(store: str, profile: str, field: str) -> str:
    """Where a secret lives, for `profile show` — never the secret itself."""
    if store == "env":
        return "environment (not set)"
    present = get(store, profile, field) is not None
    where = "OS keyring (service confctl)" if store == "keyring" else f"secrets file {_file_path()} (0600)"
    if store == "keyring" and not keyring_usable():
        return "OS keyring — unavailable on this host"
    return where if present else where + " — not set"
