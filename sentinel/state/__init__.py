"""The reconciler's memory across restarts: state.db (SQLite in WAL mode, through Peewee).

Used by the controller (the only writer) and, read-only, by the CLI when no reconciler runs.
`Store` is the whole interface; it returns the plain values below.
"""

from __future__ import annotations

from sentinel.state.store import Store
from sentinel.state.values import RUN_OUTCOMES, RUN_TRIGGERS, Event, Revision, Run, StoredProcess

__all__ = ["RUN_OUTCOMES", "RUN_TRIGGERS", "Event", "Revision", "Run", "Store", "StoredProcess"]
