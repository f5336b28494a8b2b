"""Crash safety (docs/reliability.md#rules): a reconciler that dies leaves its processes running, and the next one
adopts them, supervises them and keeps capturing their output without losing a line."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable

import psutil

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

COUNTER = (
    "import itertools, time\n"
    "for i in itertools.count():\n"
    "    print(f'line {i}', flush=True)\n"
    "    time.sleep(0.0005)\n"
)


def _numbers(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"Z line (\d+)$", text, re.MULTILINE)]


def test_sigkilled_reconciler_leaves_processes_and_the_next_adopts_them(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {web: {command: sleep 1000, replicas: 2}}")
    r.start()
    before = {n: r.wait_state(n, "running")["pid"] for n in ("web.0", "web.1")}
    r.kill()
    assert all(psutil.pid_exists(pid) for pid in before.values())
    r.start()
    rows = r.rows()
    assert {n: rows[n]["pid"] for n in before} == before
    assert all(rows[n]["restarts"] == 0 for n in before)
    sleeps = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "1000"]
              and p.pid in before.values()]
    assert len(sleeps) == 2
    events = [e["message"] for e in r.client.get("/v1/events", limit=50)["events"]]
    assert f"adopted web.0 (pid {before['web.0']})" in events


def test_exit_of_an_adopted_process_is_handled_by_its_policy(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {web: {command: sleep 1000, restart: {backoff: {initial: 0}}}}")
    r.start()
    pid = r.wait_state("web", "running")["pid"]
    r.kill()
    r.start()
    assert r.row("web")["pid"] == pid
    psutil.Process(pid).kill()
    wait_for(lambda: r.row("web")["pid"] not in (None, pid))
    assert r.row("web")["restarts"] == 1


def test_output_survives_a_sigkilled_reconciler_with_no_line_lost(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(f"processes: {{count: {{command: {json.dumps([sys.executable, '-u', '-c', COUNTER])}}}}}")
    r.start()
    r.wait_state("count", "running")
    wait_for(lambda: len(_numbers(r.cli("logs", "count", "-n", "5").output)) == 5)
    r.kill()  # while the child prints a line every half millisecond
    r.start()
    wait_for(lambda: max(_numbers(r.cli("logs", "count", "-n", "1").output) or [0]) > 3000, timeout=20)
    r.cli("stop", "count")
    log = (r.state_dir.log_file("count")).read_text()
    rotated = r.state_dir.logs / "count.log.1"
    text = (rotated.read_text() if rotated.exists() else "") + log
    numbers = _numbers(text)
    assert numbers == list(range(len(numbers))), "a line was lost or duplicated"


def test_down_keep_leaves_processes_for_the_next_reconciler(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {web: {command: sleep 1000}}")
    r.start()
    pid = r.wait_state("web", "running")["pid"]
    result = r.cli("down", "--keep")
    assert result.output == "reconciler stopped; processes left running\n"
    assert r.wait_exit() == 0
    assert psutil.pid_exists(pid)
    r.start()
    assert r.row("web")["pid"] == pid and r.row("web")["state"] == "running"


def test_a_process_no_record_knows_is_stopped_not_duplicated(make_reconciler: Callable[..., Reconciler]) -> None:
    """A reconciler killed between starting a process and writing it down leaves a process no record knows: one
    whose spec has changed since is found by its tag and stopped, and one instance runs afterwards (an unchanged one
    is adopted: tests/reliability/state_loss)."""
    from sentinel.state.store import Store

    r = make_reconciler("processes: {web: {command: sleep 1000}}")
    r.start()
    old = r.wait_state("web", "running")["pid"]
    r.kill()
    with Store.open(r.state_dir.db) as store:
        store.delete_process("web")
    r.config.write_text("processes: {web: {command: sleep 1001}}")
    r.start()
    new = r.wait_state("web", "running")["pid"]
    assert new != old
    wait_for(lambda: not psutil.pid_exists(old) or psutil.Process(old).status() == psutil.STATUS_ZOMBIE)
    events = [e["message"] for e in r.client.get("/v1/events", limit=50)["events"]]
    assert f"stopped web (pid {old}): running, but unknown to state.db (its spec has changed)" in events
