"""Stop modes, reload and signal, and the open-file limit children get (#18), against a real reconciler
with a stand-in server (tests/support/standin_tree.py) whose processes log the signals they get."""

from __future__ import annotations

import re
import resource
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.support import standin_tree
from tests.support.daemon import Reconciler
from tests.support.procs import gone
from tests.support.wait import wait_for

STANDIN = standin_tree.__file__


def _tree(log: Path, role: str, extra: str = "") -> str:
    return (f"processes:\n  app:\n    command: [{sys.executable!r}, {STANDIN!r}, {str(log)!r}, {role}]\n"
            f"{extra}")


def _ready(log: Path) -> list[int]:
    """Wait until the parent and both children are up; the children's pids."""
    wait_for(lambda: log.exists() and log.read_text().count("child-ready") == 2 and "parent-ready" in log.read_text(),
             timeout=15.0, message=lambda: log.read_text() if log.exists() else "no log")
    return [int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("child-ready")]


def _got(log: Path, who: str) -> list[str]:
    return sorted(line.split()[-1] for line in log.read_text().splitlines() if line.startswith(f"{who} "))


@pytest.mark.parametrize(("mode", "role", "children"), [
    ("group", "silent", ["SIGTERM", "SIGTERM"]),  # the default: everyone at once
    ("mixed", "tells", ["SIGINT", "SIGINT"]),  # the parent alone; it stops its own children
    ("mixed", "silent", []),  # the parent alone; what it leaves is SIGKILLed after the timeout
    ("main", "silent", []),  # the parent alone; what it leaves is SIGKILLed once it is gone
])
def test_stop_mode_decides_who_gets_the_stop_signal(make_reconciler: Callable[..., Reconciler], tmp_path: Path,
                                                    mode: str, role: str, children: list[str]) -> None:
    log = tmp_path / "signals.log"
    timeout = "1s" if (mode, role) == ("mixed", "silent") else "60s"
    r = make_reconciler(_tree(log, role, f"    stop: {{mode: {mode}, timeout: {timeout}}}\n"))
    r.start()
    r.wait_state("app", "running")
    kids = _ready(log)
    assert r.cli("stop", "app").exit_code == 0
    # `main` does not wait out the 60 s timeout for what the parent left: it is killed at once.
    r.wait_state("app", "stopped", timeout=30.0)
    wait_for(lambda: all(map(gone, kids)), timeout=10.0, message="a child outlived the stop")
    assert _got(log, "parent") == ["SIGTERM"]
    assert _got(log, "child") == children


def test_reload_signal_and_watched_file(make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    log = tmp_path / "signals.log"
    conf = tmp_path / "app.conf"
    conf.write_text("one\n")
    r = make_reconciler(_tree(log, "silent", f"    cwd: {str(tmp_path)!r}\n"
                                             "    reload: {signal: HUP, watch: [app.conf]}\n"))
    r.start()
    pid = r.wait_state("app", "running")["pid"]
    _ready(log)
    result = r.cli("reload", "app")
    assert result.exit_code == 0, result.output
    wait_for(lambda: _got(log, "parent") == ["SIGHUP"], timeout=10.0, message=log.read_text)
    result = r.cli("signal", "app", "USR1")
    assert result.exit_code == 0 and f"pid {pid}" in result.output, result.output
    wait_for(lambda: gone(pid)
             or r.row("app")["pid"] != pid, timeout=10.0)  # SIGUSR1 ends the stand-in: the signal did arrive
    pid = r.wait_state("app", "running", timeout=30.0)["pid"]
    wait_for(lambda: log.read_text().count("child-ready") == 4, timeout=15.0)
    log.write_text("")
    conf.write_text("two\n")  # a file it reads changed: a reload, not a restart
    wait_for(lambda: _got(log, "parent") == ["SIGHUP"], timeout=15.0, message=log.read_text)
    assert r.row("app")["pid"] == pid
    events = r.cli("events", "-n", "50").output
    assert "reloaded app: app.conf changed (sent SIGHUP" in events, events
    assert _got(log, "child") == []  # only the main process was told


def test_reload_is_refused_without_a_way_and_signal_names_are_checked(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes:\n  app: {command: sleep 1000}\n")
    r.start()
    r.wait_state("app", "running")
    result = r.cli("reload", "app")
    assert result.exit_code == 1 and "has no reload: way" in result.output
    result = r.cli("signal", "app", "NOPE")
    assert result.exit_code == 2 and "no signal 'NOPE'" in result.output  # a bad argument, as for click
    assert r.cli("signal", "nosuch", "HUP").exit_code == 1


def test_reload_command_runs_when_a_watched_file_changes(make_reconciler: Callable[..., Reconciler],
                                                        tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("one\n")
    marker = tmp_path / "reloaded"
    command = f"sh -c 'echo $MAINPID >> {marker}'"
    r = make_reconciler(f"processes:\n  app:\n    command: sleep 1000\n    cwd: {str(tmp_path)!r}\n"
                        f"    reload: {{command: {command!r}, watch: [app.conf]}}\n")
    r.start()
    pid = r.wait_state("app", "running")["pid"]
    conf.write_text("two\n")
    wait_for(lambda: "reloaded app: app.conf changed (exit 0)" in r.cli("events", "-n", "50").output, timeout=15.0)
    assert marker.read_text().split() == [str(pid)]
    assert r.row("app")["pid"] == pid


@pytest.mark.parametrize("own", [None, 512])
def test_children_get_the_start_limit_or_their_own(make_reconciler: Callable[..., Reconciler], own: int | None) -> None:
    extra = f"    limits: {{nofile: {own}}}\n" if own else ""
    r = make_reconciler(f"processes:\n  app:\n    command: sleep 1000\n{extra}")
    r.fd_soft_limit = 300  # the reconciler starts with 300 and raises its own to the hard limit
    r.start()
    pid = r.wait_state("app", "running")["pid"]
    soft, _ = psutil.Process(pid).rlimit(psutil.RLIMIT_NOFILE)
    assert soft == (own or 300)


def test_nofile_above_the_hard_limit_is_one_clear_line(make_reconciler: Callable[..., Reconciler]) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard >= 1 << 30:
        pytest.skip("no finite hard open-file limit here")
    r = make_reconciler(f"processes:\n  app:\n    command: sleep 1000\n    limits: {{nofile: {hard + 1}}}\n")
    r.start()
    wait_for(lambda: f"limits.nofile {hard + 1} is above the hard open-file limit ({hard})"
             in r.cli("events", "-n", "50").output, timeout=15.0)


@pytest.mark.parametrize("backoff", ["0s", "1s"])  # restarted at once (a start), or after a back-off
def test_a_crash_that_leaves_workers_behind_says_what_the_restart_waits_for(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path, backoff: str) -> None:
    log = tmp_path / "signals.log"
    settings = f"    stop: {{timeout: 120s}}\n    restart: {{backoff: {{initial: {backoff}}}}}\n"
    r = make_reconciler(_tree(log, "busy", settings))
    r.start()
    pid = r.wait_state("app", "running")["pid"]
    kids = _ready(log)
    psutil.Process(pid).kill()  # the master dies; its workers are busy and ignore SIGTERM
    row = r.wait_state("app", "starting", timeout=15.0)
    pids = ", ".join(map(str, sorted(kids)))
    expected = rf"waiting for 2 leftover processes of app to exit \(pids {pids}, SIGKILL in 1[12]\ds\)"
    assert re.fullmatch(expected, row["reason"]), row
    wait_for(lambda: _got(log, "child") == ["SIGTERM", "SIGTERM"], timeout=10.0, message=log.read_text)
    for kid in kids:  # their requests are done
        psutil.Process(kid).kill()
    new = r.wait_state("app", "running", timeout=15.0)
    assert new["pid"] != pid
    events = r.cli("events", "-n", "50").output
    assert f"2 leftover processes of app gone (pids {pids})" in events, events
