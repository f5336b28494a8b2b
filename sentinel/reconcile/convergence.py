"""When is the world where the desired state puts it? What `apply` waits for, and what it reports. Pure.

An instance has converged when it is exited as expected, held stopped, a job waiting for its
schedule or running one of its runs, or a running service that is ready: healthy when it has a
health check, up for `SETTLE_TIME` without one (so a process that exits at once is not counted
as converged before its exit is seen). `failed` is final but not converged; so is `pending` on
a dependency that will not come by itself (failed, held by `sentinel stop`, or exited when it
must run), directly or through another pending one. `apply` stops waiting when everything has
converged, or when what is left is final. Time is the `now` passed in (monotonic seconds).
See docs/states.md ("What `apply` waits for").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sentinel.reconcile.descriptors import NO_ROOM
from sentinel.reconcile.desired import Desired, DesiredProcess
from sentinel.reconcile.observed import Observed, ObservedProcess, ProcessRecord, Records
from sentinel.reconcile.overlap import overlap_of
from sentinel.states import Health, ProcessState

S = ProcessState
SETTLE_TIME = 0.5  # seconds a service without a health check must stay up to count as converged
SETTLED = frozenset({S.RUNNING, S.EXITED, S.STOPPED, S.SCHEDULED})


@dataclass(frozen=True, slots=True)
class Convergence:
    """Where convergence stands at one moment."""

    waiting: tuple[str, ...]  # what has not converged, with why: 'web: backoff (exited 1, …)'
    final: bool  # nothing in `waiting` can converge by itself (only failed ones and what waits on them)
    check_again_at: float | None  # when a running service's settle time ends, if one is under way

    @property
    def done(self) -> bool:
        """Nothing more to wait for: everything converged, or what is left is final."""
        return not self.waiting or self.final


def convergence(desired: Desired, observed: Observed, records: Records, now: float,
                names: Collection[str] | None = None) -> Convergence:
    """How far the world (`observed`, `records`) is from `desired` at `now`; only for the instances `names`
    when given (`start NAME --wait`), by the same rule."""
    busy = sorted(name for name, seen in observed.items() if seen.busy and (names is None or name in names))
    waiting = [f"{name}: stopping" for name in busy]
    final = not busy
    check_again_at: float | None = None
    for name in sorted((desired.keys() if names is None else desired.keys() & set(names)) - set(busy)):
        line, settles_at = _not_converged(name, desired, observed, records, now)
        if line is None:
            continue
        waiting.append(line)
        final = final and _gone_for_good(name, "started", desired, records, frozenset())
        if settles_at is not None:
            check_again_at = settles_at if check_again_at is None else min(check_again_at, settles_at)
    gone = sorted(records.keys() - desired.keys() - set(busy)) if names is None else []
    removed = [f"{name}: being removed" for name in gone if overlap_of(name, desired) is None]
    return Convergence((*waiting, *removed), final and not removed, check_again_at)


def _not_converged(name: str, desired: Desired, observed: Observed, records: Records,
                   now: float) -> tuple[str | None, float | None]:
    """Why `name` has not converged (None if it has), and when it will have settled if it only has to wait."""
    record, seen = records.get(name), observed.get(name)
    if record is None:
        return f"{name}: not started", None
    if seen is not None and seen.exit is not None:
        return f"{name}: {seen.exit.describe()}", None
    if record.state not in SETTLED:
        reason = f" ({record.reason})" if record.reason else ""
        return f"{name}: {record.state}{reason}", None
    if record.state is S.RUNNING and not desired[name].is_job:
        return _not_ready(name, desired[name], seen, record, now)
    return None, None


def _not_ready(name: str, spec: DesiredProcess, seen: ObservedProcess | None, record: ProcessRecord,
               now: float) -> tuple[str | None, float | None]:
    """A running service: ready when healthy, or without a check once it has been up for `SETTLE_TIME`."""
    if spec.health is not None:
        health = seen.health if seen is not None else Health.UNKNOWN
        if health is Health.HEALTHY:
            return None, None
        detail = f" ({seen.health_detail})" if seen is not None and seen.health_detail else ""
        verdict = "unhealthy" if health is Health.UNHEALTHY else "not healthy yet"
        return f"{name}: running, {verdict}{detail}", None
    if record.started_at is None or now - record.started_at >= SETTLE_TIME:
        return None, None
    return f"{name}: running, not yet up for {SETTLE_TIME:g}s", record.started_at + SETTLE_TIME


def _gone_for_good(name: str, condition: str, desired: Desired, records: Records, seen: frozenset[str]) -> bool:
    """True when instance `name` will not meet `condition` by itself: it failed, is held stopped, exited
    while it must run, waits for room under the descriptor limit, or is pending on such a dependency."""
    record = records.get(name)
    if record is None or name in seen:
        return False
    if record.state is S.FAILED or (record.state is S.STOPPED and record.held):
        return True
    if record.state is S.EXITED:
        return condition != "completed"
    if record.state is not S.PENDING or name not in desired:
        return False
    if record.reason.startswith(NO_ROOM):  # starts only under a higher limit, at the next `sentinel up`
        return True
    return any(
        _gone_for_good(instance, dep_condition, desired, records, seen | {name})
        for dep, dep_condition in desired[name].depends_on.items()
        for instance in _instances(dep, desired)
    )


def _instances(process: str, desired: Desired) -> list[str]:
    return [name for name, spec in desired.items() if spec.process == process]

