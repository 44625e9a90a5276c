"""The cockpit's screen (Textual): conferences beside the selected conference's participants, the event tail
below, each source's stream health on top, the outcome of the last action at the bottom. It redraws from the
live model whenever `live.version` moved (checked five times a second), so a change is on screen well within
a second of its event."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, RichLog, Static

from confctl.core.fleet.model import Conference, Participant
from confctl.core.fleet.top import view
from confctl.core.fleet.top.engine import Engine

HEALTH_STYLE = {"connected": "green", "polling": "cyan", "connecting": "yellow", "reconnected": "yellow",
                "reconnecting": "yellow", "gap": "red bold", "ended": "red"}
CELL_STYLE = {("mic", "muted"): "red", ("cam", "off"): "red", ("talk", "yes"): "green bold",
              ("hand", "up"): "yellow bold", ("share", "yes"): "magenta", ("lock", "yes"): "yellow"}
TAIL_LINES = 500  # the event tail keeps this many lines
NARROW = 130  # below this many columns the conferences pane drops its vendor column (the title names it)
EVENT_STYLE = {"reconnected": "yellow", "gap": "red bold", "snapshot": "dim"}
# (key, what it does) for `?`; the bindings below carry the same words for the footer
KEYS = (
    ("↑/↓, PgUp/PgDn", "move the selection"),
    ("Tab / Enter / Esc", "switch between conferences and participants"),
    ("Enter (participant)", "every field and the vendor's raw record"),
    ("m", "mute / unmute the selected participant (audio)"),
    ("s / S", "spotlight / remove the spotlight"),
    ("d", "disconnect the selected participant (asks first)"),
    ("M / U", "mute / unmute every guest of the selected conference"),
    ("l", "lock / unlock the selected conference"),
    ("/", "filter participants by name or role (Enter keeps it, Esc clears it)"),
    ("?", "this list"),
    ("q / Ctrl-C", "quit (stops the streams, releases every token)"),
)
COLUMNS = ("talk: speaking   mic: audio muted/on   cam: video off/on   hand: raised (up)   share: presenting\n"
           "room: breakout room (empty: main)   #: people   lock: locked   ?: the vendor cannot know\n"
           "Actions on a protected profile ask first; disconnect always asks.")


# Without colour (NO_COLOR, --color never) Textual greys every colour, which can all but hide a red word on a
# dark background: emphasis is bold there instead.
PLAIN = {"red": "bold", "red bold": "bold", "green bold": "bold", "yellow bold": "bold", "yellow": "", "magenta": "",
         "green": "", "cyan": "", "dim": "", "": ""}


def _cell(column: str, value: str, plain: bool = False) -> Text | str:
    style = "dim" if value == "?" else CELL_STYLE.get((column, value))
    if plain and style:
        style = PLAIN.get(style, "")
    return Text(value, style=style) if style else value


def _key(parts: tuple) -> str:
    return "\x1f".join(parts)


def sync_table(table: DataTable, columns: tuple[str, ...], rows: list[tuple[tuple, tuple]],
               plain: bool = False) -> None:
    """Show `rows` ([(key, cells)]) in `table`, changing only what changed and keeping the selection on the
    same row (by key) when rows come and go. Column widths are measured here and set explicitly (DataTable's
    own auto-width is worked out later, on idle, and a cell drawn before that stays cut short)."""
    from rich.cells import cell_len

    keys = [_key(k) for k, _ in rows]
    widths = [max([cell_len(name)] + [cell_len(cells[i]) for _, cells in rows]) for i, name in enumerate(columns)]
    current = [r.key.value for r in table.ordered_rows]
    same_columns = [(str(c.key.value), c.width) for c in table.ordered_columns] == list(zip(columns, widths))
    if same_columns and current == keys:
        for key, (_, cells) in zip(keys, rows):
            for column, before, after in zip(columns, table.get_row(key), cells):
                after = _cell(column, after, plain)
                if before != after:
                    table.update_cell(key, column, after)
        return
    selected = current[table.cursor_row] if 0 <= table.cursor_row < len(current) else None
    row = table.cursor_row
    table.clear(columns=not same_columns)
    if not same_columns:
        for name, width in zip(columns, widths):
            table.add_column(name, width=width, key=name)
    for key, (_, cells) in zip(keys, rows):
        table.add_row(*(_cell(n, c, plain) for n, c in zip(columns, cells)), key=key)
    if keys:
        table.move_cursor(row=keys.index(selected) if selected in keys else min(max(row, 0), len(keys) - 1),
                          animate=False)


class Confirm(ModalScreen[bool]):
    """y confirms, n / Esc declines."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n", "answer(False)", "no"),
                Binding("escape", "answer(False)", "no", show=False)]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 70; max-width: 90%; height: auto; border: thick $warning; padding: 1 2;
                         background: $surface; }
    Confirm Static { width: 100%; height: auto; }
    #answers { margin-top: 1; color: $text-muted; }
    """

    def __init__(self, question: str):
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), id="question")  # names are never read as markup
            yield Static("y: yes    n / Esc: no", id="answers")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Help(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "close")]
    DEFAULT_CSS = """
    Help { align: center middle; }
    Help > Static { width: 90; max-width: 95%; height: auto; border: round $accent; padding: 1 2;
                    background: $surface; }
    """

    def compose(self) -> ComposeResult:
        width = max(len(k) for k, _ in KEYS)
        lines = [f"{k.ljust(width)}  {what}" for k, what in KEYS]
        yield Static(Text("Keys\n\n" + "\n".join(lines) + "\n\n" + COLUMNS + "\n\nEsc or ? closes this list"),
                     id="keys")

    def action_close(self) -> None:
        self.dismiss(None)


class Details(ModalScreen[None]):
    """Enter on a participant: every common field and the vendor's raw record (secrets masked)."""

    BINDINGS = [Binding("escape,enter,q", "close", "close")]
    DEFAULT_CSS = """
    Details { align: center middle; }
    Details > VerticalScroll { width: 90%; height: 80%; border: round $accent; padding: 0 1;
                               background: $surface; }
    """

    def __init__(self, title: str, record: dict):
        super().__init__()
        self.title_text, self.record = title, record

    def compose(self) -> ComposeResult:
        import json

        from confctl.core.events.record import clean

        text = json.dumps(clean(self.record), indent=2, ensure_ascii=False, default=str)
        with VerticalScroll() as box:
            box.border_title = Content(self.title_text)
            yield Static(Text(text + "\n\nEsc closes"), id="record")

    def action_close(self) -> None:
        self.dismiss(None)


class TopApp(App):
    TITLE = "confctl top"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #health { height: auto; padding: 0 1; background: $boost; }
    #main { height: 1fr; }
    #conferences { width: auto; max-width: 50%; height: 100%; border: round $primary 50%; }
    #participants { width: 1fr; height: 100%; border: round $primary 50%; }
    #conferences:focus-within, #participants:focus-within { border: round $accent; }
    #events { height: 9; border: round $primary 30%; overflow-x: hidden; }
    #outcome { height: 1; padding: 0 1; }
    #filter { display: none; }
    #filter.shown { display: block; }
    """
    BINDINGS = [
        Binding("m", "verb('mute')", "mute/unmute"),
        Binding("s", "verb('spotlight')", "spotlight"),
        Binding("S", "verb('unspotlight')", "unspotlight", show=False),
        Binding("d", "verb('kick')", "disconnect"),
        Binding("M", "verb('mute-all')", "mute guests"),
        Binding("U", "verb('unmute-all')", "unmute guests", show=False),
        Binding("l", "verb('lock')", "lock/unlock"),
        Binding("slash", "filter", "filter"),
        Binding("question_mark", "help", "keys"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(self, engine: Engine, *, banner: str = "", yes: bool = False, interval: float = 0.2):
        super().__init__()
        self.engine = engine
        self.banner = banner  # e.g. "replay FILE at 10x"
        self.yes = yes  # --yes: no confirmation for protected profiles (disconnect still asks)
        self.interval = interval
        self.filter_text = ""
        self._version = -1
        self._width = 0  # the terminal width last drawn for (the column set and the health line depend on it)
        self.selected: tuple[str, str] | None = None  # (profile, conference)
        self.quitting = False
        self.tail = view.Tail()

    # -- layout -------------------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="health")
        with Horizontal(id="main"):
            yield DataTable(id="conferences", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="participants", cursor_type="row", zebra_stripes=True)
        yield RichLog(id="events", max_lines=TAIL_LINES, wrap=False, markup=False, min_width=40)
        yield Static(id="outcome")
        yield Input(placeholder="filter participants by name or role (Enter keeps it, Esc clears it)",
                    id="filter")
        yield Footer()

    def on_mount(self) -> None:
        # The widgets, held once: a modal screen on top must not hide them from the redraw timer.
        self.confs_table = confs = self.query_one("#conferences", DataTable)
        self.people_table = self.query_one("#participants", DataTable)
        self.log_view = self.query_one("#events", RichLog)
        self.health_bar = self.query_one("#health", Static)
        self.outcome_line = self.query_one("#outcome", Static)
        self.filter_box = self.query_one("#filter", Input)
        confs.border_title = "Conferences"
        self.people_table.border_title = "Participants"
        self.log_view.border_title = "Events"
        confs.focus()
        self.engine.start()
        self.redraw()
        self.set_interval(self.interval, self.redraw)

    # -- drawing ------------------------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Bring the screen up to the live model: new events into the tail; tables and health when the model's
        version moved."""
        fresh = []
        while self.engine.events:
            event = self.engine.events.popleft()
            if self.tail.wanted(event):
                fresh.append(event)
        for event in fresh[-TAIL_LINES:]:  # a burst larger than the tail keeps only what it can show
            clock, source, where, etype, summary = view.event_line(event)
            self.log_view.write(Text.assemble((clock, "dim"), "  ", source, "  ", where, "  ",
                                              (etype, self.style(EVENT_STYLE.get(etype, "cyan"))), "  ", summary))
        version, width = self.engine.live.version, self.size.width
        if version == self._version and width == self._width:
            return
        self._version, self._width = version, width
        narrow = width < NARROW
        self.draw_health()
        confs = view.conferences(self.engine.live)
        table = self.confs_table
        if narrow:  # the participants' title names the vendor instead
            sync_table(table, view.CONFERENCE_COLUMNS[1:], [(c.key, view.conference_row(c)[1:]) for c in confs],
                       self.no_color)
        else:
            sync_table(table, view.CONFERENCE_COLUMNS, [(c.key, view.conference_row(c)) for c in confs],
                       self.no_color)
        self.selected = self.conference_key()
        self.draw_participants()

    def draw_health(self) -> None:
        items = [Text(self.banner or "confctl top", style="bold")]
        for source, state, detail in view.health(self.engine.live):
            style = self.style(HEALTH_STYLE.get(state, ""))
            # why a stream is in trouble, not what a reconnection re-read (the tail has that)
            why = f" ({detail[:60]})" if detail and state in ("gap", "ended") else ""
            items.append(Text.assemble(("● ", style), f"{source} ", (state, style), (why, "dim")))
        if self.engine.error:
            items.append(Text(f"events stopped: {self.engine.error}", style=self.style("red")))
        elif self.engine.finished and not self.quitting:
            items.append(Text(self.engine.finished_note, style=self.style("yellow bold")))
        # lines break between sources, never inside one
        room, lines, line = max(self.size.width - 2, 20), [], Text()
        for item in items:
            if line.cell_len and line.cell_len + 3 + item.cell_len > room:
                lines.append(line)
                line = Text()
            line.append_text(Text("   ") + item if line.cell_len else item)
        lines.append(line)
        self.health_bar.update(Text("\n").join(lines))

    def draw_participants(self) -> None:
        people = view.participants(self.engine.live, self.selected, self.filter_text)
        table = self.people_table
        sync_table(table, view.PARTICIPANT_COLUMNS, [(p.key, view.participant_row(p)) for p in people],
                   self.no_color)
        title = "Participants"
        if self.selected:
            conf = self.engine.live.conferences.get(self.selected)
            vendor = f"{conf.vendor} " if conf else ""
            title += f" — {vendor}{self.selected[0]}:{(conf.name if conf and conf.name else self.selected[1])}"
            if getattr(self.engine.profiles.get(self.selected[0]), "protected", False):
                title += " (protected)"
        if self.filter_text:
            title += f"  (filter: {self.filter_text})"
        table.border_title = Content(title)  # plain: names are never read as markup

    def conference_key(self) -> tuple[str, str] | None:
        table = self.confs_table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return tuple(key.split("\x1f"))  # type: ignore[return-value]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "conferences":
            key = self.conference_key()
            if key != self.selected:
                self.selected = key
                self.draw_participants()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "conferences":
            self.people_table.focus()
        elif (person := self.participant()) is not None:
            self.push_screen(Details(f"{person.vendor} {person.profile}:{person.conference}/{view.who(person)}",
                                     person.to_dict()))

    def on_key(self, event) -> None:
        if event.key != "escape":
            return
        box = self.filter_box
        if box.has_class("shown"):  # Esc in the filter box clears the filter
            box.value = ""
            box.remove_class("shown")
            self.filter_text = ""
            self.draw_participants()
            self.people_table.focus()
        elif self.focused is self.people_table:
            self.confs_table.focus()

    # -- the selection ------------------------------------------------------------------------------------------
    def conference(self) -> Conference | None:
        if self.selected is None:
            return None
        with self.engine.live.lock:
            conf = self.engine.live.conferences.get(self.selected)
        if conf is None:  # known only from its participants
            conf = next((c for c in view.conferences(self.engine.live) if c.key == self.selected), None)
        return conf

    def participant(self) -> Participant | None:
        table = self.people_table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return self.engine.live.participant(*key.split("\x1f"))

    # -- actions ------------------------------------------------------------------------------------------------
    def style(self, style: str) -> str:
        return PLAIN.get(style, "") if self.no_color else style

    def say(self, text: str, style: str = "") -> None:
        self.outcome_line.update(Text(text, style=self.style(style)))

    def action_verb(self, verb: str) -> None:
        target: Conference | Participant | None
        if verb in ("mute-all", "unmute-all", "lock"):
            target = self.conference()
            if target is None:
                return self.say("no conference selected", "yellow")
            if verb == "lock" and target.locked:
                verb = "unlock"
        else:
            target = self.participant()
            if target is None:
                return self.say("no participant selected", "yellow")
            if verb == "mute" and target.muted_audio:
                verb = "unmute"
        refusal = self.engine.refusal(verb, target)
        if refusal:
            return self.say(refusal, "red")
        protected = self.engine.protected(target)
        if verb == "kick" or (protected and not self.yes):
            question = view.question(verb, target, protected)

            def answered(yes: bool | None) -> None:
                if yes:
                    self.run_action_worker(verb, target)
                else:
                    self.say(f"not done: {view.ASK[verb].lower()} {view.who(target)}", "yellow")
            self.push_screen(Confirm(question), answered)
            return
        self.run_action_worker(verb, target)

    def run_action_worker(self, verb: str, target: Conference | Participant) -> None:
        self.say(f"{view.ASK[verb].lower()} {view.who(target)}…", "dim")
        self.run_worker(lambda: self._act(verb, target), thread=True, group="actions", exit_on_error=False)

    def _act(self, verb: str, target: Conference | Participant) -> None:
        """In a worker thread: the verb, then its outcome on screen (an error as a line, never a traceback)."""
        from confctl.core.errors import ConfctlError

        try:
            result = self.engine.perform(verb, target)
        except ConfctlError as exc:
            text, style = f"{view.ASK[verb].lower()} {view.who(target)}: {exc.message}", "red"
        except Exception as exc:  # noqa: BLE001 - the cockpit stays up
            text, style = f"{view.ASK[verb].lower()} {view.who(target)}: {type(exc).__name__}: {exc}", "red"
        else:
            text, style = view.outcome(verb, target, result), "green"
        if not self.quitting:
            self.call_from_thread(self.say, text, style)

    # -- filter, help, quit -------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.filter_box
        box.add_class("shown")
        box.value = self.filter_text
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.draw_participants()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.remove_class("shown")
        self.people_table.focus()

    def action_help(self) -> None:
        self.push_screen(Help())

    async def action_quit(self) -> None:
        if self.quitting:
            return
        self.quitting = True
        self.say("stopping the streams and releasing tokens…", "dim")
        await asyncio.to_thread(self.engine.close)
        self.exit()


def run(engine: Engine, *, banner: str = "", yes: bool = False) -> None:
    """Run the cockpit until q / Ctrl-C; the engine is closed whatever ends it (`kill` too: SIGTERM ends it as
    Ctrl-C would, so the tokens are released)."""
    import signal

    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        def interrupt(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
    try:
        TopApp(engine, banner=banner, yes=yes).run()
    finally:
        engine.close()
