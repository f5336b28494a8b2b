"""Properties of the planner against SimWorld (docs/conventions.md#planner-tests-tables-and-properties), over small
random configs and event scripts.

Worlds come from `worlds.py`: up to six processes with up to three replicas, restart policies,
acyclic `depends_on` (started / completed), the odd job; scripts of crashes, lost processes,
holds, releases, restart requests, clock steps, edits of the file and passes.

(a) Idempotence: once a plan is applied, planning again at the same time plans nothing.
(b) A plan never holds two actions for one instance (so never Start and Stop of one).
(c) Instances whose spec and state are unchanged are untouched by an edit of the file.
(d) Order respects depends_on: starts after the dependency's start, stops before its stop;
    and an instance is only started when its dependencies hold once the plan is done.
(e) Convergence: passes with time moving past every backoff reach, within 3 + instances passes,
    a state where every desired service that is not held, failed, exited or waiting runs its
    current spec, and nothing undesired runs or is remembered.
(f) Every record change is an edge of the state table (sentinel.states.ALLOWED), also those of the
    decisions taken between passes (job triggers, run timeouts, shutdown).
(g) Shutdown stops dependents before what they depend on.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from sentinel.reconcile.actions import Plan, Start
from sentinel.states import ProcessState
from tests.property.worlds import (
    WORLD_EVENTS,
    Event,
    Processes,
    burst_worlds,
    dependency_pairs,
    edited,
    events,
    instances_touched,
    jobs_toggled,
    normalized,
    one_action_per_instance,
    processes,
    run_event,
    scenarios,
    settled_state_problems,
    starts_in_order,
    stops_in_order,
    world_from,
    worlds,
)
from tests.support.simworld import SimWorld

S = ProcessState
PAST_ANY_BACKOFF = 3600.0  # longer than any generated backoff (the cap is 60s)
Scenario = tuple[Processes, list[Event], list[Processes]]
Check = Callable[[Plan, SimWorld], None]


def each_pass(scenario: Scenario, check: Check) -> None:
    """Run the scenario's script and two more passes from a fresh world; `check(plan, world)` after each pass."""
    initial, script, edit_list = scenario
    world = SimWorld.of(initial)
    for event in [*script, ("step", 0, 0), ("step", 0, 0)]:
        if event[0] == "step":
            result = world.step()  # SimWorld refuses two actions for one instance, starting a live
            check(result, world)  # instance, stopping or forgetting one that is not
        else:
            run_event(world, event, edit_list)


def settled(initial: Processes) -> SimWorld:
    """Everything in `initial` as it should be, and no backoff pending."""
    world = SimWorld.of(initial)
    world.converge()
    return world


def job_run_ended_world() -> SimWorld:
    """A counterexample once found (#10): a job's run has just ended well (exit 0) and another process crashed;
    `worker` waits for the job to complete and must start in the pass that records the run's end."""
    world = SimWorld.of({"db": {"command": "db"}, "web": {"command": "web", "schedule": {"every": "1h"},
                                                          "restart": {"policy": "never"}},
                         "cache": {"command": "cache", "replicas": 2},
                         "worker": {"command": "worker", "depends_on": {"web": "completed"}}})
    world.settle()
    world.ask_run("web")
    world.step()
    world.crash("web", 0)
    world.crash("cache.1", 1)
    return world


@given(worlds())
@example(job_run_ended_world())
def test_a_plan_applied_leaves_nothing_to_plan(world: SimWorld) -> None:
    """(a) Idempotence: apply a plan to the world, plan again with no time passing and nothing
    crashing: the second plan is empty."""
    first = world.step()
    second = world.plan()
    assert second.actions == (), f"after {first.actions}"


@given(scenarios())
def test_a_plan_never_has_two_actions_for_one_instance(scenario: Scenario) -> None:
    """(b) Each instance gets at most one action per plan: in particular never a Start and a Stop."""
    each_pass(scenario, lambda result, _world: one_action_per_instance(result))


@st.composite
def settled_then_edited(draw: st.DrawFn) -> tuple[SimWorld, Processes]:
    initial, script, edit_list = draw(scenarios(WORLD_EVENTS))
    world = world_from(initial, script, edit_list)
    world.converge()
    return world, draw(edited(initial))


@given(settled_then_edited())
def test_an_edit_touches_only_what_it_changed(case: tuple[SimWorld, Processes]) -> None:
    """(c) After the world has settled, an edit of the file acts only on instances that are new,
    removed or whose digests changed, and on instances pending on a dependency."""
    world, new = case
    before = dict(world.desired)
    pending = {name for name, r in world.records.items() if r.state is S.PENDING}
    world.edit_processes(new)
    after = world.desired
    changed = set(before.keys() ^ after.keys())
    changed |= {name for name in before.keys() & after.keys() if before[name].digests != after[name].digests}
    assert instances_touched(world.plan().actions) <= changed | pending


@given(scenarios())
def test_starts_follow_dependency_order(scenario: Scenario) -> None:
    """(d) Within one plan, a dependent's Start (or Restart) never comes before its dependency's."""
    each_pass(scenario, lambda result, world: starts_in_order(result, dependency_pairs(world.desired)))


@given(processes(max_processes=4, min_processes=2), events(WORLD_EVENTS, max_size=4),
       st.just(0b1111) | st.integers(0, 0b1111))
def test_stops_reverse_dependency_order(initial: Processes, script: list[Event], removed: int) -> None:
    """(d) Within one plan, a dependency's Stop never comes before its dependent's, whether the
    dependency is in the file now or was in the file the running instances were started from.
    (A settled world, a few events, then an edit that removes some processes, often all of them.)
    A removed instance with no record (the `adopt` event) has no known dependencies: the controller
    never runs one, as it stops unrecorded processes of its state directory at start-up."""
    world = settled(initial)
    for event in script:
        run_event(world, event, [])
    before = {(a, b) for a, b in dependency_pairs(world.desired) if a in world.records}
    world.edit_processes(normalized({n: s for i, (n, s) in enumerate(initial.items()) if not removed >> i & 1}))
    now = dependency_pairs(world.desired)
    stops_in_order(world.plan(), now | {(a, b) for a, b in before if (b, a) not in now})


@given(burst_worlds())
def test_started_instances_find_their_dependencies_up(world: SimWorld) -> None:
    """(d) An instance a plan starts has every `started` dependency running once that plan is done."""
    result = world.step()
    for action in result.actions:
        if isinstance(action, Start):
            for dep, condition in world.desired[action.instance].depends_on.items():
                down = [i for i, d in world.desired.items() if d.process == dep and i not in world.live()]
                assert condition != "started" or not down, f"{action.instance} started, {down} down: {result}"


@given(worlds())
def test_passes_converge_to_the_desired_state(world: SimWorld) -> None:
    """(e) From any world, passes with time moving past backoffs settle within 3 + instances passes
    on a state where each desired service runs its current spec unless held, failed, exited or
    waiting for a dependency that is down; nothing undesired runs or keeps a record."""
    limit = 3 + len(world.desired)
    for _ in range(limit):
        result = world.step()
        world.advance(PAST_ANY_BACKOFF)
        if not result.actions and result.wake_at is None:
            break
    else:
        raise AssertionError(f"still planning after {limit} passes: {result}")
    assert settled_state_problems(world) == []


@given(worlds(), st.integers(1, 0b111111))
def test_record_changes_follow_the_state_table(world: SimWorld, toggled: int) -> None:
    """(f) Every state change the planner causes is an allowed edge (states.ALLOWED), which the
    controller checks before it records one. (The world converges; some services become jobs and
    some jobs services; it converges; everything running exits; it converges again.)"""
    world.converge()
    world.edit_processes(jobs_toggled(world.specs, toggled))
    world.converge()
    for name in sorted(world.live()):
        world.crash(name, 0)
    world.converge()


@given(scenarios(), st.sampled_from(["trigger", "time_out", "shut_down"]))
def test_decisions_between_passes_follow_the_state_table(scenario: Scenario, decision: str) -> None:
    """(f) The decisions taken between passes (a job's trigger or `sentinel run`, a run cut at its timeout,
    the reconciler's shutdown) come from pure functions too, and move records only along the state
    table: SimWorld raises IllegalMove otherwise. After each, the world converges again."""
    initial, script, edit_list = scenario
    world = world_from(initial, script, edit_list)
    for a in range(3):
        run_event(world, (decision, a, a), edit_list)
        world.step()
    world.converge()
    assert settled_state_problems(world) == []


@given(processes(max_processes=5, min_processes=2), events(WORLD_EVENTS, max_size=6))
def test_shutdown_stops_dependents_first_and_keeps_the_records(initial: Processes, script: list[Event]) -> None:
    """(g) The reconciler's shutdown stops every live instance once, dependents in an earlier batch than what
    they depend on; every record it leaves of a stopped instance says `stopped`."""
    world = settled(initial)
    for event in script:
        run_event(world, event, [])
    live = world.live()
    batches = world.shut_down()
    assert sorted(name for batch in batches for name in batch) == sorted(live)
    batch_of = {name: i for i, batch in enumerate(batches) for name in batch}
    for dependent, dependency in dependency_pairs(world.desired):
        if dependent in batch_of and dependency in batch_of:
            assert batch_of[dependent] < batch_of[dependency], f"{dependency} stopped with or before {dependent}"
    assert all(world.state(name) in (S.STOPPED, None) for name in live)
    assert world.live() == set()
