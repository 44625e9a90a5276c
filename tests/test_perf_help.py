"""`confctl --help` from a cache of its own text: the same bytes as the built help, served without importing Typer
or the vendor specs, and never stale (a different version, interpreter, width, Typer or any source file is a
different signature)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from confctl import cli

PROBE = ("import sys, json, io, contextlib\nfrom confctl.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
         "    try:\n        main()\n    except SystemExit as exit:\n        code = exit.code\n"
         "print(json.dumps({'code': code, 'text': out.getvalue(), "
         "'typer': 'typer' in sys.modules, 'registry': 'confctl.core.registry' in sys.modules}))")


def run_help(config_dir, *args: str, columns: int = 100) -> dict:
    env = {**os.environ, "CONFCTL_CONFIG_DIR": str(config_dir), "COLUMNS": str(columns)}
    proc = subprocess.run([sys.executable, "-c", PROBE, *(args or ("--help",))], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(proc.stdout)


def test_the_cached_help_is_the_built_help_and_imports_no_typer(tmp_path):
    first = run_help(tmp_path)
    assert first["code"] == 0 and first["typer"] and first["text"].startswith("Usage: confctl")
    assert (tmp_path / "cache" / "root-help.txt").is_file()
    again = run_help(tmp_path)
    assert again == {**first, "typer": False, "registry": False}  # same text, exit 0; nothing heavy imported
    assert run_help(tmp_path, "-h")["text"] == first["text"]


def test_a_cache_with_another_signature_is_not_served(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "root-help.txt").write_text("some other signature\nSTALE HELP\n")
    result = run_help(tmp_path)
    assert "STALE" not in result["text"] and result["text"].startswith("Usage: confctl") and result["typer"]
    assert "STALE" not in (tmp_path / "cache" / "root-help.txt").read_text()  # rewritten


def test_the_width_is_part_of_the_signature(tmp_path):
    wide = run_help(tmp_path, columns=120)
    narrow = run_help(tmp_path, columns=60)  # cached at 120, so this one is built again
    assert narrow["typer"] and wide["text"] != narrow["text"]
    assert max(len(line) for line in narrow["text"].splitlines()) <= 60


def test_a_source_change_changes_the_signature(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub" / "__pycache__").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    before = cli.help_signature(str(package))
    assert cli.help_signature(str(package)) == before
    (package / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\0")  # bytecode is not a source
    assert cli.help_signature(str(package)) == before
    st = os.stat(package / "sub" / "b.py")
    os.utime(package / "sub" / "b.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    touched = cli.help_signature(str(package))
    assert touched != before
    (package / "c.py").write_text("")
    assert cli.help_signature(str(package)) not in (before, touched)


def test_the_version_is_part_of_the_signature(monkeypatch, tmp_path):
    before = cli.help_signature(str(tmp_path))
    monkeypatch.setattr(cli, "__version__", "99.0")
    assert cli.help_signature(str(tmp_path)) != before


def test_no_cache_folder_means_the_help_is_built(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_help_cache_file", lambda: None)
    assert cli.cached_root_help() is None
    monkeypatch.setattr(sys, "argv", ["confctl", "--help"])
    try:
        cli.main()
    except SystemExit as exit:
        assert exit.code == 0
    assert capsys.readouterr().out.startswith("Usage: confctl")


def test_a_caller_passing_argv_never_reads_or_writes_the_cache(monkeypatch, capsys):
    monkeypatch.setattr(cli, "cached_root_help", lambda: "STALE\n")
    stored = []
    monkeypatch.setattr(cli, "store_root_help", stored.append)
    assert cli.main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("Usage: confctl") and stored == []
