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
    assert not missing, f"add to GLOBAL_ENV/EXTRA_ENV in scripts/gen_docs.py: {missing}"


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
