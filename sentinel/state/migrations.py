"""Schema migrations of state.db, numbered by `PRAGMA user_version`.

Called by `sentinel.state.db` when it opens a database for writing (a read-only open only
checks the version). `MIGRATIONS[n]` takes a database from schema n to n + 1. Each step runs
in its own IMMEDIATE transaction that also sets `user_version`, so a crash leaves the file at
a whole version. Migrations are frozen SQL and never use the models (which describe only the
latest schema): add a migration, never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable

from sentinel.errors import StateError
from sentinel.state.sql import Database, transaction

Migration = Callable[[Database], None]


def _v1_records_and_events(db: Database) -> None:
    """Schema 1: what the reconciler remembers per process, and the event log."""
    db.execute(
        """
        CREATE TABLE process_record (
            name TEXT NOT NULL PRIMARY KEY,
            state TEXT NOT NULL,
            spec_hash TEXT NOT NULL DEFAULT '',
            digests TEXT NOT NULL DEFAULT '{}',
            failures INTEGER NOT NULL DEFAULT 0,
            restarts INTEGER NOT NULL DEFAULT 0,
            exit_code INTEGER,
            exit_signal INTEGER,
            pid INTEGER,
            create_time REAL,
            pgid INTEGER,
            started_at TEXT,
            retry_at TEXT,
            held INTEGER NOT NULL DEFAULT 0,
            restart_requested INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        )
        """,
    )
    db.execute(
        """
        CREATE TABLE event (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            process TEXT,
            kind TEXT NOT NULL,
            message TEXT NOT NULL
        )
        """,
    )


def _v2_config_revisions(db: Database) -> None:
    """Schema 2: accepted configs (to restore the last good desired state), and events by process."""
    db.execute(
        """
        CREATE TABLE config_revision (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            path TEXT NOT NULL,
            environment TEXT,
            digest TEXT NOT NULL,
            config TEXT NOT NULL,
            files TEXT NOT NULL DEFAULT '[]'
        )
        """,
    )
    db.execute("CREATE INDEX event_process ON event (process, id)")


def _v3_job_runs(db: Database) -> None:
    """Schema 3: the run history of scheduled jobs (one row per run or skipped trigger)."""
    db.execute(
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job TEXT NOT NULL,
            scheduled_for TEXT,
            started_at TEXT,
            ended_at TEXT,
            exit_code INTEGER,
            exit_signal INTEGER,
            outcome TEXT NOT NULL,
            trigger TEXT NOT NULL
        )
        """,
    )
    db.execute("CREATE INDEX runs_job ON runs (job, id)")


def _v4_run_instances(db: Database) -> None:
    """Schema 4: the instance each run ran as (`backup`, or `backup+1` for a run overlapping another under
    `concurrency: allow`), so that a new reconciler matches the runs it adopts to their rows. NULL: the job's
    own name (rows written before schema 4)."""
    db.execute("ALTER TABLE runs ADD COLUMN instance TEXT")


MIGRATIONS: tuple[Migration, ...] = (_v1_records_and_events, _v2_config_revisions, _v3_job_runs, _v4_run_instances)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(db: Database) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def check_version(found: int, name: str) -> None:
    """Refuse a database written by a newer sentinel: its schema is unknown here."""
    if found > SCHEMA_VERSION:
        raise StateError(f"{name} was written by a newer sentinel (schema {found} > {SCHEMA_VERSION})")


def migrate(db: Database, name: str) -> int:
    """Bring `db` to SCHEMA_VERSION, one transaction per step; return the version it was at.

    Raises StateError for a newer schema; SQLite errors from a step propagate (the caller
    translates them) and leave the file at the last whole version.
    """
    found = schema_version(db)
    check_version(found, name)
    for version in range(found, SCHEMA_VERSION):
        with transaction(db):
            if schema_version(db) != version:  # another connection got here first
                continue
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
    return found
