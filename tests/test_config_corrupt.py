"""A corpus of broken configuration files: each is exit 2 with a message naming the file and the key, and the
file is left exactly as it was (table-driven: one row per way to break config.toml or secrets.toml)."""

from __future__ import annotations

import json

import pytest

from confctl.cli import main

GOOD = '[defaults]\ngateway = "gw"\n\n[profiles.gw]\nprovider = "gateway"\nurl = "http://127.0.0.1:9"\napp_id = "a"\nsecret_store = "file"\n'

# (case id, config.toml content, what the message must name besides the file)
CONFIG_CASES = [
    ("not-utf8", b'[profiles.gw]\nprovider = "gate\xff\xfeway"\n', "not UTF-8"),
    ("binary", bytes(range(256)), "not UTF-8"),
    ("not-toml", b"[profiles.gw\nprovider = 1\n", "not valid TOML"),
    ("truncated", GOOD.encode()[:30], "not valid TOML"),
    ("profiles-string", b'profiles = "x"\n', "profiles: must be a table"),
    ("defaults-array", b'defaults = ["gw"]\n', "defaults: must be a table"),
    ("defaults-int", b'[defaults]\ngateway = 5\n', "defaults.gateway: must be a profile name"),
    ("defaults-unknown-provider", b'[defaults]\nzoom = "x"\n', "defaults.zoom: not a provider"),
    ("entry-string", b'[profiles]\ngw = "gateway"\n', "profiles.gw: must be a table"),
    ("entry-int", b'[profiles]\ngw = 3\n', "profiles.gw: must be a table"),
    ("provider-int", b'[profiles.gw]\nprovider = 3\n', "profiles.gw.provider: must be a string"),
    ("provider-unknown", b'[profiles.gw]\nprovider = "zoom"\n', "profiles.gw.provider: unknown provider 'zoom'"),
    ("provider-missing", b'[profiles.gw]\nurl = "http://x"\n', "profiles.gw: missing key provider"),
    ("url-int", b'[profiles.gw]\nprovider = "gateway"\nurl = 8080\n', "profiles.gw.url: must be a string"),
    ("url-scheme", b'[profiles.gw]\nprovider = "gateway"\nurl = "ftp://x"\n', "profiles.gw.url: must start with"),
    ("app-id-table", b'[profiles.gw]\nprovider = "gateway"\napp_id = {a = 1}\n', "profiles.gw.app_id: must be a string"),
    ("ca-bundle-int", b'[profiles.gw]\nprovider = "gateway"\nca_bundle = 1\n', "profiles.gw.ca_bundle: must be a string"),
    ("ca-bundle-array", b'[profiles.gw]\nprovider = "gateway"\nca_bundle = ["a.pem"]\n',
     "profiles.gw.ca_bundle: must be a string"),
    ("protected-string", b'[profiles.gw]\nprovider = "gateway"\nprotected = "yes"\n',
     "profiles.gw.protected: must be true or false"),
    ("store-unknown", b'[profiles.gw]\nprovider = "gateway"\nsecret_store = "vault"\n',
     "profiles.gw.secret_store: must be one of keyring, file, env"),
    ("store-int", b'[profiles.gw]\nprovider = "gateway"\nsecret_store = 1\n', "profiles.gw.secret_store: must be a string"),
    ("unknown-key", b'[profiles.gw]\nprovider = "gateway"\nurll = "http://x"\n', "profiles.gw.urll: unknown key"),
    ("other-providers-field", b'[profiles.gw]\nprovider = "gateway"\nclient_id = "x"\n',
     "profiles.gw.client_id: unknown key"),
    ("secret-in-config", b'[profiles.gw]\nprovider = "gateway"\napi_key = "k"\n',
     "profiles.gw.api_key: a secret does not belong"),
    ("dotted-name", b'[profiles."a.b"]\nprovider = 1\n', 'profiles."a.b".provider: must be a string'),
    ("top-level-unknown", b'verbose = true\n', "verbose: unknown key"),
    ("resume-timeout-word", b'[profiles.px]\nprovider = "pexip"\nresume_timeout = "soon"\n',
     "profiles.px.resume_timeout: must be a positive number"),
    ("cr-in-app-id", b'[profiles.gw]\nprovider = "gateway"\napp_id = "a\\r\\nX-Evil: 1"\n',
     "profiles.gw.app_id: contains a control character"),
]


def _last_error(capsys) -> dict:
    return json.loads(capsys.readouterr().err.strip().splitlines()[-1])


@pytest.mark.parametrize("content, named", [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
@pytest.mark.parametrize("argv", [["profile", "list"], ["gateway", "room", "list"],
                                  ["profile", "add", "new", "--provider", "mind", "--app-id", "x",
                                   "--secret-store", "env"]], ids=["list", "command", "add"])
def test_a_corrupt_config_is_a_usage_error_naming_file_and_key(home, capsys, content, named, argv):
    home.mkdir(mode=0o700)
    path = home / "config.toml"
    path.write_bytes(content)
    assert main(["--no-input", *argv]) == 2
    err = _last_error(capsys)
    assert err["error"].startswith(f"{path}: "), err
    assert named in err["error"], err
    assert "unexpected" not in err["error"]
    assert path.read_bytes() == content


SECRETS_CASES = [
    ("truncated", b'[gw]\napi_key = "abc', "not valid TOML"),
    ("binary", b"\x00\x01\xff\xfe" * 8, "not UTF-8"),
    ("integer-value", b"[gw]\napi_key = 12345\n", "gw.api_key: must be a string"),
    ("profile-not-table", b'gw = "abc"\n', "gw: must be a table"),
]


@pytest.mark.parametrize("content, named", [c[1:] for c in SECRETS_CASES], ids=[c[0] for c in SECRETS_CASES])
def test_a_corrupt_secrets_file_is_a_usage_error_naming_file_and_key(home, capsys, content, named):
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text(GOOD)
    path = home / "secrets.toml"
    path.write_bytes(content)
    path.chmod(0o600)
    assert main(["--no-input", "gateway", "room", "list"]) == 2
    err = _last_error(capsys)
    assert err["error"].startswith(f"{path}: ") and named in err["error"], err
    assert path.read_bytes() == content
    assert main(["profile", "show", "gw", "-o", "json"]) == 0  # show still works and says why
    assert "unreadable" in json.loads(capsys.readouterr().out)["api_key"]


def test_config_toml_that_is_a_folder(home, capsys):
    (home / "config.toml").mkdir(parents=True)
    assert main(["profile", "list"]) == 2
    assert _last_error(capsys)["error"] == f"{home / 'config.toml'}: is a folder, not a file"


def test_config_dir_that_is_a_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "cfg"
    path.write_text("not a folder\n")
    monkeypatch.setenv("CONFCTL_CONFIG_DIR", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    for argv in (["profile", "list"], ["--no-input", "profile", "add", "g", "--provider", "mind", "--app-id", "x",
                                       "--secret-store", "env"]):
        assert main(argv) == 2
        err = _last_error(capsys)
        assert err["error"] == f"{path}: not a folder (CONFCTL_CONFIG_DIR)", err
    assert path.read_text() == "not a folder\n"


def test_a_default_naming_a_missing_profile(home, capsys):
    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('[defaults]\ngateway = "gone"\n')
    assert main(["gateway", "room", "list"]) == 2
    err = _last_error(capsys)
    assert "defaults.gateway: names no profile 'gone'" in err["error"] and "profile use" in err["hint"]


def test_provider_extras_are_valid_profile_keys(home, capsys):
    from confctl.core import config

    home.mkdir(mode=0o700)
    (home / "config.toml").write_text('[profiles.px]\nprovider = "pexip"\nurl = "http://127.0.0.1:9"\n'
                                      'conference = "meet.x"\ncall_tag = "ops"\nresume_timeout = 30\n')
    profile = config.resolve("pexip", "px")
    assert (profile.get("call_tag"), profile.get("resume_timeout")) == ("ops", 30)
