"""The SentinelError tree: every error a user can see, each with its exit code and a one-line text.

Raised by the library (config loader, later the client and controller); turned into output
and exit codes in one place only, `sentinel.cli.output`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class SentinelError(Exception):
    """Base of every error meant for a user. `str(err)` is what the user reads."""

    exit_code: ClassVar[int] = 1


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config file, with its place.

    `file` is the path as the user would read it; line and col are 1-based (0 when unknown);
    `path` is the dotted key path inside the document ("" when the problem is not about a key).
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
