"""The Pexip Infinity provider (client REST API v2): token-authenticated, per conference alias."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager

from confctl.core import output
from confctl.core.http import Session
from confctl.core.provider import Provider
from confctl.core.spec import LOCAL, Param

from . import SPEC
from .answers import SELF_ENV, SELF_MARK, invalid_token, unwrap  # noqa: F401 (unwrap: for the endpoints)
from .rules import room_ref
from .token import TOKEN_ENV, Lease, conference_path

ALIAS_IN_PATH = re.compile(r"/api/client/v2/conferences/([^/]+)/")
BREAKOUT = Param("breakout", LOCAL, rule=room_ref, resolve="breakout", metavar="ROOM",
                 help="send the request to this breakout room (same request under /breakouts/{uuid}/): its "
                      "UUID, the short id the roster shows, or its name")


def _alias_of(path: str) -> str | None:
    from urllib.parse import unquote

    match = ALIAS_IN_PATH.search(path)
    return unquote(match.group(1)) if match else None


class PexipSession(Session):
    """Adds the `token` header of the conference in each path; tokens come from (and go back to) a Lease."""

    provider = "pexip"
    # Dry runs print these headers as variable references; dry_run_setup() says how to fill the token one.
    secret_env = {"pin": "CONFCTL_PEXIP_PIN", "token": TOKEN_ENV}

    def __init__(self, profile):
        self.profile = profile
        self.leases: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._local = threading.local()  # per-thread deadline overrides (see `deadline`)
        self.rosters: dict = {}  # (alias, breakout) -> participant list, for name resolution in one command
        self._dry_alias: str | None = None
        super().__init__(profile.require("url"), profile=profile,
                         secrets=[profile.secret("pin") or "", os.environ.get(TOKEN_ENV) or ""])

    # -- bounded requests (token refresh and release must never hold a follower or Ctrl-C for long) --------
    @property
    def timeout(self) -> float:
        limit = getattr(self._local, "timeout", None)
        return self._timeout if limit is None else min(limit, self._timeout)

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = value

    @property
    def max_wait(self) -> float:
        limit = getattr(self._local, "max_wait", None)
        return self._max_wait if limit is None else min(limit, self._max_wait)

    @max_wait.setter
    def max_wait(self, value: float) -> None:
        self._max_wait = value

    @contextmanager
    def deadline(self, seconds: float, *, retries: bool = True):
        """Requests made by this thread inside the block take at most `seconds` each (and wait at most that
        long for retries in total, or not at all without `retries`)."""
        self.client  # noqa: B018 - created with the normal timeout, not this block's
        saved = (getattr(self._local, "timeout", None), getattr(self._local, "max_wait", None))
        self._local.timeout, self._local.max_wait = seconds, (seconds if retries else 0.0)
        try:
            yield
        finally:
            self._local.timeout, self._local.max_wait = saved

    def scrub_data(self, value):
        from confctl.core import redact

        return redact.scrub_data(value, self._secrets)

    def lookup(self, method: str, path: str, **kw):
        """A read-only request that --dry-run still sends (name and room look-ups)."""
        return self.request(method, path, lookup=True, **kw)

    def lease(self, alias: str) -> Lease:
        with self._lock:
            if alias not in self.leases:
                self.leases[alias] = Lease(self, alias)
            return self.leases[alias]

    def build(self, method, path, *, headers=None, auth="default", dry_run=False, **kw):
        alias = _alias_of(path) if auth != "none" else None
        if alias:
            token = f"${TOKEN_ENV}" if dry_run else self.lease(alias).token()
            headers = {**(headers or {}), "token": token}
        request = super().build(method, path, headers=headers, auth="none", dry_run=dry_run, **kw)
        limit = getattr(self._local, "timeout", None)
        if limit is not None:
            import httpx

            request.extensions["timeout"] = httpx.Timeout(self.timeout).as_dict()
        return request

    def dry_run(self, request):
        """The curl line; `self` (confctl's own participant) becomes $CONFCTL_PEXIP_SELF, which the setup
        lines fill from the same request_token answer as the token."""
        from confctl.core.http import DryRunResult

        self._dry_alias = _alias_of(request.url.path)
        self._dry_self = SELF_MARK in request.url.path
        dry = super().dry_run(request)
        if SELF_MARK not in dry.curl:
            return dry
        import shlex

        head = dry.curl.split(" ", 4)  # curl -X METHOD URL rest
        url = shlex.split(head[3])[0].replace(SELF_MARK, "${" + SELF_ENV + "}")
        return DryRunResult(" ".join([*head[:3], f'"{url}"', *head[4:]]), dry.setup)

    def dry_run_setup(self) -> list[str]:
        """How to obtain the token the printed line uses: a runnable request_token into CONFCTL_PEXIP_TOKEN
        (unless it is set already), and the release_token to run when done."""
        alias = self._dry_alias
        if not alias or os.environ.get(TOKEN_ENV):
            return [f"# using the token in ${TOKEN_ENV}"] if alias else []
        import shlex

        from confctl.core.http import curl_line

        lease = self.lease(alias)
        body = {"display_name": lease.display_name, "call_tag": lease.call_tag, **lease.extra}
        headers = {"pin": "$CONFCTL_PEXIP_PIN"} if lease.pin else {}
        obtain = curl_line(self.client.build_request("POST", self.url(conference_path(alias) + "/request_token"),
                                                     json=body, headers=headers), self.secret_env)
        obtain = obtain.replace("curl ", "curl -sS ", 1)
        release = self.url(conference_path(alias) + "/release_token")
        lines = ["# A Pexip token is a participant in the meeting: obtain one first (needs jq)" +
                 (", with the PIN in $CONFCTL_PEXIP_PIN" if lease.pin else "") + ":"]
        if getattr(self, "_dry_self", False):  # the participant of that token is `self`
            lines += [f"CONFCTL_PEXIP_JOINED=$({obtain})",
                      f'export {TOKEN_ENV}=$(jq -r .result.token <<<"$CONFCTL_PEXIP_JOINED")',
                      f'{SELF_ENV}=$(jq -r .result.participant_uuid <<<"$CONFCTL_PEXIP_JOINED")']
        else:
            lines.append(f"export {TOKEN_ENV}=$({obtain} | jq -r .result.token)")
        return lines + [
            f"# ... and release it when done (until then it stays in the meeting; confctl itself also uses "
            f"${TOKEN_ENV} when it is set):",
            f"#   curl -sS -X POST {shlex.quote(release)} -H \"token: ${TOKEN_ENV}\"",
        ]

    def request(self, method, path, *, raise_for_status=True, ok=(), **kw):
        """One retry with a fresh token when the node says ours is no longer valid."""
        response = super().request(method, path, raise_for_status=False, **kw)
        alias = _alias_of(path)
        if response.status_code in (401, 403) and kw.get("auth", "default") != "none" and alias \
                and alias in self.leases and not self.leases[alias].external and invalid_token(response):
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
    """`kill` (SIGTERM) gets the same clean exit as Ctrl-C, so the token is released, not left as a ghost.
    Only for the command line: a program using confctl as a library keeps its own signal handling."""
    import signal

    from confctl.core.state import state

    if not state.cli or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)


class Pexip(Provider):
    info = SPEC
    session_class = PexipSession
    group_help = {
        "token": "Request (and keep), refresh, release confctl's token.",
        "conference": "Control the conference: lock, mute, layouts, dial.",
        "participant": "Act on a participant (name, UUID, prefix; any room).",
        "breakout": "Breakout rooms: create, move people, help, close.",
        "call": "A participant's calls: media, DTMF, ICE, camera.",
        "video-mix": "Personal layouts: create, configure, delete mixes.",
        "presentation": "Fetch presentation frames (JPEG).",
        "node": "The Conferencing Node: maintenance status, JWKS.",
    }

    @property
    def resolvers(self):
        from . import names

        return {"participant": names.resolve, "video_mix": names.resolve_mix, "breakout": names.resolve_room,
                "breakout_target": names.resolve_target}

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
        body = call.session.json(response)  # exit 7 naming what came back when it is not JSON
        # A node that echoes the token (or anything confctl sent or was handed) must not get it printed.
        return call.session.scrub_data(unwrap(body, " ".join(call.endpoint.command_path)))

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


PROVIDER = Pexip()
_terminate_like_ctrl_c()  # imported only when a pexip command (or follower) runs, in the main thread


def check_save_frames(value: str) -> None:
    """`events follow --save-frames DIR`: checked before any stream starts (created when the first frame comes)."""
    if os.path.exists(value) and not os.path.isdir(value):
        from confctl.core.errors import ValidationError

        raise ValidationError("--save-frames", f"{value} exists and is not a directory")
