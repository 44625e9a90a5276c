"""Every path parameter of every endpoint is one safe segment: hostile values (dot segments, separators,
encoded traversal, control characters) exit 2 naming the parameter, and nothing at all reaches the server.

The commands run in-process (`confctl.cli.main`) against a catch-all server that records every request, so a
request that slipped through would be seen whatever its path.
"""

from __future__ import annotations

import json

import pytest
from loopback import Server, replying

from confctl.core import builder
from confctl.cli import main
from confctl.core.errors import ValidationError
from confctl.core.registry import PROVIDERS
from confctl.core.spec import PATH
from confctl.core.validate import path_segment, raw_path

HOSTILE = [".", "..", "", "a/b", "%2e%2e", "%2E.", "%252e%252e", "a%2Fb", "?", "#", "a?b", "x#y", "a\\b",
           "a\r\nb", "a\nb", "a\x00b", "a\x7fb"]


class Recorder(Server):
    """A loopback server answering 200 {} to anything, recording (method, path)."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        recorder = self

        def answer(handler):
            recorder.requests.append((handler.command, handler.path))
            return 200, "application/json", "{}"

        super().__init__(replying(answer))


@pytest.fixture(scope="module")
def recorder():
    server = Recorder()
    yield server
    server.close()


@pytest.fixture(scope="module")
def built():
    """The command tree is built once per group (in-process runs would otherwise rebuild ~150 commands each)."""
    import typer.main

    from confctl import cli

    cache: dict = {}
    real = cli.build_app

    def build_app(load=None, branch=None):
        if (load, branch) not in cache:
            cache[load, branch] = typer.main.get_command(real(load, branch))
        return cache[load, branch]

    return build_app


@pytest.fixture
def env(home, recorder, built, monkeypatch):
    monkeypatch.setattr("confctl.cli.build_app", built)
    values = {
        "GATEWAY_URL": recorder.url, "GATEWAY_APP_ID": "app", "GATEWAY_API_KEY": "key-123456",
        "PEXIP_URL": recorder.url, "PEXIP_CONFERENCE": "meet.alice", "PEXIP_PIN": "1234",
        "MIND_URL": recorder.url, "MIND_APP_ID": "app-1", "MIND_TOKEN": "token-123456", "MIND_CONFERENCE": "conf-1",
        "AUVIOUS_URL": recorder.url, "AUVIOUS_CLIENT_ID": "client", "AUVIOUS_CLIENT_SECRET": "secret-123456",
        "AUVIOUS_CONFERENCE": "conf-1",
    }
    for key, value in values.items():
        monkeypatch.setenv("CONFCTL_" + key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    recorder.requests.clear()
    return recorder


def argv_for(provider, ep, target, value) -> list[str]:
    """The command with every parameter at its example value, `target` at `value`."""
    params = builder._cmd_params(provider, ep)
    args = [provider.name, *ep.command_path]
    ordered = [p for p in params if p.is_positional] + [p for p in params if not p.is_positional]
    for p in ordered:
        v = value if p.name == target.name else p.example
        if v is None:
            continue
        if p.name == target.name and p.type == "list" and not p.is_positional:
            v = [v]
        args += builder._example_tokens(p, v)
    return args + ["--yes"]


def _cases():
    for name, info in PROVIDERS.items():
        provider = info.load()
        for ep in provider.endpoints:
            for p in builder._cmd_params(provider, ep):
                if p.where == PATH:
                    yield pytest.param(name, ep.id, p.name, id=f"{ep.id}:{p.name}")


def _field(p) -> str:
    return p.name.upper() if p.is_positional else p.cli_flag


def _errors(captured) -> list[dict]:
    return [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("provider_name,endpoint_id,param_name", list(_cases()))
def test_hostile_path_values_exit_2_with_nothing_sent(env, capsys, provider_name, endpoint_id, param_name):
    provider = PROVIDERS[provider_name].load()
    ep = next(e for e in provider.endpoints if e.id == endpoint_id)
    target = next(p for p in builder._cmd_params(provider, ep) if p.name == param_name)
    benign = target.example if target.example is not None else "example-1"
    if isinstance(benign, (list, tuple)):
        benign = benign[0]
    # control: the same command with a harmless value gets past validation (whatever the fake server says)
    code = main(argv_for(provider, ep, target, benign))
    captured = capsys.readouterr()
    assert code != 2 or _field(target) not in captured.err, captured.err
    several = getattr(target.rule, "path_segments", False)  # a relative resource path: '/' separates segments
    for value in HOSTILE:
        if several and value in ("a/b", "a%2Fb"):
            continue
        env.requests.clear()
        code = main(argv_for(provider, ep, target, value))
        captured = capsys.readouterr()
        assert code == 2, (value, code, captured.err)
        assert env.requests == [], (value, env.requests)
        errors = _errors(captured)
        assert errors and errors[0]["exit_code"] == 2


@pytest.mark.parametrize("var,argv", [
    ("CONFCTL_PEXIP_CONFERENCE", ["pexip", "conference", "status"]),
    ("CONFCTL_MIND_CONFERENCE", ["mind", "conference", "delete", "--yes"]),
    ("CONFCTL_MIND_APP_ID", ["mind", "conference", "delete", "--yes"]),
])
@pytest.mark.parametrize("value", ["..", ".", "a/b", "%2e%2e", "x\r\ny"])
def test_path_values_from_the_profile_are_checked_too(env, capsys, monkeypatch, var, argv, value):
    monkeypatch.setenv(var, value)
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and env.requests == [], captured.err
    error = _errors(captured)[0]
    assert var in error["error"] + error["hint"]  # says where the bad value came from


@pytest.mark.parametrize("path", ["/api/../x", "/api/%2e%2e/x", "/api/%252E%252e/x", "/a/./b", "..", "/api/x\r\n",
                                  "/a\\..\\b"])
def test_api_path_without_dot_segments(env, capsys, path):
    code = main(["gateway", "api", "GET", path])
    captured = capsys.readouterr()
    assert code == 2 and env.requests == [], captured.err
    assert _errors(captured)[0]["error"].startswith("PATH:")


def test_api_path_that_is_fine_is_sent(env, capsys):
    assert main(["gateway", "api", "GET", "/api/v1/conferences?limit=1", "-o", "json"]) == 0
    assert env.requests == [("GET", "/api/v1/conferences?limit=1")]


def test_values_produced_by_a_resolver_are_checked(env, capsys, monkeypatch):
    """A resolver that returned a traversal (a hostile name lookup answer) must not reach the path."""
    from confctl.vendors.pexip import names

    monkeypatch.setattr(names, "resolve", lambda call, value: "..")  # Pexip.resolvers reads it on each use
    code = main(["pexip", "participant", "mute", "Bob"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "PARTICIPANT" in _errors(captured)[0]["error"]
    assert not any(p.endswith("/mute") or "/.." in p for _, p in env.requests), env.requests


def test_path_segment_rule():
    for good in ("meet.alice", "a..b", "...", "sip:x@example.com", "Bob Smith", "main.!personal", "100%"):
        assert path_segment("F", good) == good
    for bad in HOSTILE + [" ", "%2f", "%5C", "%00"]:
        with pytest.raises(ValidationError) as info:
            path_segment("F", bad)
        assert info.value.field == "F"
    assert path_segment("F", "images/bg.jpg", segments=True) == "images/bg.jpg"
    for bad in ("images/../x", "a//b", "a/%2e%2e/b", "./x"):
        with pytest.raises(ValidationError):
            path_segment("F", bad, segments=True)
    assert builder.format_path("/x/{a}/y", {"a": "a b:@!"}) == "/x/a%20b%3A%40%21/y"
    with pytest.raises(ValidationError):
        builder.format_path("/x/{a}", {"a": ".."})
    assert builder.format_path("/t/{p}", {"p": "img/bg.jpg"}, multi=("p",)) == "/t/img/bg.jpg"
    with pytest.raises(ValidationError):
        raw_path("PATH", "/x/%2E%2E/y")
    assert raw_path("PATH", "/x/y?a=../b") == "/x/y?a=../b"  # the query is not the path


def test_hostile_ids_in_a_batch_file_send_nothing(env, capsys, tmp_path):
    """A batch is validated whole before the first request: one bad line stops all of them."""
    ids = tmp_path / "ids"
    ids.write_text("abcde-1\nabcde-2\n..\n")
    code = main(["gateway", "session", "mute", "--from-file", str(ids)])
    captured = capsys.readouterr()
    assert code == 2 and env.requests == [], captured.err
    assert _errors(captured)[0]["error"].startswith("UUID")


@pytest.mark.parametrize("argv", [["pexip", "participants"], ["pexip", "events", "--timeout", "1"]])
@pytest.mark.parametrize("value", ["..", ".", "a/b", "%2e%2e"])
def test_pexip_commands_outside_the_table_check_the_alias(env, capsys, monkeypatch, argv, value):
    """The roster and the event stream take the alias from the profile too: no request_token to `..`."""
    monkeypatch.setenv("CONFCTL_PEXIP_CONFERENCE", value)
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2 and env.requests == [], (code, captured.err, env.requests)
