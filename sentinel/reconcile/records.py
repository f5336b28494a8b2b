"""How a record changes when an action has been carried out, or a user asks for something. Pure.

The controller executes an action (I/O), then keeps `record_after(...)` as the new record;
the planner's simulation in the tests applies the very same function, so what is simulated
is what runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from sentinel.reconcile.actions import Action, Forget, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.desired import DesiredProcess
from sentinel.reconcile.observed import ProcessRecord
from sentinel.states import ProcessState

S = ProcessState


def record_after(
    action: Action, record: ProcessRecord | None, desired: DesiredProcess | None, now: float
) -> ProcessRecord | None:
    """The record once `action` succeeded (None: no record is kept)."""
    match action:
        case Start() | Restart():
            assert desired is not None, "only desired instances are started"
            return _running(action, record, desired, now)
        case Stop():
            return _stopped(action, record, now)
        case Update():
            assert record is not None and desired is not None
            # A process that is not running keeps saying why (its failure) until it runs again.
            reason = action.reason if record.state is S.RUNNING else record.reason
            return replace(record, digests=dict(desired.digests), spec_hash=desired.spec_hash, reason=reason)
        case SetState():
            return _set_state(action, record, desired)
        case Forget():
            return None
        case _:
            assert_never(action)


def _stopped(action: Stop, record: ProcessRecord | None, now: float) -> ProcessRecord | None:
    if action.forget or record is None:
        return None
    if action.then is not None:  # a failed run (unhealthy, over a limit, a job's run cut at its timeout)
        retry_at = now + action.backoff if action.then is S.BACKOFF else None
        return replace(record, state=action.then, reason=action.reason, retry_at=retry_at, failures=action.failures,
                       restart_requested=False)
    return replace(record, state=S.STOPPED, reason=action.reason, retry_at=None, restart_requested=False)


def _running(action: Start | Restart, record: ProcessRecord | None, d: DesiredProcess, now: float) -> ProcessRecord:
    """A new run. `restarts` counts the restart policy's restarts of failed runs (exit, health, limit) only;
    a run the config caused starts the count afresh, as a new Kubernetes pod does (docs/states.md)."""
    restarts = record.restarts if record is not None and not action.from_config else 0
    counted = isinstance(action, Start) and action.retry
    return ProcessRecord(
        name=d.name,
        state=S.RUNNING,
        spec_hash=d.spec_hash,
        digests=dict(d.digests),
        failures=action.failures if isinstance(action, Start) else 0,
        restarts=restarts + 1 if counted else restarts,
        exit=record.exit if record is not None else None,
        started_at=now,
        reason=action.reason,
    )


def _set_state(action: SetState, record: ProcessRecord | None, d: DesiredProcess | None) -> ProcessRecord:
    base = record
    if base is None:  # a first record: it describes the desired spec
        base = ProcessRecord(name=action.instance, state=action.state, spec_hash=d.spec_hash if d else "",
                             digests=dict(d.digests) if d else {})
    return replace(
        base,
        state=action.state,
        reason=action.reason,
        retry_at=action.retry_at,
        failures=base.failures if action.failures is None else action.failures,
        exit=action.exit or base.exit,
        restart_requested=(False if action.served or action.state in (S.BACKOFF, S.STOPPED)
                           else base.restart_requested),
        digests=dict(d.digests) if action.take_settings and d is not None else base.digests,
        spec_hash=d.spec_hash if action.take_settings and d is not None else base.spec_hash,
    )


def moving(record: ProcessRecord, state: ProcessState, reason: str) -> ProcessRecord:
    """`stopping` while its stop sequence runs (signal, grace, SIGKILL, escaped children); `starting` while
    what is left of its last run is cleaned up before it starts again. `reason` is the action's."""
    return replace(record, state=state, reason=reason)


def killed(record: ProcessRecord, how: str) -> ProcessRecord:
    """A stop whose grace ended in SIGKILL: the record says so ('killed: still running 3s after SIGTERM')."""
    return replace(record, reason=how)


def held(record: ProcessRecord) -> ProcessRecord:
    """`sentinel stop`: keep it stopped until `start` or a change to it in the file."""
    return replace(record, held=True, restart_requested=False)


def released(record: ProcessRecord) -> ProcessRecord:
    """`sentinel start`: drop the hold and start afresh from any state: the crash loop is forgotten, and a
    failed, exited or backing-off process is started again."""
    finished = record.state in (S.FAILED, S.BACKOFF, S.EXITED)
    state = S.STOPPED if finished else record.state
    return replace(record, held=False, failures=0, state=state, retry_at=None)


def run_requested(record: ProcessRecord | None, job: str, why: str) -> ProcessRecord:
    """A run of `job` goes ahead (`runs.ask_run`): the planner starts it, with `why` as its reason."""
    base = record if record is not None else ProcessRecord(name=job, state=S.SCHEDULED)
    return replace(base, restart_requested=True, reason=why)


def restart_requested(record: ProcessRecord) -> ProcessRecord:
    """`sentinel restart`: restart it if running, start it if not (dropping any hold)."""
    return replace(released(record), restart_requested=True)
