"""Scheduled jobs end to end: runs on schedule, history, `run`, concurrency, timeouts, missed runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psutil

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for


def _runs(r: Reconciler, name: str) -> list[dict[str, object]]:
    return list(r.client.get(f"/v1/processes/{name}/runs", limit=100)["runs"])


def test_job_runs_on_its_schedule_and_keeps_a_history(make_reconciler: Callable[..., Reconciler],
                                                     tmp_path: Path) -> None:
    r = make_reconciler("""
processes:
  tick: {command: ["sh", "-c", "echo tick >> ticks.txt"], schedule: {every: 1s}}
""")
    r.start()
    wait_for(lambda: len([x for x in _runs(r, "tick") if x["outcome"] == "succeeded"]) >= 2, timeout=10)
    runs = _runs(r, "tick")
    assert all(x["trigger"] == "schedule" and x["exit_code"] == 0 for x in runs if x["outcome"] == "succeeded")
    row = r.row("tick")
    assert row["state"] in ("scheduled", "running")
    assert row["next_run"] is not None and row["last_run"] is not None
    assert (tmp_path / "ticks.txt").read_text().count("tick") >= 2
    listed = r.cli("runs", "tick", "-n", "2")
    assert listed.exit_code == 0
    assert listed.output.splitlines()[0].split() == ["STARTED", "ENDED", "DURATION", "EXIT", "OUTCOME", "TRIGGER"]


def test_run_now_and_run_on_a_service(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  report: {command: "true", schedule: {cron: "0 3 * * *"}}
  web: {command: sleep 1000}
""")
    r.start()
    assert r.row("report")["state"] == "scheduled"
    result = r.cli("run", "report")
    assert result.exit_code == 0, result.output
    wait_for(lambda: [x["outcome"] for x in _runs(r, "report")] == ["succeeded"])
    assert _runs(r, "report")[0]["trigger"] == "manual"
    service = r.cli("run", "web")
    assert (service.exit_code, service.stderr) == (1, "web is not a job (it has no schedule)\n")
    unknown = r.cli("run", "nope")
    assert (unknown.exit_code, unknown.stderr) == (1, "unknown process: nope\n")


def test_forbid_skips_a_trigger_while_the_last_run_goes_on(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  slow: {command: sleep 2.5, schedule: {every: 1s}}
""")
    r.start()
    wait_for(lambda: any(x["outcome"] == "skipped" for x in _runs(r, "slow")), timeout=10)
    running = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "2.5"]]
    assert len(running) <= 1


def test_a_run_longer_than_its_timeout_is_stopped(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  stuck: {command: sleep 1000, schedule: {cron: "0 3 * * *"}, timeout: 300ms}
""")
    r.start()
    r.cli("run", "stuck")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "stuck")] == ["timed out"], timeout=10)
    assert r.row("stuck")["state"] == "scheduled"
    assert r.row("stuck")["reason"] == "last run timed out after 300ms"
    wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "1000"]
                          and p.status() != psutil.STATUS_ZOMBIE and "SENTINEL_INSTANCE" in p.environ()
                          and p.environ()["SENTINEL_INSTANCE"] == "stuck"])


def test_an_at_in_the_past_runs_once_then_never_again(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  once: {command: "true", schedule: {at: "2026-01-01T00:00:00Z"}}
""")
    r.start()
    wait_for(lambda: [x["outcome"] for x in _runs(r, "once")] == ["succeeded"])
    assert _runs(r, "once")[0]["trigger"] == "missed"
    r.stop()
    r.start()
    r.wait_state("once", "scheduled")
    assert len(_runs(r, "once")) == 1
    assert json.loads(r.cli("status", "--json", "once").stdout)[0]["next_run"] is None


def test_a_failed_run_is_retried_by_its_restart_policy(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  flaky:
    command: "false"
    schedule: {cron: "0 3 * * *"}
    restart: {policy: on-failure, max_retries: 2, backoff: {initial: 0}}
""")
    r.start()
    r.cli("run", "flaky")
    wait_for(lambda: len(_runs(r, "flaky")) == 3 and r.row("flaky")["state"] == "scheduled", timeout=10)
    runs = _runs(r, "flaky")
    assert [(x["trigger"], x["outcome"]) for x in runs] == [("manual", "failed"), ("retry", "failed"),
                                                           ("retry", "failed")]
    assert r.row("flaky")["reason"] == "last run exited 1; gave up after 3 runs in a row failed"
