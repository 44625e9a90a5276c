"""The one output layer (DESIGN §3): table, wide, json, jsonl, yaml, id; --query JMESPath; colours only on a TTY.

Data goes to stdout; everything else (notes, warnings, errors) goes to stderr through `note`/`warn`.
"""

from __future__ import annotations

import json
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterable

from confctl.core.errors import ConfctlError, UsageError
from confctl.core.state import state

FORMATS = ("table", "wide", "json", "jsonl", "yaml", "id")


def _id_keys() -> tuple[str, ...]:
    """`-o id`: the first of these keys an item has. "id" and "uuid" first, each vendor's own keys (its spec's
    id_keys) next, "name" last."""
    from confctl.core.registry import PROVIDERS

    keys = ["id", "uuid"] + [k for spec in PROVIDERS.values() for k in spec.id_keys] + ["name"]
    return tuple(dict.fromkeys(keys))


ID_KEYS = _id_keys()


def fmt() -> str:
    value = state.output_format()
    if value not in FORMATS:
        source = "--output" if state.output else "CONFCTL_OUTPUT"
        raise UsageError(f"{source}: must be one of {', '.join(FORMATS)} (got {value!r})")
    return value


def tabular() -> bool:
    """A table of some kind (table or wide): for commands that shape their own rows for people."""
    return fmt() in ("table", "wide")


def compile_query():
    """The compiled --query expression (None without one); a syntax error is a usage error."""
    if not state.query:
        return None
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(state.query)
    except JMESPathError as exc:
        raise UsageError(f"--query: invalid JMESPath expression: {exc}") from None


def apply_query(data: Any) -> Any:
    if not state.query:
        return data
    from jmespath.exceptions import JMESPathError

    try:
        return compile_query().search(data)
    except JMESPathError as exc:  # e.g. a function given the wrong type at run time
        raise UsageError(f"--query: {exc}") from None


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
    """Print one result. With --query the expression sees the whole JSON result first, and a table shows
    the projection's own keys, not the command's default columns.

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
            write(require_id(row, id_field))
    else:
        table(data if rows is None else rows, columns=() if queried else columns, title=title, id_field=id_field)
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


def require_id(item: Any, id_field: str | None) -> str:
    """`-o id` of one result. A record without an identifier is an error (exit 1: the request was sent and
    succeeded, but there is nothing to print), never its JSON in place of an id."""
    if not isinstance(item, dict):
        if isinstance(item, list):
            raise ConfctlError("-o id: the result is a nested list, not an identifier",
                               hint="use -o json, or --query to pick the ids")
        return _cell(item)
    value = ident(item, id_field)
    if value.startswith("{"):
        keys = ", ".join(list(item)[:8]) or "none"
        raise ConfctlError(f"-o id: the result has no identifier field (its keys: {keys})",
                           hint="the request succeeded; use -o json, or --query to pick a field")
    return value


# Fields whose epoch numbers are shown as ISO time in tables (JSON keeps the raw value).
def _is_time_key(key: str | None) -> bool:
    key = (key or "").lower()
    return key.endswith(("_at", "_time", "time", "timestamp")) or key in ("created", "updated", "ts")


def _iso(value: Any) -> str | None:
    """Epoch seconds or milliseconds (number or digit string) as ISO 8601 UTC; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not value.isdigit():
            return None
        value = int(value)
    if not isinstance(value, (int, float)):
        return None
    if 1e12 <= value < 1e14:  # milliseconds
        value = value / 1000
    elif not 1e8 <= value < 1e11:  # not a plausible time in seconds (1973..5138)
        return None
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(value, timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any, key: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return dumps(value)
    if key is not None and _is_time_key(key):
        shown = _iso(value)
        if shown:
            return shown
    return str(value)


def console(stream=None, width: int | None = None):
    """A rich console for `stream`. Without colour it emits no escape at all (no bold either): rich's
    `no_color` keeps styles, a console without a colour system does not."""
    from rich.console import Console

    import os

    stream = stream or sys.stdout
    color = state.use_color(stream)
    if width is None and not stream.isatty():
        # A table sent to a pipe or file is not squeezed to 80 columns: lines stay whole for grep and less.
        width = int(os.environ.get("COLUMNS") or 200)
    kwargs = {} if color else {"color_system": None}
    return Console(file=stream, force_terminal=True if state.color == "always" else None,
                   highlight=False, soft_wrap=False, width=width, **kwargs)


def _keep(col: str, index: int, id_field: str | None) -> bool:
    """Columns a narrow terminal never drops: the first, the id, the name, and the (breakout) room."""
    return index == 0 or col in (id_field, "id", "uuid", "name", "display_name", "room")


SHRINK_TO = 16  # a column that is not kept whole may end in an ellipsis down to this many cells


def _fit(cols: list[str], widths: dict[str, int], room: int, id_field: str | None) -> list[str]:
    """Drop low-value columns, rightmost first, until the table fits `room` columns once the columns that
    may shrink are cut to SHRINK_TO cells."""
    def least(c):
        return widths[c] if _keep(c, cols.index(c), id_field) else min(widths[c], max(SHRINK_TO, len(c)))

    def total(cs):  # rich: one space of padding each side, one separator between columns
        return sum(least(c) + 2 for c in cs) + len(cs) - 1

    shown = list(cols)
    for col in reversed(cols):
        if total(shown) <= room:
            break
        if not _keep(col, cols.index(col), id_field):
            shown.remove(col)
    return shown


def _allocate(cols: list[str], widths: dict[str, int], room: int, id_field: str | None) -> dict[str, int]:
    """Column widths that fit `room`: the widest shrinkable column gives up a cell at a time (down to
    SHRINK_TO); only when that is not enough do the kept columns shrink too."""
    alloc = {c: widths[c] for c in cols}
    excess = sum(alloc.values()) + 3 * len(cols) - 1 - room

    def floor(c, keep_whole):
        return widths[c] if keep_whole and _keep(c, cols.index(c), id_field) else min(widths[c], max(SHRINK_TO, len(c)))

    for keep_whole in (True, False):
        while excess > 0:
            shrinkable = [c for c in cols if alloc[c] > (floor(c, keep_whole) if keep_whole else 1)]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda c: alloc[c])
            alloc[widest] -= 1
            excess -= 1
    return alloc


def table(data: Any, *, columns: Iterable[str] = (), title: str | None = None, id_field: str | None = None) -> None:
    """A table on stdout. On a terminal it fits the width: low-value columns are dropped (named on stderr),
    then long cells end in an ellipsis; `-o wide` shows every field of every row, nothing cut. Sent to a
    pipe, lines stay whole."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text  # cells are data, never rich markup ("[b]" in a display name stays as typed)

    wide = fmt() == "wide"
    tty = sys.stdout.isatty()
    if isinstance(data, list):
        if not data:
            print("(none)", file=sys.stderr)
            return
        if not all(isinstance(r, dict) for r in data):
            out = console()
            for r in data:
                out.print(_cell(r), markup=False, soft_wrap=True)
            return
        every = list(dict.fromkeys(k for r in data for k in r))
        cols = list(dict.fromkeys(list(columns) + every)) if wide else (list(columns) or every)
        cells = [{c: _cell(r.get(c), c) for c in cols} for r in data]
        widths = {c: max([cell_len(c)] + [cell_len(row[c]) for row in cells]) for c in cols}
        natural = sum(widths[c] + 2 for c in cols) + len(cols) - 1
        width = None
        if wide or not tty:
            width = max(natural, 80)
        else:
            from rich.console import Console

            room = Console(file=sys.stdout).width
            shown = _fit(cols, widths, room, id_field)
            if len(shown) < len(cols):
                hidden = [c for c in cols if c not in shown]
                note(f"(hidden at this width: {', '.join(hidden)}; -o wide shows all)")
                cols = shown
            fitted = _allocate(cols, widths, room, id_field)
        t = Table(title=title, show_edge=False, header_style="bold")
        for c in cols:
            if wide or not tty:
                t.add_column(c, overflow="fold")
            else:  # widths chosen above: ids, names and rooms whole where the terminal allows
                t.add_column(c, overflow="ellipsis", no_wrap=True, width=fitted[c])
        for row in cells:
            t.add_row(*(Text(row[c]) for c in cols))
        console(width=width).print(t)
    elif isinstance(data, dict):
        t = Table(title=title, show_header=False, show_edge=False)
        t.add_column("field", style="bold", no_wrap=True)
        t.add_column("value", overflow="fold")
        for k, v in data.items():
            t.add_row(Text(str(k)), Text(_cell(v, str(k))))
        values = [cell_len(_cell(v, str(k))) + cell_len(str(k)) + 5 for k, v in data.items()] or [0]
        console(width=max(max(values), 80) if wide or not tty else None).print(t)
    else:
        console().print(_cell(data), markup=False, soft_wrap=True)


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
            write(dumps(item) if self.kind == "jsonl" else require_id(item, self.id_field))
        else:
            self.buffer.append(item)

    def close(self) -> None:
        if not self.streaming:
            data = {self.wrap: self.buffer} if self.wrap else self.buffer
            emit(data, items=self.wrap, id_field=self.id_field, columns=self.columns)


_STDERR_LOCK = threading.Lock()


def _stderr_line(text: str) -> None:
    """One write per line under a lock: notes from concurrent bulk items never glue together."""
    with _STDERR_LOCK:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


_muted = threading.local()


@contextmanager
def notes_muted():
    """Within the block, this thread's notes are dropped (warnings and errors still go out): a cross-vendor
    verb reports each target in its own report, so the vendor command's progress line would only repeat it."""
    before = getattr(_muted, "on", False)
    _muted.on = True
    try:
        yield
    finally:
        _muted.on = before


def note(message: str) -> None:
    """Progress and informational text for people: stderr, never stdout."""
    if not getattr(_muted, "on", False):
        _stderr_line(message)


def warn(message: str) -> None:
    prefix = "warning: "
    if state.use_color(sys.stderr):
        prefix = "\x1b[33mwarning:\x1b[0m "
    _stderr_line(prefix + message)


def error(exc, code: int) -> None:
    """One error on stderr: human text on a terminal, one JSON object per line otherwise."""
    from confctl.core import redact  # last line of defence: no secret this process learnt is printed

    message = redact.scrub(getattr(exc, "message", None) or str(exc) or type(exc).__name__)
    hint = redact.scrub(getattr(exc, "hint", None) or "") or None
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
            record["detail"] = redact.scrub_data(detail)
        print(json.dumps(record, ensure_ascii=False, default=str), file=sys.stderr)
    sys.stderr.flush()
