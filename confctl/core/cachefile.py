"""Private files confctl keeps for itself — token caches, cursors, config.toml — and the lock that guards them.

One helper for every such file: folders are created 0700, files written atomically with mode 0600, and an
exclusive advisory lock on a `.lock` file beside them is shared by every confctl process. The lock is portable:
`fcntl` (POSIX) or `msvcrt` (Windows) is imported when a lock is first taken, never at module top, so importing
this module works everywhere.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import tomllib
from contextlib import contextmanager
from pathlib import Path

from confctl.core.errors import ConfigError


LOCK_TIMEOUT = 30.0  # a stuck process (it holds the lock for a keyring call at most) must not block forever


def config_dir() -> Path:
    override = os.environ.get("CONFCTL_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("confctl", appauthor=False))


def _not_a_folder(path: Path) -> ConfigError:
    env = os.environ.get("CONFCTL_CONFIG_DIR")
    via = " (CONFCTL_CONFIG_DIR)" if env and Path(env) == path else ""
    return ConfigError(f"{path}: not a folder{via}", hint="point CONFCTL_CONFIG_DIR at a folder, or move the file away")


def ensure_dir(path: Path) -> Path:
    """Create `path` and every missing parent with mode 0700 (umask or not): a folder confctl creates holds
    profiles, secrets or tokens, and nobody else needs to list it."""
    missing = []
    probe = path
    while not probe.exists():
        if probe.is_symlink():  # a dangling link: let mkdir report it
            break
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise _not_a_folder(probe)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:  # another process made it meanwhile
            if not folder.is_dir():
                raise _not_a_folder(folder) from None
            continue
        except NotADirectoryError:
            raise _not_a_folder(folder.parent) from None
        except OSError as exc:  # no permission, a dangling link, a read-only file system
            raise ConfigError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from None
        os.chmod(folder, 0o700)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename) with mode 0600, creating the folder (and parents) 0700."""
    path = Path(path)
    ensure_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if hasattr(os, "fchmod"):
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


def _try_lock(fd: int, *, block: bool = False) -> bool:
    if os.name == "nt":
        import msvcrt  # lazy: Windows only

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl  # lazy: POSIX only

    try:
        fcntl.flock(fd, fcntl.LOCK_EX if block else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An exclusive advisory lock on `path` (created 0600, its folder 0700), shared by every confctl process.

    `acquire(timeout)`: None waits as long as it takes, 0 tries once, otherwise polls with a growing pause until
    the deadline. It returns whether the lock is held; opening the lock file may raise OSError or ConfigError,
    which each caller turns into its own policy (fail, or go on unlocked)."""

    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, timeout: float | None = None) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this object")
        ensure_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if timeout is None and os.name != "nt":
                got = _try_lock(fd, block=True)
            else:
                deadline = None if timeout is None else self.clock() + timeout
                pause = 0.005
                while not (got := _try_lock(fd)):
                    if deadline is not None and self.clock() >= deadline:
                        break
                    self.sleep(pause)
                    pause = min(pause * 2, 0.1)
        except BaseException:
            os.close(fd)
            raise
        if not got:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock_path(path: Path) -> Path:
    """The lock file that guards `path`: `<path>.lock` beside it."""
    return Path(str(path) + ".lock")


# -- the files under the config folder: TOML reading and the configuration lock --------------------------
def _kind(value) -> str:
    for cls, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
                      (list, "an array"), (dict, "a table")):
        if isinstance(value, cls):
            return name
    return f"a {type(value).__name__}"


def key_path(*parts: str) -> str:
    """A TOML dotted key, quoting the parts that need it (profile names may contain dots)."""
    bare = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return ".".join(p if p and set(p) <= bare else '"' + p.replace('"', '\\"') + '"' for p in parts)


def bad(path: Path, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {problem}", hint=f"fix it in {path} (confctl left the file untouched)")


def read_toml(path: Path) -> dict | None:
    """A TOML file's data (None when it does not exist); every way it can be unreadable is a ConfigError
    naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a file") from None
    except NotADirectoryError:
        raise _not_a_folder(path.parent) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})",
                          hint=f"fix or remove {path} (confctl left the file untouched)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}",
                          hint=f"fix or remove {path} (confctl left the file untouched)") from None


_mutex = threading.RLock()
_depth = 0


@contextmanager
def locked():
    """Hold the configuration lock (a lock file beside config.toml) — shared by every confctl process, and
    re-entrant within one, so a profile command and the secrets file it writes take it once."""
    global _depth
    with _mutex:
        if _depth:
            _depth += 1
            try:
                yield
            finally:
                _depth -= 1
            return
        path = ensure_dir(config_dir()) / "config.lock"
        lock = FileLock(path)
        try:
            got = lock.acquire(LOCK_TIMEOUT)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot open the lock file: {exc.strerror or exc}") from None
        if not got:
            raise ConfigError(f"{config_dir() / 'config.toml'}: another confctl process has held the lock "
                              f"({path}) for {LOCK_TIMEOUT:g} s", hint="try again when it is done")
        _depth = 1
        try:
            yield
        finally:
            _depth = 0
            lock.release()
