"""`up`, `down`, status and the state directory, black-box against a real reconciler."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable

import psutil

from tests.support.daemon import Reconciler
from tests.support.procs import gone
from tests.support.wait import wait_for

TWO = """
processes:
  db: {command: sleep 1000}
  web: {command: sleep 1000, depends_on: [db], replicas: 2, group: front}
"""


def test_up_starts_everything_and_status_shows_it(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(TWO)
    r.start()
    for name in ("db", "web.0", "web.1"):
        row = r.wait_state(name, "running")
        assert psutil.Process(row["pid"]).cmdline() == ["sleep", "1000"]
    result = r.cli("status")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATE", "HEALTH", "PID"]
    assert [line.split()[:2] for line in lines[1:]] == [["db", "running"], ["web.0", "running"], ["web.1", "running"]]
    rows = r.cli("status", "--json", "web")
    import json

    data = json.loads(rows.output)
    assert [row["name"] for row in data] == ["web.0", "web.1"]
    assert set(data[0]) >= {"name", "state", "health", "pid", "restarts", "exit_code", "started_at", "uptime_s",
                            "cpu_percent", "memory_rss", "group", "next_run", "last_run"}
    assert data[0]["group"] == "front" and data[0]["memory_rss"] > 0


def test_state_dir_and_socket_are_owner_only(make_reconciler: Callable[..., Reconciler]) -> None:
    old = os.umask(0)
    try:
        r = make_reconciler("processes: {a: {command: sleep 1000}}")
        r.start()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(r.home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(r.state_dir.socket).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(r.state_dir.db).st_mode) == 0o600


def test_second_reconciler_on_one_state_dir_is_refused(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    second = subprocess.run(
        [sys.executable, "-m", "sentinel", "--state-dir", str(r.home), "up", "-f", str(r.config)],
        check=False, capture_output=True, text=True, timeout=30,
    )
    assert second.returncode == 1
    assert second.stderr.strip() == f"a reconciler is already running on {r.home} (pid {r.process.pid})"  # type: ignore[union-attr]
    assert r.client.alive()


def test_sigterm_stops_every_process_then_exits(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(TWO)
    r.start()
    pids = [r.wait_state(n, "running")["pid"] for n in ("db", "web.0", "web.1")]
    r.signal(signal.SIGTERM)
    assert r.wait_exit() == 0
    assert all(map(gone, pids))
    result = r.cli("status")
    assert "no reconciler is running" in result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:]] == [
        ["db", "stopped"], ["web.0", "stopped"], ["web.1", "stopped"]]


def test_down_stops_processes_and_reconciler(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(TWO)
    r.start()
    pids = [r.wait_state(n, "running")["pid"] for n in ("db", "web.0", "web.1")]
    result = r.cli("down")
    assert result.exit_code == 0, result.output
    assert result.output == "reconciler stopped\n"
    assert r.wait_exit() == 0
    wait_for(lambda: not any(psutil.pid_exists(p) for p in pids))
    again = r.cli("down")
    assert (again.exit_code, again.stderr) == (1, f"no reconciler is running on {r.home}\n")


def test_invalid_config_at_up_exits_2_and_starts_nothing(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000, restart: {policy: alway}}}")
    r.start(wait=False)
    assert r.wait_exit() == 2
    assert "restart.policy: must be one of always, on-failure, never (got 'alway')" in r.log
    assert "Traceback" not in r.log


def test_second_interrupt_forces_the_stop(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  stubborn: {command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"], stop: {timeout: 60s}}
""")
    r.start()
    pid = r.wait_state("stubborn", "running")["pid"]
    r.signal(signal.SIGINT)
    wait_for(lambda: "stop_signal pgid=" in r.log)
    assert r.process is not None and r.process.poll() is None  # still waiting out the 60 s grace
    r.signal(signal.SIGINT)
    assert r.wait_exit(timeout=10) == 0
    wait_for(lambda: gone(pid))


def test_more_processes_than_a_1024_descriptor_limit_allows_all_run(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    """Each process costs the reconciler about four descriptors; started with a soft limit of 256, it
    raises its own limit and runs 100 processes."""
    r = make_reconciler("processes: {many: {command: sleep 1000, replicas: 100}}")
    r.fd_soft_limit = 256
    r.start()
    wait_for(lambda: sum(row["state"] == "running" for row in r.rows().values()) == 100, timeout=30)
    assert "Too many open files" not in r.log


def test_a_hard_descriptor_limit_too_low_leaves_what_does_not_fit_pending(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    """docs/reliability.md#f43-many-processes, small: under a hard limit of 128, 30 processes do not all fit;
    what fits runs, the rest waits with the reason (tests/reliability/test_descriptors.py drives it further)."""
    r = make_reconciler("processes: {many: {command: sleep 1000, replicas: 30}}")
    r.fd_hard_limit = 128
    r.start()

    def settled() -> bool:
        states = [row["state"] for row in r.rows().values()]
        return len(states) == 30 and set(states) == {"running", "pending"}

    wait_for(settled, timeout=30, message=lambda: str(r.rows()))
    pending = [row for row in r.rows().values() if row["state"] == "pending"]
    assert pending and all(row["reason"].startswith("not started: too few file descriptors") for row in pending)


def test_a_start_a_restart_and_a_stop_record_every_process_and_event_once_in_order(
        make_reconciler: Callable[..., Reconciler]) -> None:
    """A pass's records and events, the adoptions of a restart, `down --keep`'s records and the shutdown's are each
    written together (docs/architecture.md, state.db): what they record, and in which order, is as one by one."""
    r = make_reconciler(TWO)
    r.start()
    pids = {name: r.wait_state(name, "running")["pid"] for name in ("db", "web.0", "web.1")}

    def events() -> list[tuple[str, str | None]]:
        """Every event in state.db in the order of its ids (`sentinel events` as it lists them)."""
        listed = json.loads(r.cli("events", "--json", "-n", "100").output)
        with contextlib.closing(sqlite3.connect(f"file:{r.state_dir.db}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT kind, process FROM event ORDER BY id").fetchall()
        assert [(event["kind"], event["process"]) for event in listed] == rows
        return rows

    started = [("config_applied", None), ("started", "db"), ("started", "web.0"), ("started", "web.1")]
    assert events() == started
    assert r.cli("down", "--keep").exit_code == 0
    assert r.wait_exit() == 0
    r.start()
    for name, pid in pids.items():
        assert r.wait_state(name, "running")["pid"] == pid
    assert events() == [*started, ("shutdown", None), ("config_applied", None),
                        ("adopted", "db"), ("adopted", "web.0"), ("adopted", "web.1")]
    r.signal(signal.SIGTERM)
    assert r.wait_exit() == 0
    assert all(map(gone, pids.values()))
    assert events()[-1] == ("shutdown", None)
    assert [line.split()[:2] for line in r.cli("status").stdout.splitlines()[1:]] == [
        ["db", "stopped"], ["web.0", "stopped"], ["web.1", "stopped"]]
