"""The planner, one state edge per case: from a settled world and a few events, the exact next plan.

Each table row names the edge in its id (docs/conventions.md#planner-tests-tables-and-properties). Worlds are SimWorlds:
settled on the first config at T0, then edited, crashed, held or moved in time; `plan()` is then compared,
actions and `wake_at`, with what the edge calls for.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from sentinel.reconcile.actions import Action, Forget, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.planner import JOB_WAITS
from sentinel.states import ProcessState as S
from tests.unit.reconcile.scenarios import (
    T0,
    Event,
    Processes,
    adopt,
    advance,
    busy,
    crash,
    edit,
    hold,
    job,
    plan_after,
    release,
    restart,
    step,
    svc,
    vanish,
)

WEB = {"web": svc()}
OLD = {"old": svc("old")}
NEVER = {"web": svc(restart={"policy": "never"})}
ON_FAILURE = {"web": svc(restart={"policy": "on-failure"})}
NO_WAIT = {"web": svc(restart={"backoff": {"initial": 0}})}
CODE_1 = ExitStatus(code=1)

Case = tuple[Processes, Sequence[Event], tuple[Action, ...], float | None]

HELD_DB = "db (held stopped by `sentinel stop`; `sentinel start db` releases it)"


def check(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...], wake_at: float | None) -> None:
    result = plan_after(processes, events)
    assert result.actions == actions
    assert result.wake_at == wake_at


def backoff(reason: str, retry_at: float, failures: int = 1, exit: ExitStatus = CODE_1) -> SetState:
    return SetState(instance="web", state=S.BACKOFF, reason=reason, retry_at=retry_at, failures=failures, exit=exit)


CONFIG_CHANGES = [
    pytest.param({}, [edit(WEB)], (Start(instance="web", reason="new in config", from_config=True),), None,
                 id="new-process-starts"),
    pytest.param(WEB, [], (), None, id="unchanged-running-untouched"),
    pytest.param(WEB, [edit(WEB)], (), None, id="same-file-again-does-nothing"),
    pytest.param(WEB, [edit({"web": svc(["web", "--port", "80"])})], (), None,
                 id="same-argv-spelled-as-list-untouched"),
    pytest.param({**WEB, **OLD}, [edit(WEB)],
                 (Stop(instance="old", reason="removed from config", forget=True, from_config=True),), None,
                 id="removed-stops-and-forgets"),
    pytest.param({**WEB, **OLD}, [crash("old"), step(), edit(WEB)],
                 (Forget(instance="old", reason="removed from config", from_config=True),), None,
                 id="removed-in-backoff-is-forgotten"),
    pytest.param({**WEB, **OLD}, [crash("old"), edit(WEB)],
                 (Forget(instance="old", reason="removed from config", from_config=True),), None,
                 id="removed-just-exited-is-forgotten"),
    pytest.param(WEB, [edit({"web": svc("web --port 81")})],
                 (Restart(instance="web", reason="command changed", fields=("command",), from_config=True),), None,
                 id="command-change-restarts"),
    pytest.param({"web": svc(env={"API_TOKEN": "s3cret-1"})}, [edit({"web": svc(env={"API_TOKEN": "s3cret-2"})})],
                 (Restart(instance="web", reason="env.API_TOKEN changed", fields=("env.API_TOKEN",),
                          from_config=True),), None,
                 id="env-change-restarts-naming-the-variable"),
    pytest.param(WEB, [edit({"web": svc(env={"DEBUG": "1"})})],
                 (Restart(instance="web", reason="env.DEBUG changed", fields=("env.DEBUG",), from_config=True),), None,
                 id="env-added-restarts"),
    pytest.param({"web": svc(env={"DEBUG": "1", "PORT": "80"})}, [edit({"web": svc(env={"PORT": "80"})})],
                 (Restart(instance="web", reason="env.DEBUG changed", fields=("env.DEBUG",), from_config=True),), None,
                 id="env-removed-restarts"),
    pytest.param(WEB, [edit({"web": svc(cwd="/srv")})],
                 (Restart(instance="web", reason="cwd changed", fields=("cwd",), from_config=True),), None,
                 id="cwd-change-restarts"),
    pytest.param(WEB, [edit({"web": svc(user="www")})],
                 (Restart(instance="web", reason="user changed", fields=("user",), from_config=True),), None,
                 id="user-change-restarts"),
    pytest.param(WEB, [edit({"web": svc(shell=True)})],
                 (Restart(instance="web", reason="command, shell changed", fields=("command", "shell"),
                          from_config=True),), None,
                 id="shell-change-restarts"),
    pytest.param(WEB, [edit({"web": svc(restart={"max_retries": 3})})],
                 (Update(instance="web", reason="updated in place (restart.max_retries)",
                         fields=("restart.max_retries",)),), None,
                 id="restart-policy-only-change-updates-in-place"),
    pytest.param(WEB, [edit({"web": svc(stop={"timeout": 3}, logs={"keep": 2})})],
                 (Update(instance="web", reason="updated in place (logs.keep, stop.timeout)",
                         fields=("logs.keep", "stop.timeout")),), None,
                 id="stop-and-logs-change-updates-in-place"),
    pytest.param(WEB, [edit({"web": svc(group="front")})],
                 (Update(instance="web", reason="updated in place (group)", fields=("group",)),), None,
                 id="group-change-updates-in-place"),
    pytest.param(WEB, [edit({"web": svc("web --port 81", restart={"policy": "on-failure"})})],
                 (Restart(instance="web", reason="command changed", fields=("command",), from_config=True),), None,
                 id="run-and-setting-change-restarts-naming-run-fields"),
]


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), CONFIG_CHANGES)
def test_config_change(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
                      wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)


EXITS = [
    pytest.param(WEB, [crash("web")], (backoff("exited 1, restarting in 1s (attempt 1)", T0 + 1),), T0 + 1,
                 id="crash-under-always-backs-off"),
    pytest.param({"web": svc(restart={"max_retries": 3})}, [crash("web")],
                 (backoff("exited 1, restarting in 1s (attempt 1/3)", T0 + 1),), T0 + 1,
                 id="crash-with-max-retries-counts-attempts"),
    pytest.param(WEB, [crash("web", None, 9)],
                 (backoff("killed by SIGKILL, restarting in 1s (attempt 1)", T0 + 1, exit=ExitStatus(signal=9)),),
                 T0 + 1, id="killed-by-signal-backs-off"),
    pytest.param(WEB, [crash("web", 0)],
                 (backoff("exited 0, restarting in 1s (attempt 1)", T0 + 1, exit=ExitStatus(code=0)),), T0 + 1,
                 id="quick-clean-exit-under-always-counts-as-a-failure"),
    pytest.param(NO_WAIT, [crash("web")],
                 (Start(instance="web", reason="exited 1, restarting in 0s (attempt 1)", failures=1, restart=True,
                        retry=True),),
                 None, id="zero-backoff-starts-at-once"),
    pytest.param(WEB, [crash("web"), step(), advance(0.5)], (), T0 + 1, id="backoff-not-yet-due-waits"),
    pytest.param(WEB, [crash("web"), step(), advance(1)],
                 (Start(instance="web", reason="backoff over", failures=1, restart=True, retry=True),), None,
                 id="backoff-due-starts"),
    pytest.param(WEB, [crash("web"), step(), advance(1), step(), crash("web")],
                 (backoff("exited 1, restarting in 2s (attempt 2)", T0 + 3, failures=2),), T0 + 3,
                 id="second-crash-in-a-row-doubles-the-delay"),
    pytest.param(WEB, [crash("web"), step(), advance(1), step(), advance(60), crash("web")],
                 (backoff("exited 1, restarting in 1s (attempt 1)", T0 + 62),), T0 + 62,
                 id="run-of-reset-after-clears-the-crash-loop"),
    pytest.param(ON_FAILURE, [crash("web", 0)],
                 (SetState(instance="web", state=S.EXITED, reason="exited 0", failures=0, exit=ExitStatus(code=0)),),
                 None, id="on-failure-expected-exit-is-exited"),
    pytest.param({"web": svc(restart={"policy": "on-failure", "exit_codes": [0, 3]})}, [crash("web", 3)],
                 (SetState(instance="web", state=S.EXITED, reason="exited 3", failures=0, exit=ExitStatus(code=3)),),
                 None, id="on-failure-listed-exit-code-is-exited"),
    pytest.param(ON_FAILURE, [crash("web")], (backoff("exited 1, restarting in 1s (attempt 1)", T0 + 1),), T0 + 1,
                 id="on-failure-unexpected-exit-backs-off"),
    pytest.param(ON_FAILURE, [crash("web", None, 15)],
                 (backoff("killed by SIGTERM, restarting in 1s (attempt 1)", T0 + 1, exit=ExitStatus(signal=15)),),
                 T0 + 1, id="on-failure-signal-is-a-failure"),
    pytest.param(NEVER, [crash("web", 0)],
                 (SetState(instance="web", state=S.EXITED, reason="exited 0", failures=0, exit=ExitStatus(code=0)),),
                 None, id="never-expected-exit-is-exited"),
    pytest.param(NEVER, [crash("web")],
                 (SetState(instance="web", state=S.FAILED, reason="exited 1 (restart policy never)", failures=0,
                           exit=CODE_1),), None, id="never-unexpected-exit-fails"),
    pytest.param({"web": svc(restart={"max_retries": 0})}, [crash("web")],
                 (SetState(instance="web", state=S.FAILED, reason="exited 1; gave up after 1 run in a row failed",
                           failures=0, exit=CODE_1),), None, id="max-retries-zero-fails-on-first-exit"),
    pytest.param(NEVER, [crash("web"), step()], (), None, id="failed-stays-failed"),
    pytest.param(NEVER, [crash("web", 0), step()], (), None, id="exited-stays-exited"),
    pytest.param(WEB, [crash("web"), edit({"web": svc("web --port 81")})],
                 (Start(instance="web", reason="command changed", restart=True, from_config=True),), None,
                 id="exit-with-a-new-command-starts-the-new-one"),
    pytest.param(WEB, [crash("web"), step(), edit({"web": svc("web --port 81")})],
                 (Start(instance="web", reason="command changed", from_config=True),), None,
                 id="command-change-in-backoff-starts-without-waiting"),
    pytest.param(NEVER, [crash("web"), step(), edit({"web": svc("web --port 81", restart={"policy": "never"})})],
                 (Start(instance="web", reason="command changed", from_config=True),), None,
                 id="command-change-of-failed-starts"),
    pytest.param(NEVER, [crash("web"), step(), edit({"web": svc(restart={"policy": "never", "max_retries": 1})})],
                 (Update(instance="web", reason="updated in place (restart.max_retries)",
                         fields=("restart.max_retries",)),), None,
                 id="setting-change-of-failed-updates-in-place"),
    pytest.param(WEB, [vanish("web")],
                 (backoff("exited (status unknown), restarting in 1s (attempt 1)", T0 + 1, exit=ExitStatus()),),
                 T0 + 1, id="record-running-but-process-gone-is-an-unknown-exit"),
    pytest.param(WEB, [advance(120), vanish("web")],
                 (backoff("exited (status unknown), restarting in 1s (attempt 1)", T0 + 121, exit=ExitStatus()),),
                 T0 + 121, id="process-gone-after-a-long-run-starts-a-new-loop"),
    pytest.param(NEVER, [vanish("web")],
                 (SetState(instance="web", state=S.FAILED, reason="exited (status unknown) (restart policy never)",
                           failures=0, exit=ExitStatus()),), None,
                 id="process-gone-under-never-fails"),
    pytest.param(WEB, [busy("web"), edit({"web": svc("web --port 81")})], (), None, id="busy-instance-left-alone"),
    pytest.param(WEB, [busy("web"), edit({})], (), None, id="busy-removed-instance-left-alone"),
    pytest.param(WEB, [adopt("web")], (SetState(instance="web", state=S.RUNNING, reason="adopted"),), None,
                 id="live-process-without-record-is-adopted"),
]


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), EXITS)
def test_exit(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
              wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)


HELD = "stopped by user"
REQUESTS = [
    pytest.param(WEB, [hold("web")], (Stop(instance="web", reason=HELD),), None, id="held-running-stops"),
    pytest.param(WEB, [hold("web"), step()], (), None, id="held-stays-stopped"),
    pytest.param(WEB, [hold("web"), step(), edit(WEB)], (), None, id="held-survives-an-unchanged-file"),
    pytest.param(WEB, [hold("web"), step(), release("web")], (Start(instance="web", reason="start requested"),),
                 None, id="released-starts"),
    pytest.param(WEB, [hold("web"), step(), edit({"web": svc("web --port 81")})],
                 (Start(instance="web", reason="config changed, hold released", from_config=True),), None,
                 id="held-and-command-changed-releases-the-hold"),
    pytest.param(WEB, [hold("web"), step(), edit({"web": svc(restart={"max_retries": 2})})],
                 (Start(instance="web", reason="config changed, hold released", from_config=True),), None,
                 id="held-and-setting-changed-releases-the-hold"),
    pytest.param(WEB, [crash("web"), step(), hold("web")], (SetState(instance="web", state=S.STOPPED, reason=HELD),),
                 None, id="held-in-backoff-is-stopped"),
    pytest.param(WEB, [hold("web"), crash("web")],
                 (SetState(instance="web", state=S.STOPPED, reason=HELD, exit=CODE_1),), None,
                 id="held-and-exited-is-stopped"),
    pytest.param({"web": svc(restart={"max_retries": 0})}, [crash("web"), step(), release("web")],
                 (Start(instance="web", reason="start requested"),), None, id="released-failed-starts-afresh"),
    pytest.param(WEB, [restart("web")], (Restart(instance="web", reason="restart requested"),), None,
                 id="restart-requested-restarts-a-running-process"),
    pytest.param(WEB, [hold("web"), step(), restart("web")], (Start(instance="web", reason="start requested"),),
                 None, id="restart-requested-starts-a-held-process"),
    pytest.param(NEVER, [crash("web"), step(), restart("web")], (Start(instance="web", reason="start requested"),),
                 None, id="restart-requested-starts-a-failed-process"),
    pytest.param(WEB, [crash("web"), step(), restart("web")], (Start(instance="web", reason="start requested"),),
                 None, id="restart-requested-skips-the-backoff"),
]


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), REQUESTS)
def test_user_request(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
                      wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)


DB = {"db": svc("db")}
STACK = {"api": svc("api", depends_on=["db"]), **DB}  # "api" sorts before "db": order must come from depends_on
NEW = "new in config"
TCP_CHECK = {"tcp": "127.0.0.1:5432"}
HEALTHY_DB = {"db": svc("db", health=TCP_CHECK)}
HEALTHY_STACK = {"api": svc("api", depends_on={"db": "healthy"}), **HEALTHY_DB}
STACK_EDGES = [
    pytest.param({}, [edit(STACK)],
                 (Start(instance="db", reason=NEW, from_config=True),
                  Start(instance="api", reason=NEW, from_config=True)),
                 None, id="dependent-starts-after-its-dependency-in-the-same-plan"),
    pytest.param(DB, [crash("db"), step(), edit(STACK)],
                 (SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True),), T0 + 1,
                 id="dependent-of-a-crashed-process-is-pending"),
    pytest.param(DB, [hold("db"), step(), edit(STACK)],
                 (SetState(instance="api", state=S.PENDING, reason=f"waiting for {HELD_DB}", from_config=True),), None,
                 id="dependent-of-a-held-process-is-pending"),
    pytest.param(DB, [crash("db"), step(), edit(STACK), step(), advance(1)],
                 (Start(instance="db", reason="backoff over", failures=1, restart=True, retry=True),
                  Start(instance="api", reason="dependencies ready")), None,
                 id="pending-dependent-starts-with-its-dependency"),
    pytest.param({"db": svc("db", replicas=2)}, [crash("db.1"), step(), edit({**STACK, "db": svc("db", replicas=2)})],
                 (SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True),), T0 + 1,
                 id="dependent-waits-for-every-replica"),
    pytest.param({**DB, "cache": svc("cache")}, [crash("db"), crash("cache"), step(),
                                                  edit({**DB, "cache": svc("cache"),
                                                        "api": svc("api", depends_on=["db", "cache"])})],
                 (SetState(instance="api", state=S.PENDING, reason="waiting for cache, db", from_config=True),),
                 T0 + 1, id="pending-names-every-missing-dependency"),
    pytest.param(DB, [hold("db"), edit(STACK)],
                 (Stop(instance="db", reason=HELD),
                  SetState(instance="api", state=S.PENDING, reason=f"waiting for {HELD_DB}", from_config=True)), None,
                 id="dependent-does-not-start-in-the-plan-that-stops-its-dependency"),
    pytest.param({**DB, "cache": svc("cache")},
                 [crash("cache"), step(),
                  edit({**DB, "cache": svc("cache"), "api": svc("api", depends_on=["cache", "db"])}),
                  step(), hold("db")],
                 (Stop(instance="db", reason=HELD),
                  SetState(instance="api", state=S.PENDING, reason=f"waiting for cache, {HELD_DB}")), T0 + 1,
                 id="pending-reason-names-a-dependency-stopped-in-the-same-plan"),
    pytest.param(HEALTHY_DB, [hold("db"), edit(HEALTHY_STACK), step(),
                              edit({**HEALTHY_STACK, "db": svc("db --fast", health=TCP_CHECK)})],
                 (SetState(instance="api", state=S.PENDING, reason="waiting for db"),
                  Start(instance="db", reason="config changed, hold released", from_config=True)), None,
                 id="pending-reason-forgets-a-hold-released-in-the-same-plan"),
    pytest.param(STACK, [hold("api"), hold("db")],
                 (Stop(instance="api", reason=HELD), Stop(instance="db", reason=HELD)), None,
                 id="stops-go-in-reverse-dependency-order"),
    pytest.param({"web": svc("web", depends_on=["db"]), **DB}, [edit({})],
                 (Stop(instance="web", reason="removed from config", forget=True, from_config=True),
                  Stop(instance="db", reason="removed from config", forget=True, from_config=True)), None,
                 id="removed-stack-stops-the-dependent-first"),
    pytest.param(STACK, [edit({**STACK, "db": svc("db --fast")})],
                 (Restart(instance="db", reason="command changed", fields=("command",), from_config=True),), None,
                 id="dependency-restart-leaves-dependents-alone"),
    pytest.param({"migrate": svc("migrate", restart={"policy": "never"}),
                  "api": svc("api", depends_on={"migrate": "completed"})}, [],
                 (), None, id="completed-dependency-still-running-keeps-dependent-pending"),
]


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), STACK_EDGES)
def test_dependency(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
                    wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)


REPORT = {"report": job()}
SCHEDULED = JOB_WAITS
JOBS = [
    pytest.param({}, [edit(REPORT)],
                 (SetState(instance="report", state=S.SCHEDULED, reason=SCHEDULED, from_config=True),), None,
                 id="new-job-is-scheduled"),
    pytest.param(REPORT, [], (), None, id="scheduled-job-untouched"),
    pytest.param(REPORT, [edit({"report": job("report --full")})],
                 (Update(instance="report", reason="updated in place (command)", fields=("command",)),), None,
                 id="scheduled-job-edit-is-an-update-in-place"),
    pytest.param(REPORT, [restart("report"), step(), edit({"report": job(schedule={"cron": "0 3 * * *"})})],
                 (Update(instance="report", reason="updated in place (schedule.cron, schedule.every)",
                         fields=("schedule.cron", "schedule.every")),), None,
                 id="schedule-edit-leaves-the-run-going"),
    pytest.param(REPORT, [edit({})], (Forget(instance="report", reason="removed from config", from_config=True),),
                 None, id="removed-job-is-forgotten"),
    pytest.param(REPORT, [edit({"report": svc("report")})], (Start(instance="report", reason="no longer a job"),),
                 None, id="job-that-became-a-service-starts"),
    pytest.param(REPORT, [restart("report"), step(), hold("report")],
                 (Stop(instance="report", reason=HELD),), None, id="held-job-stops-its-run"),
    pytest.param(REPORT, [restart("report"), step(), restart("report"), crash("report", 1)],
                 (Start(instance="report", reason=SCHEDULED),), None,
                 id="run-asked-for-as-the-run-ends-goes-at-once"),
]

# concurrency: allow — a run asked for while one goes runs beside it as report+1, report+2, …
ALLOW = {"report": job(concurrency="allow")}
TWO_RUNS = [restart("report"), step(), restart("report"), step()]
OVERLAPS = [
    pytest.param(ALLOW, [*TWO_RUNS[:3]],
                 (SetState(instance="report", state=S.RUNNING, reason="running", served=True, take_settings=True),
                  Start(instance="report+1", reason=SCHEDULED)), None, id="run-asked-while-one-goes-runs-beside-it"),
    pytest.param(ALLOW, [*TWO_RUNS, restart("report")],
                 (SetState(instance="report", state=S.RUNNING, reason="running", served=True, take_settings=True),
                  Start(instance="report+2", reason="running")), None, id="a-third-run-takes-the-next-number"),
    pytest.param(ALLOW, TWO_RUNS, (), None, id="overlapping-runs-are-left-alone"),
    pytest.param(ALLOW, [*TWO_RUNS, crash("report+1", 0)],
                 (Forget(instance="report+1", reason="run ended (exited 0)"),), None,
                 id="an-ended-overlapping-run-is-forgotten"),
    pytest.param(ALLOW, [*TWO_RUNS, vanish("report+1")], (Forget(instance="report+1", reason="run ended"),), None,
                 id="an-overlapping-run-gone-unseen-is-forgotten"),
    pytest.param(ALLOW, [*TWO_RUNS, hold("report")],
                 (Stop(instance="report", reason=HELD), Stop(instance="report+1", reason=HELD, forget=True)), None,
                 id="holding-the-job-stops-every-run"),
    pytest.param(ALLOW, [*TWO_RUNS, edit({})],
                 (Stop(instance="report", reason="removed from config", forget=True, from_config=True),
                  Stop(instance="report+1", reason="removed from config", forget=True, from_config=True)), None,
                 id="removing-the-job-stops-every-run"),
    # Under forbid the scheduler never asks while a run goes; `sentinel restart` does, and replaces it.
    pytest.param({"report": job()}, [*TWO_RUNS[:3]], (Restart(instance="report", reason=SCHEDULED),), None,
                 id="without-allow-a-run-asked-for-replaces-the-one-going"),
]


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), OVERLAPS)
def test_overlapping_runs(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
                          wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)


@pytest.mark.parametrize(("processes", "events", "actions", "wake_at"), JOBS)
def test_job(processes: Processes, events: Sequence[Event], actions: tuple[Action, ...],
             wake_at: float | None) -> None:
    check(processes, events, actions, wake_at)
