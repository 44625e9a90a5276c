"""Auvious behaviour beyond a plain request: the token command, metadata merging, send-event, SDP exchange,
ICE candidates and readable conference views."""

from __future__ import annotations

import sys
from pathlib import Path

from confctl.core import output
from confctl.core.errors import UsageError, ValidationError
from confctl.core.state import state

from . import render, rules


def _send(call):
    return call.provider.result(call, call.send())


def _table() -> bool:
    return output.tabular() and not state.query


# ---------------------------------------------------------------------------------------------------------
# Token
# ---------------------------------------------------------------------------------------------------------
def token(call):
    """Fetch (or with --cached reuse) a token; print metadata, or the token only where it cannot be seen."""
    from confctl.core import config

    from .oauth import metadata

    show, path = call.values.get("show_token"), call.values.get("token_file")
    if show and path:
        raise UsageError("--show-token and --token-file: choose one")
    if show and sys.stdout.isatty():
        raise UsageError("refusing to print the access token on a terminal",
                         hint="capture it (TOKEN=$(confctl auvious token --show-token)) or use --token-file FILE")
    manager = call.session.tokens
    if call.values.get("cached") and not state.dry_run:
        value = manager.token()
    else:
        value = manager.token(force=True)
    info = metadata(manager.record, cache_path=manager.cache.path, fetched=manager.fetched)
    if show:
        sys.stdout.write(value + "\n")
        sys.stdout.flush()
        output.note(f"token {info['fingerprint']} expires in {info['expires_in']} s")
        return None
    if path:
        config.write_private(Path(path), (value + "\n").encode())
        info["token_file"] = path
    return info


# ---------------------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------------------
def merged_metadata(call) -> dict | None:
    """JSON first (--meta-json / --data), then KEY=VALUE entries on top; None when nothing was given."""
    given = False
    merged: dict = {}
    for name in ("meta_json", "data"):
        value = call.values.get(name)
        if value is not None:
            given = True
            merged.update(value)
    for name in ("meta", "pairs"):
        value = call.values.get(name)
        if value:
            given = True
            merged.update(value)
    return merged if given else None


def with_metadata(key: str, required: bool = False):
    def handler(call):
        metadata = merged_metadata(call)
        if metadata is None and required:
            raise ValidationError("KEY=VALUE", "give at least one metadata entry, or --data JSON "
                                  "(--data '{}' clears the metadata)")
        if metadata is not None:
            call.body[key] = metadata
        return _send(call)

    handler.__name__ = f"with_{key}"
    return handler


def update_metadata(call):
    """One endpoint, two verbs: `metadata set KEY VALUE` (SET) and `metadata remove KEY` (REMOVE)."""
    operation = call.values["operation"]
    value = call.values.get("value")
    if operation == "SET" and value is None:
        raise ValidationError("VALUE", "is required for `metadata set`")
    if operation == "REMOVE":
        if value is not None:
            raise ValidationError("VALUE", "is not accepted by `metadata remove` (the key goes, whatever its value)",
                                  value)
        call.body.pop("value", None)
    _send(call)
    verb = "set" if operation == "SET" else "removed"
    output.note(f"metadata {call.values['key']!r} {verb} on conference {call.values['conference']}")
    return None


# ---------------------------------------------------------------------------------------------------------
# send-event
# ---------------------------------------------------------------------------------------------------------
def send_event(call):
    event = dict(call.values.get("data") or {})
    event.update(call.values.get("field") or {})
    event["type"] = call.values["type"]
    stamp = call.values.get("timestamp")
    if stamp is None and event.get("timestamp") is not None:
        stamp = rules.instant("--data timestamp", event["timestamp"])
    event["timestamp"] = stamp or rules.now_instant()
    call.body["event"] = event
    result = _send(call) or {}
    count = result.get("eventsSent") if isinstance(result, dict) else None
    if count is not None:
        output.note(f"{event['type']} delivered to {count} member{'s' if count != 1 else ''} "
                    f"of conference {call.values['conference']}")
    return result


# ---------------------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------------------
def sdp_exchange(id_key: str):
    """publish / view: SDP offer in, SDP answer out (to stdout raw, to a 0600 file, or in the JSON result)."""

    def handler(call):
        from confctl.core import config

        metadata = merged_metadata(call)
        if metadata is not None:
            call.body["metadata"] = metadata
        result = _send(call) or {}
        target = call.values.get("answer")
        if not target:
            return result
        answer = result.get("sdpAnswer") or ""
        ident = result.get(id_key)
        if target == "-":
            sys.stdout.write(answer if answer.endswith("\n") else answer + "\n")
            sys.stdout.flush()
            output.note(f"{id_key}: {ident}")
            return None
        config.write_private(Path(target), answer.encode())
        output.note(f"SDP answer written to {target}")
        return {id_key: ident, "sdpAnswerFile": target}

    handler.__name__ = f"sdp_exchange_{id_key}"
    return handler


def ice(call):
    candidates = []
    mid, index = call.values.get("sdp_mid"), call.values.get("sdp_mline_index")
    for line in call.values.get("candidate") or []:
        item = {"candidate": line}
        if mid is not None:
            item["sdpMid"] = mid
        if index is not None or mid is None:
            item["sdpMLineIndex"] = index or 0  # one m-line is the common case
        candidates.append(item)
    candidates += call.values.get("candidates") or []
    if not candidates:
        raise ValidationError("--candidate", "give at least one ICE candidate (--candidate or --candidates FILE|-)")
    call.body["iceCandidates"] = candidates
    _send(call)
    output.note(f"{len(candidates)} ICE candidate{'s' if len(candidates) != 1 else ''} added to stream "
                f"{call.values['stream']}")
    return None


# ---------------------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------------------
def _view(call, kind: type, table):
    """Send; as a table, data of the expected `kind` goes to `table`, which prints it itself (None) or returns
    the rows to print. Any other format, or an unexpected shape, goes out as it came."""
    data = _send(call)
    if _table() and isinstance(data, kind):
        return table(data)
    return data


def show_conference(call):
    return _view(call, dict, render.conference)


def show_simple_view(call):
    return _view(call, dict, render.simple_view)


def list_active(call):
    return _view(call, list, render.active_rows)
