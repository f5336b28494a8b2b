"""state.db locked by another program for seconds (docs/reliability.md#f32-a-locked-state-database), black-box:
supervision and the API go on, and every event and change made meanwhile reaches state.db once the lock goes."""

from __future__ import annotations

from collections.abc import Callable

from sentinel.state import Store
from tests.integration.state.support import raw
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for


def _waiting(r: Reconciler) -> int:
    return int(r.client.get("/healthz")["state_writes_waiting"])


def test_a_locked_state_db_holds_up_neither_restarts_nor_commands_and_loses_nothing(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  crashy: {command: ["sh", "-c", "sleep 0.2; exit 1"], restart: {backoff: {initial: 100ms, max: 100ms}}}
  web: {command: sleep 1000}
""")
    r.start()
    wait_for(lambda: r.row("crashy")["restarts"] >= 1, timeout=10)
    with raw(r.state_dir.db) as other:
        other.execute("BEGIN EXCLUSIVE")  # a backup, or `sqlite3 state.db` in a shell
        before = r.row("crashy")["restarts"]
        wait_for(lambda: r.row("crashy")["restarts"] >= before + 4, timeout=10)  # restarts go on
        stopped = r.cli("stop", "web")
        assert stopped.exit_code == 0, stopped.output
        assert r.row("web")["state"] == "stopped"
        assert _waiting(r) > 0  # kept, not lost
        during = r.row("crashy")["restarts"]
    wait_for(lambda: _waiting(r) == 0, timeout=10)
    with Store.open(r.state_dir.db, readonly=True) as store:
        assert store.processes()["web"].held
        assert store.processes()["crashy"].restarts >= during
        restarted = [e for e in store.events(process="crashy", limit=10_000) if e.kind == "restarted"]
        assert len(restarted) >= during


def test_a_job_run_started_while_state_db_is_locked_keeps_its_number_and_history(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  report: {command: ["sh", "-c", "echo done"], schedule: {cron: "0 3 * * *"}}
""")
    r.start()
    with raw(r.state_dir.db) as other:
        other.execute("BEGIN EXCLUSIVE")
        assert r.cli("run", "report").exit_code == 0
        wait_for(lambda: r.row("report")["state"] == "scheduled" and r.row("report")["exit_code"] == 0, timeout=10)
        line = next(x for x in r.cli("logs", "report").output.splitlines() if x.endswith(" done"))
        number = int(line.split(" ")[1].removeprefix("#"))  # numbered while the database was locked
    wait_for(lambda: _waiting(r) == 0, timeout=10)
    runs = r.client.get("/v1/processes/report/runs")["runs"]
    assert [(x["id"], x["trigger"], x["outcome"], x["exit_code"]) for x in runs] == [(number, "manual", "succeeded", 0)]
