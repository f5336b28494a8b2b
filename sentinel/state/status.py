"""One `status` row per instance: the one builder for the API (a reconciler runs) and for the CLI
answering from state.db (none runs), so the two cannot drift. Pure: no database, no clock.

Keys are those of docs/states.md ("What `status` shows"); times are ISO 8601 UTC, `uptime_s`
counts from the current run's start while it runs, `reason` says why it is in its state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sentinel.state.values import iso
from sentinel.states import ProcessState

KEYS = ("name", "state", "health", "pid", "restarts", "exit_code", "started_at", "uptime_s", "cpu_percent",
        "memory_rss", "group", "next_run", "last_run", "reason")
S = ProcessState
LIVE = frozenset({S.STARTING, S.RUNNING, S.STOPPING})  # states in which it has a process
NO_RECONCILER = "no reconciler running"
_NOT_RUN = (None, "running", "skipped")  # outcomes of a run that did not end, or never began


@dataclass(frozen=True, slots=True, kw_only=True)
class Known:
    """What is known of one instance: its record, and what the reconciler (if one runs) sees of it."""

    name: str
    state: ProcessState
    reason: str = ""
    restarts: int = 0
    exit_code: int | None = None
    pid: int | None = None  # its process, while it is live
    started_at: datetime | None = None  # the current run's start
    health: str = "none"
    usage: tuple[float, int] | None = None  # cpu percent, resident bytes
    group: str | None = None
    is_job: bool = False
    next_run: datetime | None = None
    last_run: datetime | None = None  # when its newest run started
    last_outcome: str | None = None  # how its newest run ended (`succeeded`, `failed`, …)
    one_shot: bool = False  # a job that will not run again by itself (an `at` that has come)


def status_row(known: Known, *, now: datetime, reconciler: bool) -> dict[str, Any]:
    """The row of `known` at `now`. Without a `reconciler` it is the last recorded state: nothing is
    scheduled (a job waiting for its next trigger is `stopped`), and nothing is measured."""
    state, reason = _shown_state(known, reconciler)
    live = state in LIVE
    started = known.started_at if live else None
    return {
        "name": known.name,
        "state": str(state),
        "health": known.health if live or known.health == "none" else "unknown",
        "pid": known.pid if live else None,
        "restarts": known.restarts,
        "exit_code": known.exit_code,
        "started_at": iso(started),
        "uptime_s": round((now - started).total_seconds(), 3) if started and reconciler else None,
        "cpu_percent": round(known.usage[0], 1) if known.usage and live else None,
        "memory_rss": known.usage[1] if known.usage and live else None,
        "group": known.group,
        "next_run": iso(known.next_run) if reconciler else None,
        "last_run": iso(known.last_run),
        "reason": reason,
    }


def _shown_state(known: Known, reconciler: bool) -> tuple[ProcessState, str]:
    """A one-shot job that has run shows how its run ended (`exited` when it succeeded, else `failed`); with
    no reconciler running, a job waiting for its trigger is `stopped`."""
    if known.is_job and known.state is S.SCHEDULED:
        if known.one_shot and known.last_outcome not in _NOT_RUN:
            return (S.EXITED if known.last_outcome == "succeeded" else S.FAILED), known.reason
        if not reconciler:
            return S.STOPPED, NO_RECONCILER
    return known.state, known.reason


def in_group(rows: Iterable[dict[str, Any]], group: str | None) -> list[dict[str, Any]]:
    """The rows of the processes of `group` (all of them for None)."""
    return [row for row in rows if group is None or row["group"] == group]
