"""The planner and the rest of supervision: liveness restarts, report-only checks, `depends_on: {x: healthy}`,
resource limits, `restart_dependents` and pending reasons."""

from __future__ import annotations

from dataclasses import replace

from sentinel.reconcile.actions import Restart, SetState, Start
from sentinel.states import Health
from sentinel.states import ProcessState as S
from tests.support.simworld import SimWorld

CHECK = {"tcp": "127.0.0.1:5432", "interval": 1}


def test_unhealthy_process_is_restarted_with_the_check_result_as_reason() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": CHECK}})
    world.settle()
    world.set_health("db", Health.UNHEALTHY, "connection refused")
    assert world.plan().actions == (Restart(instance="db", reason="unhealthy (connection refused)"),)


def test_report_only_check_never_restarts() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": {**CHECK, "restart": False}}})
    world.settle()
    world.set_health("db", Health.UNHEALTHY, "connection refused")
    assert world.plan().actions == ()


def test_dependent_waits_until_its_dependency_is_healthy() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": CHECK},
                         "api": {"command": "api", "depends_on": {"db": "healthy"}}})
    first = world.step()
    assert first.actions == (
        SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True),
        Start(instance="db", reason="new in config", from_config=True),
    )
    assert world.plan().actions == ()  # running is not enough
    world.set_health("db", Health.HEALTHY)
    assert world.plan().actions == (Start(instance="api", reason="dependencies ready"),)


def test_a_restart_for_a_new_command_makes_healthy_dependents_wait_again() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": CHECK}})
    world.settle()
    world.set_health("db", Health.HEALTHY)
    world.edit_processes({"db": {"command": "db --new", "health": CHECK},
                          "api": {"command": "api", "depends_on": {"db": "healthy"}}})
    actions = world.plan().actions
    assert SetState(instance="api", state=S.PENDING, reason="waiting for db", from_config=True) in actions
    assert not any(isinstance(a, Start) and a.instance == "api" for a in actions)


def test_process_over_a_limit_is_restarted_with_the_breach_as_reason() -> None:
    world = SimWorld.of({"hog": {"command": "hog", "limits": {"memory": "512MB"}}})
    world.settle()
    world.observed["hog"] = replace(world.observed["hog"], over_limit="memory 612MB > 512MB")
    assert world.plan().actions == (Restart(instance="hog", reason="memory 612MB > 512MB"),)


def test_restart_dependents_restarts_running_dependents_after_their_dependency() -> None:
    world = SimWorld.of({"db": {"command": "db", "restart_dependents": True},
                         "api": {"command": "api", "depends_on": ["db"]},
                         "other": {"command": "other"}})
    world.settle()
    world.request_restart("db")
    assert world.plan().actions == (
        Restart(instance="db", reason="restart requested"),
        Restart(instance="api", reason="db restarted"),
    )


def test_dependents_of_a_crashed_dependency_restart_when_it_comes_back() -> None:
    world = SimWorld.of({"db": {"command": "db", "restart_dependents": True, "restart": {"backoff": {"initial": 0}}},
                         "api": {"command": "api", "depends_on": ["db"]}})
    world.settle()
    world.crash("db")
    actions = world.plan().actions
    assert [type(a).__name__ for a in actions] == ["Start", "Restart"]
    assert actions[1] == Restart(instance="api", reason="db restarted")


def test_pending_reason_says_when_a_dependency_has_failed() -> None:
    world = SimWorld.of({"db": {"command": "db", "restart": {"max_retries": 0}}})
    world.settle()
    world.crash("db")
    world.settle()
    world.edit_processes({"db": {"command": "db", "restart": {"max_retries": 0}},
                          "api": {"command": "api", "depends_on": ["db"]}})
    assert world.plan().actions == (
        SetState(instance="api", state=S.PENDING, reason="waiting for db (failed)", from_config=True),
    )
