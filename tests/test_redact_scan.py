"""A secret scan over a broad command set: every endpoint example of every provider under --dry-run, every
read-only example under --debug and as is, against the simulators. Nothing printed may contain a configured
secret in any encoding, nor any credential the process learnt on the way (tokens, TURN credentials)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
from urllib.parse import quote, quote_plus

import pytest

from confctl.core import redact
from confctl.cli import main
from confctl.core.sim.server import CREDENTIALS

SECRET_KEYS = {"api_key", "pin", "token", "participant_token", "client_secret"}


def configured_secrets() -> set[str]:
    values = {v for creds in CREDENTIALS.values() for k, v in creds.items() if k in SECRET_KEYS}
    auvious = CREDENTIALS["auvious"]
    values.add(base64.b64encode(f"{auvious['client_id']}:{auvious['client_secret']}".encode()).decode())
    return values


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode()}


def run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def simenv(home, sim, monkeypatch):
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
    monkeypatch.setattr(redact, "_known", set())
    return sim


def test_no_secret_in_anything_printed(simenv):
    printed: list[tuple[str, str]] = []
    for provider in ("gateway", "pexip", "mind", "auvious"):
        code, text = run([provider, "endpoints", "-o", "json"])
        assert code == 0
        for row in json.loads(text):
            argv = row["example"][1:]
            if "-O" in argv or row["id"].endswith(("frame", "frame_high", "avatar", "theme_resource")):
                continue  # binary downloads: nothing of ours is printed
            runs = [["--dry-run", *argv]]
            if row["method"] == "GET":
                runs += [["--debug", *argv], argv]
            for args in runs:
                code, text = run(args)
                printed.append((" ".join(args), text))
    learnt = {s for s in redact.known() if len(s) >= redact.MIN_LEARNT}
    assert len(learnt) > len(configured_secrets())  # tokens and TURN credentials were handed out on the way
    bad = []
    for command, text in printed:
        for secret in configured_secrets() | learnt:
            if secret == CREDENTIALS["pexip"]["pin"]:
                hits = [f for f in (f"pin: {secret}", f'"pin":"{secret}"', f'"pin": "{secret}"') if f in text]
            else:
                hits = [f for f in forms(secret) if len(f) >= redact.MIN_LEARNT and f in text]
            if hits:
                bad.append((command, hits[0]))
    assert bad == [], bad[:5]
    assert len(printed) > 150
