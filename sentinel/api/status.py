"""What `status` and `/metrics` show: one row per instance, built from the controller by the one row
builder (`sentinel.state.status`, shared with the CLI's answers from state.db).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sentinel.state.convert import wall_of
from sentinel.state.status import LIVE, Known, status_row
from sentinel.states import ProcessState

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller


def status_rows(controller: Controller, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
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
            usage=controller.runtime.usage(name) if live else None,
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


def metrics_text(controller: Controller) -> str:
    """Prometheus text format: one gauge of state and one counter of restarts per instance."""
    lines = [
        "# HELP sentinel_process_up 1 when the instance is running.",
        "# TYPE sentinel_process_up gauge",
    ]
    rows = status_rows(controller)
    lines += [f'sentinel_process_up{{name="{r["name"]}"}} {int(r["state"] == "running")}' for r in rows]
    lines += ["# HELP sentinel_process_restarts_total Restarts of the instance.",
              "# TYPE sentinel_process_restarts_total counter"]
    lines += [f'sentinel_process_restarts_total{{name="{r["name"]}"}} {r["restarts"]}' for r in rows]
    return "\n".join(lines) + "\n"

