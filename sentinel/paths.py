"""Where the reconciler keeps its files: the state directory of DESIGN §6.

`--state-dir`, else `$SENTINEL_HOME`, else the platform default. Pure path arithmetic
(plus `ensure`, which creates the directories owner-only); every layer may use it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def default_state_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """`~/Library/Application Support/SentinelZero` on macOS, `${XDG_STATE_HOME:-~/.local/state}/sentinel` elsewhere."""
    home = Path(environ.get("HOME") or Path.home())
    if platform == "darwin":
        return home / "Library" / "Application Support" / "SentinelZero"
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "state"
    return base / "sentinel"


@dataclass(frozen=True, slots=True)
class StateDir:
    """The files of one reconciler's state directory."""

    root: Path

    @classmethod
    def resolve(cls, given: str | None, environ: Mapping[str, str]) -> StateDir:
        chosen = given or environ.get("SENTINEL_HOME")
        return cls(Path(chosen).expanduser().absolute() if chosen else default_state_dir(environ))

    @property
    def db(self) -> Path:
        return self.root / "state.db"

    @property
    def socket(self) -> Path:
        return self.root / "sentinel.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "sentinel.pid"

    @property
    def daemon_log(self) -> Path:
        return self.root / "sentinel.log"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        """Named pipes that carry each process's output (they outlive the reconciler)."""
        return self.root / "run"

    def log_file(self, instance: str) -> Path:
        return self.logs / f"{instance}.log"

    def fifo(self, instance: str) -> Path:
        return self.run / f"{instance}.fifo"

    def ensure(self) -> None:
        """Create the directories, owner-only (0700), whatever the umask."""
        for directory in (self.root, self.logs, self.run):
            directory.mkdir(parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
