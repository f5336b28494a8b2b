"""Store: the reconciler's memory in state.db; the only module that issues queries.

The controller opens one writable Store for its lifetime and is its only writer; the CLI
opens one read-only (`sentinel status`, `sentinel events` when no reconciler runs). Methods
take and return the plain frozen values of `sentinel.state.values`, never database rows.

Every database failure (locked past the busy timeout, disk full, read-only, corrupt) raises
one exception type, `StateError`, with a one-line message ("state.db: database is locked");
the caller decides to log it and carry on. A wrong argument (a naive datetime, a kind that is
not snake_case) is a ValueError: a bug in the caller, not a state of the database.

A Store holds one SQLite connection; a lock serialises its callers, so it may be shared by
threads, although the controller uses it from its loop thread only.

Retention: at most ~10,000 events (the oldest are deleted, checked at open and every 500
events) and 50 config revisions (checked at each save). Job runs are kept until the caller
prunes them (`prune_runs`, with the job's `keep_runs`).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from sentinel.errors import StateError
from sentinel.state.db import DEFAULT_BUSY_TIMEOUT, OpenedDb, close_database, open_database
from sentinel.state.models import (
    EVENT,
    PROCESS,
    REVISION,
    RUNS,
    EventRow,
    ProcessRow,
    RevisionRow,
    RunRow,
    Table,
    decode_mapping,
    decode_optional_time,
    decode_strings,
    decode_time,
    encode_json,
    encode_optional_time,
    encode_time,
)
from sentinel.state.sql import DbErrors, state_error, transaction
from sentinel.state.values import RUN_OUTCOMES, RUN_TRIGGERS, Event, Revision, Run, StoredProcess
from sentinel.states import ProcessState

__all__ = ["KEEP_EVENTS", "KEEP_REVISIONS", "Event", "Revision", "Run", "Store", "StoredProcess"]

KEEP_EVENTS = 10_000
PRUNE_EVENTS_EVERY = 500  # events added between two prunes
KEEP_REVISIONS = 50

_Row = TypeVar("_Row", ProcessRow, EventRow, RevisionRow, RunRow)
_V = TypeVar("_V")

# The events of a process and of its instances ("web", "web.0", "web.1", not "webby" nor "web.api"):
# the name, or a range on the prefix whose remainder is digits only.
_PROCESS_OR_INSTANCES = "process = ? OR (process > ? AND process < ? AND substr(process, ?) NOT GLOB '*[^0-9]*')"

_KIND = re.compile(r"[a-z][a-z0-9_]*\Z")
_ROWS_PER_INSERT = 50  # 17 columns each: well under SQLite's bound-parameter limit


class Store:
    """state.db, open. Use `Store.open(path)`; close it (or use it as a context manager)."""

    def __init__(self, opened: OpenedDb) -> None:
        self._opened = opened
        self._db = opened.database
        self._lock = threading.RLock()
        self._events_since_prune = 0
        self._next_run_id: int | None = None
        self.recovered: str | None = opened.recovered
        """Set when the file was corrupt and replaced: "state.db was corrupt (…); moved to …"."""

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
        """Open (creating and migrating unless `readonly`) the database at `path`.

        `busy_timeout` is how long, in seconds, a write waits for another connection's lock
        before it fails with StateError.
        """
        store = cls(open_database(path, readonly=readonly, busy_timeout=busy_timeout))
        if not readonly:
            with suppress(StateError):  # housekeeping only: tried again after PRUNE_EVENTS_EVERY events
                store._prune_events()
        return store

    @property
    def readonly(self) -> bool:
        return self._opened.readonly

    def close(self) -> None:
        with self._lock:
            close_database(self._opened)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every write inside (a reconcile pass): one commit instead of one per write."""
        with self._guard(), transaction(self._db):
            yield

    # Process records

    def processes(self) -> dict[str, StoredProcess]:
        """Every stored process record by name, in name order."""
        with self._guard():
            rows = self._db.execute(f"{PROCESS.select} ORDER BY name").fetchall()
        decoded = (self._decoded(PROCESS, row, _stored_process) for row in rows)
        return {process.name: process for process in decoded}

    def save_process(self, process: StoredProcess) -> None:
        """Insert or replace the record of `process.name`."""
        self.save_processes((process,))

    def save_processes(self, processes: Iterable[StoredProcess]) -> None:
        """Insert or replace several records in one transaction (all or none)."""
        now = datetime.now(UTC)
        rows = [_process_row(process, now) for process in processes]
        if not rows:
            return
        with self._guard(), transaction(self._db):
            for start in range(0, len(rows), _ROWS_PER_INSERT):
                self._db.execute(*PROCESS.insert(rows[start : start + _ROWS_PER_INSERT], replace=True))

    def delete_process(self, name: str) -> None:
        """Forget a process (pruned from the config). Deleting an unknown name does nothing."""
        with self._guard(), transaction(self._db):
            self._db.execute(f"DELETE FROM {PROCESS.name} WHERE name = ?", (name,))

    # Events

    def add_event(self, kind: str, message: str, *, process: str | None = None, at: datetime) -> Event:
        """Record an event. Line breaks in `message` become "; " so it stays one line."""
        if not _KIND.match(kind):
            raise ValueError(f"event kind must be snake_case, got {kind!r}")
        at_text = encode_time(at)
        text = "; ".join(part.strip() for part in message.splitlines() if part.strip())
        row = {"at": at_text, "process": process, "kind": kind, "message": text}
        with self._guard(), transaction(self._db):
            event_id = self._inserted_id(self._db.execute(*EVENT.insert([row])))
            prune = self._events_since_prune + 1 >= PRUNE_EVENTS_EVERY
            if prune:
                self._delete_oldest(EVENT, KEEP_EVENTS)
        self._events_since_prune = 0 if prune else self._events_since_prune + 1
        return Event(event_id, decode_time(at_text), process, kind, text)

    def events(self, *, process: str | None = None, limit: int | None = 20) -> list[Event]:
        """The newest `limit` events (all when None), newest last.

        `process` keeps the events of that process and of its instances: "web" matches "web",
        "web.0" and "web.1", but not "webby" nor "web.api" (replicas are numbered).
        """
        if limit is not None and limit <= 0:
            return []
        sql, params = EVENT.select, list[object]()
        if process is not None:
            prefix = f"{process}."
            sql += f" WHERE {_PROCESS_OR_INSTANCES}"
            params += [process, prefix, f"{process}/", len(prefix) + 1]
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._guard():
            rows = self._db.execute(sql, params).fetchall()
        return [self._decoded(EVENT, row, _event) for row in reversed(rows)]

    # Config revisions

    def save_revision(
        self, *, path: str, environment: str | None, digest: str, config: str, files: Sequence[str], at: datetime
    ) -> Revision:
        """Record a resolved config the reconciler accepted; keeps the newest KEEP_REVISIONS."""
        at_text = encode_time(at)
        files_text = encode_json(list(files))
        row = {"at": at_text, "path": path, "environment": environment, "digest": digest, "config": config}
        with self._guard(), transaction(self._db):
            revision_id = self._inserted_id(self._db.execute(*REVISION.insert([{**row, "files": files_text}])))
            self._delete_oldest(REVISION, KEEP_REVISIONS)
        return Revision(revision_id, decode_time(at_text), path, environment, digest, config, tuple(files))

    def last_revision(self) -> Revision | None:
        """The newest accepted config, or None when there is none."""
        with self._guard():
            row = self._db.execute(f"{REVISION.select} ORDER BY id DESC LIMIT 1").fetchone()
        return None if row is None else self._decoded(REVISION, row, _revision)

    # Job runs

    def reserve_run_id(self) -> int:
        """A run id no row has had, for a run to be recorded later (`start_run(run_id=…)`): the reconciler
        numbers a run (and labels its log lines) even while the database is locked by another program.
        Ids only grow, as AUTOINCREMENT's would; this store must be the only one that adds runs."""
        with self._guard():
            if self._next_run_id is None:
                used = self._db.execute(f"SELECT MAX(id) FROM {RUNS.name}").fetchone()[0] or 0
                row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (RUNS.name,)).fetchone()
                self._next_run_id = max(int(used), int(row[0]) if row else 0) + 1
            run_id = self._next_run_id
            self._next_run_id += 1
        return run_id

    def start_run(self, job: str, *, scheduled_for: datetime | None, started_at: datetime, trigger: str,
                  instance: str | None = None, run_id: int | None = None) -> Run:
        """Record a run that starts now (outcome `running`) as `instance` (default: the job's name), numbered
        `run_id` (from `reserve_run_id`) or the next number; `finish_run` with its id when it ends."""
        return self._add_run(job, scheduled_for=scheduled_for, started_at=started_at, trigger=trigger, skipped=False,
                             instance=instance, run_id=run_id)

    def add_skipped_run(self, job: str, *, scheduled_for: datetime | None, at: datetime, trigger: str,
                        run_id: int | None = None) -> Run:
        """Record a trigger that did not run (concurrency `forbid`): started and ended `at`, outcome `skipped`."""
        return self._add_run(job, scheduled_for=scheduled_for, started_at=at, trigger=trigger, skipped=True,
                             run_id=run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        ended_at: datetime,
        outcome: str,
        exit_code: int | None = None,
        exit_signal: int | None = None,
    ) -> None:
        """Record how run `run_id` ended. `outcome` is any of RUN_OUTCOMES but `running`.

        An unknown id (a run pruned meanwhile) does nothing.
        """
        if outcome not in RUN_OUTCOMES or outcome == "running":
            raise ValueError(
                f"a finished run's outcome must be one of {_choices(RUN_OUTCOMES - {'running'})}, got {outcome!r}"
            )
        ended_text = encode_time(ended_at)
        with self._guard(), transaction(self._db):
            self._db.execute(
                f"UPDATE {RUNS.name} SET ended_at = ?, outcome = ?, exit_code = ?, exit_signal = ? WHERE id = ?",
                (ended_text, outcome, exit_code, exit_signal, run_id),
            )

    def runs(self, job: str, *, limit: int | None = 20) -> list[Run]:
        """The newest `limit` runs of `job` (all when None), newest last."""
        if limit is not None and limit <= 0:
            return []
        sql, params = f"{RUNS.select} WHERE job = ? ORDER BY id DESC", list[object]([job])
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._guard():
            rows = self._db.execute(sql, params).fetchall()
        return [self._decoded(RUNS, row, _run) for row in reversed(rows)]

    def open_runs(self, job: str) -> list[Run]:
        """The runs of `job` still `running` (more than one only under `concurrency: allow`), oldest first."""
        with self._guard():
            rows = self._db.execute(f"{RUNS.select} WHERE job = ? AND outcome = 'running' ORDER BY id",
                                    (job,)).fetchall()
        return [self._decoded(RUNS, row, _run) for row in rows]

    def last_run(self, job: str) -> Run | None:
        """The newest run of `job` (by id, whatever its outcome), or None when it never ran."""
        with self._guard():
            row = self._db.execute(f"{RUNS.select} WHERE job = ? ORDER BY id DESC LIMIT 1", (job,)).fetchone()
        return None if row is None else self._decoded(RUNS, row, _run)

    def last_slot(self, job: str) -> datetime | None:
        """The trigger slot of the newest run of `job` that had one (manual runs have none), or None."""
        sql = f"SELECT id, scheduled_for FROM {RUNS.name} WHERE job = ? AND scheduled_for IS NOT NULL"
        sql += " ORDER BY id DESC LIMIT 1"
        with self._guard():
            row = self._db.execute(sql, (job,)).fetchone()
        if row is None:
            return None
        try:
            return decode_time(str(row[1]))
        except ValueError as exc:
            raise StateError(f"{self._opened.name}: {RUNS.name} row {row[0]} is damaged ({exc})") from exc

    def prune_runs(self, job: str, keep: int) -> None:
        """Delete all but the newest `keep` runs of `job`; other jobs' runs are untouched."""
        if keep < 0:
            raise ValueError(f"keep must be 0 or more, got {keep}")
        with self._guard(), transaction(self._db):
            self._db.execute(
                f"DELETE FROM {RUNS.name} WHERE job = ? AND id NOT IN "
                f"(SELECT id FROM {RUNS.name} WHERE job = ? ORDER BY id DESC LIMIT ?)",
                (job, job, keep),
            )

    def close_open_runs(self, at: datetime) -> int:
        """Mark every `running` run `stopped`, ended `at` (at start-up: its reconciler died); return how many."""
        at_text = encode_time(at)
        with self._guard(), transaction(self._db):
            cursor = self._db.execute(
                f"UPDATE {RUNS.name} SET outcome = 'stopped', ended_at = ? WHERE outcome = 'running'", (at_text,)
            )
            return cursor.rowcount

    def _add_run(
        self, job: str, *, scheduled_for: datetime | None, started_at: datetime, trigger: str, skipped: bool,
        instance: str | None = None, run_id: int | None = None,
    ) -> Run:
        if trigger not in RUN_TRIGGERS:
            raise ValueError(f"a run's trigger must be one of {_choices(RUN_TRIGGERS)}, got {trigger!r}")
        if not job:
            raise ValueError("a run needs a job name")
        slot_text = encode_optional_time(scheduled_for)
        started_text = encode_time(started_at)
        outcome = "skipped" if skipped else "running"
        ended_text = started_text if skipped else None
        row: dict[str, object] = {
            "job": job,
            "scheduled_for": slot_text,
            "started_at": started_text,
            "ended_at": ended_text,
            "outcome": outcome,
            "trigger": trigger,
            "instance": instance if instance != job else None,
        }
        if run_id is not None:
            row = {"id": run_id, **row}
        with self._guard(), transaction(self._db):
            run_id = self._inserted_id(self._db.execute(*RUNS.insert([row])))
            if self._next_run_id is not None:
                self._next_run_id = max(self._next_run_id, run_id + 1)
        return Run(
            run_id,
            job,
            decode_optional_time(slot_text),
            decode_time(started_text),
            decode_optional_time(ended_text),
            None,
            None,
            outcome,
            trigger,
            instance if instance != job else None,
        )

    # Internals

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Hold the lock; turn any database failure into StateError."""
        with self._lock:
            if self._db.is_closed():
                raise StateError(f"{self._opened.name}: the store is closed")
            try:
                yield
            except DbErrors as exc:
                raise state_error(self._opened.name, exc) from exc

    def _prune_events(self) -> None:
        with self._guard(), transaction(self._db):
            self._delete_oldest(EVENT, KEEP_EVENTS)
        self._events_since_prune = 0

    def _delete_oldest(self, table: Table[EventRow] | Table[RevisionRow], keep: int) -> None:
        """Delete all but the newest `keep` rows: ids only grow (AUTOINCREMENT), so one range delete does it."""
        newest = self._db.execute(f"SELECT MAX(id) FROM {table.name}").fetchone()[0]
        if newest is not None and newest > keep:
            self._db.execute(f"DELETE FROM {table.name} WHERE id <= ?", (newest - keep,))

    @staticmethod
    def _inserted_id(cursor: sqlite3.Cursor) -> int:
        if cursor.lastrowid is None:  # an INSERT of one row always sets it
            raise AssertionError("INSERT set no row id")
        return cursor.lastrowid

    def _decoded(self, table: Table[_Row], values: Sequence[Any], decode: Callable[[_Row], _V]) -> _V:
        """`decode` of a fetched row, with a damaged row (bad JSON, time or state) reported as StateError."""
        try:
            return decode(table.decode(values))
        except (ValueError, TypeError) as exc:
            raise StateError(f"{self._opened.name}: {table.name} row {values[0]} is damaged ({exc})") from exc


def _process_row(process: StoredProcess, now: datetime) -> dict[str, object]:
    return {
        "name": process.name,
        "state": ProcessState(process.state).value,
        "spec_hash": process.spec_hash,
        "digests": encode_json(process.digests),
        "failures": process.failures,
        "restarts": process.restarts,
        "exit_code": process.exit_code,
        "exit_signal": process.exit_signal,
        "pid": process.pid,
        "create_time": process.create_time,
        "pgid": process.pgid,
        "started_at": encode_optional_time(process.started_at),
        "retry_at": encode_optional_time(process.retry_at),
        "held": process.held,
        "restart_requested": process.restart_requested,
        "reason": process.reason,
        "updated_at": encode_time(process.updated_at or now),
    }


def _stored_process(row: ProcessRow) -> StoredProcess:
    return StoredProcess(
        name=row.name,
        state=ProcessState(row.state),
        spec_hash=row.spec_hash,
        digests=decode_mapping(row.digests),
        failures=row.failures,
        restarts=row.restarts,
        exit_code=row.exit_code,
        exit_signal=row.exit_signal,
        pid=row.pid,
        create_time=row.create_time,
        pgid=row.pgid,
        started_at=decode_optional_time(row.started_at),
        retry_at=decode_optional_time(row.retry_at),
        held=bool(row.held),
        restart_requested=bool(row.restart_requested),
        reason=row.reason,
        updated_at=decode_time(row.updated_at),
    )


def _event(row: EventRow) -> Event:
    return Event(row.id, decode_time(row.at), row.process, row.kind, row.message)


def _revision(row: RevisionRow) -> Revision:
    files = decode_strings(row.files)
    return Revision(row.id, decode_time(row.at), row.path, row.environment, row.digest, row.config, files)


def _run(row: RunRow) -> Run:
    if row.outcome not in RUN_OUTCOMES:
        raise ValueError(f"unknown outcome {row.outcome!r}")
    if row.trigger not in RUN_TRIGGERS:
        raise ValueError(f"unknown trigger {row.trigger!r}")
    return Run(
        row.id,
        row.job,
        decode_optional_time(row.scheduled_for),
        decode_optional_time(row.started_at),
        decode_optional_time(row.ended_at),
        row.exit_code,
        row.exit_signal,
        row.outcome,
        row.trigger,
        row.instance,
    )


def _choices(values: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in sorted(values))
