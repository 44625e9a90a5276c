"""The Auvious RTC API provider (OAuth 2.0 client credentials, bearer tokens, long-poll events)."""

from __future__ import annotations

from confctl.core.http import Session
from confctl.core.provider import Provider
from confctl.core.redact import MASK

from . import SPEC


TOKEN_VAR = "CONFCTL_AUVIOUS_TOKEN"
ID_VAR, SECRET_VAR = "CONFCTL_AUVIOUS_CLIENT_ID", "CONFCTL_AUVIOUS_CLIENT_SECRET"


class AuviousSession(Session):
    """Bearer auth from a cached client-credentials token; one re-fetch on a 401. An access token the user
    exported as CONFCTL_AUVIOUS_TOKEN is used as it is (no fetch, no cache).

    Auth kinds: "default" (bearer token), "client" (HTTP Basic client authentication, for the token endpoint).
    A dry run prints the bearer token as $CONFCTL_AUVIOUS_TOKEN, preceded by the client-credentials request
    that fills it in, and the Basic credentials as -u "$CONFCTL_AUVIOUS_CLIENT_ID:$CONFCTL_AUVIOUS_CLIENT_SECRET".
    """

    provider = "auvious"
    secret_env = {"authorization": TOKEN_VAR, "authorization:basic": f"{ID_VAR}:{SECRET_VAR}"}

    def __init__(self, profile, *, max_wait: float | None = None, timeout: float | None = None):
        import os

        from .oauth import TokenManager, default_token_url

        self.profile = profile
        base = profile.require("url")
        self.client_id = profile.require("client_id")
        self.token_url = profile.get("token_url") or default_token_url(base)
        if not self.token_url.startswith(("http://", "https://")):
            from confctl.core.errors import ConfigError

            raise ConfigError(f"auvious token_url must be an http(s) URL (got {self.token_url!r})")
        self._secret: str | None = None
        self.user_token = os.environ.get(TOKEN_VAR, "").strip() or None
        self._dry_kinds: set[str] = set()  # which credentials the dry-run lines printed so far read
        super().__init__(base, profile=profile, max_wait=max_wait, timeout=timeout)
        self.add_secret(self.user_token)
        self.tokens = TokenManager(self, self.token_url, self.client_id, self.client_secret)

    def client_secret(self) -> str:
        """Read only when a token must be fetched (a keyring lookup is not free)."""
        if self._secret is None:
            self._secret = self.profile.require("client_secret")
            self.add_secret(self._secret)  # scrubbed from any error text, in every encoding
        return self._secret

    def auth_headers(self, kind: str = "default", *, dry_run: bool = False) -> dict[str, str]:
        if dry_run:
            if kind == "client":
                self._dry_kinds.add("client")
                return {"Authorization": "Basic $" + SECRET_VAR}  # printed as -u "$ID:$SECRET"
            self._dry_kinds.add("bearer")
            return {"Authorization": "Bearer $" + TOKEN_VAR}
        if kind == "client":
            return {"Authorization": self.tokens.client_auth_header()}
        token = self.user_token or self.tokens.token()
        return {"Authorization": f"Bearer {token}"}

    def dry_run_setup(self) -> list[str]:
        """What the printed lines need first: the client id in $CONFCTL_AUVIOUS_CLIENT_ID (unless set), and
        for a bearer request the token in $CONFCTL_AUVIOUS_TOKEN, fetched by the same client-credentials
        request confctl makes (kept if the variable is already set)."""
        if not self._dry_kinds:
            return []
        import shlex

        lines = [f'[ -n "${ID_VAR}" ] || {ID_VAR}={shlex.quote(self.client_id)}']
        if "bearer" in self._dry_kinds:
            grant = (f'curl -sS -f -X POST -u "${ID_VAR}:${SECRET_VAR}" -H \'Accept: application/json\' '
                     f"-d grant_type=client_credentials {shlex.quote(self.token_url)}")
            parse = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
            lines = [f"# the OAuth access token confctl would fetch (client credentials); export {TOKEN_VAR} to "
                     "reuse one", *lines, f'[ -n "${TOKEN_VAR}" ] || {TOKEN_VAR}=$({grant} | {parse})']
        return lines

    def error(self, response):
        exc = super().error(response)
        if response.status_code == 401 and self.user_token:
            exc.hint = f"the access token in {TOKEN_VAR} was rejected; unset it to let confctl fetch one"
        return exc

    def on_unauthorized(self, kind: str) -> bool:
        """The server refused our token (revoked, or the clock drifted): fetch a new one, retry once."""
        if kind == "client":
            return False
        if self.user_token:
            return False  # the user's own token: not ours to replace (the 401 says to check it)
        rejected = self.tokens.record["access_token"] if self.tokens.record else None
        self.tokens.token(rejected=rejected)
        return True

    def error_message(self, response):
        """Auvious 400s carry a map of field -> message; OAuth errors carry error/error_description."""
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        if isinstance(body, dict):
            if isinstance(body.get("error_description"), str):
                return f"{body.get('error', 'error')}: {body['error_description']}", None
            if body and all(isinstance(v, str) for v in body.values()) and not {"error", "message"} & set(body):
                return "; ".join(f"{k}: {v}" for k, v in body.items()), None
        return super().error_message(response)


class Auvious(Provider):
    info = SPEC
    session_class = AuviousSession
    group_help = {
        "conference": "Conferences: create, show, list active, join, leave, end, send events, poll events.",
        "conference metadata": "Conference metadata: set or remove a key.",
        "oauth": "OAuth 2.0 client credentials: fetch the access token (same as `auvious token`).",
        "participant": "Participants: set their metadata.",
        "stream": "Media streams: publish, view, stop, set metadata and bitrate, exchange ICE candidates.",
    }

    def result(self, call, response):
        if response.status_code == 204 and call.endpoint.handler is None:
            from confctl.core import output

            # 204 commands print no data; say on stderr what happened so a person at a terminal knows
            target = call.values.get("stream") or call.values.get("conference") or ""
            output.note(f"done: {' '.join(call.endpoint.command_path)} {target}".rstrip())
        return super().result(call, response)  # an HTML page or broken JSON with a 200 is exit 7

    def check(self, session, profile):
        active = session.json(session.request("GET", "/rtc-api/conferences/active"))
        from .oauth import metadata

        return {"ok": True, "active_conferences": len(active or []),
                "token": metadata(session.tokens.record, fetched=session.tokens.fetched)}

    def follow(self, profile, options):
        from .events import follow

        return follow(self, profile, options)


PROVIDER = Auvious()


def check_cursor_file(value: str) -> None:
    import os

    if os.path.isdir(value):
        from confctl.core.errors import ValidationError

        raise ValidationError("--cursor-file", f"{value} is a directory")


def plan_follow(profile, options, seen: dict):
    """`events follow` planning: with no conference given nor in the profile, follow the cursor file's."""
    if options.conference or not options.get("cursor_file"):
        return options
    import dataclasses
    import json

    try:
        with open(options.get("cursor_file"), encoding="utf-8") as fh:
            conferences = tuple(str(c) for c in json.load(fh).get("conferences", {}))
    except (OSError, ValueError, AttributeError):
        conferences = ()  # missing (a first run) or unreadable: the follower reports it precisely
    return dataclasses.replace(options, conference=conferences)
