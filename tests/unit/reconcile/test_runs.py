"""Decisions between planning passes: a job's trigger (skip or run), runs cut at their timeout, shutdown.

Pure functions (sentinel.reconcile.runs, sentinel.reconcile.shutdown), driven here directly and
through SimWorld, which carries their actions out the way the controller does.
"""

from __future__ import annotations

import pytest

from sentinel.reconcile.actions import Stop
from sentinel.reconcile.observed import ProcessRecord
from sentinel.reconcile.runs import FORBID_SKIP, HELD_SKIP, RunAsked, RunSkipped, ask_run, overdue_runs, timed_out
from sentinel.reconcile.shutdown import SHUTDOWN, shutdown_stops
from sentinel.states import ProcessState as S
from tests.support.simworld import SimWorld
from tests.unit.reconcile.scenarios import job, svc


def _job(concurrency: str = "forbid") -> SimWorld:
    world = SimWorld.of({"report": job(concurrency=concurrency)})
    world.settle()
    return world


@pytest.mark.parametrize(
    ("concurrency", "held", "going", "manual", "expected"),
    [
        pytest.param("forbid", False, False, False, RunAsked(job="report", reason="scheduled run"), id="idle"),
        pytest.param("forbid", True, False, False, RunSkipped(job="report", reason=HELD_SKIP), id="held"),
        pytest.param("forbid", True, False, True, RunAsked(job="report", reason="scheduled run"), id="held-manual"),
        pytest.param("forbid", False, True, False, RunSkipped(job="report", reason=FORBID_SKIP), id="forbid-going"),
        pytest.param("forbid", False, True, True, RunSkipped(job="report", reason=FORBID_SKIP), id="forbid-manual"),
        pytest.param("allow", False, True, False, RunAsked(job="report", reason="scheduled run"), id="allow-going"),
        pytest.param("replace", False, True, False,
                     RunAsked(job="report", reason="scheduled run, replacing the run still going"), id="replace"),
    ],
)
def test_ask_run(concurrency: str, held: bool, going: bool, manual: bool, expected: RunAsked | RunSkipped) -> None:
    d = _job(concurrency).desired["report"]
    record = ProcessRecord(name="report", state=S.SCHEDULED, held=held)
    assert ask_run(d, record, going=going, manual=manual, why="scheduled run") == expected


def test_a_run_asked_for_is_started_by_the_planner_and_a_skipped_one_is_not() -> None:
    world = _job()
    assert world.ask_run("report")
    world.settle()
    assert world.live() == {"report"} and world.state("report") is S.RUNNING
    assert not world.ask_run("report")  # forbid: the run still goes
    assert world.skipped == [RunSkipped(job="report", reason=FORBID_SKIP)]
    assert world.plan().actions == ()


def test_a_held_job_skips_its_trigger() -> None:
    world = _job()
    world.hold("report")
    world.settle()
    assert not world.ask_run("report")
    assert world.skipped == [RunSkipped(job="report", reason=HELD_SKIP)]


def test_a_run_past_its_timeout_is_stopped_and_the_job_waits_scheduled() -> None:
    world = _job()
    world.ask_run("report")
    world.settle()
    assert world.time_out() == ["report"]
    assert world.live() == set()
    assert world.state("report") is S.SCHEDULED
    assert world.records["report"].reason == "last run timed out after 1s"
    assert world.plan().actions == ()


def test_an_overlapping_run_past_its_timeout_is_forgotten() -> None:
    world = _job("allow")
    world.ask_run("report")
    world.settle()
    world.ask_run("report")
    world.settle()
    assert world.live() == {"report", "report+1"}
    assert world.time_out() == ["report", "report+1"]
    assert "report+1" not in world.records and world.state("report") is S.SCHEDULED


def test_overdue_runs_gives_the_stops_and_the_next_deadline() -> None:
    world = SimWorld.of({"report": job(timeout="10s"), "nightly": job(timeout="1m"), "web": svc()})
    late, soonest = overdue_runs({"report": 0.0, "nightly": 0.0, "web": 0.0, "gone": 0.0}, world.desired, 30.0)
    assert late == (Stop(instance="report", reason="last run timed out after 10s", then=S.SCHEDULED),)
    assert soonest == 30.0
    assert overdue_runs({"nightly": 0.0}, world.desired, 1.0) == ((), 59.0)
    assert timed_out("report+2", 5.0, overlapping=True) == Stop(instance="report+2",
                                                                 reason="last run timed out after 5s", forget=True)


def test_shutdown_stops_dependents_first_in_batches() -> None:
    world = SimWorld.of({"db": svc("db"), "web": svc(replicas=2, depends_on=["db"]),
                         "proxy": svc("proxy", depends_on=["web"]), "cron": job()})
    stops = shutdown_stops(world.desired, ["db", "web.0", "web.1", "proxy", "cron", "stray"])
    assert [[stop.instance for stop in batch] for batch in stops] == [["proxy"], ["web.0", "web.1"],
                                                                     ["cron", "db", "stray"]]
    assert {stop.reason for batch in stops for stop in batch} == {SHUTDOWN}


def test_shutdown_leaves_stopped_records_that_the_next_reconciler_starts() -> None:
    world = SimWorld.of({"db": svc("db"), "web": svc(depends_on=["db"])})
    world.settle()
    world.hold("web")
    world.settle()
    world.shut_down()
    assert world.state("db") is S.STOPPED and world.records["db"].reason == SHUTDOWN
    assert world.records["web"].held
    world.settle()  # the next reconciler: what was not held starts again
    assert world.live() == {"db"}
