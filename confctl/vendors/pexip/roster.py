"""`confctl pexip participants [--watch]`: the roster, kept live from events in a rich Live table."""

from __future__ import annotations

import sys
import threading
import time
from typing import Annotated, Optional

import typer

COLUMNS = ("name", "role", "muted", "video", "presenting", "hand", "spotlight", "speaking", "status", "room", "uuid")


def row(p: dict, speaking: dict, room: str) -> dict:
    yes = lambda v: v in (True, "YES", "yes")  # noqa: E731 - Pexip mixes "YES" strings and booleans
    return {
        "name": p.get("display_name") or p.get("uri") or "",
        "role": "host" if p.get("role") == "chair" else (p.get("role") or ""),
        "muted": yes(p.get("is_muted")),
        "video": not yes(p.get("is_video_muted")) and yes(p.get("is_video_call", "YES")),
        "presenting": yes(p.get("is_presenting")),
        "hand": bool(p.get("buzz_time")),
        "spotlight": bool(p.get("spotlight")),
        "speaking": speaking.get(p.get("uuid"), 0) >= 50,
        "status": p.get("service_type") or "",
        "room": room,
        "uuid": p.get("uuid"),
    }


class Watch:
    def __init__(self):
        self.rooms: dict[str, dict[str, dict]] = {}
        self.speaking: dict[str, int] = {}
        self.changed = False
        self.ready = False  # the first table waits for the roster (participant_sync_end)

    def apply(self, env: dict) -> None:
        etype, data = env["type"], env.get("data")
        room = env.get("breakout") or "main"
        people = self.rooms.setdefault(room, {})
        if etype in ("participant_create", "participant_update") and isinstance(data, dict):
            people[data.get("uuid")] = data
        elif etype == "participant_delete" and isinstance(data, dict):
            people.pop(data.get("uuid"), None)
            self.speaking.pop(data.get("uuid"), None)
        elif etype == "participant_sync_end" and not env.get("breakout"):
            self.ready = True
        elif etype == "stage" and isinstance(data, list):
            self.speaking = {s.get("participant_uuid"): int(s.get("vad") or 0) for s in data if isinstance(s, dict)}
        elif etype == "breakout_begin" and isinstance(data, dict):
            self.rooms.setdefault(data.get("breakout_uuid"), {})
        elif etype == "breakout_end" and isinstance(data, dict):
            self.rooms.pop(data.get("breakout_uuid"), None)
        else:
            return
        self.changed = True

    def rows(self) -> list[dict]:
        from . import names

        out = []
        for room, people in self.rooms.items():
            label = names.short(room)
            for p in people.values():
                if names._control(p):
                    continue  # confctl's own control participants are not people in the meeting
                out.append(row(p, self.speaking, label))
        return sorted(out, key=lambda r: (r["room"] != "main", r["room"], str(r["name"]).lower()))

    def table(self, title: str):
        from rich.table import Table

        from confctl.core.output import _cell

        t = Table(title=title, header_style="bold", show_edge=False)
        for c in COLUMNS:
            t.add_column(c, overflow="fold")
        for r in self.rows():
            cells = [_cell(r[c]) if not isinstance(r[c], bool) else ("●" if r[c] else "") for c in COLUMNS]
            if r["speaking"]:
                cells[0] = f"[bold green]{cells[0]}[/]"
            t.add_row(*cells)
        return t


def everyone(session, alias: str) -> tuple[list[dict], Watch]:
    """The participants of every room: the main room's roster, then each breakout room's (from the opening
    burst of the event stream, the only place a node lists breakout rooms). Each record gains `room` ("main"
    or the breakout UUID) and `room_name`."""
    from confctl.core.errors import ConfctlError

    from . import names
    from .token import conference_path

    main = names._unwrap(session.lookup("GET", conference_path(alias) + "/participants"), "participants") or []
    try:
        rooms = names.rooms(session, alias)
    except ConfctlError as exc:  # no event stream: the main room is all we can list
        from confctl.core import output

        output.warn(f"breakout rooms not listed: {exc.message}")
        rooms = {}
    people = [{**p, "room": "main", "room_name": None} for p in main]
    view = Watch()
    view.rooms["main"] = {p.get("uuid"): p for p in main}
    for uid, room in rooms.items():
        if uid == names.MAIN:
            continue
        name = names.room_name(session, alias, room)
        view.rooms[uid] = {p.get("uuid"): p for p in room["participants"]}
        people += [{**p, "room": uid, "room_name": name} for p in room["participants"]]
    return people, view


def register(app: typer.Typer) -> None:
    @app.command("participants")
    def participants(
        watch: Annotated[bool, typer.Option("--watch", "-w", help="keep the table updated from live events")] = False,
        conference: Annotated[Optional[str], typer.Option("--conference", "-c", help="conference alias (default: "
                                                          "the profile's)", show_default=False)] = None,
        timeout: Annotated[Optional[float], typer.Option("--timeout", help="--watch: stop after S seconds",
                                                         metavar="S", show_default=False)] = None,
    ):
        """The participants of every room of the conference (main and breakout rooms, each with its room); with
        --watch, a live table (name, role, muted, video, presenting, hand raised, spotlight, speaking, room). With
        -o json/jsonl, --watch prints the roster as one JSON line per change."""
        from confctl.core import config, output
        from confctl.core.state import state

        from confctl.core.vendor import FollowOptions

        from . import SPEC

        from .events import follow_conference

        profile = config.resolve("pexip", state.profile)
        alias = conference or profile.require("conference")
        fmt = output.fmt()
        with SPEC.load().session(profile) as session:
            if not watch:
                people, view = everyone(session, alias)
                output.emit(view.rows() if fmt in ("table", "wide") else people, id_field="uuid")
                return
            stop = threading.Event()
            view = Watch()
            deadline = time.monotonic() + timeout if timeout else None
            live = None
            if fmt in ("table", "wide") and sys.stdout.isatty():
                from rich.live import Live

                live = Live(view.table(alias), console=output.console(), auto_refresh=False, transient=False)
                live.start()
            events = follow_conference(session, alias, FollowOptions(conference=(alias,), stop=stop), profile.name)
            result: list = []
            error: list = []

            def pump():
                try:
                    for env in events:
                        result.append(env)
                except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                    error.append(exc)

            worker = threading.Thread(target=pump, daemon=True)
            worker.start()
            try:
                while worker.is_alive() or result:
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    while result:
                        view.apply(result.pop(0))
                    if view.changed and view.ready:
                        view.changed = False
                        if live is not None:
                            live.update(view.table(alias), refresh=True)
                        elif fmt in ("json", "jsonl"):
                            output.write(output.dumps(view.rows()))
                    time.sleep(0.1)
            finally:
                stop.set()
                worker.join(timeout=5)
                if live is not None:
                    live.stop()
            if error:
                raise error[0]
            if live is None and fmt not in ("json", "jsonl"):
                output.emit(view.rows(), columns=COLUMNS)
