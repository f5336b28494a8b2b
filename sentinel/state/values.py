"""The plain values the Store returns and takes: a stored process record, an event, a config revision, a job run.

Made by `sentinel.state.store`; read by the controller (which maps `StoredProcess` to and
from the planner's `ProcessRecord`), the API and the CLI. Frozen dataclasses, never database
rows; every datetime is timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sentinel.states import ProcessState


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredProcess:
    """What the reconciler remembers about one process instance across its own restarts.

    `pid`, `create_time` and `pgid` identify the running process (a pid alone is never
    trusted, docs/reliability.md#rules). `updated_at` is stamped by the Store when saved without one.
    """

    name: str
    state: ProcessState
    spec_hash: str = ""
    digests: Mapping[str, str] = field(default_factory=dict)
    failures: int = 0
    restarts: int = 0
    exit_code: int | None = None
    exit_signal: int | None = None
    pid: int | None = None
    create_time: float | None = None
    pgid: int | None = None
    started_at: datetime | None = None
    retry_at: datetime | None = None
    held: bool = False
    restart_requested: bool = False
    reason: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to record (`Store.add_events`): what `Event` holds before state.db gives it its id."""

    kind: str
    message: str
    at: datetime
    process: str | None = None
    revision: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One line of `sentinel events`: what the reconciler did or noticed, and why.

    `process` is None for events about the reconciler or the config; `kind` is a short
    snake_case word (`started`, `exited`, `config_invalid`); `message` is one line.
    """

    id: int
    at: datetime
    process: str | None
    kind: str
    message: str
    revision: str | None = None  # the git source's commit in force then (short hash), None without a source


@dataclass(frozen=True, slots=True)
class Revision:
    """A resolved config the reconciler accepted: restored as the desired state after a restart.

    `config` is the resolved config's JSON text exactly as saved (not masked: it is what the
    reconciler runs); `digest` its hash; `files` the config file and its includes.
    """

    id: int
    at: datetime
    path: str
    environment: str | None
    digest: str
    config: str
    files: tuple[str, ...]
    revision: str | None = None  # the git source's commit it came from (docs/gitops.md)
    subject: str | None = None
    changes: tuple[str, ...] = ()  # what applying it changed, as `diff` lines


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """The git source's state kept across restarts: the commit applied last (hash, subject), suspended since."""

    applied: str | None
    subject: str | None
    suspended_at: datetime | None


RUN_OUTCOMES: frozenset[str] = frozenset(
    {"running", "succeeded", "failed", "timed out", "skipped", "stopped", "unknown"}
)  # unknown: an adopted run ended, and a process that is not our child leaves no exit status
"""What became of a run: `running` until it ends; `stopped` when the reconciler died during it."""
RUN_TRIGGERS: frozenset[str] = frozenset({"schedule", "missed", "manual", "retry"})
"""Why a run started: its slot came, a slot missed while down, `sentinel run`, a retry of a failed run."""


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a scheduled job (a line of `sentinel runs NAME`), or a trigger that was skipped.

    `id` is the run's number within its job (1, 2, 3 …, as CI systems number builds; runs recorded
    before schema 5 kept their global number). `scheduled_for` is the trigger slot the run is for
    (None for a manual run); `ended_at`, `exit_code` and `exit_signal` are None while it runs. A
    skipped trigger has `started_at` and `ended_at` both at the moment it was skipped. `outcome`
    is one of RUN_OUTCOMES, `trigger` one of RUN_TRIGGERS.
    """

    id: int
    job: str
    scheduled_for: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    exit_signal: int | None
    outcome: str
    trigger: str
    instance: str | None = None  # the instance it ran as, when not the job's own name (`backup+1`)

    def as_json(self) -> dict[str, object]:
        """The run as the API and `sentinel runs` show it (times ISO 8601 UTC, duration in seconds)."""
        took = (self.ended_at - self.started_at).total_seconds() if self.ended_at and self.started_at else None
        return {"id": self.id, "scheduled_for": iso(self.scheduled_for), "started_at": iso(self.started_at),
                "ended_at": iso(self.ended_at), "duration_s": round(took, 3) if took is not None else None,
                "exit_code": self.exit_code, "exit_signal": self.exit_signal, "outcome": self.outcome,
                "trigger": self.trigger, "instance": self.instance or self.job}


def iso(at: datetime | None) -> str | None:
    """`2026-11-26T03:00:00.012Z`, or None."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z") if at is not None else None
