"""What fits under the reconciler's descriptor limit (docs/reliability.md#f43-many-processes): the first
instances in dependency order start, those already running keep their place, the rest wait `pending`
with one line saying what limit they need."""

from __future__ import annotations

from sentinel.reconcile.actions import SetState, Start
from sentinel.reconcile.descriptors import PER_PROCESS, RESERVE, DescriptorBudget, needed, not_fitting, shortage
from sentinel.reconcile.planner import plan
from sentinel.states import ProcessState as S
from tests.support.simworld import SimWorld

BASE = 14  # what a reconciler holds with nothing running (measured)


def budget_for(processes: int) -> DescriptorBudget:
    """A limit with room for exactly `processes`."""
    return DescriptorBudget(limit=needed(processes, BASE), base=BASE)


def test_room_is_what_the_limit_leaves_after_the_base_and_the_reserve() -> None:
    assert DescriptorBudget(limit=1024, base=BASE).room == (1024 - BASE - RESERVE) // PER_PROCESS
    assert DescriptorBudget(limit=10, base=BASE).room == 0
    assert budget_for(250).room == 250


def test_no_shortage_when_everything_fits_or_there_is_no_limit() -> None:
    assert shortage(250, budget_for(250)) is None
    assert not_fitting([f"web.{i}" for i in range(250)], {}, budget_for(250)) == {}
    assert not_fitting([f"web.{i}" for i in range(5000)], {}, None) == {}


def test_the_shortage_says_what_the_processes_need_and_how_to_raise_it() -> None:
    line = shortage(500, DescriptorBudget(limit=1024, base=BASE))
    assert line is not None
    assert line.startswith(f"500 processes need about {needed(500, BASE):,} file descriptors; the limit is 1,024: ")
    assert f"ulimit -n {needed(500, BASE)}" in line and "LimitNOFILE=" in line
    assert "\n" not in line


def test_dependencies_start_first_and_the_rest_wait_with_the_reason() -> None:
    names = ["api", "db", "worker.0", "worker.1"]
    depends_on = {"api": {"db": "started"}, "worker": {"api": "healthy"}, "db": {}}
    waiting = not_fitting(names, depends_on, budget_for(2))
    assert sorted(waiting) == ["worker.0", "worker.1"]
    reason = f"not started: too few file descriptors (the limit is {budget_for(2).limit}; 4 processes need about"
    assert all(why.startswith(reason) for why in waiting.values())


def test_running_instances_keep_their_place() -> None:
    names = ["api", "db", "worker.0", "worker.1"]
    depends_on = {"api": {"db": "started"}, "worker": {"api": "healthy"}, "db": {}}
    assert sorted(not_fitting(names, depends_on, budget_for(2), running={"worker.0", "worker.1"})) == ["api", "db"]


def test_the_planner_starts_what_fits_and_marks_the_rest_pending() -> None:
    world = SimWorld.of({"db": {"command": "db"},
                         "web": {"command": "web", "replicas": 3, "depends_on": {"db": "started"}}})
    no_room = not_fitting(world.desired, {"web": {"db": "started"}, "db": {}}, budget_for(2))
    result = plan(world.desired, {}, {}, 0.0, no_room=no_room)
    assert [a.instance for a in result.actions if isinstance(a, Start)] == ["db", "web.0"]
    waiting = {a.instance: a for a in result.actions if isinstance(a, SetState)}
    assert sorted(waiting) == ["web.1", "web.2"]
    assert waiting["web.1"].state is S.PENDING and waiting["web.1"].reason.startswith("not started: too few")
    assert waiting["web.2"].reason == waiting["web.1"].reason
