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
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from sentinel.config.models import Schedule
from sentinel.config.units import format_duration
from sentinel.errors import NotAJob, SentinelError
from sentinel.log import get_logger
from sentinel.reconcile.actions import Stop
from sentinel.reconcile.desired import DesiredProcess
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.overlap import overlap_of
from sentinel.reconcile.records import record_after, run_requested
from sentinel.reconcile.render import done_line
from sentinel.reconcile.runs import RunSkipped, ask_run, overdue_runs
from sentinel.reconcile.targets import target_error
from sentinel.schedule import after_firing, catch_up, next_every, next_run
from sentinel.state.values import Run

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller

log = get_logger(__name__)

MAX_SLEEP = 30.0  # seconds: a step of the wall clock is noticed within this
JUMP = 60.0  # seconds: a wall clock that went back further than this has jumped (NTP step, `date -s`)


@dataclass(slots=True)
class _Next:
    """When one job runs next. cron and `at` follow the wall clock (`wall`); `every` keeps its cadence on
    the monotonic clock (`mono`, counted from `anchor`), and fires early only when the wall clock says a
    whole interval went by that the monotonic clock did not count (the machine slept)."""

    schedule: Schedule
    wall: datetime | None
    mono: float | None = None
    anchor: float = 0.0


class JobScheduler:
    """Next triggers of the jobs of one controller."""

    def __init__(self, controller: Controller, system_tz: tzinfo, *, max_sleep: float = MAX_SLEEP) -> None:
        self._controller = controller
        self._tz = system_tz
        self._max_sleep = max_sleep
        self._next: dict[str, _Next] = {}
        self._seen: tuple[float, datetime] | None = None  # (monotonic, wall) at the last look
        self._changed = asyncio.Event()

    def next_run(self, name: str) -> datetime | None:
        """When job `name` runs next (UTC), for display."""
        due = self._next.get(name)
        if due is None or due.mono is None:
            return due.wall if due is not None else None
        clock = self._controller.clock
        return clock.now_utc() + timedelta(seconds=due.mono - clock.monotonic())

    def changed(self) -> None:
        """The config changed: recompute, and sleep again."""
        self._changed.set()

    def catch_up(self) -> None:
        """At start-up: one run for each job whose triggers were missed while no reconciler ran
        (`on_missed: run-once`), however many they were."""
        controller = self._controller
        now = controller.clock.now_utc()
        for name, d in sorted(controller.desired.items()):
            schedule = _timed(d)
            if schedule is None:
                continue
            last = controller.jobs.last_slot(name)
            created = last if last is not None else now  # a job that never ran has missed nothing
            slot = catch_up(schedule, d.on_missed, last, created, now, system_tz=self._tz)
            if slot is not None:
                controller.jobs.ask(name, slot=slot, trigger="missed", why=f"missed run of {_hhmm(slot)}")

    async def run(self) -> None:
        """Fire due triggers and cut overdue runs, until cancelled."""
        controller = self._controller
        while True:
            mono, now = controller.clock.monotonic(), controller.clock.now_utc()
            self._sync(mono, now)
            for name, due in sorted(self._next.items()):
                d = controller.desired.get(name)
                if d is None or _timed(d) is None:
                    continue
                slot = self._due(due, mono, now)
                if slot is not None:
                    controller.jobs.ask(name, slot=slot, trigger="schedule", why=f"scheduled run of {_hhmm(slot)}")
                    self._advance(due, slot, mono, now)
            deadline = controller.jobs.cut_overdue()
            waits = [self._wait(due, mono, now) for due in self._next.values()]
            if deadline is not None:
                waits.append(deadline)
            delay = min([self._max_sleep, *(w for w in waits if w is not None)])
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(delay, 0.0))

    def _due(self, due: _Next, mono: float, now: datetime) -> datetime | None:
        """The slot to fire now, if any."""
        if due.mono is not None and due.mono <= mono:
            return now - timedelta(seconds=mono - due.mono)  # the wall time it was due at
        if due.wall is not None and due.wall + _slack(due) <= now:
            return due.wall
        return None

    def _advance(self, due: _Next, slot: datetime, mono: float, now: datetime) -> None:
        """After firing `slot`: the next trigger, strictly after both the slot and now (one run, never a burst)."""
        if due.mono is None:
            due.wall = after_firing(due.schedule, slot, now, system_tz=self._tz)
            return
        interval = due.schedule.every or 0.0
        if due.mono > mono:  # fired by the wall clock: the machine slept; keep the cadence from here
            due.anchor = mono
        due.mono = next_every(due.anchor, interval, max(due.mono, mono))
        due.wall = now + timedelta(seconds=due.mono - mono)

    @staticmethod
    def _wait(due: _Next, mono: float, now: datetime) -> float | None:
        waits = [(due.wall + _slack(due) - now).total_seconds()] if due.wall is not None else []
        if due.mono is not None:
            waits.append(due.mono - mono)
        return min(waits) if waits else None

    def _sync(self, mono: float, now: datetime) -> None:
        """Take config changes, and re-plan the wall-clock triggers if the wall clock jumped back."""
        desired = self._controller.desired
        for name in list(self._next):
            if name not in desired or desired[name].schedule != self._next[name].schedule:
                del self._next[name]
        back = self._went_back(mono, now)
        for name, d in desired.items():
            schedule = _timed(d)
            if schedule is None:
                continue
            due = self._next.get(name)
            if due is None:
                self._next[name] = self._plan(schedule, mono, now, self._controller.jobs.last_slot(name))
            elif back is not None and due.mono is None:
                # Replan from the moment of the last look, on the new timeline: a job resumes within its own
                # period instead of waiting for the clock to catch up (docs/reliability.md#f28-wall-clock-jumps). An
                # `at` that ran stays done.
                last = self._controller.jobs.last_slot(name) if schedule.at is not None else None
                due.wall = next_run(schedule, max(back, last) if last else back, system_tz=self._tz)
        self._seen = (mono, now)

    def _went_back(self, mono: float, now: datetime) -> datetime | None:
        """If the wall clock went back by more than JUMP since the last look: when that look was, on the new
        timeline; else None. (A forward jump needs nothing: the triggers it passed fire once.)"""
        if self._seen is None:
            return None
        seen_mono, seen_wall = self._seen
        skew = (now - seen_wall).total_seconds() - (mono - seen_mono)
        if skew >= -JUMP:
            return None
        log.warning("wall_clock_jumped", seconds=round(skew))
        return now - timedelta(seconds=mono - seen_mono)

    def _plan(self, schedule: Schedule, mono: float, now: datetime, last: datetime | None) -> _Next:
        """The first trigger of a job the scheduler did not know (start-up, or a new or changed schedule)."""
        if schedule.every is None:
            after = max(last, now) if last is not None else now
            return _Next(schedule, next_run(schedule, after, system_tz=self._tz))
        since = (now - last).total_seconds() if last is not None else 0.0
        anchor = mono - since if since >= 0.0 else mono  # keep the cadence of the runs already made
        due = _Next(schedule, None, anchor=anchor)
        due.mono = next_every(anchor, schedule.every, mono)
        due.wall = now + timedelta(seconds=due.mono - mono)
        return due


def _slack(due: _Next) -> timedelta:
    """How far past an `every` job's wall-clock time the wall clock must be to fire it before its monotonic
    time: enough that a wall clock slewed by NTP (at most 500 ppm) never fires it early. Zero for cron, `at`."""
    return timedelta(seconds=1.0 + due.schedule.every * 0.001) if due.mono is not None and due.schedule.every else \
        timedelta(0)


def _hhmm(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


class JobRuns:
    """The runs of jobs: asking the planner for one, writing each run's history (state.db), and marking
    each run's start and end in the job's log. A run is known by the instance it runs as: the job's own
    name, or `backup+1` for one that overlapped another (`concurrency: allow`)."""

    def __init__(self, controller: Controller) -> None:
        self._c = controller
        self._asked: dict[str, tuple[datetime | None, str]] = {}  # job → (slot, trigger) of the run asked for
        self._open: dict[str, tuple[int, float]] = {}  # instance → (run id, monotonic start) of the run going
        self.outcomes: dict[tuple[str, str], int] = {}  # (job, outcome) → runs that ended so, since start-up

    def _count(self, job: str, outcome: str) -> None:
        self.outcomes[(job, outcome)] = self.outcomes.get((job, outcome), 0) + 1

    def reattach(self, running: Mapping[str, object]) -> None:
        """At start-up: a run the previous reconciler started and that still goes (adopted) keeps its
        history row; one that ended while no reconciler watched is closed as `unknown` (its exit status is lost)."""
        c = self._c
        mono, wall = c.clock.monotonic(), c.clock.now_utc()
        for name, d in sorted(c.desired.items()):
            if not d.is_job:
                continue
            for run in self._open_runs(name):
                instance = run.instance or name
                if instance in running and run.started_at is not None:
                    self._open[instance] = (run.id, mono - (wall - run.started_at).total_seconds())
                else:
                    c.write_safely(c.store.finish_run, name, run.id, ended_at=wall, outcome="unknown")
                    self._count(name, "unknown")

    def label_of_open_run(self, instance: str) -> bytes:
        """`b"#42 "` for the instance of a job whose run 42 is recorded as going (to adopt it), else b""."""
        job = overlap_of(instance, self._c.desired) or instance
        d = self._c.desired.get(job)
        if d is None or not d.is_job:
            return b""
        for run in self._open_runs(job):
            if (run.instance or job) == instance:
                return _label(run.id)
        return b""

    def _open_runs(self, job: str) -> list[Run]:
        try:
            return self._c.store.open_runs(job)
        except SentinelError:
            return []

    def _reserve(self, job: str) -> int | None:
        try:
            return self._c.store.reserve_run_id(job)
        except SentinelError:
            return None

    def last_run(self, name: str) -> Run | None:
        """The newest run of `name` (or skipped trigger); None while state.db cannot be read."""
        try:
            return self._c.store.last_run(name)
        except SentinelError:
            return None

    def last_slot(self, name: str) -> datetime | None:
        try:
            return self._c.store.last_slot(name)
        except SentinelError:
            return None

    def ask(self, name: str, *, slot: datetime | None, trigger: str, why: str) -> bool:
        """Ask for a run of job `name`; False when it is skipped (`runs.ask_run` decides), which is recorded as a
        skipped run."""
        c = self._c
        going = c.runtime.spawned(name) is not None and name not in c.exits_seen()
        decision = ask_run(c.desired[name], c.records.get(name), going=going, manual=trigger == "manual", why=why)
        if isinstance(decision, RunSkipped):
            c.write_safely(c.store.add_skipped_run, name, scheduled_for=slot, at=c.clock.now_utc(), trigger=trigger,
                           run_id=self._reserve(name))
            c.event("skipped", f"skipped the {why} of {name}: {decision.reason}", process=name)
            self._count(name, "skipped")
            return False
        self._asked[name] = (slot, trigger)
        c.keep(name, run_requested(c.records.get(name), name, decision.reason))
        c.wake()
        return True

    def started(self, name: str, now: float, *, retry: bool = False) -> bytes:
        """A run is being started as instance `name` (`retry`: again after a failed run): its history row.
        Returns the label of its lines in the log (`b"#42 "`)."""
        c = self._c
        job = overlap_of(name, c.desired) or name
        self.ended(name, outcome="stopped")  # a run replaced by this one
        slot, trigger = self._asked.pop(job, (None, "retry" if retry else "manual"))
        run_id = self._reserve(job)  # numbered now, written when the database lets us (persist)
        if run_id is None:
            return b""
        c.write_safely(c.store.start_run, job, scheduled_for=slot, started_at=c.clock.now_utc(), trigger=trigger,
                       instance=name, run_id=run_id)
        self._open[name] = (run_id, now)
        d = c.spec(name)
        if d is not None and d.run_timeout is not None:
            c.scheduler.changed()  # its deadline is now the scheduler's business
        return _label(run_id)

    def ended(self, name: str, *, outcome: str, exit_code: int | None = None, exit_signal: int | None = None) -> None:
        """The run going as instance `name` ended (nothing to do if none goes): its history row and the end
        marker in the log."""
        opened = self._open.pop(name, None)
        if opened is None:
            return
        c = self._c
        took = format_duration(round(max(c.clock.monotonic() - opened[1], 0.0), 3))
        known = exit_code is not None or exit_signal is not None
        how = f" ({ExitStatus(exit_code, exit_signal).describe()})" if known else ""
        c.runtime.note(name, f"{outcome}{how} after {took}")
        job = overlap_of(name, c.desired) or name
        c.write_safely(c.store.finish_run, job, opened[0], ended_at=c.clock.now_utc(), outcome=outcome,
                       exit_code=exit_code, exit_signal=exit_signal)
        self._count(job, outcome)
        if outcome in ("succeeded", "failed"):
            c.notify(f"job_{outcome}", f"{name} {outcome}{how} after {took}", process=name, exit_code=exit_code,
                     at=c.clock.now_utc())
        if job in c.desired:
            c.write_safely(c.store.prune_runs, job, c.desired[job].keep_runs)

    def cut_overdue(self) -> float | None:
        """Stop the runs that outlived their job's `timeout` (`runs.overdue_runs` decides); seconds until the
        next deadline."""
        c = self._c
        started = {name: at for name, (_, at) in self._open.items()}
        late, soonest = overdue_runs(started, c.desired, c.clock.monotonic())
        for stop in late:
            if not c.is_busy(stop.instance):
                c.background(stop.instance, self._time_out(stop))
        return soonest

    async def _time_out(self, stop: Stop) -> None:
        c, name = self._c, stop.instance
        await c.stop_tree(name)
        self.ended(name, outcome="timed out")
        if stop.forget:  # an overlapping run: gone with its run
            c.runtime.forget(name)
        else:
            c.runtime.release(name)
        c.keep(name, record_after(stop, c.records.get(name), c.spec(name), c.clock.monotonic()))
        c.event("timed_out", done_line(stop), process=overlap_of(name, c.desired) or name)

    def request_run(self, name: str) -> None:
        """`sentinel run NAME`: a run of a job now. TargetError for an unknown name, NotAJob for a service."""
        d = self._c.desired.get(name)
        if d is None:
            raise target_error([name], self._c.desired)
        if not d.is_job:
            raise NotAJob(f"{name} is not a job (it has no schedule)")
        self.ask(name, slot=None, trigger="manual", why="run requested")


def _label(run_id: int) -> bytes:
    """How the lines of run `run_id` are marked in the job's log, after the time stamp."""
    return f"#{run_id} ".encode()


def _timed(d: DesiredProcess) -> Schedule | None:
    """The schedule whose triggers fire `d`; None for a service, or a job with `schedule: manual` (run on request)."""
    return d.schedule if d.schedule is not None and not d.schedule.manual else None
