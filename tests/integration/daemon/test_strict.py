"""Strict mode: a record move outside the state table (docs/states.md) is an error, not only a log line.

The reconcilers the tests start are strict (tests/support/daemon.py), and their teardown fails on
any such move they logged; here the controller itself, on a real runtime and state.db.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentinel.clock import SystemClock
from sentinel.controller.loop import Controller
from sentinel.paths import StateDir
from sentinel.reconcile.observed import ProcessRecord
from sentinel.runtime.manager import Runtime
from sentinel.state.store import Store
from sentinel.states import IllegalMove
from sentinel.states import ProcessState as S
from tests.support.daemon import STRICT


async def _keep_moves(home: Path, *, strict: bool) -> dict[str, ProcessRecord]:
    state_dir = StateDir(home)
    state_dir.ensure()
    clock = SystemClock()
    store = Store.open(state_dir.db)
    try:
        controller = Controller(runtime=Runtime(state_dir, on_exit=lambda *_: None, utc=clock.now_utc), store=store,
                                clock=clock, environ={}, strict=strict)
        controller.keep("web", ProcessRecord(name="web", state=S.STOPPED))
        try:
            controller.keep("web", ProcessRecord(name="web", state=S.EXITED))  # stopped → exited: no such edge
        finally:
            await controller.writer.drain(timeout=5.0)
        return controller.records
    finally:
        store.close()


def _logged_moves(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    """The `illegal_transition` lines logged (structlog hands the logging module the event as a dict)."""
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "illegal_transition"]
    return [(e["process"], e["old"], e["new"]) for e in events]


def test_a_move_outside_the_state_table_raises_in_strict_mode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(IllegalMove, match="web: stopped → exited"):
        asyncio.run(_keep_moves(tmp_path / "home", strict=True))
    assert _logged_moves(caplog) == [("web", "stopped", "exited")]


def test_a_move_outside_the_state_table_is_logged_otherwise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = asyncio.run(_keep_moves(tmp_path / "home", strict=False))
    assert records["web"].state is S.EXITED
    assert _logged_moves(caplog) == [("web", "stopped", "exited")]


# `sentinel up`, strict as the tests run it, with a bug put into its planner: once the job `report` waits
# `scheduled` and `web` runs, a plan also moves `report` to `backoff`, an edge the state table does not have.
BUGGY_PLANNER = """
import runpy, sys
import sentinel.controller.loop as loop
from sentinel.reconcile.actions import Plan, SetState
from sentinel.states import ProcessState

planner = loop.plan

def buggy(desired, observed, records, now, unstartable=None, **more):
    result = planner(desired, observed, records, now, unstartable, **more)
    report = records.get("report")
    if report is not None and report.state is ProcessState.SCHEDULED and "web" in observed:
        bug = SetState(instance="report", state=ProcessState.BACKOFF, reason="a bug")
        return Plan((*result.actions, bug), result.wake_at)
    return result

loop.plan = buggy
sys.argv[0] = "sentinel"
runpy.run_module("sentinel", run_name="__main__", alter_sys=True)
"""


def test_a_strict_reconciler_stops_everything_and_exits_on_an_illegal_move(tmp_path: Path) -> None:
    """A bug in a pass does not leave a reconciler answering with its loop gone: it stops what it runs and exits
    70 with one line naming the move (so a test hitting a bug fails instead of hanging)."""
    config = tmp_path / "sentinel.yaml"
    config.write_text('processes:\n  web: {command: sleep 1000}\n'
                      '  report: {command: "true", schedule: {cron: "0 3 * * *"}}\n')
    reconciler = subprocess.Popen(
        [sys.executable, "-c", BUGGY_PLANNER, "--state-dir", str(tmp_path / "home"), "up", "-f", str(config)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **STRICT})
    try:
        _out, err = reconciler.communicate(timeout=30)
    finally:
        if reconciler.poll() is None:
            reconciler.kill()
            reconciler.wait()
    assert reconciler.returncode == 70, err
    assert err.splitlines()[-1] == ("sentinel: stopped on a bug: report: scheduled → backoff is not an allowed "
                                    "transition (docs/states.md)")
    assert "Traceback" not in err
    assert "event=shutdown" in err  # what ran was stopped on the way out
