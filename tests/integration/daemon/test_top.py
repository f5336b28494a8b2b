"""`sentinel top` (sentinel/cli/top_view.py) driven by Textual's own harness (`App.run_test()` and its Pilot)
against a real reconciler: the table, sorting, the filter, stop/start/restart/run on the selected process, the
log pane following a line written after it opened, and a lost reconciler shown in a banner, not a traceback.
The same view in a real terminal (tmux) is tests/integration/daemon/test_top_tmux.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

# First: where sentinel.log was imported before (another test of this worker), it lets rich be imported again.
from sentinel.cli.top_view import TopApp

# isort: split
from rich.text import Text
from textual.widgets import DataTable, Log, Static

from sentinel.cli.top_rows import TOP_COLUMNS
from sentinel.client import Client
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for_async

CONFIG = """\
processes:
  web: {{command: sleep 1000, group: front}}
  talker:
    group: back
    command: >-
      sh -c 'echo first line; while [ ! -e {flag} ]; do sleep 0.05; done; echo after the pane opened;
      exec sleep 1000'
  nightly: {{command: echo ran, schedule: manual}}
"""


def cell(app: TopApp, name: str, column: str) -> str:
    """What the table shows for `name` in `column` ('' while the row is not shown)."""
    if name not in app.shown:
        return ""
    table: DataTable[Text] = app.query_one(DataTable)
    return str(table.get_row(name)[TOP_COLUMNS.index(column)])


def test_top_shows_sorts_filters_acts_and_follows_a_log(make_reconciler: Callable[..., Reconciler],
                                                         tmp_path: Path) -> None:
    flag = tmp_path / "go"
    r = make_reconciler(CONFIG.format(flag=flag))
    r.start()
    r.wait_state("web", "running")
    r.wait_state("talker", "running")
    asyncio.run(_drive(r, flag))


async def _drive(r: Reconciler, flag: Path) -> None:
    app = TopApp(Client(r.state_dir, timeout=5.0), interval=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_async(lambda: app.shown == ["nightly", "talker", "web"], timeout=10,
                             message=lambda: f"shown: {app.shown}")
        web = r.row("web")
        await wait_for_async(lambda: cell(app, "web", "PID") == str(web["pid"]), timeout=10)
        assert (cell(app, "web", "STATE"), cell(app, "web", "GROUP")) == ("running", "front")
        assert cell(app, "nightly", "STATE") == "scheduled"

        await pilot.press("O")  # the other way round
        assert app.shown == ["web", "talker", "nightly"]
        await pilot.click(DataTable, offset=(2, 0))  # NAME's header: by name, and again: the other way round
        assert app.shown == ["nightly", "talker", "web"]
        await pilot.click(DataTable, offset=(2, 0))
        assert app.shown == ["web", "talker", "nightly"]
        app.query_one(DataTable).move_cursor(row=app.shown.index("web"))
        await pilot.press("n")  # web is no job: one line says so
        await wait_for_async(lambda: str(app.query_one("#message", Static).content).startswith("run web: "),
                             timeout=10, message=lambda: str(app.query_one("#message", Static).content))
        await pilot.press("o")  # by the next column, GROUP: back, front, then the one without a group
        assert app.shown == ["talker", "web", "nightly"]

        await pilot.press("slash", "f", "r", "o")  # filter: a part of a group's name
        await wait_for_async(lambda: app.shown == ["web"], timeout=5, message=lambda: f"shown: {app.shown}")
        await pilot.press("enter")  # keeps the filter, back to the table
        await pilot.press("x")
        await wait_for_async(lambda: cell(app, "web", "STATE") == "stopped", timeout=15)
        assert r.row("web")["state"] == "stopped"
        await pilot.press("s")
        await wait_for_async(lambda: cell(app, "web", "STATE") == "running", timeout=15)
        before = r.row("web")["pid"]
        await pilot.press("r")
        await wait_for_async(lambda: cell(app, "web", "PID") not in ("", "-", str(before)), timeout=15,
                             message=lambda: f"pid shown: {cell(app, 'web', 'PID')}, was {before}")
        assert cell(app, "web", "PID") == str(r.row("web")["pid"])
        assert "web: running" in str(app.query_one("#message", Static).content)

        await pilot.press("escape")  # clears the filter
        await wait_for_async(lambda: len(app.shown) == 3, timeout=5)
        app.query_one(DataTable).move_cursor(row=app.shown.index("nightly"))
        await pilot.press("n")
        await wait_for_async(lambda: any(run["outcome"] == "succeeded"
                                         for run in r.client.get("/v1/processes/nightly/runs")["runs"]), timeout=15)

        app.query_one(DataTable).move_cursor(row=app.shown.index("talker"))
        await pilot.press("enter")
        pane = app.query_one(Log)
        await wait_for_async(lambda: any(line.endswith(" first line") for line in pane.lines), timeout=10,
                             message=lambda: f"log pane: {list(pane.lines)}")
        flag.touch()
        await wait_for_async(lambda: any(line.endswith(" after the pane opened") for line in pane.lines), timeout=10,
                             message=lambda: f"log pane: {list(pane.lines)}")
        assert pane.display
        await pilot.press("enter")  # on the row followed: closes the pane
        assert not pane.display and app.stream is None
        await pilot.press("l")  # and opens it again
        await wait_for_async(lambda: any(line.endswith(" after the pane opened") for line in pane.lines), timeout=10)

        r.stop()
        banner = app.query_one("#banner", Static)
        await wait_for_async(lambda: banner.display and "lost the reconciler" in str(banner.content), timeout=10)
        assert "no reconciler is running" in str(banner.content)
        await wait_for_async(lambda: pane.lines and "-- " in pane.lines[-1], timeout=10)  # its stream ended too
        await pilot.press("q")
    assert app.return_code == 0
