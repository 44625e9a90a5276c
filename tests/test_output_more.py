"""output.emit(more=...): a listing with more pages says so where each format's reader looks."""

from __future__ import annotations

import json

import pytest

from confctl.core import output
from confctl.core.state import reset, state

PAGE = {"conferences": [{"room_id": "r1", "name": "one"}], "next_cursor": "c 2"}


@pytest.fixture(autouse=True)
def fresh_state():
    reset()
    yield
    reset()


def run(capsys, fmt, query=None):
    state.output = fmt
    state.query = query
    output.emit(PAGE, items="conferences", columns=("room_id", "name"), more=PAGE["next_cursor"])
    return capsys.readouterr()


def test_table_says_more_results_on_stderr(capsys):
    out = run(capsys, "table")
    assert "r1" in out.out and "cursor" not in out.out
    assert "more results: --cursor 'c 2'" in out.err and "--all" in out.err


def test_jsonl_keeps_stdout_records_and_puts_cursor_on_stderr(capsys):
    out = run(capsys, "jsonl")
    assert [json.loads(line) for line in out.out.splitlines()] == PAGE["conferences"]
    assert out.err.strip() == "next cursor: c 2"


def test_id_puts_cursor_on_stderr(capsys):
    out = run(capsys, "id")
    assert out.out == "r1\n" and out.err.strip() == "next cursor: c 2"


def test_json_carries_the_cursor_in_the_response(capsys):
    out = run(capsys, "json")
    assert json.loads(out.out)["next_cursor"] == "c 2" and out.err == ""


def test_json_with_a_query_that_drops_the_cursor_still_tells(capsys):
    out = run(capsys, "json", query="conferences[].name")
    assert json.loads(out.out) == ["one"] and out.err.strip() == "next cursor: c 2"


def test_no_more_no_note(capsys):
    state.output = "table"
    output.emit(PAGE, items="conferences", columns=("room_id",))
    assert capsys.readouterr().err == ""
