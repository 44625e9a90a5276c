"""Readable tables for people: participants -> endpoints -> streams, one row per stream (table output only;
-o json prints the API's JSON unchanged)."""

from __future__ import annotations

import json
from typing import Any


def _short(value: Any, limit: int = 60) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, dict):  # metadata: key=value reads better than JSON in a narrow column
        text = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                         for k, v in value.items())
    else:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _metadata_values(metadata: dict | None) -> dict:
    """Conference metadata entries are {value, userId, userEndpointId, lastModified}; show the value."""
    out = {}
    for key, entry in (metadata or {}).items():
        out[key] = entry.get("value") if isinstance(entry, dict) and "value" in entry else entry
    return out


def _header(data: dict) -> str:
    parts = [f"conference {data.get('id')}"]
    for label, key in (("mode", "mode"), ("version", "version"), ("interaction", "interactionId"),
                       ("creator", "creator")):
        if data.get(key) not in (None, ""):
            parts.append(f"{label} {data[key]}")
    return " · ".join(parts)


def _print(title: str, rows: list[tuple], metadata: dict | None) -> None:
    from rich.table import Table

    from confctl.core import output

    out = output.console()
    table = Table(title=title, title_justify="left", show_edge=False, header_style="bold")
    for col in ("participant", "endpoint", "state", "stream", "type", "bitrate", "metadata"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    if rows:
        out.print(table)
    else:
        out.print(f"{title}\n(no participants)", markup=False)
    values = _metadata_values(metadata)
    if values:
        meta = Table(title="metadata", title_justify="left", show_edge=False, header_style="bold")
        meta.add_column("key")
        meta.add_column("value", overflow="fold")
        meta.add_column("set by", overflow="fold")
        for key, value in values.items():
            entry = (metadata or {}).get(key)
            who = entry.get("userEndpointId") if isinstance(entry, dict) else None
            meta.add_row(key, _short(value, 80), who or "")
        out.print(meta)


def _rows(participants: list[tuple[str, list[dict]]]) -> list[tuple]:
    """participants: (participant label, endpoints with state/streams/metadata) -> table rows, grouped."""
    rows = []
    for label, endpoints in participants:
        first_of_participant = True
        for ep in endpoints:
            streams = ep.get("streams") or [{}]
            for i, stream in enumerate(streams):
                rows.append((
                    label if first_of_participant else "",
                    ep.get("id") or "" if i == 0 else "",
                    (ep.get("state") or "") if i == 0 else "",
                    stream.get("id") or "-",
                    stream.get("type") or "",
                    str(stream["videoBitrate"]) if stream.get("videoBitrate") else "",
                    _short(stream.get("metadata")) or (_short(ep.get("metadata")) if i == 0 else ""),
                ))
                first_of_participant = False
    return rows


def conference(data: dict) -> None:
    """The full Conference lists one entry per endpoint (id) with its user (userId): group by user."""
    grouped: dict[str, list[dict]] = {}
    for p in data.get("participants") or []:
        grouped.setdefault(p.get("userId") or p.get("id") or "?", []).append(p)
    _print(_header(data), _rows(list(grouped.items())), data.get("metadata"))


def simple_view(data: dict) -> None:
    participants = [(p.get("id") or "?", p.get("endpoints") or []) for p in data.get("participants") or []]
    _print(_header(data), _rows(participants), data.get("metadata"))


def active_rows(conferences: list[dict]) -> list[dict]:
    """One summary row per active conference."""
    rows = []
    for c in conferences:
        participants = c.get("participants") or []
        rows.append({
            "id": c.get("id"),
            "mode": c.get("mode"),
            "users": len({p.get("userId") for p in participants}),
            "endpoints": len(participants),
            "streams": sum(len(p.get("streams") or []) for p in participants),
            "version": c.get("version"),
            "interaction": c.get("interactionId"),
        })
    return rows
