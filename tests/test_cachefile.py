"""The one locked 0600 cache-file helper (core/cachefile.py) and its users."""

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from confctl.core import cachefile

ROOT = Path(__file__).resolve().parent.parent


def test_write_private_is_0600_in_a_0700_folder(tmp_path):
    target = tmp_path / "a" / "b" / "cache.json"
    cachefile.write_private(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_lock_excludes_a_second_holder_and_is_released(tmp_path):
    path = cachefile.lock_path(tmp_path / "x.json")
    assert path.name == "x.json.lock"
    first, second = cachefile.FileLock(path), cachefile.FileLock(path)
    assert first.acquire(0)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not second.acquire(0)
    first.release()
    assert second.acquire(0)
    second.release()


def test_lock_gives_up_at_its_deadline_without_sleeping_for_real(tmp_path):
    path = tmp_path / "x.lock"
    holder = cachefile.FileLock(path)
    assert holder.acquire()
    now = [0.0]
    waiter = cachefile.FileLock(path)
    waiter.clock = lambda: now[0]
    waiter.sleep = lambda s: now.__setitem__(0, now[0] + s)
    assert waiter.acquire(5.0) is False
    assert now[0] >= 5.0
    holder.release()


def test_lock_is_held_across_processes(tmp_path):
    path = tmp_path / "x.lock"
    with cachefile.FileLock(path):
        code = ("import sys; from confctl.core.cachefile import FileLock; "
                f"sys.exit(0 if FileLock({str(path)!r}).acquire(0) else 5)")
        assert subprocess.run([sys.executable, "-c", code]).returncode == 5
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_no_fcntl_or_msvcrt_at_module_top_anywhere():
    offenders = []
    for path in (ROOT / "confctl").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n.split(".")[0] in ("fcntl", "msvcrt") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


@pytest.mark.parametrize("module", ["confctl.vendors.pexip.token", "confctl.vendors.auvious.oauth",
                                    "confctl.vendors.auvious.events", "confctl.core.config"])
def test_every_private_file_user_imports_without_fcntl(module):
    """As on Windows: the modules import with fcntl unavailable."""
    code = f"import sys; sys.modules['fcntl'] = None; import {module}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_users_share_the_helper():
    from confctl.core import config, secrets

    for rel in ("confctl/vendors/pexip/token.py", "confctl/vendors/auvious/oauth.py",
                "confctl/vendors/auvious/events.py"):
        text = (ROOT / rel).read_text()
        assert "FileLock" in text and "fcntl" not in text, rel
    assert config.locked is cachefile.locked and secrets.locked is cachefile.locked
    assert config.write_private is cachefile.write_private


def test_auvious_cursor_file_refuses_a_second_follower(tmp_path):
    from confctl.core.errors import UsageError
    from confctl.vendors.auvious.events import CursorFile

    first = CursorFile(str(tmp_path / "cursor.json")).open()
    try:
        with pytest.raises(UsageError, match="in use by another"):
            CursorFile(str(tmp_path / "cursor.json")).open()
    finally:
        first.close()
    CursorFile(str(tmp_path / "cursor.json")).open().close()
    first.commit("c1", 3, "e1")
    assert stat.S_IMODE((tmp_path / "cursor.json").stat().st_mode) == 0o600


def test_config_lock_times_out_with_a_config_error(tmp_path, monkeypatch):
    from confctl.core import config
    from confctl.core.errors import ConfigError

    monkeypatch.setenv("CONFCTL_CONFIG_DIR", str(tmp_path))
    monkeypatch.setattr(cachefile, "LOCK_TIMEOUT", 0)
    with cachefile.FileLock(tmp_path / "config.lock"):
        with pytest.raises(ConfigError, match="another confctl process has held the lock"):
            with config.locked():
                pass
    with config.locked():
        assert os.path.exists(tmp_path / "config.lock")
