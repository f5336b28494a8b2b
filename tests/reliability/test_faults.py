"""Fault scenarios of docs/reliability.md on real reconcilers, each ending with no zombie under the reconciler
and no process of the test left (tests/reliability/conftest.py). The rows covered elsewhere are cited
there; these are the ones that needed a whole reconciler driven through the fault."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import Reconciler
from tests.support.faults import CRASHER, FLOOD, TREE, corrupt_database, locked_database, zombies_under
from tests.support.procs import gone, marked
from tests.support.wait import wait_for

pytestmark = pytest.mark.reliability


def running_pids(r: Reconciler) -> dict[str, int]:
    return {name: row["pid"] for name, row in r.rows().items() if row["state"] == "running"}


def test_trees_crashers_and_exec_checks_leave_no_zombie_and_nothing_behind(
    reconcilers: Callable[..., Reconciler],
) -> None:
    """docs/reliability.md#f01-orphaned-grandchildren, #f02-escaped-descendants, #f04-zombie-accumulation and
    #f45-health-check-pitfalls together: a tree with an escaped child, a crasher restarted over and over (its
    children ended each time) and a service whose exec check leaves a child behind, every 100 ms."""
    r = reconcilers(f"""\
processes:
  tree: {{command: "{TREE}", shell: true}}
  crasher:
    command: "{CRASHER}"
    shell: true
    restart: {{backoff: {{initial: 0}}, max_retries: 1000}}
  checked:
    command: sleep 1000
    health: {{exec: "sh -c 'sleep 30 & exit 0'", interval: 100ms, timeout: 1s}}
""")
    r.start()
    wait_for(lambda: r.row("crasher")["restarts"] >= 5, timeout=30, message=lambda: str(r.row("crasher")))
    wait_for(lambda: r.row("checked")["health"] == "healthy", timeout=10, message=lambda: str(r.row("checked")))
    reconciler = r.process
    assert reconciler is not None
    wait_for(lambda: not zombies_under(reconciler.pid), timeout=5)  # (the fixture checks again at the end)
    assert r.cli("down").exit_code == 0


def test_a_flood_of_output_never_blocks_and_its_log_stays_within_max_size(
    reconcilers: Callable[..., Reconciler],
) -> None:
    """docs/reliability.md#f23-a-full-output-pipe and #f26-logs-that-fill-the-disk: `yes` writes as fast as
    it can; the reconciler keeps answering and the rotated logs stay within max_size × (keep + 1)."""
    r = reconcilers(f"""\
processes:
  flood: {{command: "{FLOOD}", shell: true, logs: {{max_size: 200KB, keep: 2}}}}
  calm: {{command: sleep 1000}}
""")
    r.start()
    logs = r.state_dir.logs
    wait_for((logs / "flood.log.2").exists, timeout=30, message="the flood's log never rotated twice")
    for _ in range(5):  # the API answers all along
        assert r.cli("status").exit_code == 0
    assert r.row("flood")["state"] == "running" and r.row("flood")["restarts"] == 0
    assert r.cli("stop", "flood").exit_code == 0  # the files hold still while they are measured
    sizes = {path.name: path.stat().st_size for path in logs.glob("flood.log*")}
    assert set(sizes) <= {"flood.log", "flood.log.1", "flood.log.2"}, sizes
    assert sum(sizes.values()) <= 3 * 200_000 + 3 * 256 * 1024, sizes  # each file may pass max_size by one chunk


def test_output_written_just_before_an_exit_is_all_in_the_log(reconcilers: Callable[..., Reconciler]) -> None:
    """docs/reliability.md#f24-output-lost-at-exit: 20,000 lines, then exit at once; none is lost."""
    r = reconcilers('processes: {burst: {command: "seq 1 20000", restart: {policy: never}}}\n')
    r.start()
    r.wait_state("burst", "exited", timeout=20)
    lines = (r.state_dir.logs / "burst.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [str(i) for i in range(1, 20001)]


def test_processes_that_died_with_the_reconciler_are_restarted_and_survivors_adopted(
    reconcilers: Callable[..., Reconciler],
) -> None:
    """docs/reliability.md#f09-partial-death-with-the-reconciler: SIGKILL the reconciler, kill two of four
    replicas while none runs; the next one restarts those two, adopts the other two, and duplicates none."""
    config = "processes: {web: {command: sleep 1000, replicas: 4}}\n"
    r = reconcilers(config)
    r.start()
    wait_for(lambda: len(running_pids(r)) == 4, timeout=20)
    before = running_pids(r)
    r.kill()
    for name in ("web.0", "web.2"):
        os.kill(before[name], signal.SIGKILL)
    wait_for(lambda: gone(before["web.0"]) and gone(before["web.2"]), timeout=10)
    r.start()
    wait_for(lambda: len(running_pids(r)) == 4, timeout=20, message=lambda: f"{r.rows()}\n{r.log[-2000:]}")
    after = running_pids(r)
    assert after["web.1"] == before["web.1"] and after["web.3"] == before["web.3"]
    assert after["web.0"] != before["web.0"] and after["web.2"] != before["web.2"]
    assert len([p for p in marked() if p.name() == "sleep"]) == 4  # no duplicate


def test_concurrent_restarts_of_one_process_leave_exactly_one_running(
    reconcilers: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    """docs/reliability.md#f10-concurrent-control-requests: eight `sentinel restart web` at once, from eight
    processes; afterwards one `web` runs, never two."""
    r = reconcilers("processes: {web: {command: sleep 1000}}\n")
    r.start()
    r.wait_state("web", "running")
    argv = [sys.executable, "-m", "sentinel", "--state-dir", str(r.home), "restart", "web"]
    clients = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(8)]
    outputs = [client.communicate(timeout=60)[0].decode() for client in clients]
    assert all(client.returncode == 0 for client in clients), outputs
    r.wait_state("web", "running")
    wait_for(lambda: len([p for p in marked() if p.name() == "sleep"]) == 1, timeout=10,
             message=lambda: str([p.pid for p in marked()]))


def test_a_corrupt_state_db_at_start_up_is_moved_aside_and_said(reconcilers: Callable[..., Reconciler]) -> None:
    """docs/reliability.md#f33-a-corrupt-state-database, on a whole reconciler: state.db overwritten with
    garbage between two runs; the next `up` starts, says what it did, and runs everything."""
    r = reconcilers("processes: {web: {command: sleep 1000}}\n")
    r.start()
    r.wait_state("web", "running")
    assert r.cli("down").exit_code == 0
    r.wait_exit()
    corrupt_database(r.state_dir.db)
    r.start()
    r.wait_state("web", "running")
    events = r.cli("events", "-n", "100").output
    assert "state.db" in events and "corrupt" in events.lower(), events


def test_children_inherit_no_descriptor_of_the_reconciler(reconcilers: Callable[..., Reconciler]) -> None:
    """docs/reliability.md#f44-inherited-descriptors: a child holds its stdin, its output pipe and nothing else
    (no socket, no state.db, no lock file), so it cannot keep the next reconciler from starting."""
    r = reconcilers("processes: {web: {command: sleep 1000}}\n")
    r.start()
    pid = r.wait_state("web", "running")["pid"]
    targets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    assert len(os.listdir(f"/proc/{pid}/fd")) == 3, targets
    assert not [t for t in targets if t.startswith("socket:") or "state.db" in t or t.endswith(".pid")], targets


def test_sigterm_while_state_db_is_locked_still_stops_everything(reconcilers: Callable[..., Reconciler]) -> None:
    """docs/reliability.md#f32-a-locked-state-database and #f17-an-unbounded-shutdown: another program holds
    state.db locked when SIGTERM comes; every process is stopped all the same, the reconciler exits, and the
    next one starts on the same state directory."""
    r = reconcilers("processes: {web: {command: sleep 1000, replicas: 3}}\n")
    r.start()
    wait_for(lambda: len(running_pids(r)) == 3, timeout=20)
    with locked_database(r.state_dir.db):
        r.signal(signal.SIGTERM)
        assert r.wait_exit(timeout=40) == 0
        wait_for(lambda: not marked(), timeout=10, message=lambda: str([p.pid for p in marked()]))
    r.start()
    wait_for(lambda: len(running_pids(r)) == 3, timeout=20, message=lambda: f"{r.rows()}\n{r.log[-2000:]}")
