"""Scheduled jobs end to end: runs on schedule, history, `run`, concurrency, timeouts, missed runs."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import psutil

from tests.support.daemon import Reconciler
from tests.support.procs import command_of, instance_of, marked
from tests.support.wait import wait_for

# A run that goes on while the file `gate` (in the config's directory) exists: the test ends it by removing
# the file, so a reconciler slow to start again on a loaded machine cannot see the run end before it adopts it.
GATED = "while [ -e gate ]; do sleep 0.05; done"


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
    assert listed.output.splitlines()[0].split() == ["RUN", "STARTED", "ENDED", "DURATION", "EXIT", "OUTCOME",
                                                     "TRIGGER"]


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
    running = [p for p in marked() if command_of(p) == ["sleep", "2.5"]]
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
    wait_for(lambda: not [p for p in marked() if command_of(p) == ["sleep", "1000"] and instance_of(p) == "stuck"])


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
    r.wait_state("once", "exited")  # done: it shows how its run ended
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


def test_a_run_outlives_a_killed_reconciler_and_keeps_its_history(make_reconciler: Callable[..., Reconciler],
                                                                 tmp_path: Path) -> None:
    r = make_reconciler(f"""
processes:
  backup: {{command: ["sh", "-c", "{GATED}; echo done >> done.txt"], schedule: {{cron: "0 3 * * *"}}}}
""")
    (tmp_path / "gate").touch()  # the run goes on until the test removes it, however slow the machine
    r.start()
    r.cli("run", "backup")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "backup")] == ["running"])
    pid = r.row("backup")["pid"]
    r.kill()  # SIGKILL mid-run
    r.start()
    assert r.row("backup")["pid"] == pid  # adopted, not run again
    (tmp_path / "gate").unlink()
    wait_for(lambda: r.row("backup")["state"] == "scheduled", timeout=10)
    runs = _runs(r, "backup")
    # One run, ended; a process that is not the reconciler's child leaves no exit status to read.
    assert [(x["trigger"], x["outcome"], x["exit_code"]) for x in runs] == [("manual", "unknown", None)]
    assert runs[0]["ended_at"] is not None
    assert (tmp_path / "done.txt").read_text() == "done\n"


def test_a_run_adopted_by_a_new_reconciler_still_times_out_from_its_start(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  stuck: {command: sleep 1000, schedule: {cron: "0 3 * * *"}, timeout: 1s}
""")
    r.start()
    r.cli("run", "stuck")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "stuck")] == ["running"])
    r.kill()
    time.sleep(1.5)  # no reconciler while the run's timeout passes
    r.start()
    answered = datetime.now(UTC)
    wait_for(lambda: [x["outcome"] for x in _runs(r, "stuck")] == ["timed out"], timeout=10)
    ended = datetime.fromisoformat(str(_runs(r, "stuck")[0]["ended_at"]).replace("Z", "+00:00"))
    # Cut as soon as the new reconciler runs (it was overdue), not a whole timeout after it started.
    assert (ended - answered).total_seconds() < 0.9


def _job_processes(job: str) -> list[psutil.Process]:
    """The test's live processes started for runs of `job` (its own instance, or job+N)."""
    return [p for p in marked() if instance_of(p) == job or instance_of(p).startswith(f"{job}+")]


def test_allow_runs_a_trigger_beside_the_run_still_going(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  slow: {command: sleep 2.5, schedule: {every: 1s}, concurrency: allow}
""")
    r.start()
    # The second trigger finds the first run going: it runs beside it, an instance of its own.
    wait_for(lambda: {"slow", "slow+1"} <= {n for n, row in r.rows().items() if row["pid"]}, timeout=10,
             message=lambda: f"{r.rows()}\n{r.log[-3000:]}")
    wait_for(lambda: any(x["outcome"] == "succeeded" and x["instance"] != "slow" for x in _runs(r, "slow")),
             timeout=10)
    assert not [x for x in _runs(r, "slow") if x["outcome"] == "skipped"]
    assert r.cli("stop", "slow").exit_code == 0  # stops every run of the job
    wait_for(lambda: not _job_processes("slow"), timeout=10)
    wait_for(lambda: "running" not in [x["outcome"] for x in _runs(r, "slow")])
    assert set(r.rows()) == {"slow"}
    assert r.row("slow")["state"] == "stopped"


def test_each_line_of_a_job_s_log_names_its_run(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  count:
    command: ["sh", "-c", "for i in 1 2 3; do echo \\"$SENTINEL_INSTANCE $i\\"; sleep 0.2; done"]
    schedule: {cron: "0 3 * * *"}
    concurrency: allow
""")
    r.start()
    r.cli("run", "count")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "count")] == ["running"])
    r.cli("run", "count")  # overlaps the first: its lines interleave with the first's in the one log
    wait_for(lambda: [x["outcome"] for x in _runs(r, "count")] == ["succeeded", "succeeded"], timeout=10)
    runs = {int(str(x["id"])): x for x in _runs(r, "count")}
    lines = r.cli("logs", "count").output.splitlines()
    for line in lines:
        label, text = line.split(" ", 2)[1:]
        run = runs[int(label.removeprefix("#"))]
        assert text.startswith(("── ", f"{run['instance']} ")), line
    first, second = sorted(runs)
    mine = r.cli("logs", "count", "--run", str(second)).output.splitlines()
    assert [line.split(" ", 2)[2] for line in mine] == [
        "── started: run requested", "count+1 1", "count+1 2", "count+1 3", mine[-1].split(" ", 2)[2]]
    assert mine[-1].split(" ", 2)[2].startswith("── succeeded (exited 0) after ")
    assert runs[second]["instance"] == "count+1" and runs[first]["instance"] == "count"
    listed = r.cli("runs", "count").output.splitlines()
    assert [row.split()[0] for row in listed] == ["RUN", str(first), str(second)]


def test_overlapping_runs_survive_a_killed_reconciler(make_reconciler: Callable[..., Reconciler],
                                                    tmp_path: Path) -> None:
    r = make_reconciler(f"""
processes:
  pair:
    command: ["sh", "-c", "{GATED}; echo \\"$SENTINEL_INSTANCE done\\""]
    schedule: {{cron: "0 3 * * *"}}
    concurrency: allow
""")
    (tmp_path / "gate").touch()
    r.start()
    r.cli("run", "pair")
    r.cli("run", "pair")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "pair")] == ["running", "running"])
    pids = sorted(p.pid for p in _job_processes("pair") if command_of(p)[:1] == ["sh"])  # a `sleep` may end meanwhile
    r.kill()
    r.start()
    assert sorted(row["pid"] for row in r.rows().values()) == pids  # both adopted, neither run again
    (tmp_path / "gate").unlink()
    wait_for(lambda: "running" not in [x["outcome"] for x in _runs(r, "pair")], timeout=10)
    runs = _runs(r, "pair")
    assert [(x["instance"], x["outcome"]) for x in runs] == [("pair", "unknown"), ("pair+1", "unknown")]
    done = [line for line in r.cli("logs", "pair").output.splitlines() if line.endswith(" done")]
    assert sorted(line.split(" ", 1)[1] for line in done) == [f"#{runs[0]['id']} pair done",
                                                             f"#{runs[1]['id']} pair+1 done"]
    wait_for(lambda: set(r.rows()) == {"pair"})


def test_every_overlapping_run_is_held_to_the_timeout(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  stuck: {command: sleep 1000, schedule: {cron: "0 3 * * *"}, concurrency: allow, timeout: 500ms}
""")
    r.start()
    r.cli("run", "stuck")
    r.cli("run", "stuck")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "stuck")] == ["timed out", "timed out"], timeout=10)
    assert [x["instance"] for x in _runs(r, "stuck")] == ["stuck", "stuck+1"]
    wait_for(lambda: not _job_processes("stuck"))
    wait_for(lambda: set(r.rows()) == {"stuck"})
    assert r.row("stuck")["state"] == "scheduled"


def _live_groups(job: str) -> set[int]:
    """The process groups (one per run) of `job` with a process alive now. Listing the process table takes a
    while, so a group is counted only if one of its processes is still alive once the listing is done: two
    groups counted were alive at the same moment."""
    groups: dict[int, list[psutil.Process]] = {}
    for p in _job_processes(job):
        with contextlib.suppress(ProcessLookupError):  # one may end while we look
            groups.setdefault(os.getpgid(p.pid), []).append(p)
    return {group for group, members in groups.items() if any(_alive(p) for p in members)}


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_replace_ends_the_old_run_s_whole_tree_before_the_new_one_starts(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  hog: {command: ["sh", "-c", "sleep 30 & sleep 30"], schedule: {every: 1s}, concurrency: replace}
""")
    r.start()
    leaders: set[int] = set()
    deadline = time.monotonic() + 4.5
    # sample: never two runs' processes at once (docs/reliability.md#f31-overlapping-job-runs)
    while time.monotonic() < deadline:
        runs = _live_groups("hog")
        assert len(runs) <= 1, runs
        leaders |= runs
        time.sleep(0.05)
    assert len(leaders) >= 3  # a new run every second, each replacing the last
    stopped = [x for x in _runs(r, "hog") if x["outcome"] == "stopped"]
    assert len(stopped) >= 2 and all(x["trigger"] == "schedule" for x in stopped)


def test_a_schedule_edit_is_an_update_that_leaves_the_run_going(make_reconciler: Callable[..., Reconciler],
                                                                tmp_path: Path) -> None:
    r = make_reconciler("""
processes:
  report: {command: sleep 1.5, schedule: {cron: "0 3 * * *"}}
""")
    r.start()
    r.cli("run", "report")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "report")] == ["running"])
    pid = r.row("report")["pid"]
    edited = tmp_path / "edited.yaml"
    edited.write_text("""
processes:
  report: {command: sleep 1.5, schedule: {cron: "30 4 * * *", timezone: UTC}, timeout: 1h}
""")
    diff = r.cli("diff", "-f", str(edited))
    assert (diff.exit_code, diff.output) == (1, "~ report update (schedule.cron, schedule.timezone, timeout)\n")
    assert r.cli("apply", "-f", str(edited)).exit_code == 0
    row = r.row("report")
    assert (row["pid"], row["next_run"][10:]) == (pid, "T04:30:00.000Z")  # the run goes on, on the new schedule
    wait_for(lambda: [x["outcome"] for x in _runs(r, "report")] == ["succeeded"], timeout=10)
    assert r.cli("diff", "-f", str(edited)).exit_code == 0


def test_stopping_the_reconciler_ends_the_runs_going_as_stopped(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  long: {command: sleep 1000, schedule: {cron: "0 3 * * *"}}
""")
    r.start()
    r.cli("run", "long")
    wait_for(lambda: [x["outcome"] for x in _runs(r, "long")] == ["running"])
    r.stop()  # SIGTERM: everything is stopped
    listed = r.cli("runs", "long").output.splitlines()  # read from state.db: no reconciler runs
    assert listed[1].split()[-2:] == ["stopped", "manual"]
    assert r.cli("logs", "long").output.splitlines()[-1].split(" ", 2)[2].startswith("── stopped after ")


def test_runs_are_numbered_per_job(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("""
processes:
  backup: {command: ["sh", "-c", "echo saved"], schedule: {cron: "0 3 * * *"}}
  report: {command: ["sh", "-c", "echo written"], schedule: {cron: "0 4 * * *"}}
""")
    r.start()
    for job, runs in (("backup", 1), ("report", 1), ("backup", 2)):
        assert r.cli("run", job).exit_code == 0
        wait_for(partial(lambda job, runs: [x["outcome"] for x in _runs(r, job)] == ["succeeded"] * runs, job, runs))
    listed = {job: [row.split()[0] for row in r.cli("runs", job).output.splitlines()] for job in ("backup", "report")}
    assert listed == {"backup": ["RUN", "1", "2"], "report": ["RUN", "1"]}  # as CI systems number builds
    assert [line.split(" ", 2)[1:] for line in r.cli("logs", "report").output.splitlines()][1] == ["#1", "written"]
    second = r.cli("logs", "backup", "--run", "2").output.splitlines()
    assert [line.split(" ", 2)[1:] for line in second][1] == ["#2", "saved"]
