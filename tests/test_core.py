"""Unit tests of the shared core: argv hoisting, exit codes, elision, output, profiles, secrets, HTTP retries
(httpx mocked with pytest-httpx), and lazy imports."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from confctl.core import redact
from gateway_support import GW, gw_env  # noqa: F401 (gw_env: a fixture)
from confctl.cli import hoist, main, selected_group
from confctl.core.errors import (ApiError, AuthError, ConflictError, NotFoundError, PartialFailure, RateLimitedError,
                            ServerError, StreamEnded, UsageError, ValidationError, error_for_status, exit_code_for)

ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"


def test_hoist_moves_global_options_after_the_command():
    assert hoist(["gateway", "room", "list", "-o", "json", "--yes"]) == ["-o", "json", "--yes", "gateway", "room", "list"]
    assert hoist(["-p", "x", "gateway", "room", "get", "R", "--query=name"]) == ["-p", "x", "--query=name", "gateway",
                                                                                "room", "get", "R"]
    # --timeout after `events follow` is the follower's own option, and `--` ends hoisting
    assert hoist(["events", "follow", "--timeout", "5"]) == ["events", "follow", "--timeout", "5"]
    assert hoist(["gateway", "api", "GET", "/x", "--", "-o"]) == ["gateway", "api", "GET", "/x", "--", "-o"]
    assert selected_group(["--timeout", "3", "-o", "json", "pexip", "x"]) == "pexip"


@pytest.mark.parametrize("exc,code", [
    (UsageError("x"), 2), (ValidationError("f", "rule"), 2), (AuthError("x"), 3), (NotFoundError("x"), 4),
    (ConflictError("x"), 5), (RateLimitedError("x"), 6), (ServerError("x"), 7), (PartialFailure("x"), 8),
    (StreamEnded("x"), 9), (ApiError("x"), 1), (KeyboardInterrupt(), 130), (RuntimeError("x"), 1),
])
def test_exit_code_table(exc, code):
    assert exit_code_for(exc) == code


@pytest.mark.parametrize("status,cls", [(400, ApiError), (401, AuthError), (403, AuthError), (404, NotFoundError),
                                        (409, ConflictError), (429, RateLimitedError), (500, ServerError),
                                        (503, ServerError)])
def test_status_mapping(status, cls):
    assert type(error_for_status(status, "m")) is cls


def test_redaction_of_headers_query_and_bodies():
    assert redact.headers({"X-API-Key": "k", "Authorization": "Bearer t", "pin": "1", "token": "t", "Accept": "a"}) == {
        "X-API-Key": "<redacted>", "Authorization": "<redacted>", "pin": "<redacted>", "token": "<redacted>",
        "Accept": "a"}
    shown = redact.url("wss://h/x?access_token=s3cr3t&v=1")
    assert "s3cr3t" not in shown and "v=1" in shown
    body = redact.body(b'{"client_secret": "s", "a": {"token": "t", "pin": "9"}, "name": "n"}', "application/json")
    assert json.loads(body) == {"client_secret": "<redacted>", "a": {"token": "<redacted>", "pin": "<redacted>"},
                                "name": "n"}
    assert "s3" not in redact.body("grant_type=client_credentials&client_secret=s3",
                                   "application/x-www-form-urlencoded")


def test_validation_messages_name_field_and_rule():
    from confctl.core.validate import int_range, parse_json

    with pytest.raises(ValidationError) as err:
        int_range(-50, 7)("--level", 8)
    assert "--level" in err.value.message and "-50 and 7" in err.value.message
    with pytest.raises(ValidationError) as err:
        parse_json("--data", '{"a": 1,}')
    assert "line 1 column 9" in err.value.message


def test_request_mapping_for_gateway_commands(gw_env, httpx_mock, capsys):
    """Each command sends the documented method, path, headers and body (no network: httpx is mocked)."""
    httpx_mock.add_response(status_code=202, json={"operation_id": "op", "status": "in_progress"})
    assert main(["gateway", "room", "play", ROOM, "https://a.example/x.wav", "https://a.example/y.wav"]) == 0
    request = httpx_mock.get_requests()[-1]
    assert (request.method, request.url.path) == ("POST", f"/api/v1/conferences/{ROOM}/play")
    assert request.headers["X-App-ID"] == "app-1" and request.headers["X-API-Key"] == "sekrit-key-1"
    assert request.headers["User-Agent"].startswith("confctl/")
    assert json.loads(request.content) == {"urls": ["https://a.example/x.wav", "https://a.example/y.wav"]}

    httpx_mock.add_response(json={"conferences": [], "cursor": ""})
    assert main(["gateway", "room", "list", "--limit", "7", "--cursor", "abc"]) == 0
    request = httpx_mock.get_requests()[-1]
    assert request.method == "GET" and dict(request.url.params) == {"limit": "7", "cursor": "abc"}

    httpx_mock.add_response(json={"room_id": ROOM, "volume": -3})
    assert main(["gateway", "room", "volume", ROOM, "--level", "-3"]) == 0
    assert json.loads(httpx_mock.get_requests()[-1].content) == {"volume": -3}
    assert "sekrit" not in capsys.readouterr().out


def test_session_command_reuses_command_uid_on_retry(gw_env, httpx_mock):
    httpx_mock.add_response(status_code=503, json={"error": "busy"})
    httpx_mock.add_response(status_code=202, json={"status": "joining", "room_id": ROOM})
    assert main(["gateway", "session", "join", "abcde-1", "--room", ROOM]) == 0
    first, second = httpx_mock.get_requests()
    assert json.loads(first.content)["command_uid"] == json.loads(second.content)["command_uid"]
    assert json.loads(first.content)["room_id"] == ROOM


def test_non_idempotent_post_is_not_repeated_on_503(gw_env, httpx_mock):
    httpx_mock.add_response(status_code=503, json={"error": "busy"})
    assert main(["gateway", "room", "pause", ROOM]) == 7
    assert len(httpx_mock.get_requests()) == 1


def test_retry_after_is_honoured_and_bounded(gw_env, httpx_mock):
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "0.2"}, json={"error": "cooldown"})
    httpx_mock.add_response(json={"conferences": [], "cursor": ""})
    start = time.monotonic()
    assert main(["gateway", "room", "list"]) == 0
    assert len(httpx_mock.get_requests()) == 2 and time.monotonic() - start >= 0.2
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "30"}, json={"error": "cooldown"})
    assert main(["--max-wait", "1", "gateway", "room", "list"]) == 6
    assert len(httpx_mock.get_requests()) == 3


def test_connection_refused_is_retried_then_exit_7(gw_env, httpx_mock, monkeypatch):
    import httpx

    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    assert main(["--max-wait", "0.3", "gateway", "room", "create", "x"]) == 7
    assert len(httpx_mock.get_requests()) >= 2  # a connection that never opened carried no request: safe to repeat


def test_output_formats(gw_env, httpx_mock, capsys):
    page = {"conferences": [{"room_id": "r1", "name": "a"}, {"room_id": "r2", "name": "b"}], "cursor": ""}
    httpx_mock.add_response(json=page, is_reusable=True)
    main(["-o", "id", "gateway", "room", "list"])
    assert capsys.readouterr().out.split() == ["r1", "r2"]
    main(["-o", "jsonl", "gateway", "room", "list"])
    assert [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()] == ["a", "b"]
    main(["-o", "yaml", "gateway", "room", "list"])
    assert "room_id: r1" in capsys.readouterr().out
    main(["gateway", "room", "list", "--query", "conferences[].name", "-o", "json"])
    assert json.loads(capsys.readouterr().out) == ["a", "b"]
    assert main(["gateway", "room", "list", "--query", "[[["]) == 2


def test_profiles_file_modes_and_env_precedence(home, monkeypatch, capsys):
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("file-secret\n"))
    assert main(["profile", "add", "p1", "--provider", "gateway", "--url", GW, "--app-id", "a1",
                 "--secret-stdin", "--secret-store", "file"]) == 0
    for name in ("config.toml", "secrets.toml"):
        assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    from confctl.core import config

    profile = config.resolve("gateway", None)
    assert (profile.name, profile.get("app_id"), profile.secret("api_key")) == ("p1", "a1", "file-secret")
    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "from-env")
    assert config.resolve("gateway", "p1").get("app_id") == "from-env"
    capsys.readouterr()
    assert main(["profile", "show", "p1", "-o", "json"]) == 0
    shown = capsys.readouterr().out
    assert "file-secret" not in shown and "secrets file" in json.loads(shown)["api_key"]
    assert main(["profile", "add", "p2", "--provider", "gateway", "--url", "ftp://x"]) == 2
    assert main(["profile", "remove", "p1"]) == 2  # destructive without a TTY needs --yes
    assert main(["profile", "remove", "p1", "--yes"]) == 0
    assert "file-secret" not in (home / "secrets.toml").read_text()


def test_keyring_probe_times_out(monkeypatch):
    from confctl.core import secrets

    with pytest.raises(TimeoutError):
        secrets._with_timeout(time.sleep, 5, timeout=0.2)
    monkeypatch.setattr(secrets, "_probe", None)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert secrets.keyring_usable() is False


def _imported_after(argv: list[str], modules: tuple[str, ...]) -> list[str]:
    code = (f"import sys; from confctl.cli import main; main({argv!r}); "
            f"print([m for m in {modules!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_help_imports_neither_httpx_nor_keyring():
    assert _imported_after(["--help"], ("httpx", "keyring", "confctl.vendors.gateway.provider", "confctl.core.http")) == []
    assert _imported_after(["gateway", "--help"], ("httpx", "keyring")) == []


def test_usage_errors_are_json_on_stderr_without_tty(home):
    proc = subprocess.run([sys.executable, "-m", "confctl", "gateway", "room", "get"], capture_output=True, text=True,
                          env={**os.environ, "CONFCTL_CONFIG_DIR": str(home)})
    assert proc.returncode == 2 and proc.stdout == ""
    record = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "ROOM_ID" in record["error"] and record["exit_code"] == 2


class MemoryKeyring:
    """A keyring backend kept in memory, standing in for the OS keyring."""

    priority = 1

    def __init__(self):
        self.store = {}

    def get_password(self, service, user):
        return self.store.get((service, user))

    def set_password(self, service, user, password):
        self.store[(service, user)] = password

    def delete_password(self, service, user):
        self.store.pop((service, user), None)


def test_secret_goes_to_the_keyring_when_one_works(home, monkeypatch, capsys):
    import io

    import keyring
    from keyring.backend import KeyringBackend

    from confctl.core import config, secrets

    backend = type("Mem", (MemoryKeyring, KeyringBackend), {})()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    monkeypatch.setattr(keyring, "get_password", backend.get_password)
    monkeypatch.setattr(keyring, "set_password", backend.set_password)
    monkeypatch.setattr(keyring, "delete_password", backend.delete_password)
    monkeypatch.setattr(secrets, "_probe", None)
    monkeypatch.setattr(sys, "stdin", io.StringIO("kr-secret\n"))
    assert main(["profile", "add", "k1", "--provider", "mind", "--app-id", "app", "--secret-stdin"]) == 0
    assert backend.store == {("confctl", "k1:token"): "kr-secret"}
    assert "kr-secret" not in (home / "config.toml").read_text() and not (home / "secrets.toml").exists()
    assert config.resolve("mind", "k1").secret("token") == "kr-secret"
    capsys.readouterr()
    main(["profile", "show", "k1", "-o", "json"])
    assert "OS keyring" in json.loads(capsys.readouterr().out)["token"]
    assert main(["profile", "remove", "k1", "--yes"]) == 0
    assert backend.store == {}
