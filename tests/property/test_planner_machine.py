"""A Hypothesis state machine over SimWorld: edit the file, crash, lose processes, move the clock,
hold / release / restart, and pass, in any order (docs/conventions.md#planner-tests-tables-and-properties).

Invariants, checked where they must hold:
- every pass: at most one action per instance, and nothing SimWorld cannot carry out (starting
  a live instance, stopping or restarting one that is not running, forgetting a live one);
  starts in dependency order; every live process has a record; no exit is left unhandled;
- once passes settle without time passing: nothing runs or is remembered that the file does
  not ask for, and every live service runs its current spec in state `running`;
- once passes settle with time moving past backoffs: every desired service runs unless it is
  held, failed, exited or waiting for a dependency that is down (worlds.settled_state_problems).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sentinel.states import ProcessState
from tests.property.worlds import (
    ADVANCES,
    EXITS,
    NAMES,
    Processes,
    dependency_pairs,
    normalized,
    one_action_per_instance,
    overlapping,
    process_spec,
    settled_state_problems,
    starts_in_order,
)
from tests.support.simworld import SimWorld

S = ProcessState
PAST_ANY_BACKOFF = 3600.0
names = st.sampled_from(NAMES)
picks = st.integers(0, 50)


class PlannerMachine(RuleBasedStateMachine):
    """The file, the world and the clock, changed by rules in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.processes: Processes = {}
        self.world = SimWorld()

    def _edit(self, processes: Processes) -> None:
        self.processes = normalized(processes)
        self.world.edit_processes(self.processes)

    def _pick(self, names: set[str] | list[str], index: int) -> str | None:
        ordered = sorted(names)
        return ordered[index % len(ordered)] if ordered else None

    # --- the file ------------------------------------------------------------------------------

    @rule(data=st.data(), name=names)
    def add_or_replace_process(self, data: st.DataObject, name: str) -> None:
        earlier = {n: s for n, s in self.processes.items() if NAMES.index(n) < NAMES.index(name)}
        self._edit({**self.processes, name: data.draw(process_spec(name, earlier))})

    @rule(name=names)
    def remove_process(self, name: str) -> None:
        self._edit({n: s for n, s in self.processes.items() if n != name})

    @rule(name=names, replicas=st.integers(0, 3))
    def scale(self, name: str, replicas: int) -> None:
        if name in self.processes:
            self._edit({**self.processes, name: {**self.processes[name], "replicas": replicas}})

    @rule(name=names, command=st.sampled_from(["a", "b"]), value=st.sampled_from(["1", "2"]))
    def change_run_fields(self, name: str, command: str, value: str) -> None:
        if name in self.processes:
            spec = self.processes[name]
            self._edit({**self.processes, name: {**spec, "command": f"{name} {command}",
                                                 "env": {**spec["env"], "A": value}}})

    @rule(name=names, retries=st.sampled_from([None, 0, 1, 3]))
    def change_setting(self, name: str, retries: int | None) -> None:
        if name in self.processes:
            spec = self.processes[name]
            self._edit({**self.processes, name: {**spec, "restart": {**spec["restart"], "max_retries": retries}}})

    # --- the world -----------------------------------------------------------------------------

    @rule(index=picks, exit=st.sampled_from(EXITS))
    def crash(self, index: int, exit: tuple[int | None, int | None]) -> None:
        name = self._pick(self.world.live(), index)
        if name is not None:
            self.world.crash(name, *exit)

    @rule(index=picks)
    def lose_process(self, index: int) -> None:
        name = self._pick(self.world.live(), index)
        if name is not None:
            self.world.vanish(name)

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance(self, seconds: float) -> None:
        self.world.advance(seconds)

    @rule(index=picks, request=st.sampled_from(["hold", "release", "restart"]))
    def user_request(self, index: int, request: str) -> None:
        name = self._pick(list(self.world.records), index)
        if name is not None:
            {"hold": self.world.hold, "release": self.world.release, "restart": self.world.request_restart}[request](
                name)

    # --- passes --------------------------------------------------------------------------------

    @rule()
    def one_pass(self) -> None:
        result = self.world.plan()
        one_action_per_instance(result)
        starts_in_order(result, dependency_pairs(self.world.desired))
        self.world.apply(result)
        assert all(o.exit is None for o in self.world.observed.values()), "an exit was left unhandled"

    @rule()
    def settle_without_time(self) -> None:
        self.world.settle(max_passes=3 + len(self.world.desired))
        world = self.world
        assert {n for n in world.live() - world.desired.keys() if not overlapping(world, n)} == set(), \
            "undesired instance still running"
        assert {n for n in world.records.keys() - world.desired.keys() if not overlapping(world, n)} == set(), \
            "undesired instance still recorded"
        for name in world.live():
            d, r = world.desired[name], world.records[name]
            if not d.is_job:
                assert (r.state, r.spec_hash) == (S.RUNNING, d.spec_hash), f"{name}: {r}"

    @rule()
    def settle_with_time(self) -> None:
        limit = 3 + len(self.world.desired)
        for _ in range(limit):
            result = self.world.step()
            self.world.advance(PAST_ANY_BACKOFF)
            if not result.actions and result.wake_at is None:
                break
        else:
            raise AssertionError(f"still planning after {limit} passes")
        assert settled_state_problems(self.world) == []

    @invariant()
    def every_live_process_has_a_record(self) -> None:
        assert self.world.live() <= self.world.records.keys()


PlannerMachine.TestCase.settings = settings(PlannerMachine.TestCase.settings, stateful_step_count=30)
TestPlannerMachine = PlannerMachine.TestCase
