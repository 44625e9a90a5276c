"""The one client the `confctl sim <vendor>` helpers use to reach a running simulator's /_sim controls, with
the exit codes of the rest of confctl (DESIGN §5): no URL or a URL that is not this simulator is a usage
error (2), an unreachable simulator is a server error (7), a refusal from the simulator is exit 1."""

from __future__ import annotations

import os
from typing import Any

from confctl.core.errors import ApiError, ServerError, UsageError


class SimClient:
    """Calls `<base>/_sim/...` of the `vendor` simulator. `base` comes from --url, else `CONFCTL_<VENDOR>_URL`,
    else `fallback` (e.g. a profile's url)."""

    def __init__(self, vendor: str, url: str | None = None, *, fallback: str | None = None,
                 where: str | None = None):
        self.vendor = vendor
        self.label = vendor.capitalize()  # as messages name it: "the Pexip simulator"
        from confctl.core.registry import PROVIDERS

        self.env_name = PROVIDERS[vendor].env_var("url")
        base = url or os.environ.get(self.env_name) or fallback
        if not base:
            raise UsageError(f"no {vendor} simulator URL: pass --url or set {self.env_name}",
                             hint=where or "`confctl sim serve` prints it")
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
        """One request to /_sim/<path>; the decoded JSON answer ({} for an empty one)."""
        import httpx

        target = f"{self.base}/_sim/{path.lstrip('/')}"
        try:
            response = httpx.request(method, target, json=body, params=params, timeout=10)
        except httpx.HTTPError as exc:
            raise ServerError(f"cannot reach the {self.label} simulator at {self.base}: {exc}",
                              hint="is `confctl sim serve` running there?") from None
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = None
        if response.status_code == 404 and not isinstance(data, (dict, list)):
            # Starlette's plain "Not Found": the URL is something else, not this vendor's simulator
            raise UsageError(f"{self.base} is not a confctl {self.label} simulator (it has no /_sim controls)",
                             hint="give the simulator's URL with --url (`confctl sim serve` prints it)")
        if response.status_code >= 400:
            raise ApiError(f"the {self.label} simulator refused: {response.status_code} {refusal(data, response)}",
                           status=response.status_code)
        if data is None:
            raise ServerError(f"the {self.label} simulator at {self.base} answered something that is not JSON")
        return data

    def post(self, path: str, body: dict | None = None) -> Any:
        return self.call("POST", path, body if body is not None else {})

    def get(self, path: str, params: dict | None = None) -> Any:
        return self.call("GET", path, params=params)


def refusal(data: Any, response) -> str:
    """The message of a simulator's error body, whatever shape its vendor uses."""
    if isinstance(data, dict):
        for key in ("error_description", "error", "message", "result"):
            if isinstance(data.get(key), str):
                return data[key]
        return "; ".join(f"{k}: {v}" for k, v in data.items())
    return response.text.strip()[:200]
