"""Secret elision for debug logs, dry-run curl lines and error messages (DESIGN §7)."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "token", "x-api-key", "pin", "cookie",
                            "set-cookie"})
SECRET_QUERY = frozenset({"access_token", "token", "client_secret"})
SECRET_FIELDS = frozenset({"client_secret", "token", "pin", "access_token", "refresh_token", "sso_token",
                           "password", "api_key", "participant_token"})


def headers(items) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in dict(items).items()}


def url(text: str) -> str:
    parts = urlsplit(text)
    if not parts.query:
        return text
    query = [(k, MASK if k.lower() in SECRET_QUERY else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="<>")))


def data(value):
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and k.lower() in SECRET_FIELDS and v not in (None, "")
                    else data(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [data(v) for v in value]
    return value


def body(content: bytes | str | None, content_type: str = "") -> str:
    """A request or response body as text with secret fields elided (JSON and form bodies)."""
    if not content:
        return ""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    if "json" in content_type or text[:1] in "{[":
        try:
            return json.dumps(data(json.loads(text)), separators=(",", ":"))
        except ValueError:
            pass
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(text, keep_blank_values=True)
        return urlencode([(k, MASK if k.lower() in SECRET_FIELDS else v) for k, v in pairs], safe="<>")
    return text


def scrub(text: str, secrets) -> str:
    """Remove known secret values from free text (e.g. an error body echoing a key)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text
