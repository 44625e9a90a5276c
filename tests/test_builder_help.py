"""Builder-made help and prompts: real group descriptions, an `api` path example of the provider itself, a
declined prompt with its own exit code, and hints that give the real reason no prompt was shown."""

from __future__ import annotations

import io
import json
import re

import pytest

from confctl.core import builder
from confctl.cli import main
from confctl.core.errors import Aborted, exit_code_for
from confctl.core.registry import PROVIDERS
from confctl.core.state import State

EX_ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"


def _help(capsys, *argv) -> str:
    assert main([*argv, "--help"]) == 0
    return capsys.readouterr().out


def test_gateway_groups_have_real_descriptions(home, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    text = _help(capsys, "gateway")
    provider = PROVIDERS["gateway"].load()
    assert set(provider.group_help) == {"room", "session", "webhooks"}
    for name, line in provider.group_help.items():
        assert re.search(rf"^\s+{name}\s+{re.escape(line)}$", text, re.M), (name, text)
    assert " commands\n" not in text
    assert provider.group_help["session"] in _help(capsys, "gateway", "session")


def test_group_help_is_taken_from_the_provider(home, capsys, monkeypatch):
    """Any provider's group_help reaches its sub-groups; a group without one shows no placeholder."""
    import typer
    from typer.testing import CliRunner

    provider = PROVIDERS["gateway"].load()
    monkeypatch.setattr(type(provider), "group_help", {"room": "Rooms, one line."})
    app = builder.provider_app(provider)
    out = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Rooms, one line." in out
    assert "session commands" not in out and "room commands" not in out
    assert isinstance(app, typer.Typer)


def _path_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_api_help_shows_a_path_of_that_provider(home, capsys, monkeypatch, name):
    monkeypatch.setenv("COLUMNS", "300")
    provider = PROVIDERS[name].load()
    example = builder.api_example_path(provider)
    assert any(_path_regex(ep.path).match(example) for ep in provider.endpoints), example
    text = _help(capsys, name, "api")
    assert f"e.g. {example}" in text
    if name != "gateway":
        assert "/api/v1/conferences" not in text


def test_declined_prompt_exits_10_and_sends_nothing(home, sim, monkeypatch, capsys):
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CONFCTL_NO_INPUT", raising=False)
    monkeypatch.setattr(State, "interactive", property(lambda self: True))
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    sim.app.state.requests.clear()
    code = main(["gateway", "room", "delete", EX_ROOM])
    err = capsys.readouterr().err
    assert code == 10, err
    assert sim.app.state.requests == []
    last = err.splitlines()[-1]
    record = json.loads(last[last.index("{"):])  # after the prompt, which a fake stdin does not end with \n
    assert record["exit_code"] == 10 and "nothing was sent" in record["error"]
    assert exit_code_for(Aborted("declined")) == 10


@pytest.mark.parametrize("argv,env,reason", [
    (["--no-input"], {}, "--no-input was given"),
    ([], {"CONFCTL_NO_INPUT": "1"}, "CONFCTL_NO_INPUT is set"),
    ([], {}, "stdin is not a terminal"),
])
def test_no_prompt_hint_says_the_real_reason(home, monkeypatch, capsys, argv, env, reason):
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "app")
    monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "key-123456")
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdin", Tty("") if argv or env else io.StringIO(""))  # a terminal unless told
    code = main([*argv, "gateway", "room", "delete", EX_ROOM])
    record = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert code == 2 and "--yes" in record["hint"] and reason in record["hint"], record
    if argv or env:
        assert "no terminal" not in record["hint"]
