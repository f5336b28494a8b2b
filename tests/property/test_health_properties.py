"""Properties of the planner with health checks, over small generated worlds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sentinel.reconcile.actions import Restart, Start, Stop
from sentinel.states import Health
from tests.support.simworld import SimWorld

NAMES = ("db", "cache", "api", "web")
HEALTHS = st.sampled_from([Health.UNKNOWN, Health.HEALTHY, Health.UNHEALTHY])


@st.composite
def chains(draw: st.DrawFn) -> tuple[dict[str, dict[str, object]], dict[str, Health], set[str]]:
    """Processes with checks, each depending (healthy) on some earlier ones; a verdict for each
    running instance; and which processes are already running when the world is planned."""
    count = draw(st.integers(2, len(NAMES)))
    processes: dict[str, dict[str, object]] = {}
    for i, name in enumerate(NAMES[:count]):
        deps = draw(st.lists(st.sampled_from(NAMES[:i]), unique=True, max_size=2)) if i else []
        processes[name] = {
            "command": name,
            "replicas": draw(st.sampled_from([1, 2])),
            "health": {"tcp": "127.0.0.1:1", "restart": draw(st.booleans())},
            "depends_on": dict.fromkeys(deps, "healthy"),
        }
    verdicts = {name: draw(HEALTHS) for name in processes}
    running = set(draw(st.lists(st.sampled_from(list(processes)), unique=True)))
    return processes, verdicts, running


@given(chains())
def test_a_dependent_starts_only_after_every_instance_of_its_dependency_is_healthy(
    world_spec: tuple[dict[str, dict[str, object]], dict[str, Health], set[str]],
) -> None:
    """A Start of a process that depends on `x: healthy` only comes in a plan where every instance of
    `x` runs, was found healthy by its check, and is not itself being restarted or stopped in that plan."""
    processes, verdicts, running = world_spec
    world = SimWorld.of({name: spec for name, spec in processes.items() if name in running or not spec["depends_on"]})
    world.settle()
    for instance, d in world.desired.items():
        if instance in world.live():
            world.set_health(instance, verdicts[d.process])
    world.edit_processes(processes)
    result = world.plan()
    restarted = {a.instance for a in result.actions if isinstance(a, Restart | Stop)}
    for action in result.actions:
        if not isinstance(action, Start):
            continue
        d = world.desired[action.instance]
        for dep in d.depends_on:
            for instance, other in world.desired.items():
                if other.process != dep:
                    continue
                assert instance in world.live(), f"{action.instance} started before {instance} runs"
                assert world.observed[instance].health is Health.HEALTHY, f"{instance} is not healthy"
                assert instance not in restarted, f"{instance} restarts in the plan that starts {action.instance}"


@given(chains())
def test_unhealthy_instances_are_restarted_only_when_their_check_says_so(
    world_spec: tuple[dict[str, dict[str, object]], dict[str, Health], set[str]],
) -> None:
    """An instance is stopped for its health, to be restarted by its restart policy, exactly when it is unhealthy
    and its check may restart it."""
    processes, verdicts, _ = world_spec
    world = SimWorld.of({name: {**spec, "depends_on": {}} for name, spec in processes.items()})
    world.settle()
    for instance, d in world.desired.items():
        world.set_health(instance, verdicts[d.process], "connection refused")
    result = world.plan()
    restarted = {a.instance for a in result.actions if isinstance(a, Stop) and a.then is not None}
    assert not [a for a in result.actions if isinstance(a, Restart)]
    expected = {
        instance for instance, d in world.desired.items()
        if verdicts[d.process] is Health.UNHEALTHY and d.health is not None and d.health.restart
    }
    assert restarted == expected
