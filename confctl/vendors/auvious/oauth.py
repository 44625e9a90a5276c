"""OAuth 2.0 client credentials for Auvious: fetch, cache (0600, atomic, shared by concurrent commands), and
re-fetch once on a 401.

Plain httpx through the shared `Session` rather than an OAuth library: the grant is one form POST, and the
parts that matter here — a cache shared between processes, retries, --debug/--dry-run with secrets elided,
exit codes — live in confctl's own HTTP layer, which a library's client would bypass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote_plus

from confctl.core.cachefile import FileLock, lock_path, write_private
from confctl.core.errors import AuthError, ConfigError

DEFAULT_TTL = 300.0     # when the server sends no expires_in and the token is not a readable JWT
MAX_MARGIN = 60.0       # refresh this long before expiry at most ...
MARGIN_FRACTION = 0.1   # ... or this fraction of the lifetime, whichever is smaller
LOCK_WAIT = 30.0        # give up waiting for another process's fetch after this long (then fetch anyway)


def default_token_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/security/oauth/token"


def basic_auth(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: both parts form-urlencoded before base64."""
    raw = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def fingerprint(token: str) -> str:
    """A short, non-reversible label for a token (safe to print and log)."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def _jwt_exp(token: str) -> float | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return float(payload["exp"])
    except (ValueError, KeyError, TypeError):
        return None


def record_from_response(body: dict, now: float | None = None) -> dict:
    """The cache record for a token response (RFC 6749 §5.1)."""
    now = time.time() if now is None else now
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise AuthError("the token endpoint answered without an access_token")
    expires_in = body.get("expires_in")
    try:
        lifetime = float(expires_in)
    except (TypeError, ValueError):
        exp = _jwt_exp(token)
        lifetime = (exp - now) if exp else DEFAULT_TTL
    return {
        "access_token": token,
        "token_type": body.get("token_type") or "bearer",
        "scope": body.get("scope"),
        "obtained_at": now,
        "expires_at": now + max(0.0, lifetime),
    }


def usable(record: dict | None, now: float | None = None) -> bool:
    """Still valid with a safety margin (a request must not reach the server with a token about to expire)."""
    if not record or not record.get("access_token"):
        return False
    now = time.time() if now is None else now
    lifetime = record["expires_at"] - record.get("obtained_at", now)
    margin = min(MAX_MARGIN, max(0.0, lifetime) * MARGIN_FRACTION)
    return now < record["expires_at"] - margin


def metadata(record: dict, *, cache_path: Path | None = None, fetched: bool) -> dict:
    """What `confctl auvious token` prints: everything about the token except the token."""
    now = time.time()
    out = {
        "token_type": record.get("token_type"),
        "scope": record.get("scope"),
        "expires_in": max(0, int(record["expires_at"] - now)),
        "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["expires_at"])),
        "fingerprint": fingerprint(record["access_token"]),
        "source": "token endpoint" if fetched else "cache",
    }
    if cache_path is not None:
        out["cache"] = str(cache_path)
    return out


class TokenCache:
    """One JSON file per (token URL, client id) under config.cache_dir(), written atomically with mode 0600.
    A lock file serialises fetches so concurrent commands share one token instead of each fetching."""

    def __init__(self, token_url: str, client_id: str):
        from confctl.core import config

        key = hashlib.sha256(f"{token_url}\n{client_id}".encode()).hexdigest()[:20]
        self.path = config.cache_dir() / f"auvious-token-{key}.json"
        self.token_url = token_url
        self.client_id = client_id

    def load(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None  # missing or half-written by an old version: fetch a new one
        if not isinstance(data, dict) or data.get("token_url") != self.token_url \
                or data.get("client_id") != self.client_id:
            return None
        return data

    def store(self, record: dict) -> None:
        data = {**record, "token_url": self.token_url, "client_id": self.client_id}
        try:
            write_private(self.path, json.dumps(data).encode())
        except OSError:
            pass  # a read-only home must not break commands: the token is simply not cached

    def clear(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass

    @contextmanager
    def locked(self):
        """The shared cache-file lock around fetch-and-store; after LOCK_WAIT (a stuck holder) or when the lock
        file cannot be made, go on unlocked: atomic writes still keep the cache consistent."""
        lock = FileLock(lock_path(self.path))
        try:
            lock.acquire(LOCK_WAIT)
        except (OSError, ConfigError):
            pass
        try:
            yield
        finally:
            lock.release()


class TokenManager:
    """Hands out a usable access token for a session: memory, then the cache file, then the token endpoint."""

    def __init__(self, session, token_url: str, client_id: str, secret_getter):
        self.session = session
        self.token_url = token_url
        self.client_id = client_id
        self._secret_getter = secret_getter
        self.cache = TokenCache(token_url, client_id)
        self.record: dict | None = None
        self.fetched = False
        self._lock = threading.Lock()

    def client_auth_header(self) -> str:
        return basic_auth(self.client_id, self._secret_getter())

    def fetch(self) -> dict:
        """POST grant_type=client_credentials with the client authenticated by HTTP Basic (RFC 6749 §4.4)."""
        from confctl.core.errors import ApiError

        try:
            response = self.session.request("POST", self.token_url, data={"grant_type": "client_credentials"},
                                            headers={"Accept": "application/json"}, auth="client",
                                            idempotent=True)
        except AuthError as exc:
            if exc.status is None:  # credentials missing: that message already says what to set
                raise
            raise AuthError(f"the token endpoint rejected client {self.client_id!r}: {exc.message}",
                            hint="check the profile's client_id and client_secret", status=exc.status) from None
        except ApiError as exc:  # 400 invalid_client / unauthorized_client per RFC 6749 §5.2
            raise AuthError(f"token request failed: {exc.message}",
                            hint="check the profile's client_id, client_secret and token_url",
                            status=exc.status) from None
        body = self.session.json(response)  # not JSON (an HTML page): exit 7 naming what came back
        self.fetched = True
        return record_from_response(body if isinstance(body, dict) else {})

    def token(self, *, force: bool = False, rejected: str | None = None) -> str:
        """A usable token. `rejected` is a token the server just refused: never hand it out again."""
        with self._lock:
            if not force and usable(self.record) and self.record["access_token"] != rejected:
                return self.record["access_token"]
            if not force:
                cached = self.cache.load()
                if usable(cached) and cached["access_token"] != rejected:
                    return self._use(cached)
            with self.cache.locked():
                if not force:  # another process may have fetched while we waited for the lock
                    cached = self.cache.load()
                    if usable(cached) and cached["access_token"] != rejected:
                        return self._use(cached)
                record = self.fetch()
                self.cache.store(record)
            return self._use(record)

    def _use(self, record: dict) -> str:
        """Hold this record and register its token as a secret: it must not show up in any output."""
        self.record = record
        self.session.add_secret(record["access_token"])
        return record["access_token"]
