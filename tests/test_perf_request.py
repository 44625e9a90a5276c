"""One request at the floor: a plain gateway request imports only what it needs (no rich, no Typer's rich help,
no httpx command-line client, no other branch of the command tree), runs its exchange in the caller's thread with
the total deadline still enforced on a real socket, and loads no CA store for plain http."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest

from confctl.core import builder, http
from confctl.core.errors import ServerError
from confctl.core.registry import PROVIDERS
from confctl.core.state import reset

PROBE = ("import sys, json, io, contextlib\nfrom confctl.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()) as out:\n    code = main(sys.argv[1:])\n"
         "stub = sys.modules.get('httpx._main')\n"
         "print(json.dumps({'code': code, 'out': out.getvalue(), 'modules': sorted(sys.modules),\n"
         "                  'httpx_cli_stub': getattr(stub, '__file__', None) is None}))")


def test_a_plain_request_imports_only_what_it_needs(sim, home):
    from confctl.vendors.gateway.sim.state import EXAMPLE_ROOM

    env = {**os.environ, **sim.env(), "CONFCTL_CONFIG_DIR": str(home), "CONFCTL_NO_INPUT": "1"}
    proc = subprocess.run([sys.executable, "-c", PROBE, "-o", "json", "gateway", "room", "get", EXAMPLE_ROOM],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(proc.stdout)
    assert result["code"] == 0 and json.loads(result["out"])["room_id"] == EXAMPLE_ROOM
    modules = set(result["modules"])
    heavy = {m for m in modules if m.split(".")[0] in ("rich", "click", "pygments")}
    assert heavy == set() and "typer.rich_utils" not in modules
    assert result["httpx_cli_stub"]  # httpx's own CLI was never loaded
    # Only the `room` branch of the gateway tree was built: the webhook receiver and events code were not needed.
    assert not modules & {"confctl.vendors.gateway.webhooks", "confctl.core.events.command"}


def test_httpx_cli_still_works_through_its_stand_in():
    code = ("import confctl.core.http, httpx, sys\nassert 'rich' not in sys.modules\n"
            "sys.argv = ['httpx', '--help']\nhttpx.main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "Usage" in proc.stdout, proc.stderr


def test_only_the_selected_branch_is_built_and_a_typo_builds_everything():
    import typer.main

    reset()
    provider = PROVIDERS["gateway"].load()
    branch = typer.main.get_command(builder.provider_app(provider, "room"))
    assert list(branch.commands) == ["room"]
    full = typer.main.get_command(builder.provider_app(provider, "rom"))
    assert {"room", "session", "webhooks", "events", "endpoints", "api"} <= set(full.commands)
    assert set(typer.main.get_command(builder.provider_app(provider, "webhooks")).commands) == {"webhooks"}


def test_a_typo_in_a_branch_still_gets_its_suggestion(capsys):
    from confctl.cli import main

    assert main(["gateway", "room", "gte"]) == 2
    assert "Did you mean 'get'?" in capsys.readouterr().err
    assert main(["gateway", "rom", "list"]) == 2
    assert "Did you mean 'room'?" in capsys.readouterr().err


def test_the_exchange_runs_in_the_callers_thread():
    seen = []

    def answer(request):
        seen.append(threading.current_thread())
        return httpx.Response(200, json={"ok": True})

    s = http.Session("https://api.example.test", timeout=5.0)
    s._client = httpx.Client(transport=httpx.MockTransport(answer))
    s._client_timeout = 5.0
    assert s.request("GET", "/x").json() == {"ok": True}
    assert seen == [threading.current_thread()]


@pytest.fixture
def drip_headers():
    """A loopback server that sends a status line, then one header byte every 50 ms, forever."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                conn.sendall(b"X")
                time.sleep(0.05)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    server.close()


def test_drip_fed_headers_cannot_stretch_the_deadline(drip_headers):
    url, accepted = drip_headers
    reset()
    s = http.Session(url, timeout=0.5, max_wait=5.0)
    with pytest.raises(ServerError, match=r"within --timeout 0.5s"):
        s.request("GET", "/rooms")
    assert len(accepted) == 1  # an overrun is not repeated
    assert http._DEADLINE.at is None  # nothing left behind for the next request of this thread


def test_plain_http_loads_no_ca_store_and_tls_still_verifies():
    context = http.default_trust()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0  # nothing loaded yet
    context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="example.test")  # a TLS connection starts
    assert context.cert_store_stats()["x509_ca"] > 0


def test_a_session_uses_the_lazy_trust_unless_a_bundle_is_given(sim):
    reset()
    s = http.Session(sim.url + "/gateway")
    assert isinstance(s.client._transport._pool._ssl_context, type(http.default_trust()))
    s.close()
