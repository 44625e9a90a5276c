"""The provider base: what every vendor module supplies to the shared builder, CLI and event printer."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from confctl.core.registry import ProviderInfo
from confctl.core.spec import Endpoint, Param

if TYPE_CHECKING:  # pragma: no cover
    import typer

    from confctl.core.config import Profile
    from confctl.core.http import Session
    from confctl.core.vendor import FollowOptions


@dataclass
class Call:
    """One request about to be sent for an endpoint: handlers and provider hooks may adjust it."""

    provider: "Provider"
    endpoint: Endpoint
    profile: "Profile"
    values: dict
    method: str
    path: str
    query: dict = field(default_factory=dict)
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    form: bool = False
    content: bytes | None = None
    session: "Session | None" = None
    # The path parameters by wire name (resolvers update them before the path is filled in).
    path_values: dict = field(default_factory=dict)
    # Where a resolved reference was found, for a vendor that needs it later in the same call (Pexip: the
    # room each participant is in, keyed by participant UUID).
    locations: dict = field(default_factory=dict)

    def send(self, **overrides):
        """Send through the provider session (retries, auth, error mapping). An error answer that one of the
        endpoint's `already` rules recognises raises AlreadyDone instead: the goal already holds."""
        from confctl.core.errors import ConfctlError

        try:
            return self._send(**overrides)
        except ConfctlError as exc:
            rule = self.already_rule(exc)
            if rule is None:
                raise
            from confctl.core.errors import AlreadyDone

            raise AlreadyDone(rule.note, exc.status, exc.detail) from None

    def already_rule(self, exc):
        import re

        for rule in self.endpoint.already:
            if exc.status == rule.status and re.search(rule.match, exc.message, re.IGNORECASE):
                return rule
        return None

    def _send(self, **overrides):
        kw = dict(params=self.query, headers=self.headers, auth=self.endpoint.auth,
                  idempotent=self.endpoint.is_idempotent)
        if self.content is not None:
            kw["content"] = self.content
        elif self.form:
            kw["data"] = self.body
        elif self.body is not None:
            kw["json_body"] = self.body
        kw.update(overrides)
        return self.session.request(self.method, self.path, **kw)


class Provider:
    """Subclass per vendor. `endpoints` is the declarative table; the rest are hooks with defaults."""

    info: ProviderInfo
    # The Session subclass `session()` builds for a profile.
    session_class: type["Session"] | None = None
    # Resolvers turn user input into wire values: name -> fn(call, value) -> value.
    resolvers: dict[str, Callable[[Call, Any], Any]] = {}
    # One-line help of each command group, keyed by the group path joined by spaces ("session", "breakout",
    # "participant layout"). Resolvers run under --dry-run too: their look-ups use `request(..., lookup=True)`.
    group_help: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The declarative table: ENDPOINTS of the `endpoints` module beside the subclass, imported on first
        use so that help for other groups never loads it."""
        package = type(self).__module__.rpartition(".")[0]
        return importlib.import_module(f"{package}.endpoints").ENDPOINTS

    def session(self, profile: "Profile", **kw) -> "Session":
        if self.session_class is None:
            raise NotImplementedError(f"{type(self).__name__} declares no session_class")
        return self.session_class(profile, **kw)

    def extra_params(self, endpoint: Endpoint) -> tuple[Param, ...]:
        """Parameters every command of some kind gets (e.g. Pexip's --breakout)."""
        return ()

    def prepare(self, call: Call) -> None:
        """Adjust a call before it is sent (e.g. scope the path to a breakout room)."""

    def result(self, call: Call, response) -> Any:
        """Turn a response into the printed result (e.g. unwrap Pexip's {"status","result"}). An HTML page or
        broken JSON answered with a 2xx (a captive portal, a proxy's error page) is exit 7, not success."""
        return call.session.json(response)

    def register(self, app: "typer.Typer", group: Callable[[tuple[str, ...]], "typer.Typer"]) -> None:
        """Add hand-written workflow commands. `group(("room",))` returns (creating) a sub-group."""

    def check(self, session: "Session", profile: "Profile") -> Any:
        """One cheap authenticated call for `profile test`."""
        raise NotImplementedError

    def follow(self, profile: "Profile", options: "FollowOptions") -> Iterator[dict]:
        """Yield event envelopes (confctl.core.events.envelope) until the stream ends or `options.stop` is
        set: the conferences to follow are `options.conference`, the vendor's own follow options (declared in
        its spec) `options.get(name)`."""
        raise NotImplementedError(f"{self.name} has no event stream")
