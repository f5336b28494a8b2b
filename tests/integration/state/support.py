"""Helpers for the state.db tests: a raw sqlite3 connection and a fixed time.

The raw connection plays "another program" (the sqlite3 shell, a backup, a second process):
it reads what the Store wrote, plants hand-made files and holds locks.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


@contextmanager
def raw(path: Path, *, timeout: float = 0.0) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection in autocommit mode, closed on exit."""
    with closing(sqlite3.connect(path, timeout=timeout, isolation_level=None)) as connection:
        yield connection


def scalar(path: Path, sql: str) -> object:
    """The first column of the first row of `sql`, read by a separate connection."""
    with raw(path) as connection:
        return connection.execute(sql).fetchone()[0]
