"""A profile opened for the cross-vendor commands: its provider, its session, and `call()` to run any of the
vendor's endpoints by id through the same path a command takes (validation, name resolvers, `already` rules,
the provider's result hook)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Connection:
    provider: Any  # confctl.core.provider.Provider
    profile: Any  # confctl.core.config.Profile
    session: Any = None  # opened on first use
    _endpoints: dict = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, profile) -> "Connection":
        return cls(profile.provider.load(), profile)

    @property
    def vendor(self) -> str:
        return self.provider.name

    @property
    def name(self) -> str:
        return self.profile.name

    def endpoint(self, endpoint_id: str):
        if not self._endpoints:
            self._endpoints = {ep.id: ep for ep in self.provider.endpoints}
        return self._endpoints[endpoint_id]

    def ensure_session(self):
        if self.session is None:
            self.session = self.provider.session(self.profile)
        return self.session

    def build(self, endpoint_id: str, values: dict):
        """Validate and lay out one call (raises ValidationError before anything is sent)."""
        from confctl.core.builder import build_call

        call = build_call(self.provider, self.endpoint(endpoint_id), dict(values), self.profile)
        return call

    def call(self, endpoint_id: str, values: dict | None = None) -> Any:
        """Send one endpoint's request and return its result (a dict with "already": True when the goal
        already held)."""
        from confctl.core.builder import send_call

        call = self.build(endpoint_id, values or {})
        call.session = self.ensure_session()
        return send_call(call)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
