"""What `status` and `/metrics` show: one row per instance, built from the controller by the one row
builder (`sentinel.state.status`, shared with the CLI's answers from state.db). `/metrics` itself is
rendered by `sentinel.api.metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sentinel.state.convert import wall_of
from sentinel.state.status import LIVE, Known, status_row
from sentinel.states import ProcessState

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller

# Seconds a tree's cpu and memory sample is shown as it is: however many clients poll `status`, the process
# table is read at most about once a second (sampling 200 trees takes the reconciler's loop ~100 ms; every
# request doing it starved supervision, bench/api_load.py).
USAGE_MAX_AGE = 1.0


class RowCache:
    """Every instance's status row, built once for as long as nothing it shows has changed (no pass ran, no record
    was kept, no event was recorded) and for at most `USAGE_MAX_AGE` seconds (the age of a cpu and memory sample
    it may show): many clients polling `/v1/processes` share one build instead of each costing the reconciler's
    loop the rows of every instance (about 3.5 ms for 200, bench/api_load.py). The rows are shared: read them,
    never change them."""

    def __init__(self) -> None:
        self._key: tuple[int, int] | None = None
        self._built_at = 0.0
        self._rows: list[dict[str, Any]] = []

    def rows(self, controller: Controller) -> list[dict[str, Any]]:
        key, now = (controller.passes, controller.changes), controller.clock.monotonic()
        if key != self._key or now - self._built_at >= USAGE_MAX_AGE:
            self._rows, self._key, self._built_at = status_rows(controller), key, now
        return self._rows


def status_rows(controller: Controller, names: Iterable[str] | None = None, *,
                measure: bool = True) -> list[dict[str, Any]]:
    """`measure`: sample each live tree's cpu and memory unless it was sampled in the last `USAGE_MAX_AGE`
    seconds (reads the process table); else show the latest sample taken (by the limits sampler or an
    earlier `status`), as a `/metrics` scrape does."""
    wanted = set(names) if names is not None else None
    running = controller.runtime.running()
    mono, wall = controller.clock.monotonic(), controller.clock.now_utc()
    rows = []
    for name in sorted(controller.desired.keys() | controller.records.keys()):
        if wanted is not None and name not in wanted:
            continue
        record = controller.records.get(name)
        desired = controller.desired.get(name)
        state = record.state if record else ProcessState.PENDING
        spawned = running.get(name)
        live = spawned is not None and state in LIVE
        is_job = desired is not None and desired.is_job
        next_run = controller.scheduler.next_run(name) if is_job else None
        last = controller.jobs.last_run(name) if is_job else None
        rows.append(status_row(Known(
            name=name, state=state, reason=controller.reason_of(name),
            restarts=record.restarts if record else 0,
            exit_code=record.exit.code if record and record.exit else None,
            pid=spawned.identity.pid if live and spawned else None,
            started_at=wall_of(record.started_at, mono=mono, wall=wall) if record and live else None,
            health=_health(controller, name),
            usage=_usage(controller, name, measure=measure) if live else None,
            group=desired.group if desired else None, is_job=is_job, next_run=next_run,
            last_run=last.started_at if last else None, last_outcome=last.outcome if last else None,
            one_shot=is_job and next_run is None,
        ), now=wall, reconciler=True))
    return rows


def _health(controller: Controller, name: str) -> str:
    """Its check's verdict (the row builder shows `unknown` while it does not run), or `none`."""
    desired = controller.desired.get(name)
    if desired is None or desired.health is None:
        return "none"
    return str(controller.health.status(name))


def _usage(controller: Controller, name: str, *, measure: bool) -> tuple[float, int] | None:
    if measure:
        return controller.runtime.usage(name, max_age=USAGE_MAX_AGE)
    return controller.runtime.last_usage(name)
