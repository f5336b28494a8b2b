"""Store: the reconciler's memory in state.db; the only module that issues queries (through Peewee).

The controller opens one writable Store for its lifetime and is its only writer; the CLI
opens one read-only (`sentinel status`, `sentinel events` when no reconciler runs). Methods
take and return the plain frozen values of `sentinel.state.values`, never database rows.

Every database failure (locked past the busy timeout, disk full, read-only, corrupt) raises
one exception type, `StateError`, with a one-line message ("state.db: database is locked");
the caller decides to log it and carry on. A wrong argument (a naive datetime, a kind that is
not snake_case) is a ValueError: a bug in the caller, not a state of the database.

A Store holds one SQLite connection; a lock serialises its callers, so it may be shared by
threads, although the controller uses it from its loop thread only.

Writes go in Peewee's `atomic()` (BEGIN IMMEDIATE); inside `batch()` (a reconcile pass) they
join its one transaction.

Retention: at most ~10,000 events (the oldest are deleted, checked at open and every 500
events) and 50 config revisions (checked at each save). Job runs are kept until the caller
prunes them (`prune_runs`, with the job's `keep_runs`); they are numbered per job (1, 2, 3 …).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import peewee as pw

from sentinel.errors import StateError
from sentinel.state.db import (
    DEFAULT_BUSY_TIMEOUT,
    DbErrors,
    OpenedDb,
    close_database,
    file_damage,
    open_database,
    reopen_database,
    state_error,
    watch_file,
)
from sentinel.state.models import (
    EventRow,
    ProcessRow,
    RevisionRow,
    RunRow,
    SourceRow,
    as_stored,
    bind_tables,
    execute,
)
from sentinel.state.values import (
    RUN_OUTCOMES,
    RUN_TRIGGERS,
    Event,
    NewEvent,
    Revision,
    Run,
    SourceRecord,
    StoredProcess,
)

__all__ = ["KEEP_EVENTS", "KEEP_REVISIONS", "Event", "NewEvent", "Revision", "Run", "Store", "StoredProcess"]

KEEP_EVENTS = 10_000
PRUNE_EVENTS_EVERY = 500  # events added between two prunes
KEEP_REVISIONS = 50

_V = TypeVar("_V")

_KIND = re.compile(r"[a-z][a-z0-9_]*\Z")


class Store:
    """state.db, open. Use `Store.open(path)`; close it (or use it as a context manager)."""

    def __init__(self, opened: OpenedDb, path: Path | None = None, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self._opened = opened
        self._db = opened.database
        self._tables = bind_tables(self._db)
        self._path, self._busy_timeout = path, busy_timeout
        # A descriptor on the file and its (device, inode), for `damage` (writable stores only).
        self._watched = watch_file(path) if path is not None and not opened.readonly else None
        self._lock = threading.RLock()
        self._events_since_prune = 0
        self._next_numbers: dict[str, int] = {}  # job → the number its next run gets
        self._statements: dict[Hashable, str] = {}  # the SQL Peewee wrote once for each query shape (`_sql`)
        self.recovered: str | None = opened.recovered
        """Set when the file was corrupt and replaced: "state.db was corrupt (…); moved to …"."""

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Store:
        """Open (creating and migrating unless `readonly`) the database at `path`.

        `busy_timeout` is how long, in seconds, a write waits for another connection's lock
        before it fails with StateError.
        """
        store = cls(open_database(path, readonly=readonly, busy_timeout=busy_timeout), path, busy_timeout)
        if not readonly:
            with suppress(StateError):  # housekeeping only: tried again after PRUNE_EVENTS_EVERY events
                store._prune_events()
        return store

    @property
    def readonly(self) -> bool:
        return self._opened.readonly

    def close(self) -> None:
        with self._lock:
            try:
                close_database(self._opened)
            finally:
                self._unwatch()

    def _unwatch(self) -> None:
        """Close the descriptor `damage` reads through: only once SQLite is done with that file (see `watch_file`)."""
        if self._watched is not None:
            os.close(self._watched[0])
            self._watched = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def damage(self) -> str | None:
        """What happened to the file under the open (writable) database since it was opened: "was deleted",
        "was truncated to 0 bytes", … (`sentinel.state.db.file_damage`); None when it looks whole."""
        if self._path is None or self.readonly:
            return None
        if self._db.is_closed():
            return "could not be opened again"
        return file_damage(self._path, self._watched)

    def reopen(self, damage: str) -> Path | None:
        """After `damage()` said what happened: move what is left aside, open a fresh database in its place
        (empty: the caller writes back what it holds). Returns where the old file went. Raises StateError."""
        assert self._path is not None, "only a store opened from a path is reopened"
        with self._lock:
            opened, moved = reopen_database(self._opened, self._path, damage, self._busy_timeout)
            self._unwatch()  # the old connection is closed: its file's locks no longer matter
            self._opened, self._db = opened, opened.database
            self._tables = bind_tables(self._db)
            self._watched = watch_file(self._path)
            self._events_since_prune = 0
        return moved

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every write inside (a reconcile pass): one commit instead of one per write."""
        with self._writing():
            yield

    # Process records

    def processes(self) -> dict[str, StoredProcess]:
        """Every stored process record by name, in name order."""
        table = self._tables.process
        decoded = self._read(table.select().order_by(table.name), _stored_process)
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
        with self._writing():
            self._insert_each(self._tables.process, rows, replace=True)

    def delete_process(self, name: str) -> None:
        """Forget a process (pruned from the config). Deleting an unknown name does nothing."""
        table = self._tables.process
        with self._writing():
            table.delete().where(table.name == name).execute()

    # Events

    def add_event(self, kind: str, message: str, *, process: str | None = None, at: datetime,
                  revision: str | None = None) -> Event:
        """Record an event (while the git source's commit `revision` is in force, if one is). Line breaks in
        `message` become "; " so it stays one line."""
        return self.add_events([NewEvent(kind, message, at, process, revision)])[0]

    def add_events(self, new: Sequence[NewEvent]) -> list[Event]:
        """Record several events in one transaction (all or none), in order: a pass's events cost one insert
        (cold start, docs/contract.md#performance-budgets). Each as `add_event` records it."""
        events: list[Event] = []
        for event in new:
            if not _KIND.match(event.kind):
                raise ValueError(f"event kind must be snake_case, got {event.kind!r}")
            text = "; ".join(part.strip() for part in event.message.splitlines() if part.strip())
            events.append(Event(0, as_stored(event.at), event.process, event.kind, text, event.revision))
        if not events:
            return events
        table = self._tables.event
        with self._writing():
            last_id = self._insert_each(table, [{"at": e.at, "process": e.process, "kind": e.kind,
                                                 "message": e.message, "revision": e.revision} for e in events])
            # Inserted in order under the write lock: AUTOINCREMENT gave them consecutive ids, the last one last.
            first_id = last_id - len(events) + 1
            events = [replace(event, id=first_id + i) for i, event in enumerate(events)]
            prune = self._events_since_prune + len(events) >= PRUNE_EVENTS_EVERY
            if prune:
                self._delete_oldest(table, KEEP_EVENTS)
        self._events_since_prune = 0 if prune else self._events_since_prune + len(events)
        return events

    def events(self, *, process: str | None = None, kinds: Collection[str] = (), limit: int | None = 20,
               after: int | None = None, before: int | None = None) -> list[Event]:
        """The newest `limit` events (all when None), newest last; with `after`, the oldest `limit` events
        whose id is past it; with `before`, the newest `limit` events whose id is below it.

        `process` keeps the events of that process and of its instances: "web" matches "web",
        "web.0" and "web.1", but not "webby" nor "web.api" (replicas are numbered). `kinds` keeps only
        events of those kinds.
        """
        if limit is not None and limit <= 0:
            return []
        table = self._tables.event
        query = table.select()
        if process is not None:
            # The name, or a range on the prefix whose remainder is digits only (an index range scan).
            prefix = f"{process}."
            not_digits = pw.Expression(pw.fn.substr(table.process, len(prefix) + 1), "GLOB", "*[^0-9]*")
            instances = (table.process > prefix) & (table.process < f"{process}/") & ~not_digits
            query = query.where((table.process == process) | instances)
        if kinds:
            query = query.where(table.kind.in_(list(kinds)))
        return self._paged(query, table.id, _event, limit=limit, after=after, before=before)

    # Config revisions

    def save_revision(
        self, *, path: str, environment: str | None, digest: str, config: str, files: Sequence[str], at: datetime,
        revision: str | None = None, subject: str | None = None, changes: Sequence[str] = (),
    ) -> Revision:
        """Record a resolved config the reconciler accepted (from the git source's commit `revision`, if it came
        from one, and what applying it changed); keeps the newest KEEP_REVISIONS."""
        at = as_stored(at)
        table = self._tables.revision
        with self._writing():
            revision_id = table.insert(at=at, path=path, environment=environment, digest=digest, config=config,
                                       files=files, revision=revision, subject=subject, changes=changes).execute()
            self._delete_oldest(table, KEEP_REVISIONS)
        return Revision(int(revision_id), at, path, environment, digest, config, tuple(files), revision, subject,
                        tuple(changes))

    def revisions(self, limit: int = KEEP_REVISIONS) -> list[Revision]:
        """The newest accepted configs, newest first (`sentinel history`)."""
        table = self._tables.revision
        return self._read(table.select().order_by(table.id.desc()).limit(limit), _revision)

    # The git source's state

    def source_state(self) -> SourceRecord:
        """The git source's commit applied last and since when it is suspended (None, None when never saved)."""
        table = self._tables.source
        found = self._read(table.select().where(table.id == 1), _source)
        return found[0] if found else SourceRecord(None, None, None)

    def save_source_state(self, record: SourceRecord) -> None:
        table = self._tables.source
        with self._writing():
            table.insert(id=1, applied=record.applied, subject=record.subject,
                         suspended_at=record.suspended_at).on_conflict_replace().execute()

    def last_revision(self) -> Revision | None:
        """The newest accepted config, or None when there is none."""
        table = self._tables.revision
        found = self._read(table.select().order_by(table.id.desc()).limit(1), _revision)
        return found[0] if found else None

    # Job runs

    def reserve_run_id(self, job: str) -> int:
        """The number the next run of `job` gets (1, 2, 3 … per job), for a run to be recorded later
        (`start_run(run_id=…)`): the reconciler numbers a run (and labels its log lines) even while the
        database is locked by another program. Numbers only grow, even past pruned rows; this store must be
        the only one that adds runs."""
        with self._guard():
            number = self._next_number(job)
            self._next_numbers[job] = number + 1
        return number

    def start_run(self, job: str, *, scheduled_for: datetime | None, started_at: datetime, trigger: str,
                  instance: str | None = None, run_id: int | None = None) -> Run:
        """Record a run that starts now (outcome `running`) as `instance` (default: the job's name), numbered
        `run_id` (from `reserve_run_id`) or the job's next number; `finish_run` with it when it ends."""
        return self._add_run(job, scheduled_for=scheduled_for, started_at=started_at, trigger=trigger, skipped=False,
                             instance=instance, run_id=run_id)

    def add_skipped_run(self, job: str, *, scheduled_for: datetime | None, at: datetime, trigger: str,
                        run_id: int | None = None) -> Run:
        """Record a trigger that did not run (concurrency `forbid`): started and ended `at`, outcome `skipped`."""
        return self._add_run(job, scheduled_for=scheduled_for, started_at=at, trigger=trigger, skipped=True,
                             run_id=run_id)

    def finish_run(
        self,
        job: str,
        run_id: int,
        *,
        ended_at: datetime,
        outcome: str,
        exit_code: int | None = None,
        exit_signal: int | None = None,
    ) -> None:
        """Record how run `run_id` of `job` ended. `outcome` is any of RUN_OUTCOMES but `running`.

        An unknown run (pruned meanwhile) does nothing.
        """
        if outcome not in RUN_OUTCOMES or outcome == "running":
            raise ValueError(
                f"a finished run's outcome must be one of {_choices(RUN_OUTCOMES - {'running'})}, got {outcome!r}"
            )
        table = self._tables.run
        ended_at = as_stored(ended_at)
        with self._writing():
            table.update(ended_at=ended_at, outcome=outcome, exit_code=exit_code, exit_signal=exit_signal).where(
                (table.job == job) & (table.number == run_id)
            ).execute()

    def runs(self, job: str, *, limit: int | None = 20, after: int | None = None,
             before: int | None = None) -> list[Run]:
        """The newest `limit` runs of `job` (all when None), newest last; `after` and `before` (run numbers)
        as for `events`."""
        if limit is not None and limit <= 0:
            return []
        table = self._tables.run
        return self._paged(table.select().where(table.job == job), table.number, _run, limit=limit, after=after,
                           before=before)

    def _paged(self, query: pw.ModelSelect[Any], key: pw.Field, convert: Callable[[Any], _V], *,
               limit: int | None, after: int | None, before: int | None) -> list[_V]:
        """`query`'s rows in `key` order: the first `limit` past `after`, else the last `limit` (below `before`)."""
        if before is not None:
            query = query.where(key < before)
        if after is not None:
            query = query.where(key > after).order_by(key)
            return self._read(query if limit is None else query.limit(limit), convert)
        query = query.order_by(key.desc())
        return list(reversed(self._read(query if limit is None else query.limit(limit), convert)))

    def open_runs(self, job: str) -> list[Run]:
        """The runs of `job` still `running` (more than one only under `concurrency: allow`), oldest first."""
        table = self._tables.run
        query = table.select().where((table.job == job) & (table.outcome == "running")).order_by(table.number)
        return self._read(query, _run)

    def last_run(self, job: str) -> Run | None:
        """The newest run of `job` (by number, whatever its outcome), or None when it never ran. `runs(job, limit=1)`
        with its statement written once: `status` asks it of every job at each build, and building the query anew
        cost about half a millisecond a job (docs/limitations.md, 1000 processes)."""
        table = self._tables.run
        sql = self._sql("last_run", lambda: table.select().where(table.job == job).order_by(table.number.desc())
                        .limit(1))
        try:
            with self._guard():
                rows = list(table.raw(sql, job, 1).iterator())
            return _run(rows[0]) if rows else None
        except (ValueError, TypeError):  # a damaged row: `runs` names it, as every read does
            found = self.runs(job, limit=1)
            return found[0] if found else None

    def last_slot(self, job: str) -> datetime | None:
        """The trigger slot of the newest run of `job` that had one (manual runs have none), or None."""
        table = self._tables.run
        query = (table.select(table.id, table.scheduled_for)
                 .where((table.job == job) & table.scheduled_for.is_null(False))
                 .order_by(table.number.desc()).limit(1))
        found = self._read(query, lambda row: row.scheduled_for)
        return found[0] if found else None

    def prune_runs(self, job: str, keep: int) -> None:
        """Delete all but the newest `keep` runs of `job`; other jobs' runs are untouched."""
        if keep < 0:
            raise ValueError(f"keep must be 0 or more, got {keep}")
        table = self._tables.run
        with self._writing():
            if self._next_number(job) - 1 <= keep:
                return  # no more than `keep` runs were ever numbered: nothing to delete, without a statement
            sql = self._sql("prune_runs", lambda: table.delete().where((table.job == job) & table.number.not_in(
                table.select(table.number).where(table.job == job).order_by(table.number.desc()).limit(keep))))
            self._db.execute_sql(sql, (job, job, keep))  # type: ignore[no-untyped-call]

    def close_open_runs(self, at: datetime) -> int:
        """Mark every `running` run `stopped`, ended `at` (at start-up: its reconciler died); return how many."""
        table = self._tables.run
        at = as_stored(at)
        with self._writing():
            return int(table.update(outcome="stopped", ended_at=at).where(table.outcome == "running").execute())

    def _add_run(
        self, job: str, *, scheduled_for: datetime | None, started_at: datetime, trigger: str, skipped: bool,
        instance: str | None = None, run_id: int | None = None,
    ) -> Run:
        if trigger not in RUN_TRIGGERS:
            raise ValueError(f"a run's trigger must be one of {_choices(RUN_TRIGGERS)}, got {trigger!r}")
        if not job:
            raise ValueError("a run needs a job name")
        slot = None if scheduled_for is None else as_stored(scheduled_for)
        started_at = as_stored(started_at)
        run = Run(run_id or 0, job, slot, started_at, started_at if skipped else None, None, None,
                  "skipped" if skipped else "running", trigger, instance if instance != job else None)
        table = self._tables.run
        with self._writing():
            number = run_id if run_id is not None else self._next_number(job)
            self._insert_each(table, [{"job": job, "scheduled_for": run.scheduled_for, "started_at": run.started_at,
                                       "ended_at": run.ended_at, "outcome": run.outcome, "trigger": trigger,
                                       "instance": run.instance, "number": number}])
            self._next_numbers[job] = max(self._next_numbers.get(job, 1), number + 1)
        return replace(run, id=number)

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

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """`_guard` and a write transaction (`atomic()`, BEGIN IMMEDIATE), or the open batch's."""
        with self._guard():
            if self._db.in_transaction():  # inside `batch()`: the outer transaction commits
                yield
                return
            with self._db.atomic():
                yield

    def _insert_each(self, table: type[pw.Model], rows: Sequence[Mapping[str, object]], *,
                     replace: bool = False) -> int:
        """Insert `rows` (column → value, the same columns each; `replace`: or replace the row of the same key) in
        the open transaction: one statement, prepared once, run for each row (sqlite3's `executemany`). One
        statement of many rows would be a new one for every number of rows, and sqlite3 keeps the statements it
        prepared: 150 sizes of the event insert kept 8.5 MB. Returns the id of the last row inserted."""
        # Peewee writes the columns of an insert in the model's order, whatever the order of the row's keys: the
        # values go in that order too.
        fields = [field for field in table._meta.sorted_fields if field.name in rows[0]]
        key = ("insert", table._meta.table_name, tuple(field.name for field in fields), replace)

        def insert() -> pw.Query:
            query = table.insert(rows[0])
            return query.on_conflict_replace() if replace else query

        sql = self._sql(key, insert)
        cursor: sqlite3.Cursor = self._db.cursor()  # type: ignore[no-untyped-call]
        cursor.executemany(sql, [[field.db_value(row[field.name]) for field in fields] for row in rows])
        return int(execute(self._db, "SELECT last_insert_rowid()").fetchone()[0])

    def _sql(self, shape: Hashable, query: Callable[[], pw.Query]) -> str:
        """The SQL of `query()`, written by Peewee the first time a query of this `shape` is asked for and kept:
        the statements run at every run, record or event have their values passed apart, and building the query
        anew each time cost about half a millisecond (docs/limitations.md, 1000 processes)."""
        sql = self._statements.get(shape)
        if sql is None:
            sql = self._statements[shape] = query().sql()[0]
        return sql

    def _read(self, query: pw.ModelSelect[Any], decode: Callable[[Any], _V]) -> list[_V]:
        """`decode` of each row of `query`; a row that does not decode (bad JSON, time, state) is a StateError
        naming its table and key."""
        decoded: list[_V] = []
        with self._guard():
            try:
                for row in query.iterator():
                    decoded.append(decode(row))
            except (ValueError, TypeError) as exc:
                model = query.model
                keys = (row.get_id() for row in query.select(model._meta.primary_key))
                key = next(islice(keys, len(decoded), None), "?")  # the row after the last that decoded
                raise StateError(f"{self._opened.name}: {model._meta.table_name} row {key} is damaged ({exc})") from exc
        return decoded

    def _next_number(self, job: str) -> int:
        if job not in self._next_numbers:
            table = self._tables.run
            newest = table.select(pw.fn.MAX(table.number)).where(table.job == job).scalar()
            self._next_numbers[job] = int(newest or 0) + 1
        return self._next_numbers[job]

    def _prune_events(self) -> None:
        with self._writing():
            self._delete_oldest(self._tables.event, KEEP_EVENTS)
        self._events_since_prune = 0

    @staticmethod
    def _delete_oldest(table: type[EventRow] | type[RevisionRow], keep: int) -> None:
        """Delete all but the newest `keep` rows: ids only grow (AUTOINCREMENT), so one range delete does it."""
        newest = table.select(pw.fn.MAX(table.id)).scalar()
        if newest is not None and newest > keep:
            table.delete().where(table.id <= newest - keep).execute()


def _process_row(process: StoredProcess, now: datetime) -> dict[str, object]:
    return {
        "name": process.name,
        "state": process.state,
        "spec_hash": process.spec_hash,
        "digests": process.digests,
        "failures": process.failures,
        "restarts": process.restarts,
        "exit_code": process.exit_code,
        "exit_signal": process.exit_signal,
        "pid": process.pid,
        "create_time": process.create_time,
        "pgid": process.pgid,
        "started_at": process.started_at,
        "retry_at": process.retry_at,
        "held": process.held,
        "restart_requested": process.restart_requested,
        "reason": process.reason,
        "updated_at": process.updated_at or now,
    }


def _stored_process(row: ProcessRow) -> StoredProcess:
    return StoredProcess(
        name=row.name,
        state=row.state,
        spec_hash=row.spec_hash,
        digests=row.digests,
        failures=row.failures,
        restarts=row.restarts,
        exit_code=row.exit_code,
        exit_signal=row.exit_signal,
        pid=row.pid,
        create_time=row.create_time,
        pgid=row.pgid,
        started_at=row.started_at,
        retry_at=row.retry_at,
        held=bool(row.held),
        restart_requested=bool(row.restart_requested),
        reason=row.reason,
        updated_at=row.updated_at,
    )


def _event(row: EventRow) -> Event:
    return Event(row.id, row.at, row.process, row.kind, row.message, row.revision)


def _revision(row: RevisionRow) -> Revision:
    return Revision(row.id, row.at, row.path, row.environment, row.digest, row.config, row.files, row.revision,
                    row.subject, row.changes)


def _source(row: SourceRow) -> SourceRecord:
    return SourceRecord(row.applied, row.subject, row.suspended_at)


def _run(row: RunRow) -> Run:
    if row.outcome not in RUN_OUTCOMES:
        raise ValueError(f"unknown outcome {row.outcome!r}")
    if row.trigger not in RUN_TRIGGERS:
        raise ValueError(f"unknown trigger {row.trigger!r}")
    return Run(row.number, row.job, row.scheduled_for, row.started_at, row.ended_at, row.exit_code, row.exit_signal,
               row.outcome, row.trigger, row.instance)


def _choices(values: Iterable[str]) -> str:
    return ", ".join(repr(value) for value in sorted(values))
