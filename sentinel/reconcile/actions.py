"""What a plan is made of: frozen actions, each with the reason that becomes its event and `diff` line.

`from_config` marks actions a config change causes (a new, removed or edited process); `diff`
shows only those, while `apply` executes the whole plan. Pure values (docs/conventions.md#plan-then-execute,
docs/conventions.md#outcomes-complete-a-sentence).
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.reconcile.observed import ExitStatus
from sentinel.states import ProcessState


@dataclass(frozen=True, slots=True, kw_only=True)
class Start:
    """Start the instance (it is not running)."""

    instance: str
    reason: str
    failures: int = 0  # the crash-loop length to record with this run
    restart: bool = False  # a start after an exit or a stop (events say `restarted`)
    retry: bool = False  # the restart policy restarts a failed run (exit, health, limit): counts in `restarts`
    from_config: bool = False  # a config change: a new run, whose `restarts` count starts afresh


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop:
    """Stop the running instance's whole tree; `forget` drops its record afterwards (pruned).

    `then` (BACKOFF or FAILED) makes it a failed run that the restart policy takes over: stopped
    because it is unhealthy or over a limit, it starts again `backoff` seconds after the stop
    ended, as attempt `failures`, or has been given up. `then` SCHEDULED ends a job's run cut at
    its `timeout` (`runs.overdue_runs`): the job waits for its next trigger.
    """

    instance: str
    reason: str
    forget: bool = False
    then: ProcessState | None = None
    backoff: float = 0.0
    failures: int = 0
    from_config: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Restart:
    """Stop the running instance, then start it with the desired spec."""

    instance: str
    reason: str
    fields: tuple[str, ...] = ()
    from_config: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """Take the new settings into the instance's record without touching the process; with `reload`, also
    reload the running process (`reload:`), because a file it reads changed (`fields` names the files)."""

    instance: str
    reason: str
    fields: tuple[str, ...] = ()
    from_config: bool = True
    reload: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SetState:
    """Record a new state (backoff, failed, exited, pending, stopped, scheduled) without acting on a process.

    Also how the planner takes an exit it has seen: `exit` is that run's end.
    """

    instance: str
    state: ProcessState
    reason: str
    retry_at: float | None = None
    failures: int | None = None  # None: keep the recorded count
    exit: ExitStatus | None = None
    take_settings: bool = False  # also take the desired settings (an edit seen in the same pass as an exit)
    served: bool = False  # the run asked for is started as an overlapping run (`concurrency: allow`)
    from_config: bool = False
    not_applied: bool = False  # an edit of a running process that cannot start: it is kept running (`diff` says so)


@dataclass(frozen=True, slots=True, kw_only=True)
class Forget:
    """Drop the record of an instance that is neither desired nor running."""

    instance: str
    reason: str
    from_config: bool = False


Action = Start | Stop | Restart | Update | SetState | Forget


@dataclass(frozen=True, slots=True)
class Plan:
    """Ordered actions, and when the planner next needs a pass even if nothing happens (monotonic)."""

    actions: tuple[Action, ...] = ()
    wake_at: float | None = None

    def __bool__(self) -> bool:
        return bool(self.actions)
