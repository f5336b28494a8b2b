"""Opening and closing state.db: pragmas, the integrity check, moving a corrupt file aside, migrations.

Called only by `sentinel.state.store.Store`: nothing else opens the database.

Writable open (the reconciler): the file is created 0600 whatever the umask (SQLite gives its
-wal and -shm the same mode); `PRAGMA quick_check` runs first. A file SQLite calls corrupt or
"not a database" is renamed `state.db.corrupt-<UTC time>`, with whatever -wal/-shm/-journal
SQLite has not already dropped while finding it corrupt, and a fresh database takes its place;
`OpenedDb.recovered` says so, for the caller to record as an event (docs/reliability.md#f33-a-corrupt-state-database:
never a crash loop). Only corruption moves a file: a locked, full, unreadable, newer or foreign
database raises StateError and is left as it was. Then migrations run, and only then
`journal_mode=WAL`; every connection has `synchronous=NORMAL`, `foreign_keys=ON` and a busy
timeout (~2 s by default). Write transactions are Peewee's `atomic()` with BEGIN IMMEDIATE (see
`StateDatabase`).

Read-only open (the CLI, when no reconciler runs): a `file:…?mode=ro` URI plus `query_only`;
it never creates, migrates or repairs anything, and refuses a missing, corrupt, older or newer
file with a StateError.

Closing a writable database switches it back to `journal_mode=DELETE` when no other connection
has it open, so that a read-only open after a clean shutdown needs no -wal/-shm: SQLite creates
those even for a read-only connection to a WAL database when they are missing, and leaves them
behind. A reconciler killed without closing leaves the file in WAL mode with its -wal; readers
and the next reconciler use that -wal, and nothing committed is lost.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import peewee as pw

from sentinel.errors import StateError
from sentinel.state.migrations import SCHEMA_VERSION, check_version, migrate_database, schema_version
from sentinel.state.models import execute

DEFAULT_BUSY_TIMEOUT = 2.0  # seconds a write waits for another connection's lock
DbErrors: tuple[type[Exception], ...] = (pw.PeeweeException, sqlite3.Error)

# journal_mode=WAL is set after the checks and migrations, so that a corrupt, newer or foreign
# file is left as it was.
# cache_size: SQLite's default page cache is 2 MB per connection; state.db's working set is far
# smaller, and the reconciler's memory budget is 50 MB in all (docs/contract.md#performance-budgets).
_WRITABLE_PRAGMAS = (("synchronous", "normal"), ("foreign_keys", "on"), ("cache_size", "-256"))
_READONLY_PRAGMAS = (("query_only", "on"), ("foreign_keys", "on"))
_SIDECARS = ("-wal", "-shm", "-journal")

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
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class StateDatabase(pw.SqliteDatabase):
    """Peewee's SQLite database, one connection shared by the Store's callers (its lock serialises them).

    Transactions begin IMMEDIATE: a writer takes the write lock up front, so it waits (busy
    timeout) for another connection's lock at BEGIN instead of failing with SQLITE_BUSY in the
    middle. A rollback is issued only while SQLite still has a transaction open: SQLite rolls a
    transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR), and a blind ROLLBACK then
    fails with "cannot rollback - no transaction is active", an error that would hide the real one.
    """

    def __init__(self, target: str, *, uri: bool, timeout: float, pragmas: tuple[tuple[str, str], ...]) -> None:
        super().__init__(target, pragmas=pragmas, timeout=timeout, lock_type="IMMEDIATE", thread_safe=False,
                         autoconnect=False, uri=uri, check_same_thread=False)

    def rollback(self) -> None:
        connection: sqlite3.Connection = self.connection()  # type: ignore[no-untyped-call]
        if connection.in_transaction:
            super().rollback()


@dataclass(frozen=True, slots=True)
class OpenedDb:
    """An open, checked, migrated database. `recovered` is set when a corrupt file was replaced."""

    database: StateDatabase
    name: str  # the file name, for messages ("state.db")
    readonly: bool
    recovered: str | None = None  # "state.db was corrupt (…); moved to /…/state.db.corrupt-…"


class _Corrupt(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def open_database(path: Path, *, readonly: bool = False, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> OpenedDb:
    """Open state.db at `path` for the reconciler (writable) or for a reader (`readonly`).

    Raises StateError, never a Peewee or sqlite3 exception.
    """
    if readonly:
        return _open_readonly(path, busy_timeout)
    return _open_writable(path, busy_timeout)


def close_database(opened: OpenedDb) -> None:
    """Close; a writable database is first switched to journal_mode=DELETE if no one else has it open."""
    db = opened.database
    if db.is_closed():
        return
    if not opened.readonly:
        try:
            execute(db, "PRAGMA busy_timeout = 0")
            execute(db, "PRAGMA journal_mode = DELETE")
        except DbErrors:
            pass  # another connection has it open: it stays in WAL mode, which is as safe
    try:
        db.close()
    except DbErrors as exc:
        raise state_error(opened.name, exc) from exc


_HEADER = b"SQLite format 3\0"


def watch_file(path: Path) -> tuple[int, tuple[int, int]] | None:
    """A read-only descriptor on the database file and its (device, inode), for `file_damage`; None when it
    cannot be opened. Keep it open as long as the database: closing any descriptor of the file drops the
    POSIX locks SQLite holds on it (fcntl locks belong to the process, not to a descriptor), so the file is
    never opened and closed again while the database is open."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return None
    info = os.fstat(fd)
    return fd, (info.st_dev, info.st_ino)


def file_damage(path: Path, watched: tuple[int, tuple[int, int]] | None) -> str | None:
    """What happened to the database file opened as `watched` (`watch_file`) while it was open, if anything:
    deleted, replaced, emptied, or overwritten with something that is not SQLite. None when it looks whole,
    or when it cannot be told. Only `stat` and a read through the kept descriptor: no open, no close."""
    try:
        info = os.stat(path)
        header = os.pread(watched[0], len(_HEADER), 0) if watched is not None else _HEADER
    except FileNotFoundError:
        return "was deleted"
    except OSError:
        return None
    if watched is None:
        return None
    if (info.st_dev, info.st_ino) != watched[1]:
        return "was replaced by another file"
    if info.st_size == 0:
        return "was truncated to 0 bytes"
    return None if header == _HEADER else "was overwritten with something that is not a SQLite database"


def reopen_database(opened: OpenedDb, path: Path, damage: str, busy_timeout: float) -> tuple[OpenedDb, Path | None]:
    """Replace a database whose file was damaged under it (`file_damage`): what is left of the file is moved
    aside first (so that closing the old connection, which may checkpoint, writes into that copy, never into
    the new file), the old connection is closed, and a fresh database is opened. Returns it and where the
    old file went (None when there was none). Raises StateError."""
    moved = _move_aside(path, damage) if path.exists() else None
    with contextlib.suppress(StateError):
        close_database(opened)
    return _open_writable(path, busy_timeout), moved


def _open_writable(path: Path, busy_timeout: float) -> OpenedDb:
    name = path.name
    _create_private(path)
    recovered = None
    try:
        db = _connect(path, busy_timeout, readonly=False)
    except _Corrupt as corrupt:
        moved = _move_aside(path, corrupt.detail)
        _create_private(path)
        try:
            db = _connect(path, busy_timeout, readonly=False)
        except _Corrupt as again:  # a fresh file cannot be corrupt: give up rather than loop
            raise StateError(f"{name}: {again.detail} (even after moving the old file to {moved})") from again
        recovered = f"{name} was corrupt ({corrupt.detail}); moved to {moved}"
    _finish(db, name, _upgrade)
    return OpenedDb(db, name, readonly=False, recovered=recovered)


def _open_readonly(path: Path, busy_timeout: float) -> OpenedDb:
    name = path.name
    if not path.is_file():
        raise StateError(f"{name}: not found at {path} (no reconciler has used this state directory yet)")
    try:
        db = _connect(path, busy_timeout, readonly=True)
    except _Corrupt as corrupt:
        raise StateError(f"{name}: {corrupt.detail} (the reconciler moves it aside when it next starts)") from corrupt
    _finish(db, name, _check_readable)
    return OpenedDb(db, name, readonly=True)


def _upgrade(db: StateDatabase, name: str) -> None:
    """Migrate, then switch to WAL: a file that cannot be migrated is left exactly as it was."""
    migrate_database(db, name)
    execute(db, "PRAGMA journal_mode = WAL")


def _check_readable(db: StateDatabase, name: str) -> None:
    found = schema_version(db)
    check_version(found, name)
    if found < SCHEMA_VERSION:
        raise StateError(
            f"{name} has schema {found}, this sentinel reads {SCHEMA_VERSION}: start the reconciler once to upgrade it"
        )


def _finish(db: StateDatabase, name: str, step: Callable[[StateDatabase, str], None]) -> None:
    """Run `step` on a freshly connected database; on any failure close it and raise StateError."""
    try:
        step(db, name)
    except StateError:
        db.close()
        raise
    except DbErrors as exc:
        db.close()
        raise state_error(name, exc) from exc


def _connect(path: Path, busy_timeout: float, *, readonly: bool) -> StateDatabase:
    """Connect, apply the pragmas and run quick_check. Raises _Corrupt, or StateError for anything else."""
    db: StateDatabase | None = None
    try:
        db = StateDatabase(
            path.absolute().as_uri() + "?mode=ro" if readonly else str(path),
            uri=readonly,
            timeout=busy_timeout,
            pragmas=_READONLY_PRAGMAS if readonly else _WRITABLE_PRAGMAS,
        )
        db.connect()
        problems = [str(row[0]) for row in execute(db, "PRAGMA quick_check(1)").fetchall()]
    except DbErrors as exc:
        if db is not None:
            db.close()
        cause = sqlite_cause(exc)
        if cause is not None and primary_code(cause) in _CORRUPT_CODES:
            raise _Corrupt(first_line(cause)) from exc
        raise state_error(path.name, exc) from exc
    if problems != ["ok"]:
        db.close()
        found = [line for problem in problems for line in problem.splitlines() if not line.startswith("***")]
        raise _Corrupt(f"quick_check: {'; '.join(found) or 'no answer'}")
    return db


def _create_private(path: Path) -> None:
    """Create the file if missing, and make it owner-only (0600) whatever the umask."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)  # docs/security.md
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StateError(f"{path.name}: cannot open {path}: {exc.strerror}") from exc


def _move_aside(path: Path, detail: str) -> Path:
    """Rename a corrupt database and its sidecar files out of the way; return its new path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    serial = 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", *_SIDECARS)):
        serial += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{serial}")
    try:
        # Sidecars first: a stale -wal left next to a fresh database would be replayed into it.
        for suffix in _SIDECARS:
            sidecar = Path(f"{path}{suffix}")
            if sidecar.exists():
                os.replace(sidecar, f"{target}{suffix}")
        os.replace(path, target)
    except OSError as exc:
        raise StateError(f"{path.name} is corrupt ({detail}) and could not be moved aside: {exc.strerror}") from exc
    return target


def state_error(name: str, exc: BaseException) -> StateError:
    """One StateError for any database failure: "state.db: database is locked", "state.db: disk is full"."""
    cause = sqlite_cause(exc)
    if cause is None:
        return StateError(f"{name}: {first_line(exc)}")
    code = primary_code(cause)
    reason = _REASONS.get(code) or first_line(cause)
    return StateError(f"{name}: {reason}", sqlite_error=_CODE_NAMES.get(code, getattr(cause, "sqlite_errorname", None)))


def sqlite_cause(exc: BaseException) -> sqlite3.Error | None:
    """The sqlite3 error that is `exc` or behind it (Peewee keeps it as `.orig`), a few links down, if any."""
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
