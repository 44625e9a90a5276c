"""The four simulators have one shape: every refusal is a `SimError` answered by the one shared handler (in the
vendor's documented body), and the `confctl sim <vendor>` helpers share one client and confctl's exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from confctl.core.sim.server import CREDENTIALS

# An unreachable simulator: nothing listens on the discard port of loopback.
NOWHERE = "http://127.0.0.1:9"
HELPERS = {
    "gateway": ["calls"],
    "pexip": ["state"],
    "mind": ["join", "Zed", "-c", "demo-conference"],
    "auvious": ["state"],
}


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env["CONFCTL_CONFIG_DIR"] = os.devnull + ".missing"  # no profiles: nothing to fall back on
    return subprocess.run([sys.executable, "-m", "confctl", *args], capture_output=True, text=True, env=env,
                          timeout=60)


@pytest.mark.parametrize("vendor", sorted(HELPERS))
def test_an_unreachable_simulator_is_exit_7_for_every_vendor(vendor):
    proc = run("sim", vendor, *HELPERS[vendor], "--url", NOWHERE)
    assert proc.returncode == 7, proc.stderr
    assert f"cannot reach the {vendor.capitalize()} simulator at {NOWHERE}" in proc.stderr


@pytest.mark.parametrize("vendor", sorted(HELPERS))
def test_a_url_that_is_not_the_simulator_is_exit_2(cli, sim, vendor):
    proc = cli("sim", vendor, *HELPERS[vendor], "--url", f"{sim.url}/elsewhere")
    assert proc.returncode == 2 and f"not a confctl {vendor.capitalize()} simulator" in proc.stderr


def test_a_refusal_from_the_simulator_is_exit_1(cli):
    proc = cli("sim", "mind", "leave", "nobody-at-all", "-c", CREDENTIALS["mind"]["conference"])
    assert proc.returncode == 1
    assert "the Mind simulator refused: 404" in proc.stderr and "nobody-at-all" in proc.stderr


def test_bad_input_is_exit_2_before_anything_is_sent(sim, cli):
    before = len(sim.app.state.requests)
    assert cli("sim", "auvious", "activity", "..").returncode == 2
    assert cli("sim", "mind", "end", "-c", "a/b").returncode == 2
    assert len(sim.app.state.requests) == before


def test_no_url_at_all_is_a_usage_error():
    proc = run("sim", "gateway", "calls")
    assert proc.returncode == 2 and "CONFCTL_GATEWAY_URL" in proc.stderr


# -- one error type, one handler -----------------------------------------------------------------------------
def _app(vendor: str):
    import importlib

    from confctl.core.sim.server import SimConfig

    return importlib.import_module(f"confctl.vendors.{vendor}.sim.app").create_app(SimConfig())


def _handlers(app) -> dict:
    return app.exception_handlers


@pytest.mark.parametrize("vendor", ["gateway", "mind", "auvious", "pexip"])
def test_each_simulator_answers_refusals_with_the_shared_handler_only(vendor):
    from confctl.core.sim import kit

    assert _handlers(_app(vendor)) == {kit.SimError: kit.render}


def test_gateway_unknown_room_is_its_documented_body(sim):
    import httpx

    creds = CREDENTIALS["gateway"]
    missing = "abcde-room-00000000-0000-4000-8000-000000000000"
    response = httpx.get(f"{sim.url}/gateway/api/v1/conferences/{missing}",
                         headers={"X-App-Id": creds["app_id"], "X-API-Key": creds["api_key"]})
    assert response.status_code == 404 and response.json() == {"success": False, "error": "Conference not found"}
    simulated = httpx.post(f"{sim.url}/gateway/_sim/status/503")
    assert simulated.status_code == 503 and simulated.json()["error"] == "simulated status 503"


def test_mind_unknown_participant_is_its_documented_body(sim):
    import httpx

    creds = CREDENTIALS["mind"]
    response = httpx.get(f"{sim.url}/mind/{creds['app_id']}/{creds['conference']}/participants/nobody",
                         headers={"Authorization": f"Bearer {creds['token']}"})
    assert response.status_code == 404 and response.json() == {"error": "participant nobody not found"}


def test_auvious_refusals_keep_each_documented_shape(sim):
    import httpx

    creds = CREDENTIALS["auvious"]
    base = f"{sim.url}/auvious"
    assert httpx.get(f"{base}/rtc-api/conferences/active").json()["error"] == "unauthorized"
    token = httpx.post(f"{base}/security/oauth/token", data={"grant_type": "client_credentials", **creds}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    unknown = httpx.get(f"{base}/rtc-api/conferences/no-such-room", headers=auth)
    assert unknown.status_code == 400 and unknown.json() == {"id": "conference no-such-room not found"}
    join = httpx.post(f"{base}/rtc-api/conferences/join", headers=auth,
                      json={"conferenceId": "no-such-room", "userEndpointId": "ep-x"})
    assert join.status_code == 404 and join.json() == {"error": "not_found",
                                                       "error_description": "conference no-such-room not found"}
    bare = httpx.post(f"{base}/rtc-api/conferences/updatePublishedStreamBitrate", headers=auth,
                      json={"conferenceId": "no-such-room", "userEndpointId": "ep-x", "videoBitrate": 1000})
    assert bare.status_code == 404 and bare.content == b""


def test_pexip_refusals_are_its_documented_body(sim):
    import httpx

    base = f"{sim.url}/pexip/api/client/v2/conferences"
    unknown = httpx.post(f"{base}/no.such.alias/request_token", json={"display_name": "x"})
    assert unknown.status_code == 404
    assert unknown.json() == {"status": "failed", "result": "Neither conference nor gateway found"}
    bad_token = httpx.get(f"{base}/meet.demo/participants", headers={"token": "not-a-token"})
    assert bad_token.status_code == 403 and bad_token.json() == {"status": "success", "result": "Invalid token"}


# -- one layout ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", sorted(HELPERS))
def test_every_simulator_has_the_same_files_and_its_state_knows_no_http(vendor):
    import ast
    from pathlib import Path

    import confctl

    sim_dir = Path(confctl.__file__).parent / "vendors" / vendor / "sim"
    assert {"state.py", "app.py", "app_controls.py", "controls.py"} <= {p.name for p in sim_dir.glob("*.py")}
    tree = ast.parse((sim_dir / "state.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not {m for m in imported if m.split(".")[0] == "starlette"}
