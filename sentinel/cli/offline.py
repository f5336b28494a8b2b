"""Answers from state.db when no reconciler runs: `status`, `events` and `diff` (DESIGN §5).

Reads the database read-only and never starts anything. What it shows is the last state the
reconciler recorded; whether those processes still run is not checked here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sentinel.errors import SentinelError
from sentinel.paths import StateDir
from sentinel.state.values import iso


def _store(sd: StateDir) -> Any:
    from sentinel.state.store import Store

    if not sd.db.exists():
        return None
    return Store.open(sd.db, readonly=True)


def offline_rows(sd: StateDir) -> list[dict[str, Any]]:
    store = _store(sd)
    if store is None:
        return []
    try:
        stored = store.processes()
    finally:
        store.close()
    rows = []
    for name in sorted(stored):
        p = stored[name]
        rows.append({
            "name": name, "state": str(p.state), "health": "none", "pid": p.pid, "restarts": p.restarts,
            "exit_code": p.exit_code, "started_at": iso(p.started_at), "uptime_s": None, "cpu_percent": None,
            "memory_rss": None, "group": None, "next_run": None, "last_run": None, "reason": p.reason,
        })
    return rows


def offline_events(sd: StateDir, process: str | None, limit: int) -> list[dict[str, Any]]:
    store = _store(sd)
    if store is None:
        return []
    try:
        events = store.events(process=process, limit=limit)
    finally:
        store.close()
    return [{"at": iso(e.at), "process": e.process, "kind": e.kind, "message": e.message} for e in events]


def offline_diff(sd: StateDir, path: str, env: str | None) -> list[str]:
    """The plan against the recorded state, taking what was running as still running."""
    from sentinel.config.loader import load
    from sentinel.reconcile.desired import expand
    from sentinel.reconcile.observed import ObservedProcess, ProcessIdentity
    from sentinel.reconcile.planner import plan
    from sentinel.reconcile.render import diff_lines
    from sentinel.state.convert import to_record
    from sentinel.states import ProcessState

    loaded = load(path, env=env)
    store = None
    try:
        store = _store(sd)
        stored = store.processes() if store is not None else {}
    except SentinelError:
        stored = {}
    finally:
        if store is not None:
            store.close()
    now = datetime.now(UTC)
    records = {name: to_record(row, mono=0.0, wall=now) for name, row in stored.items()}
    live = (ProcessState.RUNNING, ProcessState.STARTING, ProcessState.STOPPING)
    observed = {
        name: ObservedProcess(name=name, identity=ProcessIdentity(row.pid or 0, row.create_time or 0.0))
        for name, row in stored.items() if row.state in live
    }
    return diff_lines(plan(expand(loaded.config, loaded.env_files), observed, records, 0.0))



def offline_runs(sd: StateDir, job: str, limit: int) -> list[dict[str, Any]]:
    store = _store(sd)
    if store is None:
        return []
    try:
        found = store.runs(job, limit=limit)
    finally:
        store.close()
    return [run.as_json() for run in found]
