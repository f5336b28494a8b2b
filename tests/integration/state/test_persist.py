"""Writes that wait out a locked state.db (sentinel/controller/persist.py,
docs/reliability.md#f32-a-locked-state-database): kept in order while another connection holds the lock, written once it
lets go; other failures dropped (docs/reliability.md#f34-disk-full)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sentinel.controller import persist
from sentinel.controller.persist import BUSY_TIMEOUT, RETRY, StateWriter
from sentinel.state import Store, StoredProcess
from sentinel.state.models import execute
from sentinel.states import ProcessState
from tests.integration.state.support import T0, raw
from tests.support.wait import wait_for_async


def test_writes_kept_while_locked_are_written_in_order_once_the_lock_goes(db_path: Path) -> None:
    async def scenario() -> None:
        with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store, raw(db_path) as other:
            writer = StateWriter(store)
            writer.write(store.add_event, "started", "before", at=T0)
            other.execute("BEGIN EXCLUSIVE")
            for n in range(3):
                writer.write(store.add_event, "exited", f"during {n}", process="web", at=T0)
            writer.write(store.save_process, StoredProcess(name="web", state=ProcessState.BACKOFF))
            assert writer.pending == 4
            assert [e.message for e in store.events()] == ["before"]  # WAL: reads go on meanwhile
            await asyncio.sleep(RETRY * 2)
            assert writer.pending == 4  # still locked: kept, not dropped
            other.execute("ROLLBACK")
            await wait_for_async(lambda: writer.pending == 0, timeout=5)
            assert [e.message for e in store.events()] == ["before", "during 0", "during 1", "during 2"]
            assert store.processes()["web"].state is ProcessState.BACKOFF
            assert writer.dropped == 0
    asyncio.run(scenario())


def test_a_pass_that_finds_the_lock_taken_keeps_its_writes_and_later_ones_queue_behind(db_path: Path) -> None:
    async def scenario() -> None:
        with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store, raw(db_path) as other:
            writer = StateWriter(store)
            other.execute("BEGIN EXCLUSIVE")
            with writer.batch():
                writer.write(store.add_event, "started", "one", at=T0)
                writer.write(store.add_event, "started", "two", at=T0)
            with writer.batch():  # while writes wait, a new pass opens no transaction of its own
                writer.write(store.add_event, "started", "three", at=T0)
            assert writer.pending == 3
            other.execute("ROLLBACK")
            await wait_for_async(lambda: writer.pending == 0, timeout=5)
            assert [e.message for e in store.events()] == ["one", "two", "three"]
    asyncio.run(scenario())


def test_a_pass_commits_its_writes_in_one_transaction_when_nothing_waits(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store, raw(db_path) as other:
        writer = StateWriter(store)
        with writer.batch():
            writer.write(store.add_event, "started", "one", at=T0)
            assert other.execute("SELECT COUNT(*) FROM event").fetchone()[0] == 0  # not committed yet
        assert [e.message for e in store.events()] == ["one"]


def test_a_failure_that_waiting_cannot_cure_is_dropped_and_counted(db_path: Path) -> None:
    Store.open(db_path).close()
    with Store.open(db_path, readonly=True) as store:
        writer = StateWriter(store)
        writer.write(store.add_event, "started", "lost", at=T0)
        assert (writer.pending, writer.dropped) == (0, 1)


def test_drain_at_shutdown_writes_what_waits_or_says_it_could_not(db_path: Path) -> None:
    async def scenario() -> tuple[bool, bool]:
        with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store, raw(db_path) as other:
            writer = StateWriter(store)
            other.execute("BEGIN EXCLUSIVE")
            writer.write(store.add_event, "stopped", "last words", at=T0)
            gave_up = await writer.drain(timeout=0.3)  # the lock outlives the wait
            other.execute("ROLLBACK")
            writer.write(store.add_event, "stopped", "more", at=T0)
            done = await writer.drain(timeout=5)
            assert [e.message for e in store.events()] == ["last words", "more"]
            return gave_up, done
    assert asyncio.run(scenario()) == (False, True)


def test_writes_refused_for_lack_of_space_wait_for_it_in_order(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/reliability.md#f34-disk-full, with SQLite's own page limit as the full disk: a pass whose transaction
    SQLite rolls back keeps all its writes, past MAX_KEPT the oldest go, and everything left is written once
    there is room again."""
    monkeypatch.setattr(persist, "MAX_KEPT", 40)

    async def scenario() -> None:
        with Store.open(db_path, busy_timeout=BUSY_TIMEOUT) as store:
            connection = store._db
            pages = execute(connection, "PRAGMA page_count").fetchone()[0]
            execute(connection, f"PRAGMA max_page_count = {pages}")
            writer = StateWriter(store)
            written = 0
            with writer.batch():
                while not writer.pending and written < 1000:
                    writer.write(store.add_event, "started", f"{written:04d} " + "x" * 200, at=T0)
                    written += 1
            assert writer.pending == min(written, 40)
            assert writer.problem == f"no space left for state.db ({writer.pending} writes waiting)"
            for n in range(50):
                writer.write(store.add_event, "exited", f"later {n:02d}", at=T0)
            assert writer.pending == 40 and writer.dropped == written + 10
            execute(connection, "PRAGMA max_page_count = 1000000")
            await wait_for_async(lambda: writer.pending == 0, timeout=5)
            assert writer.problem is None
            assert [e.message for e in store.events(limit=None)] == [f"later {n:02d}" for n in range(10, 50)]
    asyncio.run(scenario())
