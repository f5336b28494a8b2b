"""The SentinelError tree: every error a user can see, each with its exit code and a one-line text.

Raised by the library (config loader, later the client and controller); turned into output
and exit codes in one place only, `sentinel.cli.output`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, NamedTuple


class SentinelError(Exception):
    """Base of every error meant for a user. `str(err)` is what the user reads."""

    exit_code: ClassVar[int] = 1


class Problem(NamedTuple):
    """One thing wrong with a config file, with its place.

    `file` is the path as the user would read it; line and col are 1-based (0 when unknown);
    `path` is the dotted key path inside the document ("" when the problem is not about a key).
    A NamedTuple, not a dataclass: every command imports this module, and `dataclasses` (with the class it
    builds) costs `status` about 3 ms of its 100 ms (docs/contract.md#performance-budgets).
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line <= 0 else f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.path, self.message)


class ConfigError(SentinelError):
    """A config file (or a value given for one, like `--env`) is not valid. Holds every problem found."""

    exit_code: ClassVar[int] = 2

    def __init__(self, problems: list[Problem]) -> None:
        unique = sorted(set(problems), key=Problem.sort_key)
        self.problems: tuple[Problem, ...] = tuple(unique)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, file: str, message: str, *, line: int = 0, col: int = 0, path: str = "") -> ConfigError:
        return cls([Problem(file, line, col, path, message)])

    def one_line(self) -> str:
        """The first problem, and how many more there are: for an event, `status` and `/healthz`."""
        first = str(self.problems[0]) if self.problems else str(self)
        more = len(self.problems) - 1
        return f"{first} (and {more} more)" if more > 0 else first


class StateError(SentinelError):
    """state.db could not be opened, read or written: locked, full, corrupt, read-only, missing, or too new.

    One line, naming the file ("state.db: database is locked"). `sqlite_error` is SQLite's
    error name when SQLite gave one ("SQLITE_BUSY", "SQLITE_FULL", …), for callers that decide
    whether to retry; None for errors found by sentinel itself.
    """

    def __init__(self, message: str, *, sqlite_error: str | None = None) -> None:
        super().__init__(message)
        self.sqlite_error = sqlite_error


class StateDirUnusable(SentinelError):
    """The state directory cannot be created or used for a reason of the machine: a read-only file system,
    a file in the way, no space, a path too long for its socket. One line, naming the path and the reason."""

    exit_code: ClassVar[int] = 1


class TargetError(SentinelError):
    """`start`/`stop`/`restart` named something that is not a process, instance or group."""

    exit_code: ClassVar[int] = 1

    def __init__(self, unknown: list[str], hints: Mapping[str, str] | None = None) -> None:
        """`hints`: for an unknown target, the known name it most likely meant (`reconcile.targets`)."""
        self.unknown = tuple(unknown)
        hints = hints or {}
        named = [f"{name} (did you mean {hints[name]}?)" if name in hints else name for name in unknown]
        super().__init__(f"unknown process{'es' if len(unknown) > 1 else ''}: {', '.join(named)}")


class DaemonUnavailable(SentinelError):
    """No reconciler answers on the state directory's socket."""

    exit_code: ClassVar[int] = 1


class DaemonRunning(SentinelError):
    """A reconciler already runs on this state directory."""

    exit_code: ClassVar[int] = 1


class UnsafeStateDir(SentinelError, PermissionError):
    """The state directory, or a file in it, could be redirected by someone else (docs/security.md).
    Also an OSError, so that code writing files handles it as any failure to open one."""

    exit_code: ClassVar[int] = 1


class SpawnError(SentinelError):
    """A process could not be started; one line naming the instance ("web: command not found: nosuchprog")."""

    exit_code: ClassVar[int] = 1


class StopError(SentinelError):
    """A process tree could not be stopped ("web: 1 process still running after SIGKILL")."""

    exit_code: ClassVar[int] = 1


class NotAJob(SentinelError):
    """`sentinel run` named a service: only jobs (processes with a schedule) have runs."""

    exit_code: ClassVar[int] = 1


class NotReloadable(SentinelError):
    """`sentinel reload` named a process without a `reload:` way."""

    exit_code: ClassVar[int] = 1


class BadSignal(SentinelError):
    """`sentinel signal` named a signal this system does not have."""

    exit_code: ClassVar[int] = 1


class ReconcilerBug(SentinelError):
    """A strict reconciler (`SENTINEL_DEBUG`) met a bug, a state move outside docs/states.md's table: it stopped
    everything and exits, naming the move, so the bug fails a test instead of hanging it."""

    exit_code: ClassVar[int] = 70  # EX_SOFTWARE, as any internal error


class TokenFileError(SentinelError):
    """A token file of the TCP API (`api.token_file`, `api.read_token_file`) is refused: a symbolic link, not
    a regular file, readable by group or others, empty, too large, or it cannot be read or created. One line,
    naming the file and the reason; never the token (docs/security.md#the-tcp-api)."""

    exit_code: ClassVar[int] = 1


class ApiTlsError(SentinelError):
    """`api.tls` names a certificate or key that cannot be read, is not PEM, or does not match. One line."""

    exit_code: ClassVar[int] = 1
