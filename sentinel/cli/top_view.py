"""The full-screen view of `sentinel top`, on Textual: the process table refreshed from the API, a filter, the
keys that act on the selected process, and a pane that follows its log (`Client.log_lines(follow=True)`).

Every request runs off the event loop (a thread), so a slow or lost reconciler never freezes the screen: a lost
one is shown in a banner and asked again at the next refresh, never as a traceback. What is shown is decided
by sentinel.cli.top_rows; this module only draws it and turns keys into requests.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

# sentinel.log keeps rich out of the reconciler (None in sys.modules: its import fails); Textual draws with it. Only a
# process that imported sentinel.log first meets that guard here (the tests, which import everything): lift it.
if "rich" in sys.modules and sys.modules["rich"] is None:
    del sys.modules["rich"]

from rich.text import Text  # after the guard is lifted
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Log, Static

from sentinel.cli import colour as colours
from sentinel.cli.logfiles import printable, streamed_line
from sentinel.cli.top_rows import TOP_COLUMNS, matching, next_column, ordered, top_cells
from sentinel.client import Client, NotAnswering, Unreachable
from sentinel.errors import DaemonUnavailable, SentinelError
from sentinel.reconcile.render import answer_line

# Seconds an action (start, stop, restart, run) waits for its process to settle before answering: the table
# shows the rest as it happens, and quitting never waits long for an answer.
ACTION_TIMEOUT = 5.0
LOG_LINES = 200  # lines of the log shown when its pane opens, before the new ones


class LogStream:
    """One following of a log: ended from the screen's side (pane closed, another process chosen, quit) at any
    moment, even before its WebSocket is open, and then never shown again."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._close: Callable[[], None] | None = None
        self.ended = False

    def opened(self, close: Callable[[], None]) -> None:
        with self._lock:
            self._close = close
            if not self.ended:
                return
        close()

    def end(self) -> None:
        with self._lock:
            self.ended, close = True, self._close
        if close is not None:
            close()


class LogLine(Message):
    """A line for the log pane, from the thread following `stream`."""

    def __init__(self, stream: LogStream, text: str) -> None:
        super().__init__()
        self.stream = stream
        self.text = text


class Answered(Message):
    """The reconciler's answer to the table's request, or why there is none (`lost`, a line for the banner)."""

    def __init__(self, answer: dict[str, Any] | None, lost: str | None) -> None:
        super().__init__()
        self.answer = answer
        self.lost = lost


class Acted(Message):
    """How an action on a process went, in one line."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ProcessTable(DataTable[Text]):
    """The process table. Textual gives keys to the widget focused when they arrive and checks the app's bindings
    only once a key has bubbled up, after this table has taken every key already there: so `/` opens the filter
    here, at once, and a key typed right behind it goes to the filter, never to a binding (`/front` typed fast
    filters; it does not restart, `r`, or sort, `o`, anything)."""

    def on_key(self, event: events.Key) -> None:
        field = self.screen.query_one("#filter", Input)
        if event.key == "slash" and not field.display:
            open_filter(self.screen)
            event.stop()
        elif field.display and event.is_printable and event.character is not None:
            field.insert_text_at_cursor(event.character)
            event.stop()


def open_filter(screen: Screen[Any]) -> None:
    """Show the filter and give it the focus now (`focus()` would give it later: keys typed meanwhile are lost)."""
    field = screen.query_one("#filter", Input)
    field.display = True
    screen.set_focus(field)


class TopApp(App[None]):
    """`sentinel top` on one reconciler (`client`): its processes, of `group` if given, every `interval` s."""

    TITLE = "sentinel top"
    CSS = """
    #banner { display: none; background: $error; color: $text; padding: 0 1; text-style: bold; }
    #banner.warning { background: $warning; }
    #summary { padding: 0 1; color: $text-muted; }
    #processes { height: 1fr; }
    #log { display: none; height: 40%; border: round $accent; }
    #filter { display: none; }
    #message { padding: 0 1; height: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("o", "sort", "Sort"),
        Binding("O", "reverse", "Reverse"),
        Binding("s", "act('start')", "Start"),
        Binding("x", "act('stop')", "Stop"),
        Binding("r", "act('restart')", "Restart"),
        Binding("n", "act('run')", "Run job"),
        Binding("l", "log", "Log"),
    ]

    def __init__(self, client: Client, *, group: str | None = None, interval: float = 1.0) -> None:
        super().__init__()
        self.client = client
        self.group = group
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self.shown: list[str] = []  # the names in the table, top to bottom
        self.filter_text = ""
        self.sort_column = TOP_COLUMNS[0]
        self.descending = False
        self.lost: str | None = None  # why the reconciler cannot be reached, while it cannot
        self.stream: LogStream | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        yield Static(id="summary")
        yield ProcessTable(id="processes", cursor_type="row", zebra_stripes=True)
        yield Log(id="log", max_lines=5000)
        yield Input(id="filter", placeholder="filter by name or group (Enter keeps it, Escape clears it)")
        yield Static(id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.client.where + (f" · group {self.group}" if self.group else "")
        self._draw()
        self.query_one(DataTable).focus()
        self._poll()

    def on_unmount(self) -> None:
        self._end_stream()

    @property
    def selected(self) -> str | None:
        """The name of the process under the cursor, if any."""
        row = self.query_one(DataTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    # The table.

    @work(exclusive=True, group="poll")
    async def _poll(self) -> None:
        """Ask for the rows now and then every `interval` s. Answers come back as messages: one arriving as the app
        quits is dropped, never drawn on a screen that is gone."""
        while True:
            try:
                answer = await asyncio.to_thread(self.client.get, "/v1/processes", group=self.group)
            except (DaemonUnavailable, NotAnswering, Unreachable) as err:
                self.post_message(Answered(None, f"lost the reconciler: {err}"))
            except SentinelError as err:  # it answers, but not with the rows: a refused token, say
                self.post_message(Answered(None, str(err)))
            else:
                self.post_message(Answered(answer, None))
            await asyncio.sleep(self.interval)

    @on(Answered)
    def _answered(self, message: Answered) -> None:
        """Show the rows; or, when the reconciler could not be reached, say so in the banner."""
        if message.answer is None:
            self.lost = message.lost
        else:
            was_lost, self.lost = self.lost, None
            self._show_config_error(message.answer.get("config_error"))
            if message.answer["processes"] == self.rows and not was_lost:
                return  # nothing new to draw
            self.rows = message.answer["processes"]
        self._draw()

    def _show_config_error(self, error: str | None) -> None:
        banner = self.query_one("#banner", Static)
        banner.set_class(bool(error), "warning")
        if error:
            banner.update(f"config not applied: {error}")
        banner.display = bool(error)

    def _draw(self) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        selected = self.selected
        rows = ordered(matching(self.rows, self.filter_text), self.sort_column, descending=self.descending)
        table.clear(columns=True)
        for column in TOP_COLUMNS:
            arrow = (" ▼" if self.descending else " ▲") if column == self.sort_column else ""
            table.add_column(column + arrow, key=column)
        for row in rows:
            table.add_row(*_styled(top_cells(row)), key=str(row["name"]))
        self.shown = [str(row["name"]) for row in rows]
        if selected in self.shown:
            table.move_cursor(row=self.shown.index(selected), animate=False)
        self._summarize(rows)
        if self.lost is not None:
            banner = self.query_one("#banner", Static)
            banner.remove_class("warning")
            banner.update(f"{self.lost}; asking again every {self.interval:g}s")
            banner.display = True

    def _summarize(self, rows: list[dict[str, Any]]) -> None:
        running = sum(1 for row in rows if row["state"] == "running")
        failing = sum(1 for row in rows if row["state"] in ("failed", "backoff") or row.get("health") == "unhealthy")
        parts = [f"{len(rows)} of {len(self.rows)} processes" if self.filter_text else f"{len(rows)} processes",
                 f"{running} running", f"{failing} failing",
                 f"sorted by {self.sort_column} {'▼' if self.descending else '▲'}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.query_one("#summary", Static).update(" · ".join(parts))

    @on(DataTable.HeaderSelected)
    def _sort_by_header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        self.descending = not self.descending if column == self.sort_column else False
        self.sort_column = column
        self._draw()

    def action_sort(self) -> None:
        self.sort_column, self.descending = next_column(self.sort_column), False
        self._draw()

    def action_reverse(self) -> None:
        self.descending = not self.descending
        self._draw()

    # The filter.

    def action_filter(self) -> None:
        open_filter(self.screen)

    def action_clear_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.value, field.display = "", False
        self.filter_text = ""
        self.screen.set_focus(self.query_one(DataTable))
        self._draw()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._draw()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self.query_one("#filter", Input).display = False
        self.screen.set_focus(self.query_one(DataTable))

    # Actions on the selected process.

    def action_act(self, verb: str) -> None:
        name = self.selected
        if name is None:
            self._say("no process selected")
            return
        self._say(f"{verb} {name}…")
        self._act(verb, name)

    @work(group="act")
    async def _act(self, verb: str, name: str) -> None:
        body: dict[str, Any] = {"timeout": ACTION_TIMEOUT}
        if verb == "run":
            path = f"/v1/processes/{quote(name, safe='')}/run"
        else:
            path = f"/v1/processes/{verb}"
            body.update(targets=[name], all=False)
        try:
            answer = await asyncio.to_thread(self.client.post, path, body, wait=ACTION_TIMEOUT)
        except SentinelError as err:
            self.post_message(Acted(f"{verb} {name}: {err}"))
            return
        lines = [answer_line(row["name"], row["state"], row.get("reason")) for row in answer.get("processes", [])]
        self.post_message(Acted("; ".join(lines) or f"{verb} {name}: done"))

    @on(Acted)
    def _acted(self, message: Acted) -> None:
        """Say how the action went, and show its effect at once (the refreshes start again from now)."""
        self._say(message.text)
        self._poll()

    def _say(self, text: str) -> None:
        self.query_one("#message", Static).update(Text(text))

    # The log pane.

    def action_log(self) -> None:
        if self.stream is not None:
            self._close_log()
        elif self.selected is not None:
            self._open_log(self.selected)

    @on(DataTable.RowSelected)
    def _row_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: follow its log (or stop following it, when it is the one followed)."""
        name = str(event.row_key.value)
        if self.stream is not None and self.stream.name == name:
            self._close_log()
        else:
            self._open_log(name)

    def _open_log(self, name: str) -> None:
        self._end_stream()
        pane = self.query_one(Log)
        pane.clear()
        pane.border_title = f"log of {name} (following; l closes)"
        pane.display = True
        self.stream = LogStream(name)
        self._follow(self.stream)

    def _close_log(self) -> None:
        self._end_stream()
        self.query_one(Log).display = False

    def _end_stream(self) -> None:
        if self.stream is not None:
            self.stream.end()
            self.stream = None

    @work(thread=True, group="log")
    def _follow(self, stream: LogStream) -> None:
        """Post each line of `stream`'s log (the last LOG_LINES, then the new ones) until it is ended."""
        try:
            for line in self.client.log_lines(stream.name, LOG_LINES, follow=True, on_open=stream.opened):
                self.post_message(LogLine(stream, printable(streamed_line(line)).rstrip("\n")))
        except SentinelError as err:
            self.post_message(LogLine(stream, f"-- {err}"))
        else:
            self.post_message(LogLine(stream, "-- the reconciler ended the stream (press l twice to follow again)"))

    @on(LogLine)
    def _log_line(self, message: LogLine) -> None:
        if message.stream is self.stream:
            self.query_one(Log).write_line(message.text)


def _styled(cells: tuple[str, ...]) -> list[Text]:
    """The cells of one row, its state and health coloured."""
    styles = {TOP_COLUMNS.index("STATE"): colours.STATES, TOP_COLUMNS.index("HEALTH"): colours.HEALTH}  # as `status`
    return [Text(cell, style=styles.get(index, {}).get(cell, "")) for index, cell in enumerate(cells)]
