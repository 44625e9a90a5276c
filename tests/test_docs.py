"""The docs keep up with the code: every environment variable confctl reads is in the README and in
confctl(1); the README's first minutes say how to run what the demo installed."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
VAR = re.compile(r"\b(CONFCTL_[A-Z][A-Z0-9_]*[A-Z0-9]|NO_COLOR)\b")
# Shell variables that a dry run's printed setup lines assign and use; confctl itself never reads them.
PRINTED_ONLY = {"CONFCTL_PEXIP_JOINED", "CONFCTL_PEXIP_SELF"}


def variables_in_code() -> set[str]:
    found = set()
    for path in (ROOT / "confctl").rglob("*.py"):
        if "sim" in path.relative_to(ROOT / "confctl").parts:
            continue  # the simulators' own knobs are test fixtures, not user settings
        found |= set(VAR.findall(path.read_text(encoding="utf-8")))
    from confctl.core.registry import PROVIDERS

    found |= {info.env_var(f.name) for info in PROVIDERS.values() for f in info.fields}
    return found - PRINTED_ONLY


@pytest.fixture(scope="module")
def root_man() -> str:
    name = "gen_docs_for_docs_tests"
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "gen_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    files, _ = module.render()
    return files["man/confctl.1"].replace("\\", "")


def test_every_environment_variable_is_in_the_readme():
    missing = sorted(v for v in variables_in_code() if f"`{v}`" not in README)
    assert not missing, f"add to README's environment table: {missing}"


def test_every_environment_variable_is_in_the_man_page(root_man):
    missing = sorted(v for v in variables_in_code() if v not in root_man)
    assert not missing, f"declare them in registry.GLOBAL_ENV or the vendor's spec (env_vars): {missing}"


def test_the_pexip_extras_are_documented(root_man):
    for suffix in ("CONFERENCE_EXTENSION", "CHOSEN_IDP", "SSO_TOKEN", "CALL_TAG", "RESUME_TIMEOUT"):
        assert f"CONFCTL_PEXIP_{suffix}" in README and f"CONFCTL_PEXIP_{suffix}" in root_man


def test_readme_says_how_to_run_confctl_after_the_demo():
    first_minutes = README.split("## Install for real use")[0]
    assert ".venv/bin/confctl" in first_minutes and "source .venv/bin/activate" in first_minutes


def test_readme_documents_completion_man_and_conventions():
    for needle in ("confctl completion bash", "confctl completion zsh", "confctl completion fish", "man confctl",
                   "confctl man", "-o wide", "next cursor:", "141", "NO_COLOR"):
        assert needle in README, needle


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def test_the_exit_code_table_is_the_one_in_errors():
    """README "Exit codes" lists exactly errors.EXIT_MEANINGS, in order, with the same words; every code an
    error maps to has a meaning."""
    from confctl.core.errors import EXIT_CODES, EXIT_MEANINGS

    rows = [(int(code), text.replace("\\|", "|")) for code, text in
            re.findall(r"^\| (\d+) \| (.*) \|$", _section("Exit codes"), re.M)]
    assert rows == list(EXIT_MEANINGS)
    assert {code for _, code in EXIT_CODES} <= {code for code, _ in EXIT_MEANINGS}


def test_the_environment_tables_are_the_registrys_variables():
    """README "Environment variables" names exactly the variables of registry.env_vars() (the global ones and
    each vendor's spec) — no more, no fewer."""
    from confctl.core.registry import env_vars

    in_readme = set(re.findall(r"`(CONFCTL_[A-Z0-9_]+|NO_COLOR)`", _section("Environment variables")))
    assert in_readme == {var for var, _ in env_vars()}


def test_the_man_page_takes_exit_codes_and_variables_from_their_sources(root_man):
    from confctl.core.errors import EXIT_MEANINGS
    from confctl.core.registry import env_vars

    exit_part = root_man[root_man.index(".SH EXIT STATUS"):]
    for code, _ in EXIT_MEANINGS:
        assert f"fB{code}fR" in exit_part
    env_part = root_man[root_man.index(".SH ENVIRONMENT"):root_man.index(".SH FILES")]
    for var, _ in env_vars():
        assert var in env_part, var
