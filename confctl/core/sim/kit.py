"""What the four vendor simulators share: one error type, the Starlette handler that renders it, and the
app factory that installs that handler.

A handler (or the state behind it) raises `SimError(status, body, headers)` wherever a request is refused;
each vendor builds `body` in the shape its API documents (a small constructor in its `sim/state.py`), and
`sim_app` answers it as JSON with that status and headers. So a check deep in the world's rules reads as
`raise ...`, and the handler code stays the happy path.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class SimError(Exception):
    """A refused request: HTTP `status`, the vendor-shaped JSON `body` (None: no body at all), optional
    response `headers`."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


async def render(request: Request, exc: SimError) -> Response:
    """The one exception handler: every vendor's refusals leave through here."""
    return exc.response()


def sim_app(routes: list, state: Any) -> Starlette:
    """A vendor simulator's Starlette app: its routes, the SimError handler, and its world as `app.state.sim`."""
    app = Starlette(routes=routes, exception_handlers={SimError: render})
    app.state.sim = state
    return app


async def json_object(request: Request, bad: Callable[[str], SimError], *, empty: Any = None) -> Any:
    """The request's JSON body, which must be an object; `empty` when there is no body (None: refuse it too).
    `bad(problem)` builds the vendor's refusal, problem being "missing", "malformed" or "not-object"."""
    raw = await request.body()
    if not raw:
        if empty is not None:
            return empty
        raise bad("missing")
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad("malformed") from None
    if not isinstance(data, dict):
        raise bad("not-object")
    return data


def every(app: Starlette, seconds: float | None, tick: Callable[[], Any]) -> None:
    """Call `tick()` every `seconds` on the server's event loop (a simulator's live meeting activity), from the
    first request on: a mounted app gets no lifespan events, so the first request starts the loop. A falsy
    `seconds` installs nothing."""
    if not seconds:
        return
    import asyncio

    started: list = []

    async def loop():
        while True:
            await asyncio.sleep(seconds)
            try:
                tick()
            except Exception:  # noqa: BLE001 - one bad tick must not end the meeting; say what broke
                import traceback

                traceback.print_exc()

    class Start:
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if not started and scope["type"] in ("http", "websocket"):
                started.append(asyncio.get_running_loop().create_task(loop()))  # held: not collected
            await self.inner(scope, receive, send)

    app.add_middleware(Start)
