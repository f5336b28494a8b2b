"""One sqlite3 connection and the raw SQL helpers over it: a write transaction, error translation.

Used by the other modules of `sentinel.state` only (db, migrations, store).

`Database` wraps the connection so that it knows whether it is closed (sqlite3 does not say).
`transaction` is an explicit BEGIN IMMEDIATE … COMMIT on an autocommit connection: SQLite rolls
a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR), and a blind ROLLBACK
then fails with "cannot rollback - no transaction is active", an error that would hide the real one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress

from sentinel.errors import StateError

DbErrors: tuple[type[sqlite3.Error], ...] = (sqlite3.Error,)

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


class Database:
    """One autocommit sqlite3 connection, usable from any thread (its owner serialises the callers)."""

    def __init__(self, target: str, *, uri: bool, timeout: float, pragmas: Sequence[tuple[str, str]]) -> None:
        """Connect to `target` (a path, or a `file:` URI when `uri`) and apply `pragmas`."""
        connection = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=uri)
        try:
            for pragma, value in pragmas:
                connection.execute(f"PRAGMA {pragma} = {value}")
        except BaseException:
            connection.close()
            raise
        self._connection: sqlite3.Connection | None = connection

    def is_closed(self) -> bool:
        return self._connection is None

    @property
    def in_transaction(self) -> bool:
        return self._connection is not None and self._connection.in_transaction

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """Run one statement; a closed database raises sqlite3.ProgrammingError."""
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection.execute(sql, params)

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back); closing twice does nothing."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


@contextmanager
def transaction(db: Database) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error without hiding it.

    IMMEDIATE takes the write lock up front, so a writer waits (busy timeout) for another
    connection's lock at BEGIN instead of failing with SQLITE_BUSY in the middle. Inside an
    open transaction it adds nothing: the writes join it.
    """
    if db.in_transaction:  # inside `Store.batch()`: the outer transaction commits
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite may already have rolled it back itself
            with suppress(*DbErrors):
                db.execute("ROLLBACK")
        raise


def state_error(name: str, exc: BaseException) -> StateError:
    """One StateError for any database failure: "state.db: database is locked", "state.db: disk is full"."""
    cause = sqlite_cause(exc)
    if cause is None:
        return StateError(f"{name}: {first_line(exc)}")
    code = primary_code(cause)
    reason = _REASONS.get(code) or first_line(cause)
    return StateError(f"{name}: {reason}", sqlite_error=_CODE_NAMES.get(code, getattr(cause, "sqlite_errorname", None)))


def sqlite_cause(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error that is `exc` or that caused it (a few links down its chain), if any."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None or isinstance(current, sqlite3.Error):
            return current
        current = current.__cause__ or current.__context__
    return None


def primary_code(error: sqlite3.Error) -> int:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else -1


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
