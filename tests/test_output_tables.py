"""Tables: --query projections, time fields, -o id without an id, -o wide, width fitting, no escapes
without colour (a fake terminal stream stands in for the TTY)."""

from __future__ import annotations

import io
import json
import re

import pytest

from confctl.core import output
from confctl.core.errors import ConfctlError
from confctl.core.state import reset, state

ROOMS = {"conferences": [
    {"room_id": "acW68-room-550e8400-e29b-41d4-a716-446655440000", "name": "standup", "members": 3,
     "created_at": "2026-11-21T12:00:00Z", "playback_status": "stopped"},
    {"room_id": "bdX71-room-6fa459ea-ee8a-3ca4-894e-db77e160355e", "name": "retro", "members": 0,
     "created_at": "2026-11-21T13:00:00Z", "playback_status": "playing"},
], "cursor": ""}
COLUMNS = ("room_id", "name", "members", "created_at")


def plain(text: str) -> list[str]:
    return re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    reset()
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("CONFCTL_OUTPUT", raising=False)
    yield
    reset()


@pytest.fixture
def tty(monkeypatch):
    def make(columns: int = 80):
        stream = Terminal()
        monkeypatch.setattr("sys.stdout", stream)
        monkeypatch.setenv("COLUMNS", str(columns))
        return stream
    return make


def show(data, fmt="table", query=None, columns=COLUMNS, id_field="room_id"):
    state.output, state.query = fmt, query
    output.emit(data, items="conferences", columns=columns, id_field=id_field)


def test_a_projection_table_shows_the_projection_keys(capsys):
    show(ROOMS, query="conferences[:2].{id:room_id,n:name}")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "┃", "n"]
    assert "standup" in lines[2] and "room_id" not in "".join(lines)


def test_a_projection_to_a_dict_or_scalars(capsys):
    show(ROOMS, query="conferences[0].{id:room_id,n:name}")
    out = capsys.readouterr().out
    assert "id" in out and "standup" in out and "members" not in out
    show(ROOMS, query="conferences[].name")
    assert capsys.readouterr().out.split() == ["standup", "retro"]
    show(ROOMS, query="length(conferences)")
    assert capsys.readouterr().out.strip() == "2"


@pytest.mark.parametrize("raw", ["1795262400", 1795262400, 1795262400000, 1795262400.0])
def test_epoch_time_fields_render_as_iso_in_tables_only(capsys, raw):
    room = {"room_id": "r1", "created_at": raw}
    state.output = "table"
    output.emit(room)
    assert "2026-11-21T12:00:00Z" in capsys.readouterr().out
    state.output = "json"
    output.emit(room)
    assert json.loads(capsys.readouterr().out)["created_at"] == raw


def test_numbers_that_are_not_times_stay_numbers(capsys):
    state.output = "table"
    output.emit({"members": 1795262400, "volume_at": -6, "name": "1795262400"})
    out = capsys.readouterr().out
    assert out.count("1795262400") == 2 and "-6" in out


def test_id_output_without_an_id_is_an_error_not_json(capsys):
    state.output = "id"
    with pytest.raises(ConfctlError) as err:
        output.emit({"status": "in_progress", "operation_id_x": 1})
    assert "-o id" in err.value.message and "status" in err.value.message
    assert capsys.readouterr().out == ""
    output.emit({"operation": 1, "uuid": "u-1"})
    assert capsys.readouterr().out == "u-1\n"


def test_table_on_a_narrow_terminal_keeps_whole_ids_and_drops_low_value_columns(tty, capsys):
    stream = tty(80)
    show(ROOMS)
    lines = plain(stream.getvalue())
    assert len(lines) == 4  # header, rule, one line per room: no UUID folded over several lines
    assert all(len(line) <= 80 for line in lines)
    assert ROOMS["conferences"][0]["room_id"] in lines[2] and "standup" in lines[2]
    assert "created_at" in capsys.readouterr().err  # says what it left out, and how to see it


def test_table_at_100_columns_shows_the_default_columns(tty, capsys):
    stream = tty(100)
    show(ROOMS)
    lines = plain(stream.getvalue())
    assert len(lines) == 4 and "created_at" in lines[0] and "playback_status" not in lines[0]
    assert capsys.readouterr().err == ""


def test_very_narrow_terminal_truncates_with_an_ellipsis(tty):
    stream = tty(40)
    show(ROOMS)
    lines = plain(stream.getvalue())
    assert len(lines) == 4 and all(len(line) <= 40 for line in lines) and "…" in lines[2]


def test_wide_shows_every_field_uncut(tty):
    stream = tty(80)
    show(ROOMS, fmt="wide")
    text = stream.getvalue()
    assert "playback_status" in text and "playing" in text
    assert ROOMS["conferences"][1]["room_id"] in text and "…" not in text


@pytest.mark.parametrize("how", ["flag", "env"])
def test_no_colour_means_no_escape_at_all(tty, monkeypatch, how):
    stream = tty(120)
    if how == "flag":
        state.color = "never"
    else:
        monkeypatch.setenv("NO_COLOR", "1")
    show(ROOMS)
    state.output = "table"
    output.emit(ROOMS["conferences"][0])
    assert "\x1b" not in stream.getvalue() and "standup" in stream.getvalue()


def test_colour_on_a_terminal_by_default(tty):
    stream = tty(120)
    show(ROOMS)
    assert "\x1b[1m" in stream.getvalue()


def test_cells_are_data_not_markup(capsys):
    state.output = "table"
    output.emit([{"name": "[bold]Eve[/bold]", "id": "u-1"}])
    output.emit({"name": "[red]x"})
    out = capsys.readouterr().out
    assert "[bold]Eve[/bold]" in out and "[red]x" in out


def test_long_text_columns_shrink_before_they_are_dropped(tty, capsys):
    stream = tty(80)
    rows = [{"id": "gateway.room.members", "method": "GET", "path": "/api/v1/conferences/{room_id}/members",
             "command": "confctl gateway room members"}]
    state.output = "table"
    output.emit(rows, columns=("id", "method", "path", "command"), id_field="id")
    lines = plain(stream.getvalue())
    assert lines[0].split("┃")[-1].strip() == "command" and capsys.readouterr().err == ""
    assert "gateway.room.members" in lines[2] and "…" in lines[2] and all(len(line) <= 80 for line in lines)
