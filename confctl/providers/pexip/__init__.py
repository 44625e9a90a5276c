"""The Pexip Infinity provider (client REST API v2): token-authenticated, per conference alias."""

from __future__ import annotations

import re
import threading

from confctl import output
from confctl.errors import ApiError
from confctl.http import Session
from confctl.provider import Provider
from confctl.providers import PROVIDERS
from confctl.spec import LOCAL, Param

from .rules import uuid_rule
from .token import Lease, conference_path

ALIAS_IN_PATH = re.compile(r"/api/client/v2/conferences/([^/]+)/")
BREAKOUT = Param("breakout", LOCAL, rule=uuid_rule, metavar="UUID",
                 help="send the request to this breakout room (same request under /breakouts/{uuid}/)")


def _alias_of(path: str) -> str | None:
    from urllib.parse import unquote

    match = ALIAS_IN_PATH.search(path)
    return unquote(match.group(1)) if match else None


class PexipSession(Session):
    """Adds the `token` header of the conference in each path; tokens come from (and go back to) a Lease."""

    provider = "pexip"
    secret_env = {"pin": "CONFCTL_PEXIP_PIN"}

    def __init__(self, profile):
        from confctl.state import state

        self.profile = profile
        self.leases: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self.rosters: dict = {}  # (alias, breakout) -> participant list, for name resolution in one command
        super().__init__(profile.require("url"), verify=state.ca_bundle or profile.ca_bundle or True,
                         secrets=[profile.secret("pin") or ""])

    def lease(self, alias: str) -> Lease:
        with self._lock:
            if alias not in self.leases:
                self.leases[alias] = Lease(self, alias)
            return self.leases[alias]

    def build(self, method, path, *, headers=None, auth="default", dry_run=False, **kw):
        alias = _alias_of(path) if auth != "none" else None
        if alias:
            token = "<token>" if dry_run else self.lease(alias).token()
            headers = {**(headers or {}), "token": token}
        return super().build(method, path, headers=headers, auth="none", dry_run=dry_run, **kw)

    def request(self, method, path, *, raise_for_status=True, ok=(), **kw):
        """One retry with a fresh token when the node says ours is no longer valid."""
        response = super().request(method, path, raise_for_status=False, **kw)
        alias = _alias_of(path)
        if response.status_code in (401, 403) and kw.get("auth", "default") != "none" and alias \
                and alias in self.leases and _invalid_token(response):
            response.close()
            self.leases[alias].invalidate()
            response = super().request(method, path, raise_for_status=False, **kw)
        if raise_for_status and response.status_code >= 400 and response.status_code not in set(ok):
            if kw.get("stream"):
                response.read()
            raise self.error(response)
        return response

    def error_message(self, response):
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, dict) and "result" in body:
            result = body["result"]
            message = result if isinstance(result, str) else output.dumps(result)
            hint = None
            alias = _alias_of(response.request.url.path) if response.request else None
            lease = self.leases.get(alias) if alias else None
            if response.status_code == 403 and lease is not None and str(lease.role).upper() == "GUEST":
                hint = "confctl joined as a guest; Host rights need the host PIN in the profile"
            return message, hint
        return super().error_message(response)

    def close(self) -> None:
        try:
            for lease in list(self.leases.values()):
                lease.release()
        finally:
            super().close()


def _terminate_like_ctrl_c() -> None:
    """`kill` (SIGTERM) gets the same clean exit as Ctrl-C, so the token is released, not left as a ghost."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)


def _invalid_token(response) -> bool:
    try:
        response.read()
        body = response.json()
    except Exception:  # noqa: BLE001 - any unreadable body is not a token complaint
        return response.status_code == 401
    result = body.get("result") if isinstance(body, dict) else body
    return response.status_code == 401 or (isinstance(result, str) and "token" in result.lower())


class Pexip(Provider):
    info = PROVIDERS["pexip"]

    @property
    def endpoints(self):
        from .endpoints import ENDPOINTS

        return ENDPOINTS

    @property
    def resolvers(self):
        from . import names

        return {"participant": names.resolve, "video_mix": names.resolve_mix}

    def session(self, profile):
        return PexipSession(profile)

    def extra_params(self, endpoint):
        from .endpoints import BREAKOUT_SCOPED

        return (BREAKOUT,) if endpoint.id.startswith(BREAKOUT_SCOPED) else ()

    def prepare(self, call):
        from .endpoints import BREAKOUT_SCOPED

        breakout = call.values.get("breakout")
        if breakout and call.endpoint.id.startswith(BREAKOUT_SCOPED):
            prefix = conference_path(call.path_values["alias"])
            call.path = f"{prefix}/breakouts/{breakout}{call.path[len(prefix):]}"

    def result(self, call, response):
        if call.endpoint.binary:
            return response.content
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            return response.text
        return unwrap(body, " ".join(call.endpoint.command_path))

    def register(self, app, group):
        from .roster import register

        register(app)

    def check(self, session, profile):
        alias = profile.require("conference")
        status = unwrap(session.request("GET", conference_path(alias) + "/conference_status").json(), "status")
        lease = session.lease(alias)
        return {"ok": True, "conference": alias, "role": lease.role, "locked": (status or {}).get("locked")}

    def follow(self, profile, options):
        from .events import follow

        return follow(profile, options)


def unwrap(body, what: str = "request"):
    """Pexip answers {"status", "result"}: status "failure" or result false is a failure (exit 1)."""
    if not (isinstance(body, dict) and "status" in body and "result" in body):
        return body
    status, result = body["status"], body["result"]
    if status != "success":
        raise ApiError(f"{what}: {result}" if isinstance(result, str) else f"{what}: failed ({status})",
                       detail=body)
    if result is False:
        raise ApiError(f"{what}: the node did not apply it (result: false)", detail=body,
                       hint="check the target exists in this room and that confctl has Host rights")
    if result is True:
        output.note(f"{what}: ok")
        return None
    return result


PROVIDER = Pexip()
_terminate_like_ctrl_c()  # imported only when a pexip command (or follower) runs, in the main thread
