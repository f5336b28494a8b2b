"""systemd (Linux): the reconciler as a user unit (`systemctl --user`, the default) or a system unit, and the
systemctl commands that load, unload, ask and start it. Rendered by units.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sentinel.service.manager import MARK, UNIT, Reconciler
from sentinel.service.units import command_line, environment_line, escape_specifiers, render_unit

STOP_GRACE = 150  # TimeoutStopSec: longer than `sentinel down`'s 120 s wait for every process to stop


@dataclass(frozen=True, slots=True)
class Systemd:
    """The reconciler's systemd unit."""

    reconciler: Reconciler
    platform: Literal["systemd"] = "systemd"

    @property
    def name(self) -> str:
        return UNIT

    @property
    def path(self) -> Path:
        folder = Path("/etc/systemd/system") if self.reconciler.system else \
            self.reconciler.config_home / "systemd" / "user"
        return folder / UNIT

    @property
    def systemctl(self) -> list[str]:
        return ["systemctl"] if self.reconciler.system else ["systemctl", "--user"]

    def render(self) -> bytes:
        """Restart=always; KillMode=process: stopping or restarting the unit signals the reconciler alone, which
        stops its processes itself, or leaves them to the next one after `sentinel down --keep`. SIGHUP reloads
        the config. Output goes to journald (`journalctl --user -u sentinel`)."""
        reconciler = self.reconciler
        service = [
            ("Type", "simple"),
            ("ExecStart", command_line(reconciler.argv)),
            ("ExecReload", "/bin/kill -HUP $MAINPID"),
            ("WorkingDirectory", escape_specifiers(reconciler.working_directory)),
            *[("Environment", environment_line(key, value)) for key, value in reconciler.environment.items()],
            ("Restart", "always"),
            ("RestartSec", "1s"),
            ("KillMode", "process"),
            ("TimeoutStopSec", f"{STOP_GRACE}s"),
            ("StandardOutput", "journal"),
            ("StandardError", "journal"),
            ("SyslogIdentifier", "sentinel"),
        ]
        target = "multi-user.target" if reconciler.system else "default.target"
        unit = [("Description", "SentinelZero reconciler")]
        if reconciler.system:
            unit.append(("After", "network.target"))
        text = render_unit([("Unit", unit), ("Service", service), ("Install", [("WantedBy", target)])],
                           header=f"{MARK}: `sentinel service uninstall` removes it")
        return text.encode()

    def owns(self, existing: bytes) -> bool:
        return existing.startswith(f"# {MARK}".encode())

    def directories(self) -> tuple[Path, ...]:
        return ()

    def loaded_command(self) -> list[str]:
        return [*self.systemctl, "is-enabled", "--quiet", UNIT]

    def load_commands(self, *, loaded: bool, changed: bool) -> list[list[str]]:
        """daemon-reload (reads the file), then enable --now; both are no-ops when nothing changed."""
        return [[*self.systemctl, "daemon-reload"], [*self.systemctl, "enable", "--now", UNIT]]

    def unload_commands(self) -> list[list[str]]:
        return [[*self.systemctl, "disable", "--now", UNIT]]

    def forget_commands(self) -> list[list[str]]:
        return [[*self.systemctl, "daemon-reload"]]

    def status_command(self) -> list[str]:
        return [*self.systemctl, "status", "--no-pager", UNIT]

    def start_commands(self) -> list[list[str]]:
        return [[*self.systemctl, "start", UNIT]]
