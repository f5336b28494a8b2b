"""The planner and health: liveness restarts, report-only checks, and `depends_on: {x: healthy}`."""

from __future__ import annotations

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
