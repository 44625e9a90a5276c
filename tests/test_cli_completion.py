"""Shell completion and man pages for installed users: `confctl completion`, `confctl man`, profile names
read by the bash script itself from config.toml, every choice, and the data files pip installs."""

from __future__ import annotations

import glob
import importlib.util
import subprocess
import sys
import tomllib

import pytest

from confctl.cli import main
from tests.conftest import ROOT

PROFILES = '''[defaults]
gateway = "lab-gw"

[profiles.lab-gw]
provider = "gateway"
url = "https://gw.example.com"

[profiles."prod.pexip"]
provider = "pexip"

[profiles.lab-mind]
provider = "mind"
'''


@pytest.fixture(scope="module")
def generated():
    name = "gen_docs_for_completion_tests"
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    files, _ = module.render()
    return files


@pytest.fixture
def bash_complete(generated, tmp_path):
    script = tmp_path / "confctl.bash"
    script.write_text(generated["completions/confctl.bash"])

    def complete(words: list[str], env: dict[str, str]) -> list[str]:
        """COMPREPLY for the command line `words` (the last one is the word being completed), with the
        variables bash sets for a completion function (COMP_LINE and COMP_POINT; COMP_WORDS as split at
        blanks)."""
        line = " ".join(words)
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        program = (f"source {script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
                   f"COMP_LINE='{line}'; COMP_POINT={len(line)}\n"
                   "_confctl\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
        proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), **env}, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return [line for line in proc.stdout.splitlines() if line]
    return complete


@pytest.fixture
def config(tmp_path):
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "config.toml").write_text(PROFILES)
    return {"CONFCTL_CONFIG_DIR": str(folder)}


@pytest.mark.parametrize("words, expected", [
    (["confctl", "-p", ""], ["lab-gw", "prod.pexip", "lab-mind"]),
    (["confctl", "gateway", "room", "list", "--profile", "lab"], ["lab-gw", "lab-mind"]),
    (["confctl", "profile", "show", ""], ["lab-gw", "prod.pexip", "lab-mind"]),
    (["confctl", "profile", "use", "p"], ["prod.pexip"]),
    (["confctl", "profile", "remove", "lab-g"], ["lab-gw"]),
    (["confctl", "profile", "edit", ""], ["lab-gw", "prod.pexip", "lab-mind"]),
    (["confctl", "profile", "test", ""], ["lab-gw", "prod.pexip", "lab-mind"]),
])
def test_bash_offers_profile_names_from_the_config_file(bash_complete, config, words, expected):
    assert sorted(bash_complete(words, config)) == sorted(expected)


def test_bash_reads_the_platform_default_folder(bash_complete, tmp_path):
    xdg = tmp_path / "xdg" / "confctl"
    xdg.mkdir(parents=True)
    (xdg / "config.toml").write_text(PROFILES)
    assert "lab-gw" in bash_complete(["confctl", "-p", ""], {"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    home = tmp_path / "home" / ".config" / "confctl"
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[profiles.only-home]\nprovider = "mind"\n')
    assert bash_complete(["confctl", "-p", ""], {}) == ["only-home"]


def test_no_config_no_names_no_error(bash_complete, tmp_path):
    assert bash_complete(["confctl", "-p", ""], {"CONFCTL_CONFIG_DIR": str(tmp_path / "missing")}) == []


@pytest.mark.parametrize("words, expected", [
    (["confctl", "-o", ""], ["table", "wide", "json", "jsonl", "yaml", "id"]),
    (["confctl", "gateway", "room", "list", "--output", "j"], ["json", "jsonl"]),
    (["confctl", "--color", ""], ["auto", "always", "never"]),
    (["confctl", "completion", ""], ["bash", "zsh", "fish"]),
    (["confctl", "man", "p"], ["pexip", "profile"]),
])
def test_bash_offers_every_choice(bash_complete, config, words, expected):
    assert bash_complete(words, config) == expected


def test_bash_offers_pexip_layouts(bash_complete, config):
    offered = bash_complete(["confctl", "pexip", "conference", "set-layout", "--layout", ""], config)
    assert {"1:0", "2:21", "ac", "teams"} <= set(offered)
    # bash replaces only what follows the ":" already typed
    assert bash_complete(["confctl", "pexip", "conference", "set-layout", "--layout", "2:2"], config) == ["21"]


def test_bash_completes_option_equals_value(bash_complete, config):
    assert bash_complete(["confctl", "gateway", "room", "list", "--output=js"], config) == ["json", "jsonl"]
    assert bash_complete(["confctl", "--profile=prod"], config) == ["prod.pexip"]


def test_completion_command_prints_each_script(home, capsys):
    for shell, path in (("bash", "completions/confctl.bash"), ("zsh", "completions/_confctl"),
                        ("fish", "completions/confctl.fish")):
        assert main(["completion", shell]) == 0
        assert capsys.readouterr().out == (ROOT / path).read_text()
    assert main(["completion", "ksh"]) == 2


def test_man_command_prints_the_page_when_not_a_terminal(home, capsys):
    assert main(["man"]) == 0
    assert capsys.readouterr().out == (ROOT / "man" / "confctl.1").read_text()
    assert main(["man", "gateway"]) == 0
    assert capsys.readouterr().out.startswith('.TH "CONFCTL\\-GATEWAY"')
    assert main(["man", "nope"]) == 2


def test_pip_install_ships_man_pages_and_completions_as_data_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = project["tool"]["setuptools"]["data-files"]
    assert set(data) >= {"share/man/man1", "share/bash-completion/completions", "share/zsh/site-functions",
                         "share/fish/vendor_completions.d"}
    for patterns in data.values():
        for pattern in patterns:
            assert glob.glob(str(ROOT / pattern)), pattern  # only files that exist
    assert project["project"]["license"] == "MIT"
    for package, patterns in project["tool"]["setuptools"].get("package-data", {}).items():
        for pattern in patterns:  # each package's data files exist in that package's folder
            assert glob.glob(str(ROOT / package.replace(".", "/") / pattern)), (package, pattern)
