"""launchd (macOS): the reconciler as a LaunchAgent (the user's, in `gui/UID`) or a LaunchDaemon (`system`), and the
launchctl commands that load, unload, ask and start it. Keys are launchd.plist(5)'s; rendered by plists.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sentinel.service.manager import LABEL, Reconciler
from sentinel.service.plists import read_plist, render_plist

STOP_GRACE = 150  # ExitTimeOut: seconds between SIGTERM and SIGKILL, longer than `sentinel down`'s 120 s wait


@dataclass(frozen=True, slots=True)
class Launchd:
    """The reconciler's launchd job."""

    reconciler: Reconciler
    platform: Literal["launchd"] = "launchd"

    @property
    def name(self) -> str:
        return LABEL

    @property
    def path(self) -> Path:
        folder = Path("/Library/LaunchDaemons") if self.reconciler.system else \
            self.reconciler.home / "Library" / "LaunchAgents"
        return folder / f"{LABEL}.plist"

    @property
    def log_file(self) -> Path:
        """Where its standard output and error go: ~/Library/Logs (or /Library/Logs), where Console.app looks."""
        folder = Path("/Library/Logs") if self.reconciler.system else self.reconciler.home / "Library" / "Logs"
        return folder / "SentinelZero" / "sentinel.log"

    @property
    def domain(self) -> str:
        return "system" if self.reconciler.system else f"gui/{self.reconciler.uid}"

    @property
    def target(self) -> str:
        return f"{self.domain}/{LABEL}"

    def job(self) -> dict[str, Any]:
        """The property list: kept alive and started at load; its processes outlive it (AbandonProcessGroup), so
        `sentinel down --keep` and an upgrade leave them to the next reconciler."""
        return {
            "Label": LABEL,
            "ProgramArguments": list(self.reconciler.argv),
            "EnvironmentVariables": dict(self.reconciler.environment),
            "WorkingDirectory": self.reconciler.working_directory,
            "RunAtLoad": True,
            "KeepAlive": True,
            "AbandonProcessGroup": True,
            "ExitTimeOut": STOP_GRACE,
            "StandardOutPath": str(self.log_file),
            "StandardErrorPath": str(self.log_file),
        }

    def render(self) -> bytes:
        return render_plist(self.job())

    def owns(self, existing: bytes) -> bool:
        """Ours when it is a property list with our Label (plists carry only documented keys: no mark of our own)."""
        found = read_plist(existing)
        return found is not None and found.get("Label") == LABEL

    def directories(self) -> tuple[Path, ...]:
        return (self.log_file.parent,)

    def loaded_command(self) -> list[str]:
        return ["launchctl", "print", self.target]

    def load_commands(self, *, loaded: bool, changed: bool) -> list[list[str]]:
        """bootstrap (RunAtLoad starts it); a loaded job whose file changed is booted out first to read it again."""
        bootstrap = [["launchctl", "enable", self.target], ["launchctl", "bootstrap", self.domain, str(self.path)]]
        if not loaded:
            return bootstrap
        return [["launchctl", "bootout", self.target], *bootstrap] if changed else []

    def unload_commands(self) -> list[list[str]]:
        return [["launchctl", "bootout", self.target]]

    def forget_commands(self) -> list[list[str]]:
        return []

    def status_command(self) -> list[str]:
        return ["launchctl", "print", self.target]

    def start_commands(self) -> list[list[str]]:
        return [["launchctl", "kickstart", self.target]]

