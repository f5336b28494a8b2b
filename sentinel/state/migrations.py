"""Schema migrations of state.db, keyed on its schema version (`PRAGMA user_version`).

Called by `sentinel.state.db` when it opens a database for writing (a read-only open only
checks the version). A new file (version 0) gets its tables straight from the models
(`sentinel.state.models`, the one definition of the latest schema). An older file is brought
forward one version at a time: `STEPS[n]` takes it from schema n to n + 1 with
`playhouse.migrate` operations (frozen SQL for the tables the first schemas created). Each step
runs in its own IMMEDIATE transaction that also sets `user_version`, so a crash leaves the file
at a whole version. Steps never use the models, which describe only the latest schema: add a
step (and bump SCHEMA_VERSION), never edit one that has shipped; tests/integration/state keeps a
file written by each earlier release and checks that it migrates to exactly what the models create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import peewee as pw

from sentinel.errors import StateError
from sentinel.state.models import bind_tables, execute

if TYPE_CHECKING:
    from playhouse.migrate import Operation, SqliteMigrator

Step = Callable[[pw.SqliteDatabase, "SqliteMigrator"], None]


def _migrate(*operations: Operation) -> None:
    """playhouse.migrate's `migrate`, imported only when a file needs a step: a reconciler whose state.db is
    current never loads it (0.4 MB of its memory, docs/contract.md#performance-budgets)."""
    from playhouse.migrate import migrate

    migrate(*operations)


def _v2_config_revisions(db: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Schema 2: accepted configs (to restore the last good desired state), and events by process."""
    execute(
        db,
        "CREATE TABLE config_revision (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, path TEXT NOT NULL, "
        "environment TEXT, digest TEXT NOT NULL, config TEXT NOT NULL, files TEXT NOT NULL DEFAULT '[]')",
    )
    execute(db, "CREATE INDEX event_process ON event (process, id)")


def _v3_job_runs(db: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Schema 3: the run history of scheduled jobs (one row per run or skipped trigger)."""
    execute(
        db,
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, scheduled_for TEXT, "
        "started_at TEXT, ended_at TEXT, exit_code INTEGER, exit_signal INTEGER, outcome TEXT NOT NULL, "
        "trigger TEXT NOT NULL)",
    )
    execute(db, "CREATE INDEX runs_job ON runs (job, id)")


def _v4_run_instances(db: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Schema 4: the instance each run ran as (`backup`, or `backup+1` for a run overlapping another under
    `concurrency: allow`), so that a new reconciler matches the runs it adopts to their rows. NULL: the job's
    own name (rows written before schema 4)."""
    _migrate(migrator.add_column("runs", "instance", pw.TextField(null=True)))


def _v5_run_numbers_per_job(db: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Schema 5: runs are numbered per job (1, 2, 3 … as CI systems number builds per pipeline). Rows written
    before keep the number they had (their global id), which their log lines show; a job's next run follows
    its highest. The indexes of events and runs take the names Peewee gives them."""
    _migrate(migrator.add_column("runs", "number", pw.IntegerField(null=True)))
    execute(db, "UPDATE runs SET number = id")
    _migrate(
        migrator.add_not_null("runs", "number"),
        migrator.drop_index("runs", "runs_job"),
        migrator.add_index("runs", ("job", "number"), unique=True),
        migrator.drop_index("event", "event_process"),
        migrator.add_index("event", ("process", "id")),
    )


def _v6_git_source(db: pw.SqliteDatabase, migrator: SqliteMigrator) -> None:
    """Schema 6: a revision names the git source's commit it came from and what applying it changed, an event
    the commit in force when it happened; the source's own state (the commit applied last, suspended since
    when) survives a restart."""
    execute(db, 'ALTER TABLE "config_revision" ADD COLUMN "revision" TEXT')
    execute(db, 'ALTER TABLE "event" ADD COLUMN "revision" TEXT')
    execute(db, 'ALTER TABLE "config_revision" ADD COLUMN "subject" TEXT')
    execute(db, """ALTER TABLE "config_revision" ADD COLUMN "changes" TEXT NOT NULL DEFAULT '[]'""")
    execute(db, 'CREATE TABLE "source_state" ("id" INTEGER NOT NULL PRIMARY KEY, "applied" TEXT, "subject" TEXT, '
                '"suspended_at" TEXT)')


# STEPS[n] takes a file from schema n to n + 1; schema 0 (a new file) is created from the models.
STEPS: tuple[Step | None, ...] = (None, _v2_config_revisions, _v3_job_runs, _v4_run_instances, _v5_run_numbers_per_job,
                                  _v6_git_source)
SCHEMA_VERSION = len(STEPS)


def schema_version(db: pw.SqliteDatabase) -> int:
    row = execute(db, "PRAGMA user_version").fetchone()
    return int(row[0])


def check_version(found: int, name: str) -> None:
    """Refuse a database written by a newer sentinel: its schema is unknown here."""
    if found > SCHEMA_VERSION:
        raise StateError(f"{name} was written by a newer sentinel (schema {found} > {SCHEMA_VERSION})")


def migrate_database(db: pw.SqliteDatabase, name: str) -> int:
    """Bring `db` to SCHEMA_VERSION, one transaction per step; return the version it was at.

    Raises StateError for a newer schema; database errors from a step propagate (the caller
    translates them) and leave the file at the last whole version.
    """
    found = schema_version(db)
    check_version(found, name)
    if found == 0:
        with db.atomic():
            if schema_version(db) == 0:  # else another connection got here first
                db.create_tables(bind_tables(db).all, safe=False)
                _set_version(db, SCHEMA_VERSION)
        return found
    if found == SCHEMA_VERSION:
        return found
    from playhouse.migrate import SqliteMigrator

    migrator = SqliteMigrator(db)
    for version in range(found, SCHEMA_VERSION):
        step = STEPS[version]
        with db.atomic():
            if schema_version(db) != version or step is None:  # another connection got here first
                continue
            step(db, migrator)
            _set_version(db, version + 1)
    return found


def _set_version(db: pw.SqliteDatabase, version: int) -> None:
    execute(db, f"PRAGMA user_version = {int(version)}")

