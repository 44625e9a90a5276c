"""Secret elision for debug logs, dry-run curl lines and error messages (DESIGN §7).

Two mechanisms: fields and headers whose *names* say they carry a secret are masked wherever they appear, and
secret *values* a session knows (what it sent, what it was handed) are scrubbed from any text in every encoding
they could take on the way back (plain, base64, HTTP Basic `id:secret`, URL-encoded, JSON-escaped).
"""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "<redacted>"


def _names(attr: str, common: set[str]) -> frozenset[str]:
    """The names every vendor's spec declares secret (its headers, query or body fields), plus `common`."""
    from confctl.core.registry import PROVIDERS

    return frozenset(common | {n.lower() for spec in PROVIDERS.values() for n in getattr(spec, attr)})


SECRET_HEADERS = _names("secret_headers", {"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_QUERY = _names("secret_query", {"token"})
SECRET_FIELDS = _names("secret_fields", {"password", "credential", "credentials", "secret"})
# In a TURN/ICE server entry (Pexip request_token's `turn` list) the username is half of the credential.
TURN_KEYS = frozenset({"turn", "turn_servers", "ice_servers", "iceservers"})
TURN_FIELDS = frozenset({"username", "credential", "password"})
SCHEMES = ("bearer", "basic", "token", "digest")
MIN_SECRET = 3  # shorter values would scrub ordinary words and digits out of messages
MIN_LEARNT = 6  # a credential found in a response body: real ones are long; "sim", "none" are not secrets
NOT_SECRETS = frozenset({"required", "none", "null", "true", "false", "yes", "no", "bearer", "basic", "redacted",
                         MASK})

# Every secret any session of this process learnt: error printing can scrub with it even without a session.
_known: set[str] = set()
_lock = threading.Lock()


def remember(value: str | None) -> None:
    if value and len(value) >= MIN_SECRET:
        with _lock:
            _known.add(value)


def known() -> set[str]:
    with _lock:
        return set(_known)


def header_secret(value: str) -> list[str]:
    """The secret parts of a header value: without its scheme; a Basic credential also as `id:secret` and
    the secret alone (so an echo of either is caught)."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() not in SCHEMES or not rest.strip():
        return [value]
    rest = rest.strip()
    out = [rest]
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return out
        out.append(decoded)
        user, sep, secret = decoded.partition(":")
        if sep and secret:
            from urllib.parse import unquote_plus

            out += [secret, unquote_plus(secret)]
    return out


def variants(secret: str) -> set[str]:
    """The forms a secret takes in transit or in an echo."""
    out = {secret, quote(secret, safe=""), quote(secret), quote(secret, safe="/:@!$&'()*+,;="),
           quote_plus(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    out |= {v.lower() for v in out if "%" in v}  # percent-encoding in lower-case hex
    raw = secret.encode()
    out |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
            base64.b64encode(raw).decode().rstrip("=")}
    stripped = secret.strip()  # a secret with a stray CR/LF: its visible part too
    if stripped and stripped != secret:
        out |= variants(stripped)
    return {v for v in out if len(v) >= MIN_SECRET}


def headers(items) -> dict[str, str]:
    return {k: (MASK if k.lower() in SECRET_HEADERS else v) for k, v in dict(items).items()}


def url(text: str) -> str:
    parts = urlsplit(text)
    if not parts.query:
        return text
    query = [(k, MASK if k.lower() in SECRET_QUERY else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="<>")))


def data(value, _turn: bool = False):
    """A JSON value with secret fields masked (and usernames inside TURN server entries)."""
    if isinstance(value, dict):
        turn = _turn or any(isinstance(u, str) and u.startswith(("turn:", "turns:"))
                            for u in _as_list(value.get("urls", value.get("url"))))
        out = {}
        for k, v in value.items():
            low = k.lower() if isinstance(k, str) else k
            if isinstance(k, str) and (low in SECRET_FIELDS or (turn and low in TURN_FIELDS)) \
                    and v not in (None, ""):
                out[k] = MASK
            else:
                out[k] = data(v, turn or low in TURN_KEYS)
        return out
    if isinstance(value, list):
        return [data(v, _turn) for v in value]
    return value


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def learnt(values) -> list[str]:
    """Of the values found in secret fields, those that can be credentials (Pexip says `"pin": "required"`)."""
    return [v for v in values if len(v) >= MIN_LEARNT and v.strip().lower() not in NOT_SECRETS]


def secrets_in(value, _turn: bool = False) -> list[str]:
    """The secret values inside a JSON value (what `data` would mask): credentials a server hands out."""
    found: list[str] = []
    if isinstance(value, dict):
        turn = _turn or any(isinstance(u, str) and u.startswith(("turn:", "turns:"))
                            for u in _as_list(value.get("urls", value.get("url"))))
        for k, v in value.items():
            low = k.lower() if isinstance(k, str) else k
            if isinstance(v, str) and (low in SECRET_FIELDS or (turn and low in TURN_FIELDS)):
                found.append(v)
            else:
                found += secrets_in(v, turn or low in TURN_KEYS)
    elif isinstance(value, list):
        for v in value:
            found += secrets_in(v, _turn)
    return found


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


def _forms(secrets) -> list[str]:
    """Every encoding of the given secrets and of every secret this process learnt, longest first (a Basic
    blob before its parts)."""
    forms: set[str] = set()
    for secret in {*secrets, *known()}:
        if secret and len(secret) >= MIN_SECRET:
            forms |= variants(secret)
    return sorted(forms, key=len, reverse=True)


def _replace(text: str, forms: list[str]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    return text


def scrub(text: str, secrets=()) -> str:
    """Remove known secret values (every encoding) from free text, e.g. an error body echoing a key.
    Uses the given secrets and every secret this process learnt."""
    return _replace(text, _forms(secrets)) if text else text


def scrub_data(value, secrets=()):
    """`data` plus `scrub` on every string inside a JSON value (an error's detail). The secret forms are
    built once for the whole value: it can be a large Pexip result."""
    forms = _forms(secrets)

    def walk(v):
        if isinstance(v, dict):
            return {_replace(k, forms) if isinstance(k, str) else k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            return _replace(v, forms)
        return v

    return walk(data(value))


# ---------------------------------------------------------------------------------------------------------
# Values bound for a header: CR/LF would end the header (and httpx would echo the value in its complaint)
# ---------------------------------------------------------------------------------------------------------
def illegal_char(value: str) -> str | None:
    """The first character not allowed in an HTTP header value (RFC 9110: visible, space, tab, obs-text)."""
    for ch in value:
        if (ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F:
            return ch
    return None


def describe(ch: str) -> str:
    return {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\0": "a NUL byte"}.get(
        ch, f"control character U+{ord(ch):04X}")


def clean_secret(name: str, value: str | None, *, warn) -> str | None:
    """A secret read from a file, stdin or the environment, made safe for a header: one trailing CR/LF
    (a file saved with Windows line endings, `echo` into a pipe) is stripped with a warning; any other
    control character is refused (exit 2) naming `name` — the value is never echoed. `warn` prints the
    warning (output.warn: the caller passes it, so this module never imports output, which imports it)."""
    if value is None:
        return None
    for ending in ("\r\n", "\n", "\r"):
        if value.endswith(ending):
            value = value[: -len(ending)]
            label = {"\r\n": "CR LF", "\n": "LF", "\r": "CR"}[ending]
            warn(f"{name}: ignored a trailing line ending ({label}) after the secret")
            break
    ch = illegal_char(value)
    if ch is not None:
        from confctl.core.errors import UsageError

        raise UsageError(f"{name}: the value contains {describe(ch)}, which cannot be sent in a header "
                         "(value not shown; nothing was sent)", hint="fix the stored value and try again")
    return value
