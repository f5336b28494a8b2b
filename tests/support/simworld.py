"""SimWorld: a pure data model of a process table that carries out plans the way the controller does.

It feeds the pure planner in unit and property tests (docs/conventions.md#planner-tests-tables-and-properties,
docs/conventions.md#real-processes-simulated-planner): a Config, the observed processes, the records and a FakeClock.
`apply(plan)` does what the controller's executor does, without processes or I/O:

- Start / Restart: a live ObservedProcess with a fresh identity; record = record_after(...).
- Stop: the process is gone; record = record_after(...) (None for a pruning stop).
- Update / SetState / Forget: record = record_after(...); SetState and Forget (and Start) on an
  instance whose observation shows an exit drop that observation, because the exit is handled.

Anything the controller could not carry out (starting a live instance, stopping one that is
not running, forgetting a live one, two actions for one instance in one plan) raises
`ImpossiblePlan`. A record transition outside the state table (sentinel.states.ALLOWED) raises
`IllegalMove`, as the controller does in strict mode.

The decisions taken between passes come from the same pure functions the controller calls:
`ask_run` (a job's trigger or `sentinel run`: `runs.ask_run`), `time_out` (a run past its job's
`timeout`: `runs.overdue_runs`) and `shut_down` (the reconciler stops: `shutdown.shutdown_stops`).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sentinel.config.models import Config
from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.desired import DesiredProcess, expand
from sentinel.reconcile.observed import ExitStatus, ObservedProcess, ProcessIdentity, ProcessRecord
from sentinel.reconcile.overlap import spec_of
from sentinel.reconcile.planner import plan
from sentinel.reconcile.records import held, record_after, released, restart_requested, run_requested
from sentinel.reconcile.runs import RunSkipped, ask_run, overdue_runs
from sentinel.reconcile.shutdown import shutdown_stops
from sentinel.states import Health, ProcessState, check_move
from tests.support.fakeclock import FakeClock


class ImpossiblePlan(AssertionError):
    """The plan asks for something the controller cannot do in this world."""


class NotSettled(AssertionError):
    """Planning did not reach an empty plan within the allowed number of passes."""


def make_config(processes: Mapping[str, Mapping[str, Any]]) -> Config:
    """A validated Config from plain process dicts; `cwd` defaults to /tmp (the loader would set it)."""
    return Config.model_validate({"processes": {name: {"cwd": "/tmp", **spec} for name, spec in processes.items()}})


@dataclass(repr=False)
class SimWorld:
    """A config, a fake process table, the records, and a clock; `step()` = plan + apply."""

    config: Config = field(default_factory=Config)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)  # the processes as given to of()/edit_processes
    clock: FakeClock = field(default_factory=FakeClock)
    observed: dict[str, ObservedProcess] = field(default_factory=dict)
    records: dict[str, ProcessRecord] = field(default_factory=dict)
    runs: Counter[str] = field(default_factory=Counter)  # Start/Restart count per instance
    applied: list[Action] = field(default_factory=list)
    skipped: list[RunSkipped] = field(default_factory=list)  # runs asked for and skipped
    _desired: dict[str, DesiredProcess] = field(default_factory=dict, repr=False)
    _pids: itertools.count[int] = field(default_factory=lambda: itertools.count(100), repr=False)

    def __post_init__(self) -> None:
        self._desired = expand(self.config)

    @classmethod
    def of(cls, processes: Mapping[str, Mapping[str, Any]]) -> SimWorld:
        return cls(config=make_config(processes), specs={name: dict(spec) for name, spec in processes.items()})

    def __repr__(self) -> str:
        """A summary that fits a failure report: the time, and per instance its record state and process."""
        names = sorted(self.desired.keys() | self.observed.keys() | self.records.keys())
        return f"SimWorld(now={self.now}, {', '.join(self._describe(name) for name in names)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis prints falsifying examples with its pretty printer: use the summary there too."""
        printer.text(repr(self))

    def _describe(self, name: str) -> str:
        record, observed = self.records.get(name), self.observed.get(name)
        parts = [str(record.state) if record is not None else "no record"]
        if record is not None and record.held:
            parts.append("held")
        if observed is not None:
            parts.append("live" if observed.exit is None else f"exited ({observed.exit.describe()})")
        if name not in self.desired:
            parts.append("not desired")
        return f"{name}: {' '.join(parts)}"

    # --- reading the world -------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.clock.monotonic()

    @property
    def desired(self) -> dict[str, DesiredProcess]:
        return self._desired

    def live(self) -> set[str]:
        """Instances with a running process (not exited)."""
        return {name for name, o in self.observed.items() if o.exit is None}

    def state(self, name: str) -> ProcessState | None:
        record = self.records.get(name)
        return record.state if record is not None else None

    # --- planning and carrying out -----------------------------------------------------------

    def plan(self) -> Plan:
        return plan(self.desired, self.observed, self.records, self.now)

    def step(self) -> Plan:
        """One controller pass: plan, then carry out every action."""
        result = self.plan()
        self.apply(result)
        return result

    def settle(self, max_passes: int = 10) -> list[Plan]:
        """Pass until a pass plans nothing, without time passing; the non-empty plans in order."""
        plans: list[Plan] = []
        for _ in range(max_passes):
            result = self.step()
            if not result.actions:
                return plans
            plans.append(result)
        raise NotSettled(f"still planning after {max_passes} passes: {plans[-3:]}")

    def converge(self, max_passes: int = 50) -> int:
        """Pass, moving time to each `wake_at`, until nothing is planned or awaited; the passes used."""
        for passes in range(1, max_passes + 1):
            result = self.step()
            if not result.actions:
                if result.wake_at is None:
                    return passes
                self.clock.advance_to(result.wake_at)
        raise NotSettled(f"not converged after {max_passes} passes")

    def apply(self, result: Plan) -> None:
        seen = Counter(action.instance for action in result.actions)
        twice = sorted(name for name, count in seen.items() if count > 1)
        if twice:
            raise ImpossiblePlan(f"more than one action for {twice}: {result.actions}")
        for action in result.actions:
            self._carry_out(action)

    def _carry_out(self, action: Action) -> None:
        name = action.instance
        observed = self.observed.get(name)
        live = observed is not None and observed.exit is None
        match action:
            case Start():
                if live:
                    raise ImpossiblePlan(f"{action} but {name} is running")
                self._spawn(name)
            case Restart():
                if not live:
                    raise ImpossiblePlan(f"{action} but {name} is not running")
                self._spawn(name)
            case Stop():
                if not live:
                    raise ImpossiblePlan(f"{action} but {name} is not running")
                del self.observed[name]
            case Forget():
                if live:
                    raise ImpossiblePlan(f"{action} but {name} is running")
                self.observed.pop(name, None)
            case SetState():
                if observed is not None and observed.exit is not None:
                    del self.observed[name]
            case Update():
                pass
        self._keep(name, record_after(action, self.records.get(name), spec_of(name, self.desired), self.now))
        self.applied.append(action)

    def _spawn(self, name: str) -> None:
        self.observed[name] = ObservedProcess(name=name, identity=ProcessIdentity(next(self._pids), self.now))
        self.runs[name] += 1

    def _keep(self, name: str, record: ProcessRecord | None) -> None:
        old = self.records.get(name)
        if old is not None and record is not None:
            check_move(name, old.state, record.state)
        if record is None:
            self.records.pop(name, None)
        else:
            self.records[name] = record

    # --- things that happen to the world -----------------------------------------------------

    def edit(self, config: Config) -> None:
        """A new config takes effect (the file changed and loaded)."""
        self.config = config
        self._desired = expand(config)

    def edit_processes(self, processes: Mapping[str, Mapping[str, Any]]) -> None:
        self.edit(make_config(processes))
        self.specs = {name: dict(spec) for name, spec in processes.items()}

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def crash(self, name: str, code: int | None = 1, signal: int | None = None) -> None:
        """The running process `name` exits now; the observation keeps the exit until a pass handles it."""
        observed = self.observed[name]
        if observed.exit is not None:
            raise ValueError(f"{name} has already exited")
        self.observed[name] = replace(observed, exit=ExitStatus(code=code, signal=signal), exited_at=self.now)

    def vanish(self, name: str) -> None:
        """The process is gone and nobody saw it exit (it died while no reconciler was watching)."""
        del self.observed[name]

    def adopt(self, name: str) -> None:
        """A live process with no record (found running, record lost)."""
        self.records.pop(name, None)
        self.observed[name] = ObservedProcess(name=name, identity=ProcessIdentity(next(self._pids), self.now))

    def set_health(self, name: str, health: Health, detail: str = "") -> None:
        """What the instance's health check now says (the controller's HealthMonitor in real life)."""
        self.observed[name] = replace(self.observed[name], health=health, health_detail=detail)

    def set_busy(self, name: str, busy: bool = True) -> None:
        self.observed[name] = replace(self.observed[name], busy=busy)

    def hold(self, name: str) -> None:
        """`sentinel stop NAME`."""
        self.records[name] = held(self.records[name])

    def release(self, name: str) -> None:
        """`sentinel start NAME`."""
        self.records[name] = released(self.records[name])

    def request_restart(self, name: str) -> None:
        """`sentinel restart NAME`."""
        self.records[name] = restart_requested(self.records[name])

    # --- decisions between passes (the job scheduler, timeouts, shutdown) ----------------------

    def ask_run(self, job: str, *, manual: bool = False) -> bool:
        """A trigger of `job` fires (`manual`: `sentinel run`); False when the run is skipped."""
        d = self.desired[job]
        going = job in self.live()
        decision = ask_run(d, self.records.get(job), going=going, manual=manual, why="run requested")
        if isinstance(decision, RunSkipped):
            self.skipped.append(decision)
            return False
        self._keep(job, run_requested(self.records.get(job), job, decision.reason))
        return True

    def time_out(self, timeout: float = 1.0) -> list[str]:
        """Every live run of a job has gone on past `timeout` (given to each job whatever its spec says): cut
        as the controller cuts it. The instances cut."""
        desired = {name: replace(d, run_timeout=timeout) if d.is_job else d for name, d in self.desired.items()}
        runs = {name for name in self.live() if (d := spec_of(name, desired)) is not None and d.is_job}
        late, _ = overdue_runs(dict.fromkeys(sorted(runs), self.now - timeout), desired, self.now)
        self.apply(Plan(late))
        return [stop.instance for stop in late]

    def shut_down(self) -> list[list[str]]:
        """The reconciler stops: every live instance stopped in `shutdown_stops` order; records are kept.
        The batches, by instance name."""
        batches = shutdown_stops(self.desired, self.live())
        for batch in batches:
            for stop in batch:
                del self.observed[stop.instance]
                if stop.instance in self.records:
                    self._keep(stop.instance, record_after(stop, self.records[stop.instance],
                                                           spec_of(stop.instance, self.desired), self.now))
                self.applied.append(stop)
        return [[stop.instance for stop in batch] for batch in batches]
