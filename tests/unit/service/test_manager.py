"""sentinel/service/manager.py and its two ServiceManagers on what the black-box tests do not reach: system scope,
the interpreter's `sentinel`, commands that fail or are missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sentinel.service.manager import (
    Ran,
    Reconciler,
    ServiceError,
    check,
    default_platform,
    run_command,
    sentinel_command,
    service_manager,
)
from sentinel.service.plists import read_plist


def _reconciler(tmp_path: Path, *, system: bool) -> Reconciler:
    return Reconciler.for_config("/srv/app/sentinel.yaml", environment_name="prod", state_home=None, system=system,
                                 environ={"HOME": str(tmp_path), "PATH": "/usr/bin"})


def test_system_scope(tmp_path: Path) -> None:
    reconciler = _reconciler(tmp_path, system=True)
    assert reconciler.argv[-2:] == ("--env", "prod") and reconciler.environment == {"PATH": "/usr/bin"}
    assert reconciler.config_home == tmp_path / ".config"
    systemd = service_manager("systemd", reconciler)
    assert systemd.path == Path("/etc/systemd/system/sentinel.service")
    assert systemd.status_command() == ["systemctl", "status", "--no-pager", "sentinel.service"]
    assert systemd.start_commands() == [["systemctl", "start", "sentinel.service"]]
    assert systemd.forget_commands() == [["systemctl", "daemon-reload"]]
    text = systemd.render().decode().splitlines()
    assert {"WantedBy=multi-user.target", "After=network.target"} <= set(text)
    launchd = service_manager("launchd", reconciler)
    assert launchd.path == Path("/Library/LaunchDaemons/io.sentinelzero.reconciler.plist")
    assert launchd.load_commands(loaded=True, changed=True)[0] == ["launchctl", "bootout",
                                                                   "system/io.sentinelzero.reconciler"]
    assert launchd.load_commands(loaded=True, changed=False) == []
    assert launchd.start_commands() == [["launchctl", "kickstart", "system/io.sentinelzero.reconciler"]]
    assert not launchd.owns(b"not a plist") and read_plist(b"<plist") is None


def test_the_interpreters_sentinel_or_python_m(tmp_path: Path) -> None:
    assert sentinel_command() == (str(Path(sys.executable).parent / "sentinel"),)
    python = tmp_path / "python3"
    assert sentinel_command(str(python)) == (str(python), "-m", "sentinel")
    assert (default_platform("darwin"), default_platform("linux")) == ("launchd", "systemd")


def test_failing_and_missing_commands_are_one_line() -> None:
    missing = run_command(["no-such-program-here"])
    assert (missing.code, missing.first_line) == (127, "no-such-program-here: command not found")
    assert Ran(("x",), 1, "\n\n").first_line == "no output"
    with pytest.raises(ServiceError, match=r"^doing it: `sh -c 'exit 3'` failed \(exit 3\): no output$"):
        check(run_command(["sh", "-c", "exit 3"]), "doing it")
