"""Strict mode: a record move outside the state table (docs/states.md) is an error, not only a log line.

The reconcilers the tests start are strict (tests/support/daemon.py), and their teardown fails on
any such move they logged; here the controller itself, on a real runtime and state.db.
"""

from __future__ import annotations

import asyncio
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


def test_a_move_outside_the_state_table_raises_in_strict_mode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(IllegalMove, match="web: stopped → exited"):
        asyncio.run(_keep_moves(tmp_path / "home", strict=True))
    assert _illegal_moves_logged(caplog) == [("web", "stopped", "exited")]


def test_a_move_outside_the_state_table_is_logged_otherwise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = asyncio.run(_keep_moves(tmp_path / "home", strict=False))
    assert records["web"].state is S.EXITED
    assert _illegal_moves_logged(caplog) == [("web", "stopped", "exited")]


def _illegal_moves_logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    """The `illegal_transition` events in the captured log: structlog hands the standard library its event
    dictionary as the record's message (sentinel/log.py)."""
    events = [record.msg for record in caplog.records if isinstance(record.msg, dict)]
    return [(event["process"], event["old"], event["new"]) for event in events
            if event.get("event") == "illegal_transition"]
