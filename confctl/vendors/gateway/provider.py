"""The telephony conference gateway provider (X-App-ID / X-API-Key)."""

from __future__ import annotations

from confctl.core.http import Session
from confctl.core.provider import Provider

from . import SPEC


class GatewaySession(Session):
    provider = "gateway"
    secret_env = {"x-api-key": "CONFCTL_GATEWAY_API_KEY"}

    def __init__(self, profile):
        self.profile = profile
        self.app_id = profile.require("app_id")
        self.api_key = profile.secret("api_key")
        super().__init__(profile.require("url"), profile=profile, secrets=[self.api_key or ""])

    def auth_headers(self, kind: str = "default", *, dry_run: bool = False) -> dict[str, str]:
        if not dry_run and not self.api_key:
            self.profile.require("api_key")  # raises the "credentials missing" error (exit 3)
        return {"X-App-ID": self.app_id, "X-API-Key": self.api_key or ""}


class Gateway(Provider):
    info = SPEC
    session_class = GatewaySession
    group_help = {
        "room": "Conference rooms: create, list, show, delete, play audio.",
        "session": "Call sessions: join a room, leave, mute, unmute (in bulk).",
        "webhooks": "Receive the gateway's webhooks locally as events.",
    }
    registers = ("webhooks",)  # what register() adds: any other command skips importing webhooks.py

    def check(self, session, profile):
        page = session.json(session.request("GET", "/api/v1/conferences", params={"limit": 1})) or {}
        return {"ok": True, "rooms_visible": len(page.get("conferences") or [])}

    def register(self, app, group):
        from .webhooks import register

        register(group(("webhooks",)))

    def follow(self, profile, options):
        from .webhooks import follow

        return follow(profile, options)


PROVIDER = Gateway()


def check_forward_to(value: str) -> None:
    """`events follow --forward-to URL`: checked before the receiver starts."""
    if not value.startswith(("http://", "https://")):
        from confctl.core.errors import ValidationError

        raise ValidationError("--forward-to", "must be an http:// or https:// URL")
