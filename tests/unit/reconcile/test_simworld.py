"""SimWorld and FakeClock, the test doubles the planner tests stand on: they must do what the controller does."""

from __future__ import annotations

import asyncio

import pytest

from sentinel.reconcile.actions import Forget, Plan, Restart, SetState, Start, Stop
from sentinel.reconcile.observed import ExitStatus
from sentinel.states import IllegalMove
from sentinel.states import ProcessState as S
from tests.support.fakeclock import EPOCH, FakeClock
from tests.support.simworld import ImpossiblePlan, NotSettled, SimWorld


def test_start_makes_a_live_process_and_a_running_record() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.apply(Plan((Start(instance="web", reason="new in config"),)))
    assert world.live() == {"web"}
    assert world.state("web") is S.RUNNING
    assert world.runs["web"] == 1


def test_restart_gives_a_new_identity() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.settle()
    before = world.observed["web"].identity
    world.apply(Plan((Restart(instance="web", reason="restart requested"),)))
    assert world.observed["web"].identity != before
    assert world.records["web"].restarts == 0  # asked for, not a failure: not counted (docs/states.md)


def test_handled_exit_drops_the_observation() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.settle()
    world.crash("web", 2)
    assert world.observed["web"].exit == ExitStatus(code=2)
    assert world.observed["web"].exited_at == world.now
    world.step()
    assert "web" not in world.observed
    assert world.state("web") is S.BACKOFF


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(Start(instance="web", reason="x"), id="start-of-live"),
        pytest.param(Forget(instance="web", reason="x"), id="forget-of-live"),
    ],
)
def test_actions_on_a_live_instance_that_the_controller_cannot_do(action: Start | Forget) -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.settle()
    with pytest.raises(ImpossiblePlan):
        world.apply(Plan((action,)))


@pytest.mark.parametrize(
    "action",
    [
        pytest.param(Stop(instance="web", reason="x"), id="stop-of-dead"),
        pytest.param(Restart(instance="web", reason="x"), id="restart-of-dead"),
    ],
)
def test_actions_on_a_dead_instance_that_the_controller_cannot_do(action: Stop | Restart) -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    with pytest.raises(ImpossiblePlan):
        world.apply(Plan((action,)))


def test_two_actions_for_one_instance_are_refused() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    with pytest.raises(ImpossiblePlan, match="more than one action"):
        world.apply(Plan((SetState(instance="web", state=S.PENDING, reason="x"),
                          Start(instance="web", reason="x"))))


def test_a_transition_outside_the_state_table_is_an_error() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.settle()
    world.hold("web")
    world.settle()
    with pytest.raises(IllegalMove, match="web: stopped → exited"):
        world.apply(Plan((SetState(instance="web", state=S.EXITED, reason="x"),)))


def test_converge_moves_time_to_each_wake_up() -> None:
    world = SimWorld.of({"web": {"command": "web", "restart": {"backoff": {"initial": 5}}}})
    world.settle()
    world.crash("web")
    assert world.converge() == 4  # backoff recorded; waits (time moves); starts; nothing left
    assert world.now == 1005.0
    assert world.live() == {"web"}


def test_settle_gives_up_on_a_world_that_keeps_planning() -> None:
    world = SimWorld.of({"web": {"command": "web", "restart": {"backoff": {"initial": 0}}}})
    world.settle()
    world.crash("web")
    world.settle()
    world.crash("web")
    with pytest.raises(NotSettled):
        world.settle(max_passes=0)


def test_user_requests_change_the_record() -> None:
    world = SimWorld.of({"web": {"command": "web"}})
    world.settle()
    world.hold("web")
    assert world.records["web"].held
    world.release("web")
    assert not world.records["web"].held
    world.request_restart("web")
    assert world.records["web"].restart_requested


def test_summary_repr_names_each_instance() -> None:
    world = SimWorld.of({"web": {"command": "web", "replicas": 2}, "old": {"command": "old"}})
    world.settle()
    world.hold("web.0")
    world.crash("web.1")
    world.edit_processes({"web": {"command": "web", "replicas": 2}})
    assert repr(world) == ("SimWorld(now=1000.0, old: running live not desired, web.0: running held live, "
                           "web.1: running exited (exited 1))")


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock()
    assert (clock.monotonic(), clock.now_utc()) == (1000.0, EPOCH)
    clock.advance(1.5)
    asyncio.run(clock.sleep(2))
    assert clock.monotonic() == 1003.5
    assert (clock.now_utc() - EPOCH).total_seconds() == 3.5
    clock.advance_to(1000.0)
    assert clock.monotonic() == 1003.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1)
