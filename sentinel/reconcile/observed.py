"""What the planner is told about the world: process identities, exits, and our own records.

Plain frozen values (docs/conventions.md#spec-observation-record): an observation comes from the runtime (pidfd,
psutil), a record is what the controller remembers and persists. Neither is a config spec.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sentinel.signames import signal_name
from sentinel.states import Health, ProcessState


@dataclass(frozen=True, slots=True, order=True)
class ProcessIdentity:
    """A process as the OS knows it: a pid is only trusted together with its creation time
    (docs/reliability.md#rules)."""

    pid: int
    create_time: float  # psutil's create_time(): seconds since the epoch


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a run ended: an exit code, a signal, or neither when it cannot be known (an adopted process)."""

    code: int | None = None
    signal: int | None = None
    unstartable: str = ""  # the run never began: why ("command not found: nosuchprog"); code is then 127

    @classmethod
    def from_wait_status(cls, status: int) -> ExitStatus:
        if _is_signaled(status):
            return cls(signal=_term_sig(status))
        return cls(code=_exit_code(status))

    def describe(self) -> str:
        """'exited 1', 'killed by SIGKILL', 'exited (status unknown)', 'cannot start (command not found: x)'."""
        if self.unstartable:
            return f"cannot start ({self.unstartable})"
        if self.signal is not None:
            return f"killed by {signal_name(self.signal)}"
        if self.code is not None:
            return f"exited {self.code}"
        return "exited (status unknown)"

    def expected(self, codes: Collection[int]) -> bool:
        """True when this exit is one the config calls a success (`restart.exit_codes`)."""
        return self.signal is None and self.code is not None and self.code in codes


def _is_signaled(status: int) -> bool:
    return (status & 0x7F) not in (0, 0x7F)


def _term_sig(status: int) -> int:
    return status & 0x7F


def _exit_code(status: int) -> int:
    return (status >> 8) & 0xFF


@dataclass(frozen=True, slots=True, kw_only=True)
class ObservedProcess:
    """A live (or just exited, not yet handled) process the reconciler supervises.

    `busy` is true while a stop or restart of it is in flight: the planner leaves it alone.
    `exit` is set once it has exited; the controller drops the observation after the planner
    has decided what follows (a `SetState`, `Start` or `Forget` for that instance). `health`
    is what its health check says (`none` without one).
    """

    name: str
    identity: ProcessIdentity
    busy: bool = False
    exit: ExitStatus | None = None
    exited_at: float | None = None  # monotonic
    health: Health = Health.NONE  # from its health check, while it runs
    health_detail: str = ""  # the last check's result: "HTTP 503", "connection refused"
    over_limit: str = ""  # a resource limit it breaks: "memory 612MB > 512MB"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessRecord:
    """What the reconciler remembers about an instance, across passes and restarts (persisted).

    `digests` are the field digests (see desired.py) of the spec it was last started or updated
    with; `started_at`, `retry_at` are monotonic times of this reconciler's clock.
    """

    name: str
    state: ProcessState
    spec_hash: str = ""
    digests: Mapping[str, str] = field(default_factory=dict)
    failures: int = 0  # consecutive short runs (crash loop length): drives backoff and `failed`
    restarts: int = 0  # restarts in all, for display
    exit: ExitStatus | None = None  # how the last run ended
    started_at: float | None = None
    retry_at: float | None = None  # in backoff: when to start again
    held: bool = False  # `sentinel stop`: keep stopped until `start` or a change to the process
    restart_requested: bool = False  # `sentinel restart`
    reason: str = ""  # why it is in this state, for status and events


Observed = Mapping[str, ObservedProcess]
Records = Mapping[str, ProcessRecord]
