"""The planner and the rest of supervision: liveness restarts, report-only checks, `depends_on: {x: healthy}`,
resource limits, `restart_dependents` and pending reasons."""

from __future__ import annotations

from dataclasses import replace

from sentinel.reconcile.actions import Restart, SetState, Start, Stop
from sentinel.states import Health
from sentinel.states import ProcessState as S
from tests.support.simworld import SimWorld

CHECK = {"tcp": "127.0.0.1:5432", "interval": 1}


def test_unhealthy_process_is_stopped_then_restarted_after_the_back_off_with_the_check_result_as_reason() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": CHECK}})
    world.settle()
    world.set_health("db", Health.UNHEALTHY, "connection refused")
    assert world.step().actions == (Stop(instance="db", reason="unhealthy (connection refused), restarting in 1s "
                                         "(attempt 1)", then=S.BACKOFF, backoff=1.0, failures=1),)
    assert world.records["db"].state is S.BACKOFF
    assert world.plan().actions == ()  # the back-off
    world.advance(1.0)
    assert world.plan().actions == (Start(instance="db", reason="backoff over", failures=1, restart=True,
                                                retry=True),)


def test_a_process_unhealthy_run_after_run_backs_off_longer_and_is_given_up_after_max_retries() -> None:
    spec = {"command": "db", "health": CHECK, "restart": {"max_retries": 2}}
    world = SimWorld.of({"db": spec})
    world.settle()
    delays = []
    for _ in range(2):
        world.set_health("db", Health.UNHEALTHY, "timed out")
        stop = world.step().actions[0]
        assert isinstance(stop, Stop) and stop.then is S.BACKOFF
        delays.append(stop.backoff)
        world.advance(stop.backoff)
        world.step()  # started again
    world.set_health("db", Health.UNHEALTHY, "timed out")
    assert world.step().actions == (Stop(instance="db", reason="unhealthy (timed out); gave up after 3 runs in a row "
                                         "failed", then=S.FAILED, failures=2),)
    assert delays == [1.0, 2.0]
    assert world.records["db"].state is S.FAILED and "db" not in world.live()


def test_a_process_that_was_healthy_past_reset_after_starts_a_new_loop() -> None:
    world = SimWorld.of({"db": {"command": "db", "health": CHECK}})
    world.settle()
    world.set_health("db", Health.UNHEALTHY, "refused")
    first = world.step().actions[0]
    assert isinstance(first, Stop) and first.failures == 1
    world.advance(first.backoff)
    world.step()  # started again
    world.advance(3600)  # healthy for an hour
    world.set_health("db", Health.UNHEALTHY, "refused")
    stop = world.step().actions[0]
    assert isinstance(stop, Stop) and (stop.failures, stop.backoff) == (1, 1.0)


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
    assert world.plan().actions == (Stop(instance="hog", reason="memory 612MB > 512MB, restarting in 1s (attempt 1)",
                                         then=S.BACKOFF, backoff=1.0, failures=1),)


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
