"""The root command: global options checked before anything is sent, help at the terminal's width,
bare groups print their help and exit 0."""

from __future__ import annotations

import pytest

from confctl.cli import main
from gateway_support import gw_env  # noqa: F401 (a fixture)

ROOM = "acW68-room-550e8400-e29b-41d4-a716-446655440000"


@pytest.mark.parametrize("argv, env, named", [
    (["-o", "bogus", "gateway", "room", "create", "x"], {}, "--output"),
    (["gateway", "room", "create", "x", "--output", "xml"], {}, "--output"),
    (["gateway", "room", "create", "x"], {"CONFCTL_OUTPUT": "xml"}, "CONFCTL_OUTPUT"),
    (["--query", "[[", "gateway", "room", "create", "x"], {}, "--query"),
    (["gateway", "room", "delete", ROOM, "--yes", "--query", "foo["], {}, "--query"),
])
def test_bad_output_or_query_is_exit_2_with_nothing_sent(gw_env, httpx_mock, monkeypatch, capsys, argv, env, named):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    assert httpx_mock.get_requests() == []
    err = capsys.readouterr().err
    assert named in err


def test_wide_is_accepted_as_an_output_format(gw_env, httpx_mock, capsys):
    httpx_mock.add_response(json={"conferences": [{"room_id": ROOM, "name": "a", "extra": "x"}], "cursor": ""})
    assert main(["-o", "wide", "gateway", "room", "list"]) == 0
    out = capsys.readouterr().out
    assert ROOM in out and "extra" in out


@pytest.mark.parametrize("group", [["gateway"], ["gateway", "room"], ["profile"], ["pexip"]])
def test_a_bare_group_prints_its_help_and_exits_0(home, capsys, group):
    assert main(group) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: confctl " + " ".join(group)) and "Commands:" in out


def test_help_uses_the_terminal_width(home, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "160")
    assert main(["gateway", "room", "play", "--help"]) == 0
    out = capsys.readouterr().out
    assert f"Example: confctl gateway room play {ROOM} https://" in out
    assert max(len(line) for line in out.splitlines()) > 80
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["gateway", "room", "play", "--help"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 80


def test_help_is_shown_even_with_a_bad_output_setting(home, monkeypatch, capsys):
    monkeypatch.setenv("CONFCTL_OUTPUT", "xml")
    assert main(["gateway", "room", "--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: confctl gateway room")
