"""What a person sees at a real terminal (a pseudo-terminal of a given width) and what a pipe sees:
no escapes without colour, tables that fit, help at full width, a cut pipe exits quietly, a busy port."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import socket
import struct
import subprocess
import sys
import termios

import pytest

from tests.conftest import ROOT


def run_in_pty(argv: list[str], env: dict, columns: int, timeout: float = 60) -> tuple[int, str]:
    """Run confctl with stdin/stdout/stderr on a pseudo-terminal `columns` wide; return (exit code, output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    proc = subprocess.Popen([sys.executable, "-m", "confctl", *argv], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=str(ROOT), close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], timeout)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=timeout), b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.fixture
def rooms(cli):
    for name in ("term-a", "term-b"):
        cli("gateway", "room", "create", name, "--reuse", check=0)
    return cli


@pytest.mark.parametrize("how", [["--color", "never"], ["NO_COLOR"]])
def test_no_escape_at_all_without_colour(rooms, how):
    env = dict(rooms.env)
    argv_color = how if how[0] == "--color" else []
    if how == ["NO_COLOR"]:
        env["NO_COLOR"] = "1"
    for argv in (["gateway", "room", "list"], ["gateway", "room", "get", "nope"], ["gateway", "room", "--help"],
                 ["gateway", "room", "get"], ["-o", "bogus", "gateway", "room", "list"]):
        code, text = run_in_pty(argv_color + argv, env, 100)
        assert "\x1b" not in text, (argv, text)
        assert text.strip(), argv


def test_colour_by_default_at_a_terminal(rooms):
    code, text = run_in_pty(["gateway", "room", "list"], rooms.env, 100)
    assert code == 0 and "\x1b[" in text


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_room_ids_are_never_folded_over_lines(rooms, columns):
    code, text = run_in_pty(["--color", "never", "gateway", "room", "list"], rooms.env, columns)
    assert code == 0
    room_lines = [line for line in text.splitlines() if "-room-" in line]
    assert room_lines and all(len(line) <= columns for line in room_lines)
    import re

    assert all(re.search(r"[A-Za-z0-9]{5}-room-[0-9a-f-]{36}", line) for line in room_lines), text


def test_wide_shows_every_column(rooms):
    code, text = run_in_pty(["--color", "never", "gateway", "room", "list"], rooms.env, 80)
    header = next(line for line in text.splitlines() if line.lstrip().startswith("room_id"))
    assert code == 0 and "created_at" not in header  # dropped at 80 columns (and named on stderr)
    code, text = run_in_pty(["--color", "never", "-o", "wide", "gateway", "room", "list"], rooms.env, 80)
    assert code == 0 and "created_at" in text and "…" not in text


def test_help_fills_a_wide_terminal(rooms):
    code, text = run_in_pty(["--color", "never", "gateway", "room", "play", "--help"], rooms.env, 160)
    assert code == 0
    assert any(len(line) > 100 for line in text.splitlines())
    assert "Example: confctl gateway room play acW68-room-" in text


def test_bare_group_prints_help_and_exits_0(rooms):
    proc = rooms("gateway")
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: confctl gateway") and proc.stderr == ""


@pytest.mark.parametrize("argv", [["gateway", "room", "list", "-o", "jsonl"], ["gateway", "room", "list", "-o", "table"],
                                  ["--help"], ["gateway", "endpoints", "-o", "jsonl"]])
def test_a_cut_pipe_exits_141_without_noise(rooms, argv):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before confctl writes a byte, like `| head -0`
    try:
        proc = subprocess.run([sys.executable, "-m", "confctl", *argv], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env=rooms.env, cwd=str(ROOT), timeout=60)
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""


def test_a_second_sim_serve_on_a_busy_port_is_exit_2(home):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        proc = subprocess.run([sys.executable, "-m", "confctl", "sim", "serve", "--port", str(port)],
                              capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    finally:
        busy.close()
    assert proc.returncode == 2
    assert "address in use" in proc.stderr and "Traceback" not in proc.stderr


def test_room_get_and_room_list_show_created_at_the_same_way(rooms):
    room = rooms("gateway", "room", "create", "term-a", "--reuse", "-o", "id", check=0).stdout.strip()
    raw = rooms("gateway", "room", "get", room, "-o", "json", check=0)
    import json
    import re

    assert re.fullmatch(r"\d+", str(json.loads(raw.stdout)["created_at"]))  # the API's epoch seconds, kept in JSON
    code, shown = run_in_pty(["--color", "never", "gateway", "room", "get", room], rooms.env, 100)
    code2, listed = run_in_pty(["--color", "never", "gateway", "room", "list", "--query",
                                f"conferences[?room_id=='{room}']"], rooms.env, 160)
    iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    assert code == code2 == 0
    assert iso.findall(shown) == iso.findall(listed) != []


def test_id_output_of_a_result_without_an_id_says_so(rooms):
    proc = rooms("pexip", "conference", "status", "-o", "id")  # a status record: no identifier field
    assert proc.returncode == 1 and proc.stdout == ""
    assert "-o id: the result has no identifier field" in proc.stderr and "locked" in proc.stderr


def test_wide_keeps_the_rows_a_command_shapes_for_people(rooms):
    proc = rooms("-o", "wide", "pexip", "participants", check=0)
    header = proc.stdout.splitlines()[0]
    assert "name" in header and "room" in header and "display_name" not in header  # the roster's rows, not raw
