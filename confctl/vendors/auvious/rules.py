"""Validation rules the Auvious docs state (send-event type/timestamp, masks, metadata, SDP, ICE candidates).

Each rule is a `confctl.core.validate` rule: callable(field, value) -> normalised value, or ValidationError (exit 2)
naming the field and the rule, before anything is sent.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone

from confctl.core.errors import ValidationError
from confctl.core.validate import non_negative, parse_json  # noqa: F401 (shared rule)

# "begin with capital, end with Event, and use camel case of at least a noun and a verb"
EVENT_TYPE = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+Event")
EVENT_TYPE_RULE = ("must start with a capital letter, end with 'Event' and be CamelCase naming what happened "
                   "(at least a noun and a verb), e.g. HandRaisedEvent")


def event_type(field, value):
    if not EVENT_TYPE.fullmatch(str(value)):
        raise ValidationError(field, EVENT_TYPE_RULE, value)
    return value


event_type.describe = "CamelCase, capital first, ends with Event"


def format_instant(moment: datetime) -> str:
    """ISO-8601 instant as the API writes it: UTC, milliseconds, 'Z'."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.astimezone(timezone.utc).microsecond // 1000:03d}Z"


def now_instant() -> str:
    return format_instant(datetime.now(timezone.utc))


_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})", re.IGNORECASE)


def instant(field, value):
    """An ISO-8601 instant (date, time and zone, e.g. 2011-12-03T10:15:30Z); normalised to UTC 'Z'."""
    text = str(value).strip()
    if not _INSTANT.fullmatch(text):
        raise ValidationError(field, "must be an ISO-8601 instant with a time zone, e.g. 2011-12-03T10:15:30Z",
                              value)
    frac = re.search(r"\.(\d+)", text)
    core = re.sub(r"\.\d+", "", text).upper().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(core)
    except ValueError:
        raise ValidationError(field, "is not a valid date and time", value) from None
    if frac:  # keep the given precision up to milliseconds
        moment = moment.replace(microsecond=int(frac.group(1)[:6].ljust(6, "0")))
    return format_instant(moment)


instant.describe = "ISO-8601 instant, e.g. 2011-12-03T10:15:30Z"


# ---------------------------------------------------------------------------------------------------------
# JSONPath (Jayway syntax, which the docs link) — a syntax check, so a typo is caught before sending.
# ---------------------------------------------------------------------------------------------------------
_NAME = re.compile(r"[^.\[\]()\s'\"*?,:]+")
_INDEXES = re.compile(r"\s*-?\d+\s*(?:,\s*-?\d+\s*)*")
_SLICE = re.compile(r"\s*-?\d*\s*:\s*-?\d*\s*(?::\s*-?\d+\s*)?")
_QUOTED = re.compile(r"\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*(?:,\s*(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*)*")


def jsonpath_error(text: str) -> str | None:
    """None when `text` is a syntactically valid JSONPath, else a message with the 1-based position."""
    if not text.startswith("$"):
        return "must start with '$' (the event root), e.g. $.customer.phone"
    i, n = 1, len(text)
    while i < n:
        if text.startswith("..", i):
            i += 2
            if i < n and text[i] == "[":
                continue
            m = _NAME.match(text, i)
            if i < n and text[i] == "*":
                i += 1
            elif m:
                i = m.end()
            else:
                return f"expected a name, '*' or '[' after '..' at position {i + 1}"
        elif text[i] == ".":
            i += 1
            if i < n and text[i] == "*":
                i += 1
                continue
            m = _NAME.match(text, i)
            if not m:
                return f"expected a name or '*' after '.' at position {i + 1}"
            i = m.end()
            if text.startswith("()", i):  # a function such as length()
                i += 2
        elif text[i] == "[":
            end = _bracket_end(text, i)
            if end is None:
                return f"unclosed '[' at position {i + 1}"
            inner = text[i + 1:end]
            if not (inner.strip() == "*" or _INDEXES.fullmatch(inner) or _SLICE.fullmatch(inner)
                    or _QUOTED.fullmatch(inner) or _filter_ok(inner)):
                return f"invalid selector [{inner}] at position {i + 1}"
            i = end + 1
        else:
            return f"unexpected {text[i]!r} at position {i + 1}"
    return None


def _bracket_end(text: str, start: int) -> int | None:
    depth, quote, i = 0, None, start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c in "[(":
            depth += 1
        elif c in "])":
            depth -= 1
            if depth == 0:
                return i if c == "]" else None
        i += 1
    return None


def _filter_ok(inner: str) -> bool:
    inner = inner.strip()
    return inner.startswith("?(") and inner.endswith(")") and len(inner) > 3


def jsonpath(field, value):
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        problem = jsonpath_error(str(v))
        if problem:
            raise ValidationError(field, f"not a JSONPath expression: {problem}", v)
    return value


jsonpath.describe = "JSONPath, e.g. $.customer.phone"


# ---------------------------------------------------------------------------------------------------------
# Metadata: KEY=VALUE pairs (strings) and KEY:=JSON pairs (typed values), httpie-style.
# ---------------------------------------------------------------------------------------------------------
def pairs(field, value):
    out: dict = {}
    for item in value or []:
        if ":=" in item and ("=" not in item or item.index(":=") < item.index("=")):
            key, raw = item.split(":=", 1)
            parsed = parse_json(f"{field} {key}", raw)
        elif "=" in item:
            key, parsed = item.split("=", 1)
        else:
            raise ValidationError(field, "must be KEY=VALUE (a string) or KEY:=JSON (a typed value)", item)
        if not key.strip():
            raise ValidationError(field, "the key must not be empty", item)
        out[key.strip()] = parsed
    return out


pairs.describe = "KEY=VALUE or KEY:=JSON"


def string_pairs(field, value):
    """Metadata whose values the docs type as strings (conference create, view stream)."""
    out = pairs(field, value)
    for key, v in out.items():
        if not isinstance(v, str):
            raise ValidationError(field, f"values must be strings here (key {key!r})")
    return out


def json_object(field, value):
    if not isinstance(value, dict):
        raise ValidationError(field, "must be a JSON object", type(value).__name__)
    return value


def string_values(field, value):
    json_object(field, value)
    for key, v in value.items():
        if not isinstance(v, str):
            raise ValidationError(field, f"values must be strings here (key {key!r})")
    return value


def positive_int32(field, value):
    if value is None:
        return value
    if not 0 < value <= 2**31 - 1:
        raise ValidationError(field, "must be a positive 32-bit integer (bits per second)", value)
    return value


positive_int32.describe = "1..2147483647"


# ---------------------------------------------------------------------------------------------------------
# SDP and ICE candidates
# ---------------------------------------------------------------------------------------------------------
def read_text(field: str, value: str) -> str:
    """`-` stdin, `@path` a file, text starting with `v=` inline SDP, anything else a path."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("v="):
        return value
    path = value[1:] if value.startswith("@") else value
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise ValidationError(field, f"cannot read {path}: {exc.strerror}") from None


def sdp(field, value):
    text = read_text(field, value).lstrip("\ufeff")
    if not text.strip():
        raise ValidationError(field, "the SDP offer is empty")
    if not text.startswith("v=0"):
        raise ValidationError(field, "is not an SDP offer (an SDP description starts with the line v=0)",
                              text.splitlines()[0][:40])
    return text


sdp.describe = "SDP: FILE, @FILE, - (stdin) or inline text starting with v=0"


def candidate_string(field, value):
    text = str(value).strip()
    if text.startswith("a="):
        text = text[2:]
    if text and not text.startswith("candidate:"):
        raise ValidationError(field, "an ICE candidate starts with 'candidate:' (RFC 8839)", value)
    return text


def _one_candidate(field: str, item, where: str) -> dict:
    if isinstance(item, str):
        return {"candidate": candidate_string(field, item)}
    if not isinstance(item, dict):
        raise ValidationError(field, f"{where}: must be an object {{candidate, sdpMid, sdpMLineIndex}} or a string")
    unknown = set(item) - {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
    if unknown:
        raise ValidationError(field, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    out = {"candidate": candidate_string(field, item.get("candidate", ""))}
    if item.get("sdpMid") is not None:
        out["sdpMid"] = str(item["sdpMid"])
    if item.get("sdpMLineIndex") is not None:
        idx = item["sdpMLineIndex"]
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0:
            raise ValidationError(field, f"{where}: sdpMLineIndex must be a non-negative integer", idx)
        out["sdpMLineIndex"] = idx
    return out


def candidates_file(field, value):
    """A JSON array of candidates (as RTCIceCandidate.toJSON() gives), JSON Lines, or candidate lines."""
    if value == "-":
        text = sys.stdin.read()
    else:
        path = value[1:] if value.startswith("@") else value
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise ValidationError(field, f"cannot read {path}: {exc.strerror}") from None
    stripped = text.strip()
    if not stripped:
        raise ValidationError(field, "no ICE candidates found")
    if stripped.startswith("["):
        items = parse_json(field, stripped)
        return [_one_candidate(field, c, f"item {i}") for i, c in enumerate(items)]
    out = []
    for lineno, line in enumerate(stripped.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValidationError(field, f"line {lineno}: malformed JSON at column {exc.colno}: {exc.msg}") \
                    from None
            out.append(_one_candidate(field, item, f"line {lineno}"))
        else:
            out.append({"candidate": candidate_string(field, line)})
    return out


candidates_file.describe = "JSON array, JSON Lines or one candidate per line; FILE or -"
