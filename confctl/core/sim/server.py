"""The simulator framework: one Starlette app mounting each vendor's simulator under /<vendor>, and a
runner that serves it on loopback (in the foreground for `confctl sim serve`, or in a thread for tests)."""

from __future__ import annotations

import socket
import threading
import time

def _specs() -> dict:
    from confctl.core.registry import PROVIDERS

    return {name: spec for name, spec in PROVIDERS.items() if spec.sim_app}


VENDORS = tuple(_specs())  # every vendor whose spec declares a simulator

# Credentials the simulators accept, from each vendor's spec. They are demo values, not secrets.
CREDENTIALS = {name: dict(spec.sim_credentials) for name, spec in _specs().items()}


def sim_options() -> dict:
    """name -> SimOption: every simulator knob the vendors' specs declare."""
    out: dict = {}
    for spec in _specs().values():
        for option in spec.sim_options:
            out.setdefault(option.name, option)
    return out


class SimConfig:
    """Knobs of the simulators: the shared ones below, and each vendor's own (its spec's sim_options, e.g.
    pexip_token_ttl). Tests shorten the clocks: SimConfig(pexip_token_ttl=30, vendors=("pexip",))."""

    def __init__(self, *, deferred_delay: float = 0.3, vendors: tuple | None = None, extra: dict | None = None,
                 **knobs):
        declared = sim_options()
        unknown = sorted(set(knobs) - set(declared))
        if unknown:
            raise TypeError(f"SimConfig: unknown simulator option(s) {', '.join(unknown)}")
        self.deferred_delay = deferred_delay  # seconds before deferred webhooks / async confirmations
        self.vendors = tuple(vendors) if vendors is not None else VENDORS  # which simulators to mount
        self.extra = dict(extra or {})
        for name, option in declared.items():
            setattr(self, name, knobs.get(name, option.default))

    def __repr__(self) -> str:
        return f"SimConfig({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


def optional_ref(ref: str | None):
    """Load a vendor's "module:attr" reference (its simulator app or controls) that may not exist; None when
    its module does not."""
    from confctl.core.vendor import load_ref

    if not ref:
        return None
    try:
        return load_ref(ref)
    except ModuleNotFoundError as exc:
        if exc.name != ref.partition(":")[0]:
            raise  # the module exists but something it imports is missing: a real error
        return None


def build_app(config: SimConfig):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    async def index(request):
        return JSONResponse({"simulators": [v for v in mounted], "credentials": CREDENTIALS})

    routes = [Route("/", index)]
    mounted = []
    specs = _specs()
    for vendor in config.vendors:
        create_app = optional_ref(specs[vendor].sim_app) if vendor in specs else None
        if create_app is None:
            continue
        routes.append(Mount(f"/{vendor}", app=create_app(config)))
        mounted.append(vendor)
    app = Starlette(routes=routes)
    app.state.vendors = mounted
    app.state.requests = []  # (method, path) of every HTTP request, for tests that check what was sent
    return RequestLog(app)


class RequestLog:
    """ASGI wrapper recording (method, path) of each request, so tests can assert exactly what was sent."""

    def __init__(self, app):
        self.app = app
        self.state = app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            self.state.requests.append((scope.get("method", "WS"), scope["path"]))
        await self.app(scope, receive, send)


def env_vars(base_url: str, vendors=VENDORS) -> dict[str, str]:
    """Environment variables that point every provider at a simulator running at base_url."""
    from confctl.core.registry import PROVIDERS

    env: dict[str, str] = {}
    for vendor in vendors:
        spec = PROVIDERS[vendor]
        env[spec.env_var("url")] = f"{base_url}/{vendor}"
        for key, value in CREDENTIALS[vendor].items():
            env[spec.env_var(key)] = value
    return env


def bind_error(host: str, port: int, exc: OSError):
    """A local mistake (busy port, address not ours, privileged port) is a usage error, exit 2."""
    import errno

    from confctl.core.errors import UsageError

    reason = {errno.EADDRINUSE: "address in use", errno.EADDRNOTAVAIL: "address not available on this host",
              errno.EACCES: "permission denied"}.get(exc.errno, exc.strerror or str(exc))
    return UsageError(f"cannot listen on {host}:{port}: {reason}",
                      hint="choose another --port, or --port 0 for a free one")


class RunningSim:
    """Serve the simulators on 127.0.0.1 in a background thread: `with RunningSim() as sim: sim.url`."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0):
        self.config = config or SimConfig()
        self.host = host
        self.port = port
        self.server = None
        self.thread = None

    def start(self) -> "RunningSim":
        import uvicorn

        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP; without it every
        # reply on a kept-alive connection (headers and body sent apart) waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(128)  # now, so that a port another process listens on fails here, not in a thread
        except OSError as exc:
            sock.close()
            raise bind_error(self.host, self.port, exc) from None
        self.port = sock.getsockname()[1]
        self.app = build_app(self.config)
        cfg = uvicorn.Config(self.app, log_level="warning", lifespan="off", ws="websockets-sansio",
                             timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(cfg)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("simulator did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        return env_vars(self.url, self.app.state.vendors)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
