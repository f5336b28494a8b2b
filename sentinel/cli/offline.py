"""Answers from state.db when no reconciler runs: `status`, `events`, `runs` and `diff` (docs/contract.md#cli).

Reads the database read-only and never starts anything. What it shows is the last state the
reconciler recorded; whether those processes still run is not checked here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sentinel.errors import SentinelError
from sentinel.paths import StateDir
from sentinel.state.values import iso

if TYPE_CHECKING:
    from sentinel.config.hosts import Host


class NoState(SentinelError):
    """`status` with no reconciler running and no state.db to answer from."""

    exit_code = 1


def _store(sd: StateDir) -> Any:
    from sentinel.state.store import Store

    if not sd.db.exists():
        return None
    return Store.open(sd.db, readonly=True)


def offline_rows(sd: StateDir, group: str | None = None) -> list[dict[str, Any]]:
    """The `status` rows of the state last recorded, built as the reconciler builds them (one builder)."""
    import json

    from sentinel.reconcile.order import process_of
    from sentinel.state.status import Known, in_group, status_row

    store = _store(sd)
    if store is None:
        raise NoState(f"no state in {sd.root}: no reconciler has run there")
    try:
        stored = store.processes()
        revision = store.last_revision()
        processes: dict[str, Any] = json.loads(revision.config).get("processes", {}) if revision else {}
        specs = {name: processes.get(process_of(name, processes), {}) for name in stored}
        last = {name: store.last_run(name) for name in stored if specs[name].get("schedule")}
    finally:
        store.close()
    now = datetime.now(UTC)
    rows = []
    for name in sorted(stored):
        p, spec, run = stored[name], specs[name], last.get(name)
        schedule = spec.get("schedule") or {}
        rows.append(status_row(Known(
            name=name, state=p.state, reason=p.reason, restarts=p.restarts, exit_code=p.exit_code, pid=p.pid,
            started_at=p.started_at, group=spec.get("group"), is_job=bool(schedule),
            last_run=run.started_at if run else None, last_outcome=run.outcome if run else None,
            one_shot=schedule.get("at") is not None,
        ), now=now, reconciler=False))
    return in_group(rows, group)


def offline_events(sd: StateDir, process: str | None, limit: int) -> list[dict[str, Any]]:
    store = _store(sd)
    if store is None:
        return []
    try:
        events = store.events(process=process, limit=limit)
    finally:
        store.close()
    return [{"at": iso(e.at), "process": e.process, "kind": e.kind, "message": e.message} for e in events]


def offline_history(sd: StateDir, limit: int) -> list[dict[str, Any]]:
    """`history` from state.db when no reconciler runs, in the shape of `GET /v1/history`."""
    store = _store(sd)
    if store is None:
        return []
    try:
        revisions = store.revisions(limit)
    finally:
        store.close()
    return [{"at": iso(r.at), "revision": r.revision, "subject": r.subject, "path": r.path, "changes": list(r.changes)}
            for r in revisions]


def offline_diff(sd: StateDir, path: str, env: str | None, host: Host | None) -> dict[str, Any]:
    """The plan against the recorded state, taking what was running as still running: its `lines` and
    `changes` (as data), as the reconciler answers `diff`; `host`: what `hosts:` selects."""
    from sentinel.config.loader import load
    from sentinel.reconcile.desired import expand
    from sentinel.reconcile.observed import ObservedProcess, ProcessIdentity
    from sentinel.reconcile.planner import plan
    from sentinel.reconcile.render import diff_answer
    from sentinel.state.convert import to_record
    from sentinel.states import ProcessState

    loaded = load(path, env=env, host=host)
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
    return diff_answer(plan(expand(loaded.config, loaded.env_files, loaded.watched), observed, records, 0.0))


def diff_between(base: str, path: str, env: str | None, host: Host | None) -> dict[str, Any]:
    """`diff -f PATH --base BASE`: what applying PATH would change on a host converged on BASE (no reconciler,
    no state: reconcile.compare), as `offline_diff` answers; `host`: what `hosts:` selects in both. BASE may
    be a checkout of the same repository elsewhere: its directory counts as PATH's (`compare.moved`)."""
    import os

    from sentinel.config.loader import load
    from sentinel.reconcile.compare import moved, plan_change
    from sentinel.reconcile.desired import expand
    from sentinel.reconcile.render import diff_answer

    old, new = load(base, env=env, host=host), load(path, env=env, host=host)
    old_config = moved(old.config, os.path.dirname(base), os.path.dirname(path))
    return diff_answer(plan_change(expand(old_config, old.env_files, old.watched),
                                   expand(new.config, new.env_files, new.watched)))


def offline_runs(sd: StateDir, job: str, limit: int) -> list[dict[str, Any]]:
    store = _store(sd)
    if store is None:
        return []
    try:
        found = store.runs(job, limit=limit)
    finally:
        store.close()
    return [run.as_json() for run in found]
