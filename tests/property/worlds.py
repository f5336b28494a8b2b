"""Hypothesis strategies and checks for planner properties: small configs, event scripts, settled states.

Configs stay small (at most six processes from a fixed pool, at most three replicas) so the
properties run in seconds. `depends_on` only points at names earlier in `NAMES`, so no cycle
can be generated. An event script is a list of (kind, a, b) triples; `a` and `b` pick the
target and the detail at the moment the event runs, so scripts shrink well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from sentinel.config.graph import check_processes
from sentinel.reconcile.actions import Action, Plan, Restart, Start, Stop
from sentinel.reconcile.desired import Desired
from sentinel.reconcile.overlap import overlap_of
from sentinel.states import ProcessState
from tests.support.simworld import SimWorld, make_config

S = ProcessState
NAMES = ("db", "web", "cache", "api", "queue", "worker")  # not alphabetical: order must come from depends_on
Spec = dict[str, Any]
Processes = dict[str, Spec]
Event = tuple[str, int, int]

# Events that change the world without a pass, and the pass itself.
# `trigger` (a job's trigger, or `sentinel run`), `time_out` (job runs cut at their timeout) and `shut_down` (the
# reconciler stops everything; the next passes are the next reconciler's) are decided by the same pure functions
# as in the controller (sentinel.reconcile.runs, sentinel.reconcile.shutdown).
WORLD_EVENTS = ("crash", "vanish", "adopt", "hold", "release", "restart", "advance", "edit", "trigger", "time_out",
                "shut_down")
EVENTS = (*WORLD_EVENTS, "step")
ADVANCES = (0.5, 1.0, 2.0, 5.0, 30.0, 61.0, 3600.0)
EXITS: tuple[tuple[int | None, int | None], ...] = ((1, None), (0, None), (3, None), (None, 9))

RESTARTS = st.fixed_dictionaries(
    {
        "policy": st.sampled_from(["always", "on-failure", "never"]),
        "max_retries": st.sampled_from([None, 0, 1, 3]),
        "backoff": st.fixed_dictionaries({"initial": st.sampled_from([1, 0, 5, 0])}),
        "reset_after": st.sampled_from([60, 0, 10]),
    },
    optional={"exit_codes": st.just([0, 3])},
)
ENVS = st.dictionaries(st.sampled_from(["A", "B"]), st.sampled_from(["1", "2"]), max_size=2)
REPLICAS = st.sampled_from([1, 2, 3, 0])  # sampled_from shrinks towards the first
ONE_IN_TEN = st.integers(0, 9)
SUBSETS = st.integers(0, 2 ** len(NAMES) - 1)  # a bit per earlier name
CONDITIONS = st.sampled_from(["started", "completed"])
SUBSETS_OF_12 = st.integers(0, 2**12 - 1)
ONE_IN_FOUR = st.integers(0, 3)


# --- configs -------------------------------------------------------------------------------------


@st.composite
def process_spec(draw: st.DrawFn, name: str, earlier: Mapping[str, Spec]) -> Spec:
    """One process; it depends on at most two of `earlier` (already drawn, earlier in NAMES)."""
    spec: Spec = {
        "command": f"{name} --v2" if draw(st.booleans()) else name,
        "replicas": draw(REPLICAS),
        "env": draw(ENVS),
        "restart": draw(RESTARTS),
    }
    if draw(ONE_IN_TEN) == 9:  # a job now and then; shrinks to a service
        spec["schedule"] = {"every": "1h"}
        spec["restart"] = {**spec["restart"], "policy": "never"}
        spec["concurrency"] = draw(st.sampled_from(["forbid", "allow", "replace"]))
    mask = draw(SUBSETS)
    deps = [dep for i, dep in enumerate(sorted(earlier)) if mask >> i & 1][:2]
    spec["depends_on"] = {dep: _condition(draw, earlier[dep]) for dep in deps}
    return spec


def _condition(draw: st.DrawFn, dep: Spec) -> str:
    return draw(CONDITIONS) if _can_complete(dep) else "started"


def _can_complete(spec: Spec) -> bool:
    return "schedule" in spec or spec["restart"]["policy"] != "always"


def normalized(processes: Processes) -> Processes:
    """In NAMES order, without the dependencies validation would refuse (on a process that is not
    there, or `completed` on one that always restarts)."""
    out: Processes = {}
    for name in sorted(processes, key=NAMES.index):
        spec = dict(processes[name])
        spec["depends_on"] = {
            dep: condition for dep, condition in spec["depends_on"].items()
            if dep in processes and (condition == "started" or _can_complete(processes[dep]))
        }
        out[name] = spec
    assert check_processes(make_config(out)) == []
    return out


@st.composite
def processes(draw: st.DrawFn, max_processes: int = 6, min_processes: int = 0) -> Processes:
    """A valid set of processes: names from NAMES, dependencies only on earlier names."""
    chosen = draw(st.lists(st.sampled_from(NAMES), unique=True, min_size=min_processes, max_size=max_processes))
    out: Processes = {}
    for name in sorted(chosen, key=NAMES.index):
        out[name] = draw(process_spec(name, out))
    assert check_processes(make_config(out)) == []
    return out


EDIT_KINDS = ("keep", "keep", "command", "env", "setting", "replicas", "job", "job", "remove")


@st.composite
def edited(draw: st.DrawFn, base: Processes) -> Processes:
    """`base` with a few processes edited (run field, setting or replica count), removed or added."""
    out: Processes = {}
    for name, spec in base.items():
        kind = draw(st.sampled_from(EDIT_KINDS))
        if kind != "remove":
            out[name] = _edit(draw, spec, kind)
    free = [n for n in NAMES if n not in out]
    if draw(st.booleans()) and free:
        name = draw(st.sampled_from(free))
        earlier = {n: s for n, s in out.items() if NAMES.index(n) < NAMES.index(name)}
        out[name] = draw(process_spec(name, earlier))
    return normalized(out)


def jobs_toggled(processes: Mapping[str, Spec], mask: int) -> Processes:
    """`processes` with the services picked by `mask` (a bit per name, in order) turned into jobs
    and the jobs into services."""
    out: Processes = {}
    for i, (name, spec) in enumerate(processes.items()):
        out[name] = dict(spec)
        if mask >> i & 1 and "schedule" in spec:
            del out[name]["schedule"]
            out[name].pop("concurrency", None)
        elif mask >> i & 1:
            out[name]["schedule"] = {"every": "1h"}
    return normalized(out)


def _edit(draw: st.DrawFn, spec: Spec, kind: str) -> Spec:
    spec = dict(spec)
    if kind == "command":
        spec["command"] = spec["command"] + " --edited"
    elif kind == "env":
        spec["env"] = {**spec["env"], "EDITED": draw(st.sampled_from(["1", "2"]))}
    elif kind == "setting":
        spec["restart"] = {**spec["restart"], "max_retries": draw(st.sampled_from([None, 0, 2, 5]))}
    elif kind == "replicas":
        spec["replicas"] = draw(REPLICAS)
    elif kind == "job" and "schedule" in spec:
        del spec["schedule"]
        spec.pop("concurrency", None)
    elif kind == "job":
        spec["schedule"] = {"every": "1h"}
    return spec


# --- scripts of events ------------------------------------------------------------------------


def events(kinds: Sequence[str] = EVENTS, max_size: int = 12) -> st.SearchStrategy[list[Event]]:
    """Scripts: (kind, a, b) with `a` picking the target and `b` the detail when the event runs."""
    return st.lists(st.tuples(st.sampled_from(kinds), st.integers(0, 50), st.integers(0, 50)), max_size=max_size)


def run_event(world: SimWorld, event: Event, edits: Sequence[Processes]) -> None:
    """Carry out one scripted event; one that has no target in this world does nothing."""
    kind, a, b = event
    live, known = sorted(world.live()), sorted(world.records)
    if kind in ("crash", "vanish") and live:
        name = live[a % len(live)]
        if kind == "vanish":
            world.vanish(name)
        else:
            world.crash(name, *EXITS[b % len(EXITS)])
    elif kind in ("hold", "release", "restart") and known:
        name = known[a % len(known)]
        {"hold": world.hold, "release": world.release, "restart": world.request_restart}[kind](name)
    elif kind == "adopt" and (services := sorted(n for n, d in world.desired.items() if not d.is_job)):
        world.adopt(services[a % len(services)])  # jobs do not run yet (#5): no job run to adopt
    elif kind == "advance":
        world.advance(ADVANCES[a % len(ADVANCES)])
    elif kind == "edit" and edits:
        world.edit_processes(edits[a % len(edits)])
    elif kind == "trigger" and (jobs := sorted(n for n, d in world.desired.items() if d.is_job)):
        world.ask_run(jobs[a % len(jobs)], manual=b % 2 == 1)
    elif kind == "time_out":
        world.time_out()
    elif kind == "shut_down":
        world.shut_down()
    elif kind == "step":
        world.step()


def world_from(initial: Processes, script: Iterable[Event], edits: Sequence[Processes]) -> SimWorld:
    """A world settled on `initial`, then taken through `script`."""
    world = SimWorld.of(initial)
    world.settle()
    for event in script:
        run_event(world, event, edits)
    return world


@st.composite
def scenarios(draw: st.DrawFn, kinds: Sequence[str] = EVENTS) -> tuple[Processes, list[Event], list[Processes]]:
    """A first config, a script of events, and the configs its edits switch to (small edits of the
    first one, or unrelated configs)."""
    initial = draw(processes())
    edit_list = draw(st.lists(edited(initial) | processes(), min_size=1, max_size=2))
    return initial, draw(events(kinds)), edit_list


# --- worlds --------------------------------------------------------------------------------------


@st.composite
def burst_worlds(draw: st.DrawFn) -> SimWorld:
    """A settled world hit, before its next pass, by a burst: some instances held, some crashed or
    lost, and the file edited. Bursts are where several decisions meet in one plan."""
    initial = draw(processes(max_processes=4, min_processes=2))
    world = SimWorld.of(initial)
    world.converge()
    pairs = sorted(dependency_pairs(world.desired) & {(a, b) for a in world.live() for b in world.live()})
    chosen: tuple[str, ...] = ()
    if draw(st.booleans()) and pairs:  # a held dependent is released as its dependency is held
        chosen = dependent, dependency = draw(st.sampled_from(pairs))
        world.hold(dependent)
        world.settle()
        world.release(dependent)
        world.hold(dependency)
    instances = [name for name in sorted(world.records) if name not in chosen]
    held, crashed = draw(SUBSETS_OF_12), draw(SUBSETS_OF_12)
    for i, name in enumerate(instances):
        if held >> i & 1:
            world.hold(name)
        if crashed >> i & 1 and name in world.live():
            world.crash(name, *draw(st.sampled_from(EXITS)))
    if draw(ONE_IN_FOUR) != 3:  # mostly with an edit; shrinks to one
        world.edit_processes(draw(edited(initial)))
    return world


@st.composite
def scripted_worlds(draw: st.DrawFn) -> SimWorld:
    """A world taken through a scenario's script (see `scenarios`)."""
    return world_from(*draw(scenarios()))


def worlds() -> st.SearchStrategy[SimWorld]:
    """Worlds in any state a supervisor can be in between two passes."""
    return burst_worlds() | scripted_worlds()


# --- checks ---------------------------------------------------------------------------------


def one_action_per_instance(result: Plan) -> None:
    names = [a.instance for a in result.actions]
    assert len(names) == len(set(names)), f"two actions for one instance: {result.actions}"


def dependency_pairs(desired: Desired) -> set[tuple[str, str]]:
    """(dependent instance, dependency instance) for every `depends_on` edge among desired instances."""
    by_process: dict[str, list[str]] = {}
    for d in desired.values():
        by_process.setdefault(d.process, []).append(d.name)
    return {(d.name, dep) for d in desired.values() for p in d.depends_on for dep in by_process.get(p, [])}


def starts_in_order(result: Plan, pairs: set[tuple[str, str]]) -> None:
    """A dependent's Start/Restart never comes before a Start/Restart of its dependency."""
    where = {a.instance: i for i, a in enumerate(result.actions) if isinstance(a, Start | Restart)}
    for dependent, dependency in pairs:
        if dependent in where and dependency in where:
            assert where[dependency] < where[dependent], f"{dependent} started before {dependency}: {result}"


def stops_in_order(result: Plan, pairs: set[tuple[str, str]]) -> None:
    """A dependency's Stop never comes before a Stop of its dependent."""
    where = {a.instance: i for i, a in enumerate(result.actions) if isinstance(a, Stop)}
    for dependent, dependency in pairs:
        if dependent in where and dependency in where:
            assert where[dependent] < where[dependency], f"{dependency} stopped before {dependent}: {result}"


def _satisfied(world: SimWorld, process: str, condition: str) -> bool:
    instances = [d.name for d in world.desired.values() if d.process == process]
    if condition == "completed":
        return all(world.state(i) is S.EXITED for i in instances)
    return all(i in world.live() for i in instances)


def settled_state_problems(world: SimWorld) -> list[str]:
    """Why `world` is not where a converged supervisor should be (empty when it is)."""
    problems = [f"{n} exit not handled" for n, o in world.observed.items() if o.exit is not None]
    problems += [f"{n} live but not desired" for n in world.live() - world.desired.keys() if not overlapping(world, n)]
    problems += [f"{n} recorded but not desired" for n in world.records.keys() - world.desired.keys()
                 if not overlapping(world, n)]
    for name, d in world.desired.items():
        r, live = world.records.get(name), name in world.live()
        if d.is_job:  # a run found going is left alone; between runs a job waits, or is held stopped
            between_runs = r is not None and (r.state is S.SCHEDULED or (r.held and r.state is S.STOPPED))
            blocked = r is not None and r.state is S.PENDING and any(
                not _satisfied(world, p, c) for p, c in d.depends_on.items())
            if not (live or between_runs or blocked):
                problems.append(f"job {name} is {r and r.state}, live={live}")
        elif r is None:
            problems.append(f"{name} desired but has no record")
        elif r.held or r.state in (S.FAILED, S.EXITED):
            if live:
                problems.append(f"{name} is {r.state} (held={r.held}) but running")
        elif r.state is S.PENDING:
            waiting = [p for p, c in d.depends_on.items() if not _satisfied(world, p, c)]
            if live or not waiting:
                problems.append(f"{name} pending, live={live}, though its dependencies are ready")
        elif not live or r.state is not S.RUNNING or r.digests != d.digests or r.spec_hash != d.spec_hash:
            problems.append(f"{name} should run its current spec: {r.state}, live={live}")
    return problems


def overlapping(world: SimWorld, name: str) -> bool:
    """`name` is a run of a desired job that overlapped another (`concurrency: allow`) and may go on: its
    job is not held."""
    job = overlap_of(name, world.desired)
    record = world.records.get(job) if job is not None else None
    return job is not None and not (record is not None and record.held)


def instances_touched(actions: Iterable[Action]) -> set[str]:
    return {a.instance for a in actions}




