"""The scheduler of jobs: when each job's next trigger is, firing it, and cutting runs that time out.

It sleeps until the earliest trigger or run deadline (at most 30 s, so a jump of the wall clock
is noticed), or until the config changes; there is no polling loop while nothing is due. The
trigger times come from the pure `sentinel.schedule`; firing a job asks the controller for a run,
and the planner starts it. Called by the daemon (one task) and the API (`sentinel run`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from sentinel.config.models import Schedule
from sentinel.config.units import format_duration
from sentinel.errors import NotAJob, SentinelError, TargetError
from sentinel.reconcile.observed import ProcessRecord
from sentinel.schedule import after_firing, catch_up, next_run
from sentinel.states import ProcessState

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller

MAX_SLEEP = 30.0  # seconds: a wall-clock jump is noticed within this


class JobScheduler:
    """Next triggers of the jobs of one controller."""

    def __init__(self, controller: Controller, system_tz: tzinfo) -> None:
        self._controller = controller
        self._tz = system_tz
        self._next: dict[str, datetime | None] = {}
        self._for: dict[str, Schedule] = {}  # the schedule each next time was computed from
        self._changed = asyncio.Event()

    def next_run(self, name: str) -> datetime | None:
        return self._next.get(name)

    def changed(self) -> None:
        """The config changed: recompute, and sleep again."""
        self._changed.set()

    def catch_up(self) -> None:
        """At start-up: one run for each job whose triggers were missed while no reconciler ran
        (`on_missed: run-once`), however many they were."""
        controller = self._controller
        now = controller.clock.now_utc()
        for name, d in sorted(controller.desired.items()):
            if d.schedule is None:
                continue
            last = controller.jobs.last_slot(name)
            created = last if last is not None else now  # a job that never ran has missed nothing
            slot = catch_up(d.schedule, d.on_missed, last, created, now, system_tz=self._tz)
            if slot is not None:
                controller.jobs.ask(name, slot=slot, trigger="missed", why=f"missed run of {_hhmm(slot)}")

    async def run(self) -> None:
        """Fire due triggers and cut overdue runs, until cancelled."""
        controller = self._controller
        while True:
            now = controller.clock.now_utc()
            self._sync(now)
            for name, when in sorted(self._next.items()):
                d = controller.desired.get(name)
                if when is None or when > now or d is None or d.schedule is None:
                    continue
                controller.jobs.ask(name, slot=when, trigger="schedule", why=f"scheduled run of {_hhmm(when)}")
                self._next[name] = after_firing(d.schedule, when, now, system_tz=self._tz)
            deadline = controller.jobs.cut_overdue()
            waits = [(when - now).total_seconds() for when in self._next.values() if when is not None]
            if deadline is not None:
                waits.append(deadline)
            delay = min([MAX_SLEEP, *waits])
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(delay, 0.0))

    def _sync(self, now: datetime) -> None:
        desired = self._controller.desired
        for name in list(self._next):
            if name not in desired or desired[name].schedule is None:
                del self._next[name]
                self._for.pop(name, None)
        for name, d in desired.items():
            if d.schedule is not None and self._for.get(name) != d.schedule:
                self._for[name] = d.schedule
                last = self._controller.jobs.last_slot(name)
                after = max(last, now) if last is not None else now
                self._next[name] = next_run(d.schedule, after, system_tz=self._tz)


def _hhmm(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


class JobRuns:
    """The runs of jobs: asking the planner for one, and writing each run's history (state.db)."""

    def __init__(self, controller: Controller) -> None:
        self._c = controller
        self._asked: dict[str, tuple[datetime | None, str]] = {}  # job → (slot, trigger) of the run asked for
        self._open: dict[str, tuple[int, float]] = {}  # job → (run id, monotonic start) of the run going

    def reattach(self, running: Mapping[str, object]) -> None:
        """At start-up: a run the previous reconciler started and that still goes (adopted) keeps its
        history row; one that ended while no reconciler watched is closed as `stopped`."""
        c = self._c
        mono, wall = c.clock.monotonic(), c.clock.now_utc()
        for name, d in sorted(c.desired.items()):
            if not d.is_job:
                continue
            try:
                last = c.store.last_run(name)
            except SentinelError:
                continue
            if last is None or last.outcome != "running":
                continue
            if name in running and last.started_at is not None:
                self._open[name] = (last.id, mono - (wall - last.started_at).total_seconds())
            else:
                c.write_safely(c.store.finish_run, last.id, ended_at=wall, outcome="stopped")

    def last_run(self, name: str) -> datetime | None:
        """When the newest run of `name` started (or was skipped)."""
        try:
            last = self._c.store.last_run(name)
        except SentinelError:
            return None
        return last.started_at if last is not None else None

    def last_slot(self, name: str) -> datetime | None:
        try:
            return self._c.store.last_slot(name)
        except SentinelError:
            return None

    def ask(self, name: str, *, slot: datetime | None, trigger: str, why: str) -> bool:
        """Ask for a run of job `name`; False when it is skipped (held, or its last run still going and
        `concurrency` is not `replace`), which is recorded as a skipped run."""
        c = self._c
        d, record = c.desired[name], c.records.get(name)
        going = name in c.runtime.running() and name not in c.exits_seen()
        skip = ""
        if record is not None and record.held and trigger != "manual":
            skip = "it is stopped (held)"
        elif going and d.concurrency != "replace":
            skip = "its previous run is still going"
        if skip:
            c.write_safely(c.store.add_skipped_run, name, scheduled_for=slot, at=c.clock.now_utc(), trigger=trigger)
            c.event("skipped", f"skipped the {why} of {name}: {skip}", process=name)
            return False
        self._asked[name] = (slot, trigger)
        self.ask_planner(name, why if not going else f"{why}, replacing the run still going")
        return True

    def started(self, name: str, now: float, *, retry: bool = False) -> None:
        """A run of job `name` is being started (`retry`: again after a failed run): its history row."""
        c = self._c
        self.ended(name, outcome="stopped")  # a run replaced by this one
        slot, trigger = self._asked.pop(name, (None, "retry" if retry else "manual"))
        try:
            run = c.store.start_run(name, scheduled_for=slot, started_at=c.clock.now_utc(), trigger=trigger)
        except SentinelError:
            return
        self._open[name] = (run.id, now)
        if c.desired[name].run_timeout is not None:
            c.scheduler.changed()  # its deadline is now the scheduler's business

    def ended(self, name: str, *, outcome: str, exit_code: int | None = None, exit_signal: int | None = None) -> None:
        opened = self._open.pop(name, None)
        if opened is None:
            return
        c = self._c
        c.write_safely(c.store.finish_run, opened[0], ended_at=c.clock.now_utc(), outcome=outcome,
                       exit_code=exit_code, exit_signal=exit_signal)
        d = c.desired.get(name)
        if d is not None:
            c.write_safely(c.store.prune_runs, name, d.keep_runs)

    def overdue(self, now: float) -> tuple[list[str], float | None]:
        """Jobs whose run has outlived `timeout`, and the seconds until the next deadline."""
        late, soonest = [], None
        for name, (_, started) in sorted(self._open.items()):
            d = self._c.desired.get(name)
            if d is None or d.run_timeout is None:
                continue
            left = started + d.run_timeout - now
            if left <= 0:
                late.append(name)
            else:
                soonest = left if soonest is None else min(soonest, left)
        return late, soonest

    def ask_planner(self, name: str, why: str) -> None:
        """Have the planner start a run of job `name` (or replace the one going)."""
        c = self._c
        record = c.records.get(name) or ProcessRecord(name=name, state=ProcessState.SCHEDULED)
        c.keep(name, replace(record, restart_requested=True, reason=why))
        c.wake()

    def cut_overdue(self) -> float | None:
        """Stop the runs that outlived their job's `timeout`; seconds until the next deadline."""
        late, soonest = self.overdue(self._c.clock.monotonic())
        for name in late:
            if not self._c.is_busy(name):
                self._c.background(name, self._time_out(name))
        return soonest

    async def _time_out(self, name: str) -> None:
        c = self._c
        limit = format_duration(c.desired[name].run_timeout or 0.0)
        self.ended(name, outcome="timed out")
        await c.stop_tree(name)
        c.runtime.release(name)
        record = c.records.get(name) or ProcessRecord(name=name, state=ProcessState.RUNNING)
        c.keep(name, replace(record, state=ProcessState.SCHEDULED, reason=f"last run timed out after {limit}"))
        c.event("timed_out", f"stopped {name}: the run took longer than {limit}", process=name)

    def request_run(self, name: str) -> None:
        """`sentinel run NAME`: a run of a job now. TargetError for an unknown name, NotAJob for a service."""
        d = self._c.desired.get(name)
        if d is None:
            raise TargetError([name])
        if not d.is_job:
            raise NotAJob(f"{name} is not a job (it has no schedule)")
        self.ask(name, slot=None, trigger="manual", why="run requested")
