"""Generated completions and man pages: current with the command tree, and well-formed."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_docs"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


gen_docs = _load_generator()


@pytest.fixture(scope="module")
def rendered():
    files, skipped = gen_docs.render()
    return files, skipped


@pytest.fixture(scope="module")
def gateway_commands():
    from confctl.core.registry import PROVIDERS

    provider = PROVIDERS["gateway"].load()
    return [("gateway", *ep.command_path) for ep in provider.endpoints]


def test_generated_files_are_current(rendered):
    files, _ = rendered
    stale = gen_docs.stale_files(files)
    assert not stale, f"stale generated files {stale}: run `python scripts/gen_docs.py`"


def test_check_mode_reports_stale_file(tmp_path, rendered):
    """--check exits 1 and names the file when a generated file differs or is missing; 0 when all match."""
    files, _ = rendered
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    assert gen_docs.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "man" / "confctl-gateway.1").write_text(".TH OLD 1\n")
    (tmp_path / "completions" / "confctl.fish").unlink()
    (tmp_path / "man" / "confctl-removed.1").write_text(".TH REMOVED 1\n")
    assert gen_docs.stale_files(files, tmp_path) == ["completions/confctl.fish", "man/confctl-gateway.1",
                                                     "man/confctl-removed.1"]
    assert gen_docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert gen_docs.main(["--root", str(tmp_path)]) == 0  # write mode repairs and removes
    assert gen_docs.stale_files(files, tmp_path) == []
    assert not (tmp_path / "man" / "confctl-removed.1").exists()


def test_output_is_deterministic(rendered):
    files, _ = rendered
    again, _ = gen_docs.render()
    assert again == files


def test_expected_files(rendered):
    files, skipped = rendered
    for rel in ("completions/confctl.bash", "completions/_confctl", "completions/confctl.fish", "man/confctl.1",
                "man/confctl-gateway.1", "man/confctl-events.1", "man/confctl-sim.1"):
        assert rel in files
    for name in ("pexip", "mind", "auvious", "profile"):
        assert (f"man/confctl-{name}.1" in files) != (name in skipped), name


def test_bash_completion_syntax():
    subprocess.run(["bash", "-n", str(ROOT / "completions" / "confctl.bash")], check=True)


def _bash_complete(lines: list[list[str]]) -> list[list[str]]:
    """Run the completion function for each command line (last word = the word being completed)."""
    script = [f"source {ROOT / 'completions' / 'confctl.bash'}"]
    for words in lines:
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        line = " ".join(words)  # bash also sets COMP_LINE and COMP_POINT; the script splits COMP_LINE itself
        script.append(f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMP_LINE='{line}'; "
                      f"COMP_POINT={len(line)}; COMPREPLY=(); _confctl; "
                      'echo "${COMPREPLY[*]}"')
    out = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines()]


def test_bash_completes_nested_commands_and_options(gateway_commands):
    lines = [["confctl", ""], ["confctl", "-o", "json", "gateway", ""], ["confctl", "gateway", "room", "volume", "--"],
             ["confctl", "gateway", "session", "mute", "--color", ""], ["confctl", "--profile", "p", "gateway", "ro"]]
    # every gateway endpoint command, reached through its parent path
    lines += [["confctl", *path[:-1], ""] for path in gateway_commands]
    results = _bash_complete(lines)
    assert {"gateway", "events", "sim", "profile"} <= set(results[0])
    assert {"room", "session", "api", "endpoints", "events"} <= set(results[1])
    assert {"--level", "--help", "--output", "--yes"} <= set(results[2])
    assert results[3] == ["auto", "always", "never"]
    assert results[4] == ["room"]
    for path, result in zip(gateway_commands, results[5:]):
        assert path[-1] in result, (path, result)


def test_zsh_completion():
    path = ROOT / "completions" / "_confctl"
    assert path.read_text().startswith("#compdef confctl\n")
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n", str(path)], check=True)


def test_fish_completion():
    path = ROOT / "completions" / "confctl.fish"
    if not shutil.which("fish"):
        pytest.skip("fish is not installed")
    subprocess.run(["fish", "-n", str(path)], check=True)
    out = subprocess.run(["fish", "-c", f"source {path}; complete -C 'confctl gateway room '"],
                         capture_output=True, text=True, check=True).stdout
    assert {"get", "play", "volume"} <= {line.split("\t")[0] for line in out.splitlines()}


def test_man_pages_are_roff(rendered):
    files, _ = rendered
    pages = sorted(ROOT / rel for rel in files if rel.startswith("man/"))
    for page in pages:
        text = page.read_text()
        assert text.startswith(".TH "), page
        assert ".SH NAME" in text and ".SH SYNOPSIS" in text, page
        assert text.isascii(), page  # non-ASCII goes through roff escapes
    if shutil.which("groff"):  # every warning except line breaking (long choice lists cannot be adjusted)
        proc = subprocess.run(["groff", "-man", "-ww", "-Wbreak", "-z", *map(str, pages)], capture_output=True,
                              text=True)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr


def test_root_man_page_sections():
    text = (ROOT / "man" / "confctl.1").read_text()
    for section in ("GLOBAL OPTIONS", "COMMANDS", "ENVIRONMENT", "EXIT STATUS"):
        assert f".SH {section}" in text
    for var in ("CONFCTL_PROFILE", "CONFCTL_OUTPUT", "CONFCTL_GATEWAY_API_KEY", "CONFCTL_PEXIP_PIN",
                "CONFCTL_MIND_TOKEN", "CONFCTL_AUVIOUS_CLIENT_SECRET", "NO_COLOR"):
        assert gen_docs.roff(var) in text
    for code in (0, 2, 3, 8, 9, 130):
        assert f".TP\n\\fB{code}\\fR" in text
    assert "\\-\\-dry\\-run" in text


def test_gateway_man_page_lists_every_endpoint_command():
    from confctl.core.registry import PROVIDERS

    text = (ROOT / "man" / "confctl-gateway.1").read_text()
    for ep in PROVIDERS["gateway"].load().endpoints:
        section = gen_docs.roff(" ".join(["confctl", "gateway", *ep.command_path]))
        assert f".SS {section}\n" in text, ep.id
        body = text.split(f".SS {section}\n", 1)[1].split(".SS ", 1)[0]
        assert f"\\fB{ep.method}\\fR {gen_docs.roff(ep.path)}" in body, ep.id
    volume = text.split(".SS confctl gateway room volume\n", 1)[1].split(".SS ", 1)[0]
    assert "\\fB\\-\\-level\\fR" in volume and "volume level" in volume
