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
events) and 50 config revisions (checked at each save).
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
    EventRow,
    ProcessRow,
    RevisionRow,
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
from sentinel.state.values import Event, Revision, StoredProcess
from sentinel.states import ProcessState

__all__ = ["KEEP_EVENTS", "KEEP_REVISIONS", "Event", "Revision", "Store", "StoredProcess"]

KEEP_EVENTS = 10_000
PRUNE_EVENTS_EVERY = 500  # events added between two prunes
KEEP_REVISIONS = 50

_Row = TypeVar("_Row", ProcessRow, EventRow, RevisionRow)
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
