"""Reading a Mind simulator request's JSON body, shared by the API routes (app.py) and the /_sim controls
(app_controls.py): 400 for no body where one is required or a body that is not a JSON object, 415 when it is
not sent as JSON."""

from __future__ import annotations

import json

from starlette.requests import Request

from .state import fail


async def body_of(request: Request, required: bool = True) -> dict:
    raw = await request.body()
    if not raw:
        if required:
            raise fail(400, "a JSON body is required")
        return {}
    if "json" not in request.headers.get("content-type", ""):
        raise fail(415, "Content-Type must be application/json")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise fail(400, f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail(400, "the body must be a JSON object")
    return data
