"""The token lifecycle: request_token, refresh every expires/3 seconds, release — shared through a cache.

A Pexip token *is* a participant in the meeting, so every command must end the participant it started. The
cache (one 0600 JSON file per node + conference + PIN, guarded by the shared cache-file lock) lets concurrent commands share
one token: each process registers itself as a holder; the last holder out releases the token, unless it was kept
on purpose (`confctl pexip token request`). A holder that died (kill -9) is pruned by the next command, which
then reuses the still-valid token and releases it. Ctrl-C and errors release through `PexipSession.close()`.

Refresh: a keep-alive thread refreshes every expires/3 seconds (or, for a follower of many conferences, one
scheduler runs every lease's `keepalive_step`: `Lease.scheduler`), and at once when the node sends a
`refresh_token` event. A refused refresh (403) is retried while the token is still valid; once it has lapsed
without a refresh, the lease fails: the next use of the token (and a follower, at once) raises AuthError (exit
3, "token refresh failed"). Cleanup is bounded: `release_token` is one attempt with a short deadline, so Ctrl-C
with the node gone returns in seconds.

`CONFCTL_PEXIP_TOKEN`: a token the user obtained (e.g. with the lines a dry run prints) is used as is — not
requested, refreshed, cached or released by confctl.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from urllib.parse import quote

from confctl.core import config, output
from confctl.core.cachefile import FileLock, write_private
from confctl.core.errors import AuthError, ConfctlError, NotFoundError, UsageError

CALL_TAG = "confctl"
RELEASE_DEADLINE = 2.0  # release_token: one attempt, no retry loop (the node expires the token anyway)
REFRESH_DEADLINE = 3.0  # one keep-alive refresh attempt, retries included, never holds the lock longer
REFUSED_RETRY = 1.0  # seconds between attempts while the node refuses to refresh a still-valid token
LAPSE_MARGIN = 0.5  # give up this long before the token lapses, so the failure is reported before the node
                    # ends the participant (which would read as a plain disconnect)
TOKEN_ENV = "CONFCTL_PEXIP_TOKEN"


class TokenRefused(ConfctlError):
    """refresh_token answered 401/403/404: the node would not refresh this token (now)."""


def conference_path(alias: str) -> str:
    from confctl.core.validate import path_segment

    path_segment("--conference", alias)  # every Pexip request path starts here: no traversal, even from a profile
    return f"/api/client/v2/conferences/{quote(alias, safe='')}"


def _started(pid: int) -> str:
    """The process start time (Linux), so that a recycled PID is not mistaken for a live holder."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _alive(holder: list) -> bool:
    pid = int(holder[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return len(holder) < 3 or not holder[2] or holder[2] == _started(pid)


def _me(lease_id: str) -> list:
    return [os.getpid(), lease_id, _started(os.getpid())]


class Lease:
    """This process's use of the shared token for one conference."""

    clock = staticmethod(time.time)  # wall clock: `obtained` is shared with other processes through the cache

    def __init__(self, session, alias: str):
        self.session = session
        self.alias = alias
        profile = session.profile
        self.display_name = profile.get("display_name") or "confctl"
        self.call_tag = profile.get("call_tag") or CALL_TAG
        self.pin = profile.secret("pin")
        # Virtual Reception target and SSO, from the environment (or set by `token request`).
        self.extra: dict = {}
        for name in ("conference_extension", "chosen_idp"):
            if profile.get(name):
                self.extra[name] = profile.get(name)
        if os.environ.get("CONFCTL_PEXIP_SSO_TOKEN"):
            self.extra["sso_token"] = os.environ["CONFCTL_PEXIP_SSO_TOKEN"]
        ident = "\0".join([session.base_url, alias, hashlib.sha256((self.pin or "").encode()).hexdigest()])
        key = hashlib.sha256(ident.encode()).hexdigest()[:24]
        folder = config.cache_dir()
        self.path = folder / f"pexip-{key}.json"
        self.lock_path = folder / f"pexip-{key}.lock"
        self.id = uuid.uuid4().hex[:12]
        self.entry: dict | None = None
        self.joined = False
        self.keep = False
        self.guest_fallback = False
        self.external = os.environ.get(TOKEN_ENV) or None  # the user's own token: used, never managed
        self.failure: AuthError | None = None  # set when the token lapsed because the node refused to refresh it
        self.refused: str | None = None  # the node's last refusal, while we keep retrying
        self._urgent = False  # the node asked for a refresh now (a `refresh_token` event)
        self._mutex = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Set by a follower of many conferences: fn(lease) called (from any thread) instead of starting a
        # keep-alive thread, whenever keepalive_step() should run now; that one scheduler runs it for all.
        self.scheduler = None

    # -- cache file ------------------------------------------------------------------------------------
    @contextmanager
    def locked(self):
        with self._mutex, FileLock(self.lock_path):
            yield

    def _load(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not data.get("token"):
            return None
        data["holders"] = [h for h in data.get("holders", []) if isinstance(h, list) and len(h) >= 2
                           and _alive(h)]
        return data

    def _save(self, entry: dict) -> None:
        write_private(self.path, json.dumps(entry).encode())

    def _delete(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    # -- token validity --------------------------------------------------------------------------------
    def _age(self, entry: dict) -> float:
        return self.clock() - float(entry.get("obtained", 0))

    @staticmethod
    def _expires(entry: dict) -> float:
        try:
            return max(1.0, float(entry.get("expires") or 120))
        except (TypeError, ValueError):
            return 120.0

    def _usable(self, entry: dict | None) -> bool:
        if not entry:
            return False
        ttl = self._expires(entry)
        return self._age(entry) < ttl - min(5.0, ttl / 4)  # room for a refresh round trip

    def _due(self, entry: dict) -> bool:
        """The vendor's own client refreshes every expires/3 seconds."""
        return self._age(entry) >= self._expires(entry) / 3

    @property
    def participant_uuid(self) -> str | None:
        if self.external:
            raise UsageError(f"with {TOKEN_ENV} set, confctl does not know which participant that token is",
                             hint="give the participant's UUID instead of 'self'")
        self.token()
        return (self.entry or {}).get("participant_uuid")

    @property
    def role(self) -> str | None:
        return (self.entry or {}).get("role")

    # -- public ----------------------------------------------------------------------------------------
    def token(self) -> str:
        """A valid token, acquiring or refreshing as needed."""
        if self.external:
            return self.external
        with self._mutex:
            if self.failure is None and self.refused and self.joined and not self._usable(self.entry):
                self.failure = AuthError(f"token refresh failed: the node refused to refresh the token for "
                                         f"{self.alias} ({self.refused}) and it is about to expire", status=403,
                                         hint="run the command again for a new token")
            if self.failure is not None:
                raise self.failure
            if not self.joined or not self._usable(self.entry):
                self.acquire()
            elif self._due(self.entry):
                try:
                    self._refresh_shared()
                except TokenRefused:
                    pass  # still valid: use it; the keep-alive retries and fails the lease if it lapses
                except ConfctlError:
                    pass  # node unreachable for now: the request itself will say so
            return self.entry["token"]

    def acquire(self, keep: bool = False) -> dict:
        with self.locked():
            entry = self._load()
            if entry and self._usable(entry) and self._due(entry):
                try:
                    entry = self._refresh(entry)
                except TokenRefused:
                    entry = None  # another process's token the node no longer refreshes: start afresh
            if not self._usable(entry):
                if entry and not entry.get("holders") and self._age(entry) < self._expires(entry):
                    self._post_release(entry)  # nearly expired and unused: end it rather than leave it
                entry = self._request()
                entry["holders"] = []
            holders = entry.setdefault("holders", [])
            if not any(h[1] == self.id for h in holders):
                holders.append(_me(self.id))
            if keep:
                entry["keep"] = True
            self._save(entry)
            self.entry = entry
            self.joined = True
        self._start_keepalive()
        return entry

    def invalidate(self) -> None:
        """The node rejected our token: adopt a newer cached one, or request a new one."""
        with self.locked():
            entry = self._load()
            mine = (self.entry or {}).get("token")
            same = bool(entry and entry.get("participant_uuid") == (self.entry or {}).get("participant_uuid"))
            if not (entry and entry.get("token") != mine and self._usable(entry) and (same or not self.entry)):
                entry = self._request()
                entry["holders"] = [_me(self.id)]
            elif not any(h[1] == self.id for h in entry["holders"]):
                entry["holders"].append(_me(self.id))
            self._save(entry)
            self.entry = entry
            self.joined = True

    def refresh_now(self) -> dict:
        with self.locked():
            entry = self._load() or self.entry
            try:
                entry = self._refresh(entry, force=True)
            except TokenRefused as exc:
                raise AuthError(f"token refresh failed: the node refused to refresh the token for {self.alias} "
                                f"({exc.message})", status=exc.status,
                                hint="the participant was probably disconnected; the next command requests a new "
                                     "one") from None
            self._save(entry)
            self.entry = entry
            return entry

    def request_refresh(self) -> None:
        """The node asked for a refresh (a `refresh_token` event): the keep-alive refreshes now."""
        self._urgent = True
        self._wake.set()
        if self.scheduler is not None:
            self.scheduler(self)

    def release(self, force: bool = False) -> dict | None:
        """Leave: the last holder releases the token (unless kept). `force` also ends a kept token."""
        self._stop.set()
        self._wake.set()
        if self.external:
            return None  # the user's token: theirs to release
        if not self.joined and not force:
            return None
        released = None
        with self.locked():
            entry = self._load()
            mine = self.entry
            if entry:
                entry["holders"] = [h for h in entry["holders"] if h[1] != self.id]
                if force:
                    entry["keep"] = False
                if not entry["holders"] and not entry.get("keep"):
                    self._post_release(entry)
                    self._delete()
                    released = entry
                else:
                    self._save(entry)
            # A token of ours that is no longer the cached one (replaced meanwhile) must not linger either.
            if mine and (not entry or mine.get("participant_uuid") != entry.get("participant_uuid")) \
                    and self._age(mine) < self._expires(mine):
                self._post_release(mine)
                released = released or mine
            self.joined = False
        return released

    def peek(self) -> dict | None:
        with self.locked():
            return self._load()

    # -- keep-alive ------------------------------------------------------------------------------------
    def _start_keepalive(self) -> None:
        if self.scheduler is not None:
            self._stop.clear()
            self.scheduler(self)
            return
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._keepalive, daemon=True, name=f"pexip-refresh-{self.alias}")
            self._thread.start()

    def _keepalive(self) -> None:
        while not self._stop.is_set():
            wait = self.keepalive_step()
            if wait is None:
                return
            self._wake.wait(wait)
            self._wake.clear()

    def keepalive_step(self) -> float | None:
        """Refresh when due (or asked to); the seconds until the next look, or None to end the keep-alive."""
        entry = self.entry
        if entry is None or self._stop.is_set() or self.failure is not None:
            return None
        if self._urgent or self._due(entry):
            urgent, self._urgent = self._urgent, False
            try:
                with self.session.deadline(REFRESH_DEADLINE):
                    self._refresh_shared(force=urgent)
                self.refused = None
            except TokenRefused as exc:
                self.refused = exc.message
                left = self._expires(entry) - self._age(entry)
                if left <= LAPSE_MARGIN:
                    self.failure = AuthError(
                        f"token refresh failed: the node refused to refresh the token for {self.alias} "
                        f"({exc.message}) before it expired", status=exc.status,
                        hint="confctl's participant has left the meeting; run the command again for a new token")
                    self._delete_if_mine(entry)
                    return None
                return max(0.05, min(REFUSED_RETRY, left - LAPSE_MARGIN))
            except ConfctlError:
                return 1.0  # node unreachable for now; the next request will tell
            except Exception:  # noqa: BLE001 - a keep-alive thread must never die noisily
                return 1.0
            entry = self.entry
            if entry is None:
                return None
        wait = self._expires(entry) / 3 - self._age(entry)
        return max(0.1, min(wait, 5.0))

    def _delete_if_mine(self, entry: dict) -> None:
        with self.locked():
            cached = self._load()
            if cached and cached.get("token") == entry.get("token"):
                self._delete()  # nobody can use a token that lapsed

    def _refresh_shared(self, force: bool = False) -> None:
        with self.locked():
            if self._stop.is_set() and not self.joined:
                return
            entry = self._load()
            same = bool(entry and entry.get("participant_uuid") == (self.entry or {}).get("participant_uuid"))
            if same and entry.get("token") != self.entry.get("token") and self._usable(entry) \
                    and not self._due(entry):
                self.entry = entry  # another process refreshed our participant's token already
                return
            # Never adopt another participant's token: our event stream belongs to ours.
            current = entry if same else self.entry
            fresh = self._refresh(current, force=force)  # TokenRefused propagates: the caller retries or fails
            if entry is None:
                fresh["holders"] = [_me(self.id)]
                self._save(fresh)
            elif entry.get("participant_uuid") == fresh.get("participant_uuid"):
                fresh["holders"] = entry["holders"]
                fresh["keep"] = entry.get("keep", False)
                self._save(fresh)
            self.entry = fresh

    # -- wire ------------------------------------------------------------------------------------------
    def _post(self, what: str, headers: dict, body: dict | None = None):
        # lookup=True: a dry run still obtains (and releases) the token its name look-ups need.
        return self.session.request("POST", f"{conference_path(self.alias)}/{what}", headers=headers,
                                    json_body=body, auth="none", idempotent=False, raise_for_status=False,
                                    lookup=True)

    def _result(self, response):
        """The `result` of a Pexip answer; exit 7 naming what came back when it is not JSON (an HTML page)."""
        body = self.session.json(response)
        if isinstance(body, dict) and "result" in body:
            return body["result"]
        return body

    def _request(self) -> dict:
        body = {"display_name": self.display_name, "call_tag": self.call_tag, **self.extra}
        pin = self.pin
        response = self._post("request_token", {"pin": pin} if pin else {}, body)
        if response.status_code == 403 and not pin:
            result = self._result(response)
            if isinstance(result, dict) and result.get("pin") == "required" and result.get("guest_pin") == "none":
                # Guests need no PIN here, but must say so with "pin: none" (documented).
                response = self._post("request_token", {"pin": "none"}, body)
                self.guest_fallback = response.status_code == 200
                if self.guest_fallback:
                    output.warn(f"no PIN configured: joined {self.alias} as a guest; Host-only commands will fail")
        if response.status_code == 403:
            raise self._explain_403(self._result(response))
        if response.status_code == 404:
            raise NotFoundError(f"no conference {self.alias!r} on {self.session.base_url}", status=404,
                                hint="check the profile's conference alias")
        if response.status_code >= 400:
            raise self.session.error(response)
        result = self._result(response) or {}
        if not isinstance(result, dict):
            from confctl.core.errors import ServerError

            raise ServerError(f"request_token for {self.alias}: expected a token object, got "
                              f"{self.session.scrub(str(result))[:80]!r}", status=response.status_code)
        if "token" not in result:
            if result.get("redirect_url"):
                raise SSORedirect(result)
            raise AuthError(f"request_token for {self.alias} returned no token")
        entry = {k: v for k, v in result.items() if k in KEEP_FIELDS}
        entry["token"] = result["token"]
        entry["obtained"] = self.clock()
        entry["alias"] = self.alias
        return entry

    def _refresh(self, entry: dict | None, force: bool = False) -> dict | None:
        """A refreshed copy of `entry`; TokenRefused when the node refuses (401/403/404)."""
        if not entry:
            return None
        if not force and not self._due(entry):
            return entry
        response = self._post("refresh_token", {"token": entry["token"]})
        if response.status_code in (401, 403, 404):
            try:
                message, _hint = self.session.error_message(response)
            except Exception:  # noqa: BLE001 - the refusal itself is what matters
                message = response.reason_phrase
            raise TokenRefused(f"{response.status_code} {self.session.scrub(str(message))}",
                               status=response.status_code)
        if response.status_code >= 400:
            raise self.session.error(response)
        result = self._result(response) or {}
        fresh = dict(entry)
        fresh["token"] = result.get("token") or entry["token"] if isinstance(result, dict) else entry["token"]
        fresh["expires"] = result.get("expires", entry.get("expires")) if isinstance(result, dict) \
            else entry.get("expires")
        fresh["obtained"] = self.clock()
        return fresh

    def _post_release(self, entry: dict) -> None:
        """One bounded attempt: the response "should be ignored", and an unreachable node expires the token."""
        try:
            with self.session.deadline(RELEASE_DEADLINE, retries=False):
                self._post("release_token", {"token": entry["token"]})
        except ConfctlError as exc:
            output.warn(f"could not release the token for {self.alias}: {exc.message}")

    def _explain_403(self, result) -> AuthError:
        alias = self.alias
        if isinstance(result, dict):
            if "conference_extension" in result:
                return AuthError(
                    f"{alias} is a Virtual Reception ({result['conference_extension']}): it needs the alias of the "
                    "conference to join", status=403,
                    hint="pass --conference-extension ALIAS to `confctl pexip token request`, or set "
                         "CONFCTL_PEXIP_CONFERENCE_EXTENSION")
            if "idp" in result:
                idps = ", ".join(f"{i.get('name')} ({i.get('uuid')})" for i in result.get("idp") or [])
                return AuthError(
                    f"{alias} requires single sign-on; identity providers: {idps or 'none listed'}", status=403,
                    hint="`confctl pexip token request --chosen-idp UUID` prints the sign-in URL; then run "
                         "`confctl pexip token request --sso-token-file FILE` with the token it gives you")
            host, guest = result.get("pin"), result.get("guest_pin")
            if host or guest:
                if self.pin:
                    return AuthError(f"the PIN was not accepted by {alias}", status=403,
                                     hint="check the profile's PIN (the host PIN, or the guest PIN to join as guest)")
                need = "a PIN for hosts and guests" if guest == "required" else "a host PIN"
                return AuthError(f"{alias} requires {need}; no PIN is configured", status=403,
                                 hint="set CONFCTL_PEXIP_PIN, or store it in the profile: `confctl profile edit "
                                      "NAME --secret-stdin` (the PIN on stdin)")
        text = self.session.scrub(str(result or "forbidden"))  # a node may echo the PIN it refused
        if "pin" in text.lower():
            return AuthError(f"the PIN was not accepted by {alias} ({text})", status=403,
                             hint="check the profile's PIN (the host PIN, or the guest PIN to join as guest)")
        return AuthError(f"{alias}: request_token refused: {text}", status=403)


class SSORedirect(ConfctlError):
    """request_token answered with an identity provider's sign-in URL instead of a token."""

    def __init__(self, result: dict):
        super().__init__("single sign-on: open the sign-in URL, then pass the resulting token")
        self.result = result


# request_token fields worth keeping beside the token (no TURN credentials, nothing else secret).
KEEP_FIELDS = ("expires", "participant_uuid", "display_name", "role", "call_tag", "conference_name",
               "service_type", "current_service_type", "version", "chat_enabled", "guests_can_present", "call_type")


