"""The one output layer (DESIGN §3): table, json, jsonl, yaml, id; --query JMESPath; colours only on a TTY.

Data goes to stdout; everything else (notes, warnings, errors) goes to stderr through `note`/`warn`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable

from confctl.errors import UsageError
from confctl.state import state

FORMATS = ("table", "json", "jsonl", "yaml", "id")
ID_KEYS = ("id", "uuid", "room_id", "participant_uuid", "conferenceId", "conference_id", "name")


def fmt() -> str:
    value = state.output_format()
    if value not in FORMATS:
        raise UsageError(f"--output: must be one of {', '.join(FORMATS)} (got {value!r})")
    return value


def apply_query(data: Any) -> Any:
    if not state.query:
        return data
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.search(state.query, data)
    except JMESPathError as exc:
        raise UsageError(f"--query: invalid JMESPath expression: {exc}") from None


def dumps(data: Any, *, indent: int | None = None) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=False, default=str)


def write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def items_of(data: Any, items_key: str | None) -> list | None:
    if isinstance(data, list):
        return data
    if items_key and isinstance(data, dict) and isinstance(data.get(items_key), list):
        return data[items_key]
    return None


def ident(item: Any, id_field: str | None) -> str:
    if isinstance(item, dict):
        keys = (id_field,) + ID_KEYS if id_field else ID_KEYS
        for key in keys:
            if key and item.get(key) not in (None, ""):
                return str(item[key])
        return dumps(item)
    return str(item)


def emit(data: Any, *, items: str | None = None, id_field: str | None = None, columns: Iterable[str] = (),
         title: str | None = None, more: str | None = None) -> None:
    """Print one result. With --query the expression sees the whole JSON result first.

    `more` is the cursor of the next page, if any. json and yaml print the whole response, which already
    holds it; every other format says so on stderr (see `more_note`), so stdout stays pure data."""
    if data is None:
        return
    queried = state.query is not None
    data = apply_query(data)
    kind = fmt()
    rows = items_of(data, None if queried else items)
    if kind == "json":
        write(dumps(data, indent=2))
    elif kind == "jsonl":
        for row in rows if rows is not None else [data]:
            write(dumps(row))
    elif kind == "yaml":
        import yaml

        write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n"))
    elif kind == "id":
        for row in rows if rows is not None else [data]:
            write(ident(row, id_field))
    else:
        table(data if rows is None else rows, columns=columns, title=title)
    if more:
        more_note(more, kind, queried)


def more_note(cursor: str, kind: str | None = None, queried: bool = False) -> None:
    """Tell that a listing has more pages. Under a table: how to get them. With jsonl/id: one stderr line
    `next cursor: CURSOR` that a script can read (stdout keeps only records). json/yaml carry the cursor in
    the response itself, unless --query projected it away."""
    import shlex

    kind = kind or fmt()
    if kind in ("json", "yaml") and not queried:
        return
    if kind in ("table", "wide"):
        note(f"more results: --cursor {shlex.quote(cursor)} for the next page, or --all for every page")
    else:
        note(f"next cursor: {cursor}")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return dumps(value)
    return str(value)


def console(stream=None):
    from rich.console import Console

    import os

    stream = stream or sys.stdout
    color = state.use_color(stream)
    # A table sent to a pipe or file is not squeezed to 80 columns: lines stay whole for grep and less.
    width = None if stream.isatty() else int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, no_color=not color, force_terminal=color if state.color == "always" else None,
                   highlight=False, soft_wrap=False, width=width)


def table(data: Any, *, columns: Iterable[str] = (), title: str | None = None) -> None:
    from rich.table import Table

    out = console()
    if isinstance(data, list):
        if not data:
            print("(none)", file=sys.stderr)
            return
        if not all(isinstance(r, dict) for r in data):
            for r in data:
                out.print(_cell(r), markup=False)
            return
        cols = list(columns) or list(dict.fromkeys(k for r in data for k in r))
        t = Table(title=title, show_edge=False, header_style="bold")
        for c in cols:
            t.add_column(c, overflow="fold")
        for r in data:
            t.add_row(*(_cell(r.get(c)) for c in cols))
        out.print(t)
    elif isinstance(data, dict):
        t = Table(title=title, show_header=False, show_edge=False)
        t.add_column("field", style="bold")
        t.add_column("value", overflow="fold")
        for k, v in data.items():
            t.add_row(str(k), _cell(v))
        out.print(t)
    else:
        out.print(_cell(data), markup=False)


class ItemStream:
    """Print list items as they arrive (paginated `--all`, bulk results): jsonl and id stream at once;
    json, yaml and table are buffered so that they stay one valid document."""

    def __init__(self, *, id_field: str | None = None, columns: Iterable[str] = (), wrap: str | None = None):
        self.kind = fmt()
        self.id_field = id_field
        self.columns = tuple(columns)
        self.wrap = wrap
        self.buffer: list = []
        self.streaming = self.kind in ("jsonl", "id") and not state.query

    def add(self, item: Any) -> None:
        if self.streaming:
            write(dumps(item) if self.kind == "jsonl" else ident(item, self.id_field))
        else:
            self.buffer.append(item)

    def close(self) -> None:
        if not self.streaming:
            data = {self.wrap: self.buffer} if self.wrap else self.buffer
            emit(data, items=self.wrap, id_field=self.id_field, columns=self.columns)


def note(message: str) -> None:
    """Progress and informational text for people: stderr, never stdout."""
    print(message, file=sys.stderr, flush=True)


def warn(message: str) -> None:
    prefix = "warning: "
    if state.use_color(sys.stderr):
        prefix = "\x1b[33mwarning:\x1b[0m "
    print(prefix + message, file=sys.stderr, flush=True)


def error(exc, code: int) -> None:
    """One error on stderr: human text on a terminal, one JSON object per line otherwise."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    hint = getattr(exc, "hint", None)
    status = getattr(exc, "status", None)
    if sys.stderr.isatty():
        red = state.use_color(sys.stderr)
        head = "\x1b[31merror:\x1b[0m " if red else "error: "
        print(head + message, file=sys.stderr)
        if hint:
            print("hint: " + hint, file=sys.stderr)
    else:
        record = {"error": message, "status": status, "hint": hint, "exit_code": code}
        detail = getattr(exc, "detail", None)
        if detail is not None:
            record["detail"] = detail
        print(json.dumps(record, ensure_ascii=False, default=str), file=sys.stderr)
    sys.stderr.flush()
