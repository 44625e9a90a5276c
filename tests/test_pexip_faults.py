"""Pexip under faults, end to end over loopback: a refused refresh ends a follower with exit 3, a
`refresh_token` event refreshes at once, the resume window is honoured and cleanup is bounded with the node
gone, request_token answered with HTML is exit 7, and no PIN, token or TURN credential is ever printed."""

from __future__ import annotations

import json
import os
import signal
import threading

import httpx
import pytest

from conftest import InProcessCLI
from loopback import Handler, Server
from pexip_support import pcli, px  # noqa: F401 (pcli, px: fixtures)

PEXIP_SIM = {"pexip_token_ttl": 6, "deferred_delay": 0.05}
PEXIP_ONLY = {"CONFCTL_GATEWAY_URL": "", "CONFCTL_MIND_URL": "", "CONFCTL_AUVIOUS_URL": ""}


def control(sim, what, **body):
    response = httpx.post(sim.url + "/pexip/_sim/" + what, json=body)
    response.raise_for_status()
    return response.json()


def follow(cli, *args, env=None):
    return cli.popen("pexip", "events", "-o", "jsonl", *args, env={**PEXIP_ONLY, **(env or {})})


def wait_for_roster(proc):
    """Lines until the opening roster is complete (a stream that ends first fails the test)."""
    for _ in range(200):
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        if json.loads(line)["type"] == "participant_sync_end":
            return


def refreshes(sim) -> int:
    return sum(p.endswith("/refresh_token") for _m, p in list(sim.app.state.requests))


def test_a_refused_refresh_ends_the_follower_with_exit_3(pcli, px):
    proc = follow(pcli)
    wait_for_roster(proc)
    control(px, "refuse-refresh", count=-1)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "token refresh failed" in err and "refused" in err
    assert refreshes(px) >= 2  # retried while the token was still valid


def test_a_refresh_token_event_refreshes_at_once(pcli, px):
    control(px, "ttl", seconds=600)  # no refresh due for 200 s
    proc = follow(pcli)
    try:
        wait_for_roster(proc)
        assert refreshes(px) == 0
        control(px, "refresh-event")
        for _ in range(100):
            line = proc.stdout.readline()
            if json.loads(line)["type"] == "refresh_token":
                break
        deadline = threading.Event()
        for _ in range(50):
            if refreshes(px):
                break
            deadline.wait(0.1)
        assert refreshes(px) == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def doomed_sim():
    """A simulator of our own, to stop under a running follower."""
    from confctl.core.sim.server import RunningSim, SimConfig

    running = RunningSim(SimConfig(pexip_token_ttl=30, vendors=("pexip",))).start()
    yield running
    running.stop()


def doomed_cli(home, sim) -> InProcessCLI:
    env = dict(os.environ)
    env.update(sim.env())
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    return InProcessCLI(env)


def test_the_resume_window_is_honoured_when_the_node_goes_away(home, doomed_sim):
    cli = doomed_cli(home, doomed_sim)
    proc = follow(cli, env={"CONFCTL_PEXIP_RESUME_TIMEOUT": "3"})
    wait_for_roster(proc)
    doomed_sim.stop()
    _out, err = proc.communicate(timeout=20)  # the default budget (and the old release loop) took over 40 s
    assert proc.returncode == 9, err
    assert "within 3 s" in err


def test_ctrl_c_with_the_node_down_returns_promptly(home, doomed_sim):
    cli = doomed_cli(home, doomed_sim)
    proc = follow(cli)
    wait_for_roster(proc)
    doomed_sim.stop()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err


# ---------------------------------------------------------------------------------------------------------
# A node that answers oddly: HTML pages, echoed PINs, TURN credentials
# ---------------------------------------------------------------------------------------------------------
PIN = "98765"
TOKEN = "TOKEN-SECRET-0099"
TURN = {"urls": ["turn:192.0.2.1:3478"], "username": "turn-user-0088", "credential": "TURN-SECRET-0077"}


class OddNode(Handler):
    mode = "html"

    def _answer(self):
        self.read_body()
        path = self.path.split("?", 1)[0]
        if self.mode == "html":
            return self.send(200, b"<html><body>Please sign in to the guest Wi-Fi</body></html>", "text/html")
        if self.mode == "echo-pin":
            pin = self.headers.get("pin")
            return self.send(403, json.dumps({"status": "success", "result": f"PIN {pin} is not valid",
                                               "detail": {"error": f"bad pin {pin}"}}).encode(), "application/json")
        if path.endswith("/request_token"):
            result = {"token": TOKEN, "expires": "120", "participant_uuid": "9f1e2d3c-0000-4000-8000-00000000c0de",
                      "role": "HOST", "turn": [TURN], "stun": [{"url": "stun:192.0.2.1:3478"}]}
        elif path.endswith("/conference_status"):
            result = {"locked": False, "echo": f"you sent {self.headers.get('token')}"}
        else:
            result = True
        return self.send(200, json.dumps({"status": "success", "result": result}).encode(), "application/json")

    do_GET = do_POST = _answer


@pytest.fixture
def odd(home):
    handler = type("Node", (OddNode,), {})
    server = Server(handler)
    env = dict(os.environ)
    env.update({"CONFCTL_PEXIP_URL": server.url,
                "CONFCTL_PEXIP_CONFERENCE": "meet.odd", "CONFCTL_PEXIP_PIN": PIN,
                "CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    yield handler, InProcessCLI(env)
    server.close()


def test_request_token_answered_with_html_is_exit_7(odd):
    handler, cli = odd
    handler.mode = "html"
    proc = cli("pexip", "conference", "status")
    assert proc.returncode == 7, proc.stderr
    assert "text/html" in proc.stderr and "AttributeError" not in proc.stderr


def test_an_echoed_pin_is_scrubbed(odd):
    handler, cli = odd
    handler.mode = "echo-pin"
    proc = cli("pexip", "conference", "status", "--debug")
    assert proc.returncode == 3, proc.stderr
    assert PIN not in proc.stderr + proc.stdout


def test_token_and_turn_credentials_never_printed(odd):
    handler, cli = odd
    handler.mode = "ok"
    for args in (("conference", "status", "--debug"), ("token", "request", "--debug"),
                 ("conference", "status", "-o", "json")):
        proc = cli("pexip", *args)
        assert proc.returncode == 0, proc.stderr
        printed = proc.stdout + proc.stderr
        for secret in (PIN, TOKEN, TURN["username"], TURN["credential"]):
            assert secret not in printed, (args, secret)
        cli("pexip", "token", "release")
