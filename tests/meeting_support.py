"""The multi-vendor meeting the cross-vendor tests share: all four simulators with the gateway's seeded
town-hall room (`--meeting`), and a confctl environment with one profile per vendor pointed at them."""

from __future__ import annotations

import contextlib
import os

import httpx

from conftest import InProcessCLI


@contextlib.contextmanager
def meeting_sim():
    from confctl.core.sim.server import RunningSim, SimConfig

    with RunningSim(SimConfig(cooldown_scale=0.0, deferred_delay=0.05, pexip_token_ttl=30, poll_wait=1.0,
                              meeting=True)) as running:
        yield running


def reset(sim) -> None:
    """Every simulator back to its seed, and the request log emptied."""
    for vendor in ("gateway", "pexip", "mind", "auvious"):
        httpx.post(f"{sim.url}/{vendor}/_sim/reset").raise_for_status()
    sim.app.state.requests.clear()


def profile_env(home, sim, monkeypatch, vendors=("gateway", "pexip", "mind", "auvious")) -> dict:
    """An environment (nothing CONFCTL_* from outside) whose config holds `sim-<vendor>` profiles, secrets in
    the 0600 file; the simulators are reset afterwards."""
    from confctl.vendors.pexip import names

    # Pexip's breakout rooms are read from the event stream's opening burst, over once the stream has been
    # quiet a while; the simulator on loopback sends it at once, so a shorter wait suffices here.
    monkeypatch.setitem(names.snapshot.__kwdefaults__, "quiet", 0.1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFCTL_")}
    env.update({"CONFCTL_CONFIG_DIR": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "CONFCTL_NO_INPUT": "1"})
    cli = InProcessCLI(env)
    s = sim.env()
    fields = {
        "gateway": (["--app-id", s["CONFCTL_GATEWAY_APP_ID"]], s["CONFCTL_GATEWAY_API_KEY"]),
        "pexip": (["--conference", "meet.demo", "--display-name", "confctl"], s["CONFCTL_PEXIP_PIN"]),
        "mind": (["--app-id", s["CONFCTL_MIND_APP_ID"], "--conference", s["CONFCTL_MIND_CONFERENCE"]],
                 s["CONFCTL_MIND_TOKEN"]),
        "auvious": (["--client-id", s["CONFCTL_AUVIOUS_CLIENT_ID"]], s["CONFCTL_AUVIOUS_CLIENT_SECRET"]),
    }
    for vendor in vendors:
        extra, secret = fields[vendor]
        cli("profile", "add", f"sim-{vendor}", "--provider", vendor, "--url", f"{sim.url}/{vendor}", *extra,
            "--secret-stdin", "--secret-store", "file", input=secret + "\n", check=0)
    reset(sim)
    return env
