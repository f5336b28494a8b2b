"""Raw SQL helpers over a Peewee SQLite database: typed execution, a write transaction, error translation.

Used by the other modules of `sentinel.state` only (db, migrations, store).

`transaction` exists instead of Peewee's `atomic()` because SQLite rolls a transaction back by
itself on some errors (SQLITE_FULL, SQLITE_IOERR): Peewee then issues a ROLLBACK that fails
with "cannot rollback - no transaction is active", and that error hides the real one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import peewee as pw

from sentinel.errors import StateError

DbErrors = (pw.PeeweeException, sqlite3.Error)

# SQLite primary result codes (the low byte of an extended code) that sentinel names.
_CODE_NAMES = {
    sqlite3.SQLITE_BUSY: "SQLITE_BUSY",
    sqlite3.SQLITE_LOCKED: "SQLITE_LOCKED",
    sqlite3.SQLITE_READONLY: "SQLITE_READONLY",
    sqlite3.SQLITE_IOERR: "SQLITE_IOERR",
    sqlite3.SQLITE_CORRUPT: "SQLITE_CORRUPT",
    sqlite3.SQLITE_FULL: "SQLITE_FULL",
    sqlite3.SQLITE_CANTOPEN: "SQLITE_CANTOPEN",
    sqlite3.SQLITE_NOTADB: "SQLITE_NOTADB",
}
_REASONS = {
    sqlite3.SQLITE_BUSY: "database is locked",
    sqlite3.SQLITE_LOCKED: "database is locked",
    sqlite3.SQLITE_READONLY: "database is read-only",
    sqlite3.SQLITE_FULL: "disk is full",
}
CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def execute_sql(db: pw.SqliteDatabase, sql: str) -> sqlite3.Cursor:
    """`db.execute_sql` with a type (Peewee's stub leaves it untyped)."""
    cursor: sqlite3.Cursor = db.execute_sql(sql)  # type: ignore[no-untyped-call]
    return cursor


@contextmanager
def transaction(db: pw.SqliteDatabase) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error without hiding it.

    IMMEDIATE takes the write lock up front, so a writer waits (busy timeout) for another
    connection's lock at BEGIN instead of failing with SQLITE_BUSY in the middle. Inside an
    open transaction it adds nothing: the writes join it.
    """
    connection: sqlite3.Connection = db.connection()  # type: ignore[no-untyped-call]
    if connection.in_transaction:  # inside `Store.batch()`: the outer transaction commits
        yield
        return
    execute_sql(db, "BEGIN IMMEDIATE")
    try:
        yield
        execute_sql(db, "COMMIT")
    except BaseException:
        if connection.in_transaction:  # SQLite may already have rolled it back itself
            with suppress(*DbErrors):
                execute_sql(db, "ROLLBACK")
        raise


def state_error(name: str, exc: BaseException) -> StateError:
    """One StateError for any database failure: "state.db: database is locked", "state.db: disk is full"."""
    cause = sqlite_cause(exc)
    if cause is None:
        return StateError(f"{name}: {first_line(exc)}")
    code = primary_code(cause)
    reason = _REASONS.get(code) or first_line(cause)
    return StateError(f"{name}: {reason}", sqlite_error=_CODE_NAMES.get(code, cause.sqlite_errorname))


def sqlite_cause(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error behind a Peewee exception (Peewee keeps it as `.orig`)."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None or isinstance(current, sqlite3.Error):
            return current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
    return None


def primary_code(error: sqlite3.Error) -> int:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
