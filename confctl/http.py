"""The one HTTP layer (DESIGN §7): timeouts, User-Agent, TLS, retries with capped exponential backoff and
jitter honouring Retry-After, a bounded total wait, debug logging and dry-run curl lines with secrets elided.

Providers subclass `Session` to add authentication; everything else is shared.
"""

from __future__ import annotations

import json
import random
import shlex
import sys
import time
from typing import TYPE_CHECKING, Any, Iterable

from confctl import __version__, redact
from confctl.errors import ServerError, UsageError, error_for_status
from confctl.state import state

if TYPE_CHECKING:  # httpx is imported when the first request is made, not at import time
    import httpx

USER_AGENT = f"confctl/{__version__}"
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS = 0.25, 8.0, 12


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import email.utils  # an HTTP-date: rare, so not imported up front

        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def backoff(attempt: int) -> float:
    """Capped exponential backoff with jitter (half fixed, half random)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class DryRun(Exception):
    """Raised instead of sending when --dry-run is on; carries the curl line."""

    def __init__(self, curl: str):
        super().__init__(curl)
        self.curl = curl


def curl_line(request: httpx.Request, secret_env: dict[str, str] | None = None) -> str:
    """A runnable curl command; secret headers become references to their environment variables."""
    secret_env = {k.lower(): v for k, v in (secret_env or {}).items()}
    parts = ["curl", "-X", request.method, shlex.quote(redact.url(str(request.url)))]
    for key, value in request.headers.items():
        low = key.lower()
        if low in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
            continue
        if low in redact.SECRET_HEADERS:
            shown = f'"{key}: ${secret_env[low]}"' if low in secret_env else shlex.quote(f"{key}: {redact.MASK}")
            parts += ["-H", shown]
        else:
            parts += ["-H", shlex.quote(f"{key}: {value}")]
    content = request.content
    if content:
        parts += ["--data-raw", shlex.quote(redact.body(content, request.headers.get("content-type", "")))]
    return " ".join(parts)


class Session:
    """An HTTP session against one provider profile. Subclasses override `auth_headers` (and may override
    `on_unauthorized` to refresh a token once)."""

    provider = "api"
    secret_env: dict[str, str] = {}

    def __init__(self, base_url: str, *, verify: Any = True, timeout: float | None = None,
                 max_wait: float | None = None, secrets: Iterable[str] = ()):
        if not base_url:
            raise UsageError("no base URL configured")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"base URL must start with http:// or https:// (got {base_url!r})")
        self.base_url = base_url.rstrip("/")
        self.timeout = state.timeout if timeout is None else timeout
        self.max_wait = state.max_wait if max_wait is None else max_wait
        self._secrets = [s for s in secrets if s]
        self._verify = verify
        self._client: httpx.Client | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=self.timeout,
                verify=self._verify,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=True,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- hooks -----------------------------------------------------------------------------------------
    def auth_headers(self, kind: str = "default") -> dict[str, str]:
        return {}

    def on_unauthorized(self, kind: str) -> bool:
        """Called once on a 401; return True to retry the request (e.g. after fetching a new token)."""
        return False

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """(message, hint) for an error response; providers override to read their error bodies."""
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return (text[:300] or response.reason_phrase or "error"), None
        if isinstance(body, dict):
            for key in ("error", "message", "detail", "error_description", "reason"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value, None
        return json.dumps(body)[:300], None

    # -- requests --------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def build(self, method: str, path: str, *, params=None, json_body=None, data=None, content=None,
              headers=None, auth: str = "default", dry_run: bool = False) -> httpx.Request:
        merged: dict[str, str] = {}
        merged.update(self.auth_headers("dry-run:" + auth if dry_run else auth) if auth != "none" else {})
        merged.update(headers or {})
        params = {k: v for k, v in (params or {}).items() if v is not None}
        return self.client.build_request(method, self.url(path), params=params or None, json=json_body,
                                         data=data, content=content, headers=merged)

    def request(self, method: str, path: str, *, params=None, json_body=None, data=None, content=None,
                headers=None, auth: str = "default", idempotent: bool | None = None, stream: bool = False,
                raise_for_status: bool = True, ok: Iterable[int] = ()) -> httpx.Response:
        """Send with retries. Raises the mapped ConfctlError for error statuses unless `raise_for_status`
        is off or the status is in `ok`. With --dry-run, raises DryRun with the curl line."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        kwargs = dict(params=params, json_body=json_body, data=data, content=content, headers=headers, auth=auth)
        if state.dry_run:
            raise DryRun(curl_line(self.build(method, path, dry_run=True, **kwargs), self.secret_env))
        refreshed = False
        while True:
            request = self.build(method, path, **kwargs)
            response = self.send(request, idempotent=idempotent, stream=stream)
            if response.status_code == 401 and not refreshed and auth != "none" and self.on_unauthorized(auth):
                refreshed = True
                response.close()
                continue
            break
        if raise_for_status and response.status_code >= 400 and response.status_code not in set(ok):
            if stream:
                response.read()
            raise self.error(response)
        return response

    def error(self, response: httpx.Response):
        message, hint = self.error_message(response)
        message = redact.scrub(message, self._secrets)
        status = response.status_code
        if hint is None:
            hint = {
                401: "check the credentials of this profile (`confctl profile test`)",
                403: "the credentials are valid but not allowed to do this",
                429: "rate limited; raise --max-wait to wait longer",
            }.get(status)
        try:
            detail = response.json()
        except ValueError:
            detail = None
        return error_for_status(status, f"{status} {response.reason_phrase}: {message}", hint=hint,
                                detail=redact.data(detail))

    def send(self, request: httpx.Request, *, idempotent: bool, stream: bool = False) -> httpx.Response:
        """Send one request, retrying what is safe to retry, waiting at most max_wait in total."""
        import httpx

        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            if state.debug:
                self._log_request(request)
            try:
                response = self.client.send(request, stream=stream)
            except httpx.HTTPError as exc:
                transient, safe = self._classify(exc)
                wait = backoff(attempt)
                if transient and (safe or idempotent) and attempt < MAX_ATTEMPTS and waited + wait <= self.max_wait:
                    if state.debug:
                        log(f"< {type(exc).__name__}: {exc}; retrying in {wait:.2f}s")
                    time.sleep(wait)
                    waited += wait
                    continue
                raise self._transport_error(request, exc) from None
            if state.debug:
                self._log_response(response, stream)
            status = response.status_code
            if status == 429 or (status in RETRY_STATUSES and idempotent):
                wait = retry_after(response)
                wait = backoff(attempt) if wait is None else wait + random.uniform(0, 0.05)
                if attempt < MAX_ATTEMPTS and waited + wait <= self.max_wait:
                    if state.debug:
                        log(f"< {status}; retrying in {wait:.2f}s")
                    response.close()
                    time.sleep(wait)
                    waited += wait
                    continue
            return response

    @staticmethod
    def _classify(exc: Exception) -> tuple[bool, bool]:
        """(transient, safe to repeat even when not idempotent). A connection that never opened carried no
        request, so repeating it is safe; a read that timed out may have been processed."""
        import httpx

        text = str(exc).lower()
        if "certificate" in text or "ssl" in text or "tls" in text:
            return False, False
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return True, True
        if isinstance(exc, (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
            return True, False
        return False, False

    def _transport_error(self, request: httpx.Request, exc: Exception) -> ServerError:
        import httpx

        host = request.url.host
        text = str(exc) or type(exc).__name__
        if "certificate" in text.lower() or "ssl" in text.lower():
            return ServerError(f"TLS failure talking to {host}: {text}",
                               hint="add your CA with --ca-bundle or the profile's ca_bundle field")
        if isinstance(exc, httpx.TimeoutException):
            return ServerError(f"timed out talking to {host} after retries", hint="raise --timeout or --max-wait")
        return ServerError(f"cannot reach {request.url.scheme}://{request.url.netloc.decode()}: {text}",
                           hint="check the profile's url and that the server is up")

    def _log_request(self, request: httpx.Request) -> None:
        log(f"> {request.method} {redact.url(str(request.url))}")
        for k, v in redact.headers(request.headers).items():
            log(f"> {k}: {v}")
        if request.content:
            log("> " + redact.scrub(redact.body(request.content, request.headers.get("content-type", "")), self._secrets))

    def _log_response(self, response: httpx.Response, stream: bool) -> None:
        log(f"< {response.status_code} {response.reason_phrase}")
        for k, v in redact.headers(response.headers).items():
            log(f"< {k}: {v}")
        if not stream:
            ctype = response.headers.get("content-type", "")
            if "json" in ctype or ctype.startswith("text/"):
                log("< " + redact.scrub(redact.body(response.content[:4000], ctype), self._secrets))
