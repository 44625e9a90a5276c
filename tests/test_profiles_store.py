"""The profile store: concurrent writers lose nothing, precedence and sources, CONFCTL_PROFILE per provider,
what `profile add` asks on a terminal without a keyring, `profile edit` with nothing to change, folder and
secrets-file modes."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import tomllib

import pytest

from confctl.cli import main

GW = "http://127.0.0.1:9"


def _child(home: str, args: list[str], stdin: str | None, err_path: str) -> None:
    """One confctl process of a concurrent batch: its own environment, stdin, and stderr (to a file)."""
    for key in [k for k in os.environ if k.startswith("CONFCTL_")]:
        del os.environ[key]
    os.environ.update({"CONFCTL_CONFIG_DIR": home, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
    sys.stdin = io.StringIO(stdin or "")
    with open(err_path, "w") as err:
        sys.stdout, sys.stderr = io.StringIO(), err
        code = main(args)
        err.flush()
    os._exit(code)


def run_all(home, argvs, inputs, scratch):
    """Start every command as a real process at once and wait for all: real, separate processes racing for
    the same files (their locks are per process), forked from a server that has confctl imported already,
    so each costs no interpreter start."""
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["confctl.cli", "confctl.core.profiles", "confctl.core.config", "confctl.core.secrets",
                                "test_profiles_store"])
    errs = [scratch / f"err-{i}.txt" for i in range(len(argvs))]
    procs = [ctx.Process(target=_child, args=(str(home), list(a), i, str(e))) for a, i, e in zip(argvs, inputs, errs)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    codes = [p.exitcode for p in procs]
    assert codes == [0] * len(procs), (codes, [e.read_text() if e.exists() else "" for e in errs])


def config_of(home) -> dict:
    return tomllib.loads((home / "config.toml").read_text())


def test_concurrent_adds_keep_every_profile_and_secret(tmp_path):
    home = tmp_path / "cfg"
    for rnd in range(10):
        names = [f"r{rnd}-p{i}" for i in range(8)]
        argvs = [["profile", "add", n, "--provider", "gateway", "--url", GW, "--app-id", n, "--secret-stdin",
                  "--secret-store", "file"] for n in names]
        run_all(home, argvs, [f"key-{n}\n" for n in names], tmp_path)
        profiles = config_of(home)["profiles"]
        assert set(names) <= set(profiles), f"round {rnd}: kept {sorted(set(names) & set(profiles))}"
        secrets = tomllib.loads((home / "secrets.toml").read_text())
        assert all(secrets[n]["api_key"] == f"key-{n}" for n in names), f"round {rnd}"
    assert len(config_of(home)["profiles"]) == 80


def test_concurrent_edits_keep_every_edit(tmp_path):
    home = tmp_path / "cfg"
    names = [f"p{i}" for i in range(8)]
    for n in names:  # one after the other
        run_all(home, [["profile", "add", n, "--provider", "gateway", "--url", GW, "--app-id", "old",
                        "--secret-store", "env"]], [None], tmp_path)
    for rnd in range(3):
        run_all(home, [["profile", "edit", n, "--app-id", f"{n}-v{rnd}"] for n in names], [None] * len(names),
                tmp_path)
        profiles = config_of(home)["profiles"]
        assert {n: profiles[n]["app_id"] for n in names} == {n: f"{n}-v{rnd}" for n in names}


# -- precedence, sources, CONFCTL_PROFILE ---------------------------------------------------------------------
def _add(name, provider, *extra, stdin=""):
    sys.stdin = io.StringIO(stdin)
    return main(["--no-input", "profile", "add", name, "--provider", provider, *extra])


@pytest.fixture
def two_providers(home, monkeypatch):
    monkeypatch.setattr(sys, "stdin", sys.stdin)
    assert _add("lab-gw", "gateway", "--url", GW, "--app-id", "gw-app", "--secret-store", "env") == 0
    assert _add("lab-gw2", "gateway", "--url", "http://127.0.0.1:8", "--app-id", "gw2", "--secret-store", "env") == 0
    assert _add("lab-pexip", "pexip", "--url", "http://127.0.0.1:7", "--conference", "meet.lab",
                "--secret-store", "env") == 0
    return home


def test_confctl_profile_applies_only_to_its_own_provider(two_providers, monkeypatch):
    from confctl.core import config

    monkeypatch.setenv("CONFCTL_PROFILE", "lab-pexip")
    assert config.resolve("pexip", None).name == "lab-pexip"
    assert config.resolve("gateway", None).name == "lab-gw"  # the gateway default, not an error
    assert main(["--dry-run", "gateway", "room", "list"]) == 0
    monkeypatch.setenv("CONFCTL_PROFILE", "lab-gw2")
    assert config.resolve("gateway", None).name == "lab-gw2"
    assert config.resolve("gateway", "lab-gw").name == "lab-gw"  # the flag wins over the variable
    monkeypatch.setenv("CONFCTL_PROFILE", "nope")
    with pytest.raises(config.ConfigError, match="CONFCTL_PROFILE: no profile named 'nope'"):
        config.resolve("gateway", None)


def test_profile_show_gives_each_values_source(two_providers, monkeypatch, capsys):
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "http://127.0.0.1:6")
    capsys.readouterr()
    assert main(["profile", "show", "lab-gw", "-o", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["url"] == "http://127.0.0.1:6"
    assert shown["sources"] == {"url": "environment (CONFCTL_GATEWAY_URL)", "app_id": "profile 'lab-gw'",
                                "api_key": "profile 'lab-gw'"}
    assert main(["profile", "show", "lab-pexip", "-o", "json"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]
    assert sources["display_name"] == "default" and sources["conference"] == "profile 'lab-pexip'"
    assert main(["profile", "show", "lab-gw", "-o", "table"]) == 0
    table = capsys.readouterr().out
    assert "http://127.0.0.1:6   (from CONFCTL_GATEWAY_URL)" in table and "gw-app   (from profile 'lab-gw')" in table


def test_a_bad_value_from_the_environment_names_the_variable(two_providers, monkeypatch, capsys):
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "gateway.example.com")
    capsys.readouterr()
    assert main(["-p", "lab-gw", "--dry-run", "gateway", "room", "list"]) == 2
    err = capsys.readouterr().err
    assert "CONFCTL_GATEWAY_URL: must start with http://" in err and "profile's url" not in err


def test_an_explicit_profile_overridden_by_the_environment_is_warned_about(two_providers, monkeypatch, capsys):
    from confctl.core import config

    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "env-app")
    profile = config.resolve("gateway", "lab-gw")
    assert profile.get("app_id") == "env-app"  # flag > env > profile > default
    assert profile.origin("app_id") == "CONFCTL_GATEWAY_APP_ID"
    assert "CONFCTL_GATEWAY_APP_ID overrides the app_id of profile 'lab-gw'" in capsys.readouterr().err


def test_missing_secret_hint_for_an_existing_profile_says_edit(two_providers, capsys):
    capsys.readouterr()
    assert main(["-p", "lab-gw", "gateway", "room", "list"]) == 3  # checked before anything is sent
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "confctl profile edit lab-gw --secret-stdin" in record["hint"] and "profile add" not in record["hint"]


# -- profile add on a terminal without a keyring, profile edit with nothing to change ---------------------------
@pytest.fixture
def tty(monkeypatch):
    """A terminal: `state.interactive` is true and each prompt takes the next scripted answer."""
    from confctl.core import profiles, secrets
    from confctl.core.state import State

    answers: list[str] = []
    asked: list[str] = []

    def prompt(text, default=None, **kw):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(State, "interactive", property(lambda self: True))
    monkeypatch.setattr(profiles.typer, "prompt", prompt)
    monkeypatch.setattr(secrets, "_probe", None)
    return answers, asked


def test_add_on_a_terminal_asks_fields_secret_and_store(home, tty, capsys):
    answers, asked = tty
    answers += ["ftp://nope", GW, "APP1", "s3cret", "maybe", "file"]
    assert main(["profile", "add", "prod-gw", "--provider", "gateway"]) == 0
    assert asked[0].startswith("gateway base URL") and asked[2].startswith("application id")
    assert asked[3] == "API key" and asked[4] == asked[5] == "Secret store [file/env]"
    entry = config_of(home)["profiles"]["prod-gw"]
    assert (entry["url"], entry["app_id"], entry["secret_store"]) == (GW, "APP1", "file")
    assert tomllib.loads((home / "secrets.toml").read_text())["prod-gw"]["api_key"] == "s3cret"
    assert "added gateway profile" in capsys.readouterr().err


def test_add_on_a_terminal_with_env_store_keeps_no_secret(home, tty, capsys):
    answers, _ = tty
    answers += ["s3cret", "env"]
    assert main(["profile", "add", "g", "--provider", "gateway", "--url", GW, "--app-id", "A"]) == 0
    assert config_of(home)["profiles"]["g"]["secret_store"] == "env"
    assert not (home / "secrets.toml").exists()
    assert "set CONFCTL_GATEWAY_API_KEY" in capsys.readouterr().err


def test_add_on_a_terminal_with_no_secret_writes_nothing(home, tty, capsys):
    answers, _ = tty
    answers += [""]
    assert main(["profile", "add", "g", "--provider", "gateway", "--url", GW, "--app-id", "A"]) == 2
    assert not (home / "config.toml").exists()
    assert "added" not in capsys.readouterr().err


def test_add_without_a_terminal_needs_fields_and_a_secret(home, capsys):
    assert main(["--no-input", "profile", "add", "g", "--provider", "gateway"]) == 2
    assert main(["--no-input", "profile", "add", "g", "--provider", "gateway", "--url", GW, "--app-id", "A"]) == 2
    err = capsys.readouterr().err
    assert "--url, --app-id" in err and "needs its API key" in err and "added" not in err
    assert not (home / "config.toml").exists()


def test_edit_with_nothing_to_change_says_so_and_writes_nothing(two_providers, capsys):
    before = (two_providers / "config.toml").read_bytes()
    capsys.readouterr()
    assert main(["profile", "edit", "lab-gw"]) == 2
    assert "nothing to change in profile 'lab-gw'" in capsys.readouterr().err
    assert (two_providers / "config.toml").read_bytes() == before


def test_adding_an_existing_profile_points_to_edit(two_providers, capsys):
    capsys.readouterr()
    assert _add("lab-gw", "gateway", "--url", GW, "--app-id", "x", "--secret-store", "env") == 2
    assert "confctl profile edit lab-gw" in capsys.readouterr().err


# -- modes -----------------------------------------------------------------------------------------------------
def test_every_folder_confctl_creates_is_private(tmp_path, monkeypatch):
    from confctl.core import config

    monkeypatch.setenv("CONFCTL_CONFIG_DIR", str(tmp_path / "a" / "b" / "cfg"))
    old = os.umask(0o022)
    try:
        cache = config.cache_dir()
        # what a provider's token cache then does: its mkdir finds the folder made private already
        (cache / "x").parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "cfg", cache):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_secrets_file_others_can_read_is_refused_with_its_mode(home, monkeypatch, capsys):
    sys.stdin = io.StringIO("file-key\n")
    monkeypatch.setattr(sys, "stdin", sys.stdin)
    assert main(["--no-input", "profile", "add", "g", "--provider", "gateway", "--url", GW, "--app-id", "A",
                 "--secret-stdin", "--secret-store", "file"]) == 0
    path = home / "secrets.toml"
    os.chmod(path, 0o644)
    capsys.readouterr()
    assert main(["gateway", "room", "list"]) == 3  # refused before anything is sent
    err = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "mode 0644" in err["error"] and err["hint"] == f"chmod 600 {path}"
    assert main(["profile", "show", "g", "-o", "json"]) == 0
    assert "(mode 0644) — refused" in json.loads(capsys.readouterr().out)["api_key"]
    os.chmod(path, 0o600)
    assert main(["profile", "show", "g", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["api_key"] == f"secrets file {path} (mode 0600)"


def test_secrets_with_a_stray_line_ending_are_cleaned_and_named(home, monkeypatch, capsys):
    from confctl.core import config

    monkeypatch.setattr(sys, "stdin", io.StringIO("file-key\r\n"))  # a key file saved on Windows
    assert main(["--no-input", "profile", "add", "g", "--provider", "gateway", "--url", GW, "--app-id", "A",
                 "--secret-stdin", "--secret-store", "file"]) == 0
    assert "--secret-stdin: ignored a trailing line ending (CR)" in capsys.readouterr().err
    assert tomllib.loads((home / "secrets.toml").read_text())["g"]["api_key"] == "file-key"
    monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "env-key\r")
    assert config.resolve("gateway", None).secret("api_key") == "env-key"
    assert "CONFCTL_GATEWAY_API_KEY: ignored a trailing line ending" in capsys.readouterr().err
    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "A\r\nX-Evil: 1")
    assert main(["gateway", "room", "list"]) == 2
    err = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert err["error"].startswith("CONFCTL_GATEWAY_APP_ID: ") and "X-Evil" not in err["error"]


def test_unreachable_url_from_the_environment_is_named_in_the_hint(two_providers, monkeypatch, capsys):
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "k")
    capsys.readouterr()
    assert main(["-p", "lab-gw2", "--max-wait", "0", "gateway", "room", "list"]) == 7
    record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert record["hint"].startswith("check CONFCTL_GATEWAY_URL") and "profile's url" not in record["hint"]


def test_token_caches_live_in_private_folders(cli, tmp_path):
    """A real Pexip and Auvious command against the simulator: the folders their token caches create, and every
    missing parent, are 0700 (the providers' own mkdir calls find them made already)."""
    base = tmp_path / "fresh" / "nested"
    env = {"CONFCTL_CONFIG_DIR": str(base / "cfg"), "CONFCTL_NO_INPUT": "1"}
    cli("pexip", "conference", "status", env=env, check=0)
    cli("auvious", "conference", "list", env=env)
    assert any((base / "cfg" / "cache").iterdir())
    for folder in (tmp_path / "fresh", base, base / "cfg", base / "cfg" / "cache"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
