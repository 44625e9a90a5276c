"""A keyring that hangs, fails or is locked: confctl names the keyring, the profile and the field (exit 3),
never treats an unreadable secret as "no secret" (a Pexip PIN must not turn into a guest join), and a
`profile remove` whose keyring delete does not complete says that the secret may remain.

The backends below are real `keyring` backends, selected in a confctl subprocess with
PYTHON_KEYRING_BACKEND=test_keyring_faults.NAME (this folder on PYTHONPATH), as a user's keyring would be.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, KeyringLocked

HERE = Path(__file__).resolve().parent
DEAD_URL = "http://127.0.0.1:9"  # nothing listens: a request that got out would exit 7, not 3


class _Fake(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        return self.fault("get")

    def set_password(self, service, username, password):
        return self.fault("set")

    def delete_password(self, service, username):
        return self.fault("delete")

    def fault(self, op):
        raise NotImplementedError


class Hanging(_Fake):
    """A D-Bus call that never returns (a headless host)."""

    def fault(self, op):
        time.sleep(60)


class Failing(_Fake):
    def fault(self, op):
        raise KeyringError("org.freedesktop.DBus.Error.ServiceUnknown")


class Locked(_Fake):
    def fault(self, op):
        raise KeyringLocked("collection is locked")


class ProbeOnly(_Fake):
    """Answers the availability probe, then fails on the real entries."""

    def get_password(self, service, username):
        if username == "__probe__":
            return None
        raise KeyringError("backend crashed")

    def fault(self, op):
        raise KeyringError("backend crashed")


class DeleteHangs(_Fake):
    """Reads work (nothing stored); the delete never returns."""

    def get_password(self, service, username):
        return None

    def fault(self, op):
        time.sleep(60)


class DeleteFails(DeleteHangs):
    def fault(self, op):
        raise KeyringError("permission denied")


def _write_config(home: Path, **profiles: dict) -> None:
    import tomli_w

    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"defaults": {}, "profiles": profiles}
    (home / "config.toml").write_text(tomli_w.dumps(data))


# The keyring timeout: short only for the backends that hang on purpose. Every other backend must get past the
# probe, which loads the backend (keyring and this module) inside the timed call: on a busy machine that alone
# can take longer than half a second. DeleteHangs must pass the probe too, then hang on the delete.
TIMEOUTS = {"Hanging": "0.5", "DeleteHangs": "2"}


def run(home: Path, backend: str, *args: str, env: dict | None = None, input: str | None = None
        ) -> subprocess.CompletedProcess:
    merged = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    merged.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": f"test_keyring_faults.{backend}",
                   "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
                   "CONFCTL_KEYRING_TIMEOUT": TIMEOUTS.get(backend, "10"), "CONFCTL_NO_INPUT": "1", **(env or {})})
    return subprocess.run([sys.executable, "-m", "confctl", *args], input=input, capture_output=True, text=True,
                          env=merged, timeout=60)


def error_of(proc) -> dict:
    return json.loads(proc.stderr.strip().splitlines()[-1])


GATEWAY = {"provider": "gateway", "url": DEAD_URL, "app_id": "app", "secret_store": "keyring"}


@pytest.mark.parametrize("backend, reason", [("Hanging", "did not answer within 0.5 s"),
                                             ("Failing", "ServiceUnknown"),
                                             ("Locked", "is locked"),
                                             ("ProbeOnly", "backend crashed")])
def test_an_unreadable_keyring_is_named_as_the_cause(tmp_path, backend, reason):
    home = tmp_path / "cfg"
    _write_config(home, kr=GATEWAY)
    proc = run(home, backend, "-p", "kr", "gateway", "room", "list")
    assert proc.returncode == 3, proc.stderr
    err = error_of(proc)
    assert "keyring" in err["error"] and "'kr'" in err["error"] and "api_key" in err["error"]
    assert reason in err["error"]
    assert "not set" not in err["error"]  # the old message blamed the profile
    assert "CONFCTL_GATEWAY_API_KEY" in err["hint"]


def test_the_environment_still_wins_over_a_hung_keyring(tmp_path):
    home = tmp_path / "cfg"
    _write_config(home, kr=GATEWAY)
    proc = run(home, "Hanging", "-p", "kr", "--dry-run", "gateway", "room", "list",
               env={"CONFCTL_GATEWAY_API_KEY": "from-env"})
    assert proc.returncode == 0, proc.stderr
    assert "curl" in proc.stdout


@pytest.mark.parametrize("backend", ["Locked", "Hanging"])
def test_a_configured_pin_that_cannot_be_read_is_not_a_guest_join(tmp_path, sim, backend):
    home = tmp_path / "cfg"
    pexip = {k: v for k, v in sim.env().items() if k.startswith("CONFCTL_PEXIP_")}
    _write_config(home, px={"provider": "pexip", "url": pexip["CONFCTL_PEXIP_URL"],
                            "conference": pexip.get("CONFCTL_PEXIP_CONFERENCE", "meet.demo"),
                            "secret_store": "keyring"})
    proc = run(home, backend, "-p", "px", "pexip", "conference", "status")
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    err = error_of(proc)
    assert "keyring" in err["error"] and "pin" in err["error"] and "'px'" in err["error"]
    assert "guest" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("backend, reason", [("DeleteHangs", "did not answer"), ("DeleteFails", "permission denied"),
                                             ("Locked", "is locked")])
def test_remove_reports_a_secret_that_may_remain(tmp_path, backend, reason):
    home = tmp_path / "cfg"
    _write_config(home, kr=GATEWAY)
    proc = run(home, backend, "profile", "remove", "kr", "--yes")
    assert proc.returncode == 3, proc.stderr
    err = error_of(proc)
    assert "may remain" in err["error"] and reason in err["error"] and "kr:api_key" in err["error"]
    assert "removed profile 'kr'" in err["error"]
    assert "kr" not in (home / "config.toml").read_text()  # the profile itself is gone


def test_profile_show_says_why_the_keyring_is_unusable(tmp_path):
    home = tmp_path / "cfg"
    _write_config(home, kr=GATEWAY)
    proc = run(home, "Locked", "profile", "show", "kr", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert "unusable: the keyring is locked" in json.loads(proc.stdout)["api_key"]


def test_storing_in_a_failing_keyring_writes_no_profile(tmp_path):
    home = tmp_path / "cfg"
    proc = run(home, "ProbeOnly", "profile", "add", "kr", "--provider", "gateway", "--url", DEAD_URL,
               "--app-id", "app", "--secret-stdin", input="kr-secret\n")
    assert proc.returncode == 3, proc.stderr
    err = error_of(proc)
    assert "cannot store the api_key of profile 'kr'" in err["error"] and "kr-secret" not in proc.stderr
    assert not (home / "config.toml").exists()
