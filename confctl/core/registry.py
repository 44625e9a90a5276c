"""The provider registry: cheap metadata only, so `confctl --help` imports no provider module."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """A profile field. Every field can also come from CONFCTL_<PROVIDER>_<FIELD> (DESIGN §4)."""

    name: str
    help: str
    secret: bool = False
    required: bool = True
    default: str | None = None


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    help: str
    module: str
    fields: tuple[Field, ...]

    def env_var(self, field: str) -> str:
        return f"CONFCTL_{self.name.upper()}_{field.upper()}"

    @property
    def secret_field(self) -> Field | None:
        return next((f for f in self.fields if f.secret), None)

    def load(self):
        """The provider implementation (a `confctl.core.provider.Provider`)."""
        return importlib.import_module(self.module).PROVIDER


PROVIDERS: dict[str, ProviderInfo] = {
    "gateway": ProviderInfo(
        "gateway",
        "Telephony conference gateway: rooms, playback, session join/leave/mute, webhooks.",
        "confctl.vendors.gateway.provider",
        (
            Field("url", "gateway base URL, e.g. https://gateway.example.com"),
            Field("app_id", "application id (X-App-ID)"),
            Field("api_key", "API key (X-API-Key)", secret=True),
        ),
    ),
    "pexip": ProviderInfo(
        "pexip",
        "Pexip Infinity client REST API v2: conferences, participants, breakouts, calls, live events.",
        "confctl.vendors.pexip.provider",
        (
            Field("url", "Conferencing Node base URL, e.g. https://pexip.example.com"),
            Field("conference", "conference alias, e.g. meet.alice"),
            Field("display_name", "display name used when requesting a token", required=False,
                  default="confctl"),
            Field("pin", "host or guest PIN", secret=True, required=False),
        ),
    ),
    "mind": ProviderInfo(
        "mind",
        "Mind API: conferences, participants, recordings, streaming, SIP, WebSocket events.",
        "confctl.vendors.mind.provider",
        (
            Field("url", "API base URL", required=False, default="https://api.mind.com"),
            Field("app_id", "application id"),
            Field("token", "application token", secret=True),
            Field("conference", "default conference id", required=False),
        ),
    ),
    "auvious": ProviderInfo(
        "auvious",
        "Auvious RTC API: conferences, members, streams, metadata, long-poll events.",
        "confctl.vendors.auvious.provider",
        (
            Field("url", "API base URL", required=False, default="https://auvious.video"),
            Field("client_id", "OAuth 2.0 client id"),
            Field("client_secret", "OAuth 2.0 client secret", secret=True),
            Field("token_url", "OAuth 2.0 token URL (default: URL + /security/oauth/token)", required=False),
            Field("conference", "default conference id for `events follow`", required=False),
        ),
    ),
}


def get(name: str) -> ProviderInfo:
    return PROVIDERS[name]
