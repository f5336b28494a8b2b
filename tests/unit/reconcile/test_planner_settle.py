"""A file that may still be half-written (docs/reliability.md#f21-a-half-written-config): the planner holds what
a config change would stop until the file has stayed unchanged for SETTLE seconds; additions go at once."""

from __future__ import annotations

from sentinel.reconcile.actions import Restart, Start, Stop, Update
from sentinel.reconcile.planner import SETTLE, plan
from tests.support.simworld import SimWorld
from tests.unit.reconcile.scenarios import hold, svc, world_after


def settled(processes: dict[str, dict[str, object]]) -> SimWorld:
    return world_after(processes, [])


def planned(world: SimWorld, changed_at: float) -> tuple[type, ...]:
    return tuple(type(a) for a in plan(world.desired, world.observed, world.records, world.now,
                                       changed_at=changed_at).actions)


def test_a_removal_waits_for_the_file_to_settle_and_wakes_then() -> None:
    world = settled({"s1": svc(), "s2": svc()})
    world.edit_processes({"s1": svc()})
    result = plan(world.desired, world.observed, world.records, world.now, changed_at=world.now)
    assert result.actions == ()
    assert result.wake_at == world.now + SETTLE
    later = plan(world.desired, world.observed, world.records, world.now, changed_at=world.now - SETTLE)
    assert later.actions == (Stop(instance="s2", reason="removed from config", forget=True, from_config=True),)


def test_an_edit_that_restarts_waits_while_additions_and_updates_go_at_once() -> None:
    world = settled({"s1": svc(), "s2": svc()})
    world.edit_processes({"s1": svc("sleep 2000"), "s2": svc(stop={"timeout": 3}), "s3": svc()})
    result = plan(world.desired, world.observed, world.records, world.now, changed_at=world.now)
    assert {type(a) for a in result.actions} == {Start, Update}
    assert result.wake_at == world.now + SETTLE
    assert Restart in planned(world, changed_at=world.now - SETTLE)


def test_a_held_process_keeps_its_record_while_the_file_settles() -> None:
    world = world_after({"s1": svc(), "s2": svc()}, [hold("s2")])
    world.edit_processes({"s1": svc()})
    assert planned(world, changed_at=world.now) == ()
