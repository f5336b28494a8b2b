"""Faults to drive a real reconciler through (tests/reliability/, docs/reliability.md): process trees,
crashers, output floods, a locked or corrupted state.db, and the zombies a bad reaper would leave.

Commands are shell scripts for `shell: true` processes; each runs for real, none is a mock.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psutil

# A tree three deep: two children in the leader's group, and one that left it with setsid (it escapes a
# kill of the process group; docs/reliability.md#f02-escaped-descendants).
TREE = "sleep 1000 & (sleep 1000 & sleep 1000) & setsid sleep 1000 & wait"
# A crash after a moment, with children left behind to be cleaned up before the restart.
CRASHER = "sleep 1000 & sleep 0.2; exit 3"
# Output as fast as the pipe takes it, in long lines, for ever.
FLOOD = "yes 'flooding the output pipe with one long line after another, as fast as it goes'"


def zombies_under(pid: int) -> list[int]:
    """Zombie descendants of `pid`: children it has not reaped (docs/reliability.md#f04-zombie-accumulation)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child.pid)
    return sorted(found)


@contextlib.contextmanager
def locked_database(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the SQLite database at `path` (another program writing it) until the block ends."""
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def corrupt_database(path: Path) -> None:
    """Overwrite the SQLite header and the first pages of `path` with garbage, as a torn disk write would."""
    with path.open("r+b") as db:
        db.write(b"this is not a database any more " * 256)
