"""Records as the planner holds them ↔ rows as the Store keeps them.

The planner's times are monotonic seconds of this reconciler; the database keeps UTC wall
times, so a record survives a restart of the reconciler (or of the machine's monotonic clock).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sentinel.reconcile.observed import ExitStatus, ProcessIdentity, ProcessRecord
from sentinel.state.store import StoredProcess


def to_stored(
    record: ProcessRecord, identity: ProcessIdentity | None, pgid: int | None, *, mono: float, wall: datetime
) -> StoredProcess:
    exit = record.exit or ExitStatus()
    return StoredProcess(
        name=record.name,
        state=record.state,
        spec_hash=record.spec_hash,
        digests=dict(record.digests),
        failures=record.failures,
        restarts=record.restarts,
        exit_code=exit.code,
        exit_signal=exit.signal,
        pid=identity.pid if identity else None,
        create_time=identity.create_time if identity else None,
        pgid=pgid,
        started_at=_wall(record.started_at, mono, wall),
        retry_at=_wall(record.retry_at, mono, wall),
        held=record.held,
        restart_requested=record.restart_requested,
        reason=record.reason,
    )


def to_record(stored: StoredProcess, *, mono: float, wall: datetime) -> ProcessRecord:
    has_exit = stored.exit_code is not None or stored.exit_signal is not None
    return ProcessRecord(
        name=stored.name,
        state=stored.state,
        spec_hash=stored.spec_hash,
        digests=dict(stored.digests),
        failures=stored.failures,
        restarts=stored.restarts,
        exit=ExitStatus(stored.exit_code, stored.exit_signal) if has_exit else None,
        started_at=_mono(stored.started_at, mono, wall),
        retry_at=_mono(stored.retry_at, mono, wall),
        held=stored.held,
        restart_requested=stored.restart_requested,
        reason=stored.reason,
    )


def identity_of(stored: StoredProcess) -> ProcessIdentity | None:
    if stored.pid is None or stored.create_time is None:
        return None
    return ProcessIdentity(stored.pid, stored.create_time)


def wall_of(at: float | None, *, mono: float, wall: datetime) -> datetime | None:
    return _wall(at, mono, wall)


def _wall(at: float | None, mono: float, wall: datetime) -> datetime | None:
    return None if at is None else wall - timedelta(seconds=mono - at)


def _mono(at: datetime | None, mono: float, wall: datetime) -> float | None:
    return None if at is None else mono - (wall - at).total_seconds()
