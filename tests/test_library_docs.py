"""docs/library.md runs: its README snippet (connect, mute by name, follow ten events) and then every `python`
block of the page, in order, against a real `confctl sim serve` process, with the profiles the page names
(prod-pexip, prod-gateway) in an isolated config folder."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from conftest import ROOT, InProcessCLI, default_sigint, reset_process_state

DOC = ROOT / "docs" / "library.md"


def blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)


def readme_snippet() -> str:
    """The README's python block (under "confctl from Python"); docs/library.md repeats it under its
    "README snippet" heading, and the two must be the same text."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (snippet,) = blocks(readme.split("\n## confctl from Python\n", 1)[1].split("\n## ", 1)[0])
    text = DOC.read_text(encoding="utf-8")
    (copy,) = blocks(text.split("\n## README snippet\n", 1)[1].split("\n## ", 1)[0])
    assert copy == snippet, "docs/library.md's README snippet differs from the README's"
    return snippet


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`confctl sim serve --port 0 --env-file F` as a real process; its ready variables."""
    folder = tmp_path_factory.mktemp("served")
    env_file = folder / "sim.env"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env["CONFCTL_CONFIG_DIR"] = str(folder / "config")
    proc = subprocess.Popen([sys.executable, "-m", "confctl", "sim", "serve", "--port", "0", "--env-file",
                             str(env_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=str(ROOT), preexec_fn=default_sigint)
    try:
        for _ in range(300):  # written once every simulator answers
            if env_file.exists() and env_file.read_text().count("\n") >= 4 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read()
        values = {}
        for line in env_file.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values[key] = value.strip("'\"")
        yield values
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def profiles(home, served):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    cli = InProcessCLI(env)
    cli("profile", "add", "prod-pexip", "--provider", "pexip", "--url", served["CONFCTL_PEXIP_URL"], "--conference",
        served["CONFCTL_PEXIP_CONFERENCE"], "--display-name", "confctl", "--secret-stdin", "--secret-store", "file",
        input=served["CONFCTL_PEXIP_PIN"] + "\n", check=0)
    cli("profile", "add", "prod-gateway", "--provider", "gateway", "--url", served["CONFCTL_GATEWAY_URL"],
        "--app-id", served["CONFCTL_GATEWAY_APP_ID"], "--secret-stdin", "--secret-store", "file",
        input=served["CONFCTL_GATEWAY_API_KEY"] + "\n", check=0)
    for key in ("CONFCTL_PEXIP_URL", "CONFCTL_GATEWAY_URL"):
        httpx.post(served[key] + "/_sim/reset").raise_for_status()
    reset_process_state()
    yield served
    reset_process_state()


def pexip_state(served) -> dict:
    return httpx.get(served["CONFCTL_PEXIP_URL"] + "/_sim/state", params={"conference": "meet.demo"}).json()


def confctl_tokens(served) -> list:
    state = pexip_state(served)
    return [p["uuid"] for r in state["rooms"].values() for p in r["participants"]
            if p["protocol"] == "api" and p["uuid"] not in set(state["controls"])]


def test_the_readme_snippet_runs_against_the_simulator(profiles):
    snippet = readme_snippet()
    assert 'confctl.connect("prod-pexip")' in snippet and "islice" in snippet and ".mute(\"Bob\")" in snippet
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(snippet, "README.md: confctl from Python", "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and all(line.endswith(" meet.demo") for line in lines)
    bob = next(p for r in pexip_state(profiles)["rooms"].values() for p in r["participants"]
               if p["display_name"] == "Bob")
    assert bob["is_muted"] == "YES"
    assert confctl_tokens(profiles) == []  # the client's and the stream's tokens were released


def test_every_python_block_of_the_page_runs_in_order(profiles):
    found = blocks(DOC.read_text(encoding="utf-8"))
    assert len(found) >= 10
    namespace: dict = {"__name__": "library_md"}
    with contextlib.redirect_stdout(io.StringIO()):
        for i, block in enumerate(found):
            exec(compile(block, f"{DOC.name}: python block {i + 1}", "exec"), namespace)
    assert confctl_tokens(profiles) == []
