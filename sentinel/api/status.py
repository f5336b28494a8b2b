"""What `status` and `/metrics` show: one row per instance (DESIGN §5 keys), built from the controller.

Times are ISO 8601 UTC; `uptime_s` counts from the current run's start while it runs.
`reason` (why it is in its state: "waiting for db", "exited 1, restarting in 4s") is extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sentinel.state.convert import wall_of
from sentinel.state.values import iso
from sentinel.states import ProcessState

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller

KEYS = ("name", "state", "health", "pid", "restarts", "exit_code", "started_at", "uptime_s", "cpu_percent",
        "memory_rss", "group", "next_run", "last_run", "reason")


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
        live = spawned is not None and state in (ProcessState.RUNNING, ProcessState.STOPPING, ProcessState.STARTING)
        usage = controller.runtime.usage(name) if live else None
        started = wall_of(record.started_at, mono=mono, wall=wall) if record and live else None
        exit = record.exit if record else None
        rows.append({
            "name": name,
            "state": str(state),
            "health": _health(controller, name, live),
            "pid": spawned.identity.pid if live and spawned else None,
            "restarts": record.restarts if record else 0,
            "exit_code": exit.code if exit else None,
            "started_at": iso(started),
            "uptime_s": round((wall - started).total_seconds(), 3) if started else None,
            "cpu_percent": round(usage[0], 1) if usage else None,
            "memory_rss": usage[1] if usage else None,
            "group": desired.group if desired else None,
            "next_run": iso(controller.scheduler.next_run(name)) if desired and desired.is_job else None,
            "last_run": iso(controller.jobs.last_run(name)) if desired and desired.is_job else None,
            "reason": record.reason if record else "",
        })
    return rows


def _health(controller: Controller, name: str, live: bool) -> str:
    desired = controller.desired.get(name)
    if desired is None or desired.health is None:
        return "none"
    return str(controller.health.status(name)) if live else "unknown"


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

