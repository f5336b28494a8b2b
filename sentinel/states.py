"""Process states and health values (docs/states.md), and the table of allowed state transitions.

Imports nothing from sentinel, so every layer may use it. The controller checks every
transition it records against `ALLOWED` (docs/states.md draws the same table): a move outside
it is a bug, logged, and an error (`IllegalMove`) in strict mode, which the tests turn on.
"""

from __future__ import annotations

from enum import StrEnum


class ProcessState(StrEnum):
    """Where a process instance is in its life. Values complete "web.1 is …"."""

    PENDING = "pending"  # waiting for its dependencies
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"  # held by the user, or not desired
    BACKOFF = "backoff"  # waiting to be restarted
    FAILED = "failed"  # gave up: retries exhausted, or a start that cannot succeed
    EXITED = "exited"  # finished with an expected exit code and not restarted
    SCHEDULED = "scheduled"  # a job waiting for its next trigger


class Health(StrEnum):
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    UNKNOWN = "unknown"
    NONE = "none"  # no check configured


S = ProcessState

# state → states it may move to. Any state may go to STOPPING (a stop or prune can come at any time)
# and a stopped, failed or exited process may be started again.
ALLOWED: dict[ProcessState, frozenset[ProcessState]] = {
    S.PENDING: frozenset({S.STARTING, S.RUNNING, S.STOPPED, S.FAILED, S.PENDING, S.SCHEDULED}),
    S.STARTING: frozenset({S.RUNNING, S.BACKOFF, S.FAILED, S.EXITED, S.STOPPING, S.STOPPED}),
    S.RUNNING: frozenset({S.STOPPING, S.BACKOFF, S.FAILED, S.EXITED, S.STARTING, S.RUNNING, S.STOPPED,
                          S.PENDING, S.SCHEDULED}),
    S.STOPPING: frozenset({S.STOPPED, S.STARTING, S.RUNNING, S.BACKOFF, S.FAILED, S.EXITED}),
    S.STOPPED: frozenset({S.STARTING, S.RUNNING, S.PENDING, S.STOPPED, S.FAILED, S.SCHEDULED}),
    S.BACKOFF: frozenset({S.STARTING, S.RUNNING, S.STOPPED, S.FAILED, S.PENDING, S.BACKOFF, S.SCHEDULED}),
    S.FAILED: frozenset({S.STARTING, S.RUNNING, S.STOPPED, S.PENDING, S.FAILED, S.SCHEDULED}),
    S.EXITED: frozenset({S.STARTING, S.RUNNING, S.STOPPED, S.PENDING, S.EXITED, S.SCHEDULED}),
    S.SCHEDULED: frozenset({S.STARTING, S.RUNNING, S.STOPPED, S.SCHEDULED, S.PENDING}),
}


def can_move(old: ProcessState, new: ProcessState) -> bool:
    """True when `old → new` is an edge of the state table."""
    return new in ALLOWED[old]


class IllegalMove(Exception):
    """A record was about to move along no edge of `ALLOWED`: a bug in a decision, never the user's doing."""


def check_move(instance: str, old: ProcessState, new: ProcessState) -> None:
    """Raise IllegalMove when `old → new` is a move (not staying in a state, say with a new reason) along no
    edge of the state table."""
    if old is not new and not can_move(old, new):
        raise IllegalMove(f"{instance}: {old} → {new} is not an allowed transition (docs/states.md)")
