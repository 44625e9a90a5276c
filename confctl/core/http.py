"""The one HTTP layer (DESIGN §7): timeouts, User-Agent, TLS, retries with capped exponential backoff and
jitter honouring Retry-After, a bounded total wait, debug logging and dry-run curl lines with secrets elided.

Providers subclass `Session` to add authentication; everything else is shared. What holds under faults:
- `--timeout` is a total deadline per request: connect, headers and the whole body (a server drip-feeding
  bytes cannot stretch it). A request that overran it is not repeated.
- One retry budget (`--max-wait`) per session: every request made through it, from any thread, draws from
  the same budget (waits that overlap in time count once), so a bulk command waits at most that long.
- `Retry-After` is honoured; an unparsable one counts as absent, 0/negative/past keeps a small floor.
- Connection refused is retried only `REFUSED_ATTEMPTS` times: a server that is down is reported in about a
  second, not after the whole budget.
- A redirect is never followed (credentials stay on the profile's host) and is reported; a body that is not
  the documented JSON is an error (`expect_json`).
- Header values are checked before anything is built: CR/LF or control characters are a usage error.
- Every secret the session sent or was handed (`add_secret`) is scrubbed from whatever it prints.
"""

from __future__ import annotations

import json
import random
import shlex
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from confctl import __version__
from confctl.core import redact
from confctl.core.errors import ConfigError, ServerError, UsageError, error_for_status
from confctl.core.validate import BASE_URL_RULE, is_base_url
from confctl.core.state import state

if TYPE_CHECKING:  # httpx is imported when the first request is made, not at import time
    import httpx

USER_AGENT = f"confctl/{__version__}"
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE, BACKOFF_CAP, MAX_ATTEMPTS = 0.25, 8.0, 12
RETRY_FLOOR = 0.25      # least wait after a 429/503, whatever Retry-After says (0, negative, in the past)
RETRY_JITTER = 0.1      # added to Retry-After so that concurrent clients do not return in lock-step
REFUSED_ATTEMPTS = 3    # connection refused: two quick retries (a restarting server), then exit 7


def defer_httpx_cli() -> None:
    """Before httpx is first imported: keep `import httpx` from importing its own command-line client
    (httpx._main, which loads click, pygments and rich whenever they are installed: ~60 ms on every confctl
    process that sends a request). A stand-in takes its place; `httpx.main()`, which confctl never calls,
    still works through it. Does nothing once httpx is imported."""
    if "httpx" in sys.modules or "httpx._main" in sys.modules:
        return
    import types

    stub = types.ModuleType("httpx._main", "Stand-in for httpx's command-line client, loaded on first use.")

    def main(*args, **kwargs):
        import importlib

        if sys.modules.get("httpx._main") is stub:
            del sys.modules["httpx._main"]
        return importlib.import_module("httpx._main").main(*args, **kwargs)

    stub.main = main
    sys.modules["httpx._main"] = stub


defer_httpx_cli()  # every confctl module imports httpx lazily, after this one


class DeadlineExceeded(Exception):
    """The request did not complete within its total deadline (--timeout)."""


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds to wait per Retry-After (delta-seconds or an HTTP-date); None when absent or unparsable."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    import email.utils  # an HTTP-date: rare, so not imported up front

    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # "soon" and the like: as if absent
    if parsed is None:
        return None
    return parsed.timestamp() - (time.time() if now is None else now)


def backoff(attempt: int) -> float:
    """Capped exponential backoff with jitter (half fixed, half random)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class RetryBudget:
    """The total time a command may spend waiting to retry (--max-wait), shared by every request and thread.
    Waits that overlap in time count once: eight threads waiting the same second spend one second. Waiting
    that ended more than `FORGET` seconds ago is forgotten, so a follower running for hours is not starved by
    the blips of the morning; a burst of retries (a bulk command in a 429 storm) never pauses that long."""

    FORGET = 120.0

    def __init__(self, max_wait: float, clock: Callable[[], float] = time.monotonic):
        self.max_wait = max_wait
        self.clock = clock
        self._lock = threading.Lock()
        self._closed = 0.0                    # waiting time of intervals already behind us
        self._start = self._end = None        # the current run of (overlapping) waits

    def spent(self) -> float:
        with self._lock:
            return self._closed + ((self._end - self._start) if self._start is not None else 0.0)

    def reserve(self, wait: float) -> bool:
        """Take `wait` seconds from now out of the budget; False (nothing taken) when it does not fit."""
        with self._lock:
            now = self.clock()
            closed, start, end = self._closed, self._start, self._end
            if end is not None and now - end > self.FORGET:
                closed, start, end = 0.0, None, None
            if start is None or now > end:
                closed += (end - start) if start is not None else 0.0
                start, end = now, now + wait
            else:
                end = max(end, now + wait)
            if closed + (end - start) > self.max_wait + 1e-9:
                return False
            self._closed, self._start, self._end = closed, start, end
            return True


@dataclass
class DryRunResult:
    """What a dry run returns instead of a response: the curl command for the request, and the session's
    `dry_run_setup()` lines (how to obtain a token into the variable the line uses) on the first dry run of a
    session only, so printing `text` for each result prints the setup once."""

    curl: str
    setup: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join([*self.setup, self.curl])


class _DryRunStop(Exception):
    """Internal to this module: carries a DryRunResult from the request that would be sent out to
    `dry_run_or()`, which returns it. Not a ConfctlError, so no handler's error mapping turns it into one."""

    def __init__(self, result: DryRunResult):
        super().__init__(result.curl)
        self.result = result


def stop_for_dry_run(result: DryRunResult):
    """End the operation under way: `dry_run_or()` returns `result` (a fake or custom session uses this)."""
    raise _DryRunStop(result)


def dry_run_or(fn: Callable[[], Any]) -> Any:
    """Run `fn` (a command's requests). With --dry-run the first request that would be sent ends it and its
    DryRunResult is returned; read-only look-ups before it are really sent. The one place a dry run is
    turned into a result."""
    try:
        return fn()
    except _DryRunStop as stop:
        return stop.result


def _dq(pieces: list[tuple[str, str]]) -> str:
    """A double-quoted shell word from ("text", literal) and ("var", NAME) pieces: only the variables expand."""
    out = []
    for i, (kind, value) in enumerate(pieces):
        if kind == "var":
            after = next((v for k, v in pieces[i + 1:] if v), "")
            glued = after[:1].isalnum() or after[:1] == "_"
            out.append("${" + value + "}" if glued else "$" + value)
        else:
            out.append(value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`"))
    return '"' + "".join(out) + '"'


def curl_line(request: httpx.Request, secret_env: dict[str, str] | None = None, secrets: Iterable[str] = ()) -> str:
    """A runnable curl command. Secret headers become references to environment variables (`secret_env`
    maps a lower-case header name to the variable holding its value after the scheme); a non-secret scheme
    prefix stays (`Authorization: Bearer $VAR`). `authorization:basic` may map to `ID_VAR:SECRET_VAR`,
    rendered `-u "$ID_VAR:$SECRET_VAR"`. Keys `body:FIELD` / `query:NAME` do the same for secret fields of a
    JSON or form body and query parameters. A secret header without a mapping is shown as <redacted>."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    env = {k.lower(): v for k, v in (secret_env or {}).items()}
    secrets = [s for s in secrets if s]
    parts = ["curl", "-X", request.method]

    # URL: secret query parameters by reference where mapped, masked otherwise
    raw_url = str(request.url)
    split = urlsplit(raw_url)
    url_pieces: list[tuple[str, str]] = []
    if split.query:
        base = urlunsplit(split._replace(query="")) + "?"
        url_pieces.append(("text", base))
        from urllib.parse import quote

        for i, (k, v) in enumerate(parse_qsl(split.query, keep_blank_values=True)):
            url_pieces.append(("text", ("&" if i else "") + quote(k, safe="") + "="))
            if k.lower() in redact.SECRET_QUERY:
                url_pieces.append(("var", env["query:" + k.lower()]) if "query:" + k.lower() in env
                                  else ("text", redact.MASK))
            else:
                url_pieces.append(("text", quote(v, safe="")))
    else:
        url_pieces.append(("text", raw_url))
    if any(kind == "var" for kind, _ in url_pieces):
        parts.append(_dq(url_pieces))
    else:
        parts.append(shlex.quote(redact.scrub("".join(v for _, v in url_pieces), secrets)))

    for raw_key, raw_value in request.headers.raw:  # raw: the header names as written, not lower-cased
        key, value = raw_key.decode("latin-1"), raw_value.decode("latin-1")
        low = key.lower()
        if low in ("host", "content-length", "accept-encoding", "connection", "user-agent"):
            continue
        if low not in redact.SECRET_HEADERS:
            parts += ["-H", shlex.quote(redact.scrub(f"{key}: {value}", secrets))]
            continue
        scheme, sep, rest = value.partition(" ")
        has_scheme = bool(sep) and scheme.lower() in redact.SCHEMES
        secret_part = rest.strip() if has_scheme else value
        prefix = f"{key}: {scheme} " if has_scheme else f"{key}: "
        var = env.get(low)
        if var is None and secret_part.startswith("$") and secret_part[1:].isidentifier():
            var = secret_part[1:]  # the provider already wrote a reference
        if has_scheme and scheme.lower() == "basic" and "authorization:basic" in env:
            user_var, _, secret_var = env["authorization:basic"].partition(":")
            parts += ["-u", _dq([("var", user_var), ("text", ":"), ("var", secret_var)])]
        elif var:
            parts += ["-H", _dq([("text", prefix), ("var", var)])]
        else:
            parts += ["-H", shlex.quote(prefix + redact.MASK)]

    content = request.content
    if content:
        parts += _curl_body(content, request.headers.get("content-type", ""), env, secrets)
    return " ".join(parts)


def _curl_body(content: bytes, ctype: str, env: dict[str, str], secrets: list[str]) -> list[str]:
    from urllib.parse import parse_qsl

    text = content.decode("utf-8", "replace")
    if "x-www-form-urlencoded" in ctype:
        pairs = parse_qsl(text, keep_blank_values=True)
        if any(k.lower() in redact.SECRET_FIELDS and "body:" + k.lower() in env for k, _ in pairs):
            out = []  # curl encodes each field itself, so a variable's value is sent encoded correctly
            for k, v in pairs:
                if k.lower() in redact.SECRET_FIELDS:
                    name = env.get("body:" + k.lower())
                    word = _dq([("text", k + "="), ("var", name)]) if name else shlex.quote(f"{k}={redact.MASK}")
                else:
                    word = shlex.quote(redact.scrub(f"{k}={v}", secrets))
                out += ["--data-urlencode", word]
            return out
        return ["--data-raw", shlex.quote(redact.scrub(redact.body(content, ctype), secrets))]
    try:
        value = json.loads(text) if ("json" in ctype or text[:1] in "{[") else None
    except ValueError:
        value = None
    if isinstance(value, (dict, list)):
        refs: dict[str, str] = {}
        marked = _mark_json(value, redact.data(value), env, refs)
        rendered = redact.scrub(json.dumps(marked, separators=(",", ":")), secrets)
        if refs:
            pieces: list[tuple[str, str]] = []
            rest = rendered
            for marker, name in refs.items():
                before, _, rest = rest.partition(marker)
                pieces += [("text", before), ("var", name)]
            pieces.append(("text", rest))
            return ["--data-raw", _dq(pieces)]
        return ["--data-raw", shlex.quote(rendered)]
    return ["--data-raw", shlex.quote(redact.scrub(redact.body(content, ctype), secrets))]


def _mark_json(original, masked, env: dict[str, str], refs: dict[str, str]):
    """`masked` (the body with secret fields elided) with each mapped secret field replaced by a marker
    that becomes a $VAR reference once the body is rendered."""
    if isinstance(original, dict) and isinstance(masked, dict):
        out = {}
        for k, v in original.items():
            name = env.get("body:" + k.lower()) if isinstance(k, str) else None
            if name and isinstance(v, str) and v:
                marker = f"@@confctl-ref-{len(refs)}@@"
                refs[marker] = name
                out[k] = marker
            else:
                out[k] = _mark_json(v, masked.get(k), env, refs)
        return out
    if isinstance(original, list) and isinstance(masked, list):
        return [_mark_json(o, m, env, refs) for o, m in zip(original, masked)]
    return masked


def _is_json_type(ctype: str) -> bool:
    media = ctype.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def expect_json(response: httpx.Response, secrets: Iterable[str] = ()) -> Any:
    """The JSON body of a response, or ServerError (exit 7) naming what came back instead — an HTML page
    from a captive portal or proxy, broken JSON. An empty body (e.g. 204) is None."""
    if response.status_code == 204 or not response.content:
        return None
    ctype = response.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip() or "no content type"
    preview = redact.scrub(response.content[:80].decode("utf-8", "replace"), secrets)
    preview = " ".join(preview.split())
    if ctype and not _is_json_type(ctype) and not media.lower().startswith("text/plain"):
        raise ServerError(f"expected JSON from {response.request.url.host}, got {media}: {preview}",
                          hint="a proxy or captive portal may be answering instead of the API; check the "
                               "profile's url", status=response.status_code)
    try:
        return response.json()
    except ValueError as exc:
        raise ServerError(f"expected JSON from {response.request.url.host}, got malformed {media} "
                          f"({exc}): {preview}", status=response.status_code) from None


def check_header(name: str, value: str, source: str | None = None, *, hint: str | None = None) -> None:
    """Refuse (exit 2, value not shown) a header value with CR/LF or another control character."""
    ch = redact.illegal_char(value)
    if ch is not None:
        where = f" (from {source})" if source else ""
        raise UsageError(f"header {name}{where}: the value contains {redact.describe(ch)}, which cannot be "
                         "sent in a header (value not shown; nothing was sent)",
                         hint=hint or "remove the line break or control character from the value")


def _load_ca_bundle(path: str, source: str = "--ca-bundle"):
    """An SSL context trusting the default CAs plus the PEM certificates in `path`; exit 2 naming the file
    when it is missing, a folder, unreadable or holds no PEM certificate."""
    import os
    import ssl

    path = os.path.expanduser(path)
    if not os.path.exists(path):
        raise ConfigError(f"{source}: {path}: no such file")
    if os.path.isdir(path):
        raise ConfigError(f"{source}: {path}: is a directory, not a PEM file")
    try:
        with open(path, "rb") as fh:
            head = fh.read()
    except OSError as exc:
        raise ConfigError(f"{source}: {path}: cannot read: {exc.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise ConfigError(f"{source}: {path}: no PEM certificate in the file",
                          hint="give a file with one or more '-----BEGIN CERTIFICATE-----' blocks")
    try:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=path)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"{source}: {path}: not a usable PEM certificate file ({exc})") from None
    return context


def verify_for(profile) -> Any:
    """The one trust decision for a profile's connections: `--ca-bundle`, else the profile's `ca_bundle`, adds
    its certificates to the default CAs (an SSL context; a bad file is exit 2 before anything is sent);
    neither means the default CAs (True, as httpx takes it)."""
    if state.ca_bundle:
        return _load_ca_bundle(state.ca_bundle, "--ca-bundle")
    if getattr(profile, "ca_bundle", None):
        return _load_ca_bundle(profile.ca_bundle, f"ca_bundle of profile {profile.name!r}")
    return True


_TRUST_CLASS = None


def default_trust():
    """The default CAs as httpx trusts them (SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's bundle), in an
    SSL context that loads them on its first TLS connection: a session that only speaks plain http (a local
    gateway, the simulators) never pays the ~25 ms the CA store takes to load."""
    global _TRUST_CLASS
    import os
    import ssl

    if _TRUST_CLASS is None:
        class DefaultTrust(ssl.SSLContext):
            _loaded = False
            _lock = threading.Lock()

            def _load(self) -> None:
                with self._lock:
                    if self._loaded:
                        return
                    if os.environ.get("SSL_CERT_FILE"):
                        self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
                    elif os.environ.get("SSL_CERT_DIR"):
                        self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
                    else:
                        import certifi

                        self.load_verify_locations(cafile=certifi.where())
                    self._loaded = True

            def wrap_socket(self, *args, **kwargs):
                self._load()
                return super().wrap_socket(*args, **kwargs)

            def wrap_bio(self, *args, **kwargs):
                self._load()
                return super().wrap_bio(*args, **kwargs)

        _TRUST_CLASS = DefaultTrust
    context = _TRUST_CLASS(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificates and host names
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog  # as ssl.create_default_context does
    return context


def ssl_context_for(profile):
    """`verify_for` as an SSL context, for a connection not made by httpx (the Mind WebSocket): the same CAs
    the HTTP layer trusts, including SSL_CERT_FILE/SSL_CERT_DIR when no bundle is given."""
    verify = verify_for(profile)
    if verify is True:
        import httpx

        return httpx.create_ssl_context(trust_env=True)
    return verify


def _in_memory(response: httpx.Response) -> bool:
    import httpx

    try:
        response.content
    except httpx.ResponseNotRead:
        return False
    return True


# The deadline of the exchange under way in this thread (monotonic seconds), read by _DeadlineBackend.
_DEADLINE = threading.local()


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise DeadlineExceeded()


def _clamp(timeout: float | None) -> float | None:
    """A socket operation's timeout, no longer than what is left of this thread's deadline."""
    deadline = getattr(_DEADLINE, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded()
    return left if timeout is None else min(timeout, left)


class _DeadlineStream:
    """An httpcore network stream whose every read and write ends by the thread's deadline."""

    def __init__(self, inner):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        return self._inner.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """Wraps httpcore's network backend: connections it opens are `_DeadlineStream`s. Cheaper than a watchdog
    thread per request, and it bounds the time between bytes, not just the wait for the first one."""

    def __init__(self, inner):
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_tcp(host, port, _clamp(timeout), local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_by_deadline(client: httpx.Client) -> httpx.Client:
    """Install `_DeadlineBackend` on every connection pool of `client` (its transport and proxy mounts). A
    transport without one (a test's MockTransport) still gets the deadline checked once the headers are in
    and between body chunks."""
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)
    return client


class Session:
    """An HTTP session against one provider profile. Subclasses override `auth_headers` (and may override
    `on_unauthorized` to refresh a token once).

    Contract for providers: `secret_env` (see `curl_line`) and `dry_run_setup()` make dry runs runnable;
    `add_secret()` registers a credential the provider received; `json()` reads a JSON body or fails (7);
    `request(..., lookup=True)` marks a read-only look-up that a dry run still sends; `profile=` gives the
    profile whose trust setting (`verify_for`) the connections use."""

    provider = "api"
    secret_env: dict[str, str] = {}
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, base_url: str, *, profile: Any = None, verify: Any = None, timeout: float | None = None,
                 max_wait: float | None = None, secrets: Iterable[str] = (), budget: RetryBudget | None = None):
        if not base_url:
            raise UsageError("no base URL configured")
        if not is_base_url(base_url):
            raise UsageError(f"base URL {BASE_URL_RULE} (got {base_url!r})")
        self.base_url = base_url.rstrip("/")
        self.timeout = state.timeout if timeout is None else timeout
        self.max_wait = state.max_wait if max_wait is None else max_wait
        self.budget = budget or RetryBudget(self.max_wait, lambda: self.clock())
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)
        # Trust comes from the profile (verify_for), checked before any request: a bad file is exit 2.
        if verify is None:
            verify = verify_for(profile)
        elif isinstance(verify, str):
            verify = _load_ca_bundle(verify, "ca_bundle")
        self._verify = verify
        self._client: httpx.Client | None = None
        self._setup_shown = False
        self._dry_lock = threading.Lock()

    # -- secrets ---------------------------------------------------------------------------------------
    def add_secret(self, value: str | None) -> None:
        """Register a secret (one the provider received, e.g. a token or TURN credential, or one it sends):
        it is scrubbed, in every encoding, from everything this process prints."""
        if not value or not isinstance(value, str) or len(value) < redact.MIN_SECRET:
            return
        if value not in self._secrets:
            self._secrets.append(value)
        redact.remember(value)

    def scrub(self, text: str) -> str:
        return redact.scrub(text, self._secrets)

    def json(self, response: httpx.Response) -> Any:
        """`expect_json`, and any credential in the body (token, TURN credential ...) becomes a secret."""
        body = expect_json(response, self._secrets)
        for secret in redact.learnt(redact.secrets_in(body)):
            self.add_secret(secret)
        return body

    def dry_run_setup(self) -> list[str]:
        """Shell lines a dry run prints before the first curl line (e.g. obtaining a token into a variable)."""
        return []

    # -- lifecycle -------------------------------------------------------------------------------------
    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client_timeout = self.timeout
            self._client = bound_by_deadline(httpx.Client(
                timeout=self._client_timeout,
                verify=default_trust() if self._verify is True else self._verify,
                headers={"User-Agent": USER_AGENT},
                follow_redirects=False,
                trust_env=True,
                # a bulk command's workers (--concurrency, at most 32) each keep their connection alive
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=32),
            ))
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
    def auth_headers(self, kind: str = "default", *, dry_run: bool = False) -> dict[str, str]:
        """Credentials for an auth `kind` ("default" or a vendor's own); with `dry_run`, variable references
        (e.g. "Bearer $TOKEN_VARIABLE") instead of secrets, and no credential is fetched."""
        return {}

    def on_unauthorized(self, kind: str) -> bool:
        """Called once on a 401; return True to retry the request (e.g. after fetching a new token)."""
        return False

    def error_message(self, response: httpx.Response) -> tuple[str, str | None]:
        """(message, hint) for an error response; providers override to read their error bodies."""
        try:
            body = response.json()
        except ValueError:
            text = " ".join(response.text.split())
            return (text[:300] or response.reason_phrase or "error"), None
        if isinstance(body, dict):
            for key in ("error", "message", "detail", "error_description", "reason"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value, None
        return json.dumps(redact.data(body))[:300], None

    # -- requests --------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def build(self, method: str, path: str, *, params=None, json_body=None, data=None, content=None,
              headers=None, auth: str = "default", dry_run: bool = False) -> httpx.Request:
        merged: dict[str, str] = {}
        merged.update(self.auth_headers(auth, dry_run=dry_run) if auth != "none" else {})
        given = dict(headers or {})
        # Checked before the request is built, so nothing is sent and httpx never echoes the value.
        for name, value in merged.items():
            if name not in given:
                self._check_secret_header(name, value)
        for name, value in given.items():
            if name.lower() in redact.SECRET_HEADERS:
                self._check_secret_header(name, value)
            else:
                check_header(name, str(value), "-H/--header or the option that sets it")
        merged.update(given)
        for name, value in merged.items():
            if name.lower() in redact.SECRET_HEADERS and not dry_run:
                for part in redact.header_secret(str(value)):
                    self.add_secret(part)
        params = {k: v for k, v in (params or {}).items() if v is not None}
        for k, v in params.items():
            if k.lower() in redact.SECRET_QUERY and isinstance(v, str) and not dry_run:
                self.add_secret(v)
        for source in (json_body, data):
            for secret in (redact.learnt(redact.secrets_in(source)) if isinstance(source, (dict, list))
                           and not dry_run else ()):
                self.add_secret(secret)
        return self.client.build_request(method, self.url(path), params=params or None, json=json_body,
                                         data=data, content=content, headers=merged)

    def _check_secret_header(self, name: str, value) -> None:
        var = self.secret_env.get(name.lower())
        if name.lower() not in redact.SECRET_HEADERS:
            source = "this profile's settings"
        else:
            source = f"{var} or the profile's stored secret" if var else "this profile's credentials"
        check_header(name, str(value), source, hint="fix the stored secret; one trailing line ending is ignored, "
                                                    "any other line break or control character is refused")

    def request(self, method: str, path: str, *, params=None, json_body=None, data=None, content=None,
                headers=None, auth: str = "default", idempotent: bool | None = None, stream: bool = False,
                raise_for_status: bool = True, ok: Iterable[int] = (), lookup: bool = False) -> httpx.Response:
        """Send with retries. Raises the mapped ConfctlError for error statuses unless `raise_for_status`
        is off or the status is in `ok`. With --dry-run nothing is sent: the command ends and `dry_run_or()`
        returns the DryRunResult (the curl line) — unless `lookup` is true: a read-only look-up a dry run
        needs (e.g. a display name to a UUID) is really sent."""
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        kwargs = dict(params=params, json_body=json_body, data=data, content=content, headers=headers, auth=auth)
        if state.dry_run and not lookup:
            stop_for_dry_run(self.dry_run(self.build(method, path, dry_run=True, **kwargs)))
        ok = set(ok)
        refreshed = False
        while True:
            request = self.build(method, path, **kwargs)
            response = self.send(request, idempotent=idempotent, stream=stream)
            if response.status_code == 401 and not refreshed and auth != "none" and self.on_unauthorized(auth):
                refreshed = True
                response.close()
                continue
            break
        status = response.status_code
        if 300 <= status < 400 and status != 304 and status not in ok:
            response.close()
            raise self.redirect_error(response)
        if raise_for_status and status >= 400 and status not in ok:
            if stream:
                response.read()
            raise self.error(response)
        return response

    def dry_run(self, request: httpx.Request) -> DryRunResult:
        """The DryRunResult for a request: the curl line, and the setup lines the first time."""
        with self._dry_lock:
            setup = [] if self._setup_shown else self.dry_run_setup()
            self._setup_shown = True
        return DryRunResult(curl_line(request, self.secret_env, self._secrets), setup)

    def redirect_error(self, response: httpx.Response) -> ServerError:
        from urllib.parse import urljoin, urlsplit

        location = response.headers.get("Location", "")
        target = urlsplit(urljoin(str(response.request.url), location)) if location else None
        where = f"{target.netloc}{target.path}" if target else "(no Location header)"
        return ServerError(f"{response.status_code} {response.reason_phrase}: redirected to {self.scrub(where)} — "
                           "not followed so credentials stay on this host",
                           hint=f"check {self._url_origin()} (scheme, host, path prefix)", status=response.status_code)

    def error(self, response: httpx.Response):
        message, hint = self.error_message(response)
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
        return error_for_status(status, self.scrub(f"{status} {response.reason_phrase}: {message}"),
                                hint=hint, detail=redact.scrub_data(detail, self._secrets))

    # -- sending ---------------------------------------------------------------------------------------
    def _may_wait(self, wait: float, waited: float) -> bool:
        return waited + wait <= self.max_wait and self.budget.reserve(wait)

    def send(self, request: httpx.Request, *, idempotent: bool, stream: bool = False) -> httpx.Response:
        """Send one request, retrying what is safe to retry, drawing waits from the session's budget."""
        import httpx

        waited = 0.0
        attempt = refused = 0
        while True:
            attempt += 1
            if state.debug:
                self._log_request(request)
            try:
                response = self._attempt(request, stream)
            except httpx.HTTPError as exc:
                transient, safe = self._classify(exc)
                if self._refused(exc):
                    refused += 1
                    transient = transient and refused < REFUSED_ATTEMPTS
                wait = backoff(attempt)
                if transient and (safe or idempotent) and attempt < MAX_ATTEMPTS and self._may_wait(wait, waited):
                    if state.debug:
                        log(self.scrub(f"< {type(exc).__name__}: {exc}; retrying in {wait:.2f}s"))
                    self.sleep(wait)
                    waited += wait
                    continue
                raise self._transport_error(request, exc) from None
            except DeadlineExceeded:
                raise ServerError(f"no complete response from {request.url.host} within --timeout "
                                  f"{self._deadline_for(request, stream):g}s",
                                  hint="raise --timeout if the server is just slow") from None
            if state.debug:
                self._log_response(response, stream)
            status = response.status_code
            if status == 429 or (status in RETRY_STATUSES and idempotent):
                after = retry_after(response)
                wait = backoff(attempt) if after is None else max(after, RETRY_FLOOR) + random.uniform(0, RETRY_JITTER)
                if attempt < MAX_ATTEMPTS and self._may_wait(wait, waited):
                    if state.debug:
                        log(f"< {status}; retrying in {wait:.2f}s")
                    response.close()
                    self.sleep(wait)
                    waited += wait
                    continue
            return response

    def _deadline_for(self, request: httpx.Request, stream: bool) -> float:
        """The total time one attempt may take: --timeout (`self.timeout`, which a provider may lower for a
        cleanup request), or a longer read timeout a caller gave the client on purpose (a call that is
        answered when it is settled). A stream's deadline covers its headers only."""
        if stream:
            return self.timeout
        read = (request.extensions.get("timeout") or {}).get("read")
        if read is not None and read > getattr(self, "_client_timeout", read):
            return max(self.timeout, read)
        return self.timeout

    def _attempt(self, request: httpx.Request, stream: bool) -> httpx.Response:
        """One exchange within a total deadline, in the caller's thread. Every socket operation's timeout is
        clamped to what is left of the deadline (`_DeadlineBackend`, installed on the client's connection
        pools), so no server drip-feeding headers or body can hold the caller past it; the body is read
        chunk by chunk with the deadline checked between chunks. A stream's deadline covers its headers."""
        import httpx

        limit = self._deadline_for(request, stream)
        deadline = time.monotonic() + limit
        outer = getattr(_DEADLINE, "at", None)
        _DEADLINE.at = deadline if outer is None else min(outer, deadline)
        response = None
        try:
            try:
                response = self.client.send(request, stream=True)
                _check_deadline(deadline)
                if not stream and not _in_memory(response):
                    raw = []
                    for chunk in response.iter_raw():
                        raw.append(chunk)
                        _check_deadline(deadline)
                    response.close()
                    # the same response with its (still encoded) body in memory, decoded on first read
                    whole = httpx.Response(response.status_code, headers=response.headers,
                                           stream=httpx.ByteStream(b"".join(raw)), request=request,
                                           extensions=response.extensions)
                    whole.read()
                    whole.elapsed = response.elapsed
                    response = whole
                return response
            except httpx.TimeoutException:
                if time.monotonic() >= deadline - 0.005:  # the clamped timeout: the deadline ran out
                    raise DeadlineExceeded() from None
                raise
        except BaseException:
            if response is not None:
                response.close()
            raise
        finally:
            _DEADLINE.at = outer

    @staticmethod
    def _refused(exc: Exception) -> bool:
        import errno

        import httpx

        if not isinstance(exc, httpx.ConnectError):
            return False
        cause = exc.__cause__ or exc.__context__
        while cause is not None:
            if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
                return True
            cause = cause.__cause__ or cause.__context__
        return "refused" in str(exc).lower()

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
        text = self.scrub(str(exc) or type(exc).__name__)
        if "certificate" in text.lower() or "ssl" in text.lower():
            return ServerError(f"TLS failure talking to {host}: {text}",
                               hint="add your CA with --ca-bundle or the profile's ca_bundle field")
        if isinstance(exc, httpx.TimeoutException):
            return ServerError(f"timed out talking to {host} after retries", hint="raise --timeout or --max-wait")
        return ServerError(f"cannot reach {request.url.scheme}://{request.url.netloc.decode()}: {text}",
                           hint=f"check {self._url_origin()} and that the server is up")

    def _url_origin(self) -> str:
        """Where the base URL came from (a variable, a profile), for hints."""
        profile = getattr(self, "profile", None)
        try:
            return profile.origin("url") if profile is not None else "the profile's url"
        except Exception:  # noqa: BLE001 - a hint must never turn into an error of its own
            return "the profile's url"

    def _log_request(self, request: httpx.Request) -> None:
        log(self.scrub(f"> {request.method} {redact.url(str(request.url))}"))
        for k, v in redact.headers(request.headers).items():
            log(self.scrub(f"> {k}: {v}"))
        if request.content:
            log("> " + self.scrub(redact.body(request.content, request.headers.get("content-type", ""))))

    def _log_response(self, response: httpx.Response, stream: bool) -> None:
        log(f"< {response.status_code} {response.reason_phrase}")
        for k, v in redact.headers(response.headers).items():
            log(self.scrub(f"< {k}: {v}"))
        if not stream:
            ctype = response.headers.get("content-type", "")
            if "json" in ctype or ctype.startswith("text/"):
                try:
                    found = redact.secrets_in(json.loads(response.content)) if "json" in ctype else ()
                    for secret in redact.learnt(found):
                        self.add_secret(secret)  # a credential handed out here must not show up elsewhere
                except ValueError:
                    pass
                log("< " + self.scrub(redact.body(response.content[:4000], ctype)))
