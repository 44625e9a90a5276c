"""Reusable validation rules. Each rule is a callable(field, value) that returns the (possibly normalised)
value or raises ValidationError naming the field and the rule, before anything is sent (DESIGN §6)."""

from __future__ import annotations

import json
import re
import uuid as _uuid
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlparse

from confctl.core.errors import ValidationError

Rule = Callable[[str, Any], Any]


def pattern(regex: str, description: str) -> Rule:
    compiled = re.compile(regex)

    def check(field, value):
        if not compiled.fullmatch(str(value)):
            raise ValidationError(field, description, value)
        return value

    check.describe = description
    return check


def int_range(lo: int | None, hi: int | None) -> Rule:
    def check(field, value):
        if value is None:
            return value
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ValidationError(field, f"must be between {lo} and {hi}", value)
        return value

    check.describe = f"{lo}..{hi}"
    return check


number_range = int_range


def non_negative(field, value):
    """0 or more: the one rule (and message) for counts, versions, indexes and priorities of every vendor."""
    if value is not None and value < 0:
        raise ValidationError(field, "must be 0 or more", value)
    return value


non_negative.describe = ">= 0"


def choice(*allowed: str, case: bool = True) -> Rule:
    def check(field, value):
        vals = value if isinstance(value, (list, tuple)) else [value]
        for v in vals:
            ok = v in allowed if case else str(v).lower() in {a.lower() for a in allowed}
            if not ok:
                raise ValidationError(field, "must be one of " + ", ".join(allowed), v)
        return value

    check.describe = "|".join(allowed)
    check.choices = allowed  # the builder makes them the option's type: Typer checks, help and completion list them
    check.case = case
    return check


def choice_error(exc: BaseException) -> ValidationError | None:
    """A value the parser refused for a choice type (the builder makes choices real types, so Typer checks
    them), said as the choice rule says it: "--qos: must be one of A, B (got 'X')". None for other errors."""
    param = getattr(exc, "param", None)
    choices = getattr(getattr(param, "type", None), "choices", None)
    if not choices:
        return None
    longs = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
    field = longs[0] if longs else (param.opts[0] if getattr(param, "param_type_name", "") == "option"
                                    else (param.name or "value").upper())
    got = re.match(r"'(.*)' is not one of ", getattr(exc, "message", "") or "")  # click's wording, if it is
    return ValidationError(field, "must be one of " + ", ".join(str(c) for c in choices),
                           got.group(1) if got else None)


def is_uuid(field, value):
    vals = value if isinstance(value, (list, tuple)) else [value]
    for v in vals:
        try:
            _uuid.UUID(str(v))
        except ValueError:
            raise ValidationError(field, "must be a UUID (8-4-4-4-12 hex digits)", v) from None
    return value


def url(*schemes: str) -> Rule:
    def check(field, value):
        vals = value if isinstance(value, (list, tuple)) else [value]
        for v in vals:
            parsed = urlparse(str(v))
            if parsed.scheme.lower() not in schemes or not parsed.netloc:
                raise ValidationError(field, "must be a " + "/".join(schemes) + " URL", v)
        return value

    check.describe = "/".join(schemes) + " URL"
    return check


http_url = url("http", "https")

# A profile's base URL (flag, environment, config file, prompt): only the scheme is checked, one message everywhere.
BASE_URL_RULE = "must start with http:// or https://"


def is_base_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def max_items(n: int, min_items: int = 0) -> Rule:
    def check(field, value):
        count = len(value or [])
        if count > n:
            raise ValidationError(field, f"at most {n} items allowed", f"{count} items")
        if count < min_items:
            raise ValidationError(field, f"at least {min_items} item(s) required")
        return value

    return check


def iso_instant(field, value):
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, "must be an ISO-8601 instant, e.g. 2026-11-21T12:00:00Z", value) from None
    if parsed.tzinfo is None:
        raise ValidationError(field, "must include a time zone (Z or +hh:mm)", value)
    return value


def parse_json(field: str, text: str) -> Any:
    """Parse JSON text from the command line, reporting the parser's position when malformed."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(field, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def read_data(field: str, value: str) -> Any:
    """`--data` convention: inline JSON, `@file`, or `-` for stdin."""
    import sys

    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValidationError(field, f"cannot read {value[1:]}: {exc.strerror}") from None
    else:
        text = value
    return parse_json(field, text)


def chain(*rules: Rule) -> Rule:
    def check(field, value):
        for rule in rules:
            value = rule(field, value)
        return value

    return check


# Characters a path segment may never carry: they would end the segment, start a query or fragment, or (as
# a backslash) be read as a separator by some servers. Control characters split headers and logs.
_SEGMENT_BREAKERS = "/?#\\"


def _decoded_forms(text: str) -> list[str]:
    """The value as a server may see it after decoding once, twice, ... (`%252e` -> `%2e` -> `.`)."""
    from urllib.parse import unquote

    forms = [text]
    for _ in range(3):
        decoded = unquote(forms[-1], errors="replace")
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms


def path_segment(field: str, value: Any, *, segments: bool = False) -> Any:
    """A value placed in a URL path: non-empty, not `.` or `..`, no `/ ? # \\`, no control characters or
    NUL, and no percent-encoded form of any of these that a server would decode into a traversal. With
    `segments`, `/` may separate several such segments (a relative resource path)."""
    if isinstance(value, (list, tuple)):
        return [path_segment(field, v, segments=segments) for v in value]
    text = str(value)
    if not text.strip():
        raise ValidationError(field, "must not be empty (it is part of the request path)", value)
    for depth, form in enumerate(_decoded_forms(text)):
        how = " (percent-encoded)" if depth else ""
        if any(ord(c) < 32 or ord(c) == 127 for c in form):
            raise ValidationError(field, f"must not contain control characters or NUL{how}", value)
        parts = form.split("/") if segments else [form]
        if any(p in (".", "..") for p in parts):
            raise ValidationError(field, f"must not be a '.' or '..' path segment{how}", value)
        if segments and "" in parts:
            raise ValidationError(field, f"must not contain an empty path segment ('//'){how}", value)
        breakers = _SEGMENT_BREAKERS.replace("/", "") if segments else _SEGMENT_BREAKERS
        bad = next((c for c in form if c in breakers), None)
        if bad is not None:
            raise ValidationError(field, f"must not contain {bad!r}{how} (it is one segment of the request path)",
                                  value)
    return value


def raw_path(field: str, value: str) -> str:
    """A raw request path (`confctl PROVIDER api`): no `.`/`..` segment, plain or percent-encoded, and no
    control characters — the request must reach exactly the path given, on the profile's host."""
    for depth, form in enumerate(_decoded_forms(value.split("?", 1)[0].split("#", 1)[0])):
        how = " (percent-encoded)" if depth else ""
        if any(ord(c) < 32 or ord(c) == 127 for c in form):
            raise ValidationError(field, f"must not contain control characters or NUL{how}", value)
        if any(p in (".", "..") for p in form.replace("\\", "/").split("/")):
            raise ValidationError(field, f"must not contain a '.' or '..' segment{how}", value)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError(field, "must not contain control characters or NUL", value)
    return value
