"""plan(desired, observed, records, now) -> Plan: the one place that decides what to do
(docs/contract.md#reconcile-semantics).

Level-triggered: every pass looks at every instance. Each instance gets at most one action
per pass; a pass that changes something is followed by another, until a pass plans nothing.
Stops come first in reverse dependency order, then state records, then starts and restarts in
dependency order, ties by name. Pure: time is the `now` passed in (monotonic seconds).

A file written in pieces is read half-written before the rest arrives (docs/reliability.md#f21-a-half-written-config):
what a config change stops (a process removed from the file, a restart for an edited spec) waits until the file
has stayed unchanged for `SETTLE` seconds, while additions and in-place updates go at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sentinel.instances import REPLICA, numbered
from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.desired import Desired, DesiredProcess, changed_fields, is_run_field, reload_fields
from sentinel.reconcile.observed import ExitStatus, Observed, ObservedProcess, ProcessRecord, Records
from sentinel.reconcile.order import process_of, ranks
from sentinel.reconcile.overlap import free_overlap, overlap_of
from sentinel.reconcile.policy import after_exit, after_failure
from sentinel.states import Health, ProcessState

S = ProcessState
HELD = "stopped by user"
JOB_WAITS = "waits for its schedule"
# A process in one of these states was running when we last knew of it.
_WAS_RUNNING = frozenset({S.RUNNING, S.STARTING, S.STOPPING})


NOT_APPLIED = "edit not applied: "
# Seconds a changed file must stay unchanged before what it removes or restarts is stopped (docs/limitations.md).
SETTLE = 1.0


def plan(desired: Desired, observed: Observed, records: Records, now: float,
         unstartable: Mapping[str, str] | None = None, *, no_room: Mapping[str, str] | None = None,
         changed_at: float | None = None) -> Plan:
    """The actions that move the world from `observed` + `records` towards `desired`. `unstartable`:
    running instances whose edited spec cannot be started, and why (`reconcile.launch`); they are kept.
    `no_room`: instances that may not start for now, and why (`reconcile.descriptors`); they wait `pending`.
    `changed_at`: when the file `desired` was read from last changed (monotonic), if it may not be whole
    yet; stops a config change causes wait until `changed_at + SETTLE`. None: the file was read whole."""
    settles_at = None if changed_at is None or now - changed_at >= SETTLE else changed_at + SETTLE
    return _Pass(desired, observed, records, now, unstartable or {}, no_room=no_room or {},
                 settles_at=settles_at).run()


class _Pass:
    """The working state of one planning pass (local to `plan`, never shared)."""

    def __init__(self, desired: Desired, observed: Observed, records: Records, now: float,
                 unstartable: Mapping[str, str], *, no_room: Mapping[str, str], settles_at: float | None) -> None:
        self.desired, self.observed, self.records, self.now = desired, observed, records, now
        self.unstartable, self.no_room, self.settles_at = unstartable, no_room, settles_at
        self.rank = ranks({**_recorded_dependencies(records, desired), **{d.process: d.depends_on
                                                                          for d in desired.values()}})
        self.instances: dict[str, list[str]] = defaultdict(list)
        for d in desired.values():
            self.instances[d.process].append(d.name)
        self.up = {n for n, o in observed.items() if o.exit is None and not o.busy}
        self.healthy = {n for n in self.up if observed[n].health is Health.HEALTHY}
        self.bounced: set[str] = set()  # processes restarting in this plan whose dependents restart too
        self.stops: list[tuple[int, str, Action]] = []
        self.marks: list[Action] = []
        self.starts: list[Action] = []
        self.starting: set[str] = set()  # instances started or restarted in this pass (a hold they had is released)
        self.wake_at: float | None = None
        self.marked: dict[str, SetState] = {}  # states recorded earlier in this pass

    def run(self) -> Plan:
        names = self.desired.keys() | self.observed.keys() | self.records.keys()
        for name in sorted(names, key=self._start_key):
            self._decide(name)
        stops = [action for _, _, action in sorted(self.stops, key=lambda s: (s[0], s[1]))]
        return Plan((*stops, *self.marks, *self.starts), self.wake_at)

    def _start_key(self, name: str) -> tuple[int, str]:
        return (self.rank.get(process_of(name, self.rank), 0), name)

    def _decide(self, name: str) -> None:
        d, o, r = self.desired.get(name), self.observed.get(name), self.records.get(name)
        if o is not None and o.busy:
            return
        if d is None:
            job = overlap_of(name, self.desired)
            if job is None:
                self._undesired(name, o, r)
            else:
                self._overlap(self.desired[job], name, o, r)
        elif d.is_job:
            self._job(d, o, r)
        elif o is not None and o.exit is not None:
            self._after_exit(d, o.exit, o.exited_at, r)
        elif o is not None:
            self._live(d, o, r)
        else:
            self._idle(d, r)

    # --- the cases --------------------------------------------------------------------------

    def _undesired(self, name: str, o: ObservedProcess | None, r: ProcessRecord | None) -> None:
        why = "removed from config"
        if (o is not None or r is not None) and self._unsettled():
            return  # the rest of the file may still list it
        if o is not None and o.exit is None:
            self._stop(Stop(instance=name, reason=why, forget=True, from_config=True))
        elif o is not None or r is not None:
            self._stop(Forget(instance=name, reason=why, from_config=r is not None))

    def _job(self, d: DesiredProcess, o: ObservedProcess | None, r: ProcessRecord | None) -> None:
        """A job runs when asked (`restart_requested`, set by the scheduler or `sentinel run`), and
        between runs waits `scheduled` (`stopped` while held). A failed run is retried as its restart
        policy says (jobs default to `never`). An edit is an update in place: a run going is never
        stopped for it, and the next run uses the new spec."""
        if o is not None and o.exit is not None:
            self._job_ended(d, o.exit, o.exited_at, r)
        elif o is not None:
            if r is not None and r.held:
                self._stop(Stop(instance=d.name, reason=HELD))
            elif r is not None and r.restart_requested and d.concurrency == "allow":
                taken = self.observed.keys() | self.records.keys() | {a.instance for a in self.starts}
                self.starts.append(Start(instance=free_overlap(d.name, taken), reason=r.reason or "run requested"))
                self._mark(SetState(instance=d.name, state=S.RUNNING, reason="running", served=True,
                                    take_settings=True))
            elif r is not None and r.restart_requested:  # concurrency: replace
                self._restart(d, Restart(instance=d.name, reason=r.reason or "run requested"))
            elif r is None or r.state is not S.RUNNING:
                self._mark(SetState(instance=d.name, state=S.RUNNING, reason="running", take_settings=True))
            elif r.digests and r.digests != d.digests:  # the run goes on; the next one runs the new spec
                self.marks.append(self._update(d, r))
        elif r is None:
            self._mark(SetState(instance=d.name, state=S.SCHEDULED, reason=_job_waits(d), from_config=True))
        else:
            self._job_idle(d, r)

    def _overlap(self, job: DesiredProcess, name: str, o: ObservedProcess | None, r: ProcessRecord | None) -> None:
        """A run of `job` that overlapped another (`concurrency: allow`): left alone while it runs, stopped
        with its job (`sentinel stop`), forgotten once it has ended (its history row keeps how)."""
        held = (record := self.records.get(job.name)) is not None and record.held
        if o is None or o.exit is not None:
            why = f"run ended ({o.exit.describe()})" if o is not None and o.exit is not None else "run ended"
            self._stop(Forget(instance=name, reason=why))
        elif held:
            self._stop(Stop(instance=name, reason=HELD, forget=True))
        elif r is None or r.state is not S.RUNNING:
            self._mark(SetState(instance=name, state=S.RUNNING, reason="running"))

    def _job_idle(self, d: DesiredProcess, r: ProcessRecord) -> None:
        if r.held:
            if r.state is not S.STOPPED:
                self._mark(SetState(instance=d.name, state=S.STOPPED, reason=HELD, take_settings=True))
        elif r.restart_requested:
            self._start_or_wait(d, r, Start(instance=d.name, reason=r.reason or "run requested"))
        elif r.state is S.BACKOFF and d.restart.policy != "never":
            self._backoff(d, r)  # a failed run, retried by the job's restart policy
        elif r.state is S.PENDING and r.failures:  # a retry waiting for its dependencies
            self._start_or_wait(d, r, Start(instance=d.name, reason="retry: dependencies ready",
                                            failures=r.failures, restart=True, retry=True))
        elif r.state in _WAS_RUNNING:
            self._job_ended(d, ExitStatus(), None, r)
        elif r.state is not S.SCHEDULED:
            self._mark(SetState(instance=d.name, state=S.SCHEDULED, reason=_job_waits(d), take_settings=True))
        elif r.digests and r.digests != d.digests:  # a job's settings change in place: its next run uses them
            self.marks.append(self._update(d, r))

    def _job_ended(self, d: DesiredProcess, exit: ExitStatus, at: float | None, r: ProcessRecord | None) -> None:
        # An edit while the run went is taken with its end (a job's settings change in place).
        if r is not None and r.held:
            self._mark(SetState(instance=d.name, state=S.STOPPED, reason=HELD, exit=exit, take_settings=True))
            return
        if r is not None and r.restart_requested:  # asked for again (`sentinel restart`) as the run ended: it goes now
            self._start_or_wait(d, r, Start(instance=d.name, reason=r.reason or "run requested"), exit=exit)
            return
        exited_at = self.now if at is None else at
        started = r.started_at if r is not None else None
        ran_for = exited_at - started if started is not None else 0.0
        decision = after_exit(d.restart, exit, ran_for=ran_for, failures=r.failures if r else 0, exited_at=exited_at)
        if decision.state is S.BACKOFF and not exit.expected(d.restart.exit_codes):  # retry the failed run
            if decision.retry_at is not None and decision.retry_at <= self.now:
                self._start_or_wait(d, r, Start(instance=d.name, reason=f"retry after {decision.reason}",
                                                failures=decision.failures, restart=True, retry=True), exit=exit)
                return
            if decision.retry_at is not None:
                self._wake(decision.retry_at)
            self._mark(SetState(instance=d.name, state=S.BACKOFF, reason=decision.reason, retry_at=decision.retry_at,
                                failures=decision.failures, exit=exit, take_settings=True))
            return
        self._mark(SetState(instance=d.name, state=S.SCHEDULED, reason=f"last run {decision.reason}", failures=0,
                            exit=exit, take_settings=True))

    def _after_exit(self, d: DesiredProcess, exit: ExitStatus, at: float | None, r: ProcessRecord | None) -> None:
        exited_at = self.now if at is None else at
        changed = r is not None and bool(r.digests) and r.digests != d.digests
        if r is not None and r.held and not changed:
            self._mark(SetState(instance=d.name, state=S.STOPPED, reason=HELD, exit=exit))
            return
        if r is not None and (r.held or r.restart_requested or (r.spec_hash and r.spec_hash != d.spec_hash)):
            why = "config changed, hold released" if r.held else (
                "restart requested" if r.restart_requested else self._changed(d, r))
            self._start_or_wait(d, r, Start(instance=d.name, reason=why, restart=True, from_config=changed),
                                exit=exit)
            return
        started = r.started_at if r is not None else None
        ran_for = exited_at - started if started is not None else 0.0
        decision = after_exit(d.restart, exit, ran_for=ran_for, failures=r.failures if r else 0, exited_at=exited_at)
        due = decision.retry_at is not None and decision.retry_at <= self.now
        if decision.state is S.BACKOFF and due:
            start = Start(instance=d.name, reason=decision.reason, failures=decision.failures, restart=True,
                          retry=True)
            self._start_or_wait(d, r, start, exit=exit)
            return
        if decision.retry_at is not None:
            self._wake(decision.retry_at)
        self._mark(
            SetState(instance=d.name, state=decision.state, reason=decision.reason, retry_at=decision.retry_at,
                     failures=decision.failures, exit=exit, take_settings=changed)
        )

    def _live(self, d: DesiredProcess, o: ObservedProcess, r: ProcessRecord | None) -> None:
        if r is None:
            self._mark(SetState(instance=d.name, state=S.RUNNING, reason="adopted"))
        elif r.held and r.digests and r.digests != d.digests:
            self._config_restart(d, Restart(instance=d.name, reason="config changed, hold released", from_config=True))
        elif r.held:
            self._stop(Stop(instance=d.name, reason=HELD))
        elif r.spec_hash != d.spec_hash:
            self._edited(d, r)
        elif r.restart_requested:
            self._restart(d, Restart(instance=d.name, reason="restart requested"))
        elif o.health is Health.UNHEALTHY and d.health is not None and d.health.restart:
            detail = f" ({o.health_detail})" if o.health_detail else ""
            self._failed_run(d, r, f"unhealthy{detail}")
        elif o.over_limit:
            self._failed_run(d, r, o.over_limit)
        elif bounced := sorted(self.bounced & d.depends_on.keys()):
            self._restart(d, Restart(instance=d.name, reason=f"{', '.join(bounced)} restarted"))
        elif d.reloads and (files := reload_fields(r.digests, d.digests)):  # the settings are taken as well
            self.marks.append(Update(instance=d.name, reason=f"{', '.join(files)} changed", fields=files, reload=True))
        elif r.digests != d.digests:
            self.marks.append(self._update(d, r))
        elif r.state is not S.RUNNING or r.reason.startswith(NOT_APPLIED):
            self._mark(SetState(instance=d.name, state=S.RUNNING, reason="running"))

    def _edited(self, d: DesiredProcess, r: ProcessRecord) -> None:
        """A running process whose spec changed: restarted with the new one, unless that one cannot start;
        then stopping it would leave nothing running, so it is kept (said once) until the edit can start."""
        problem = self.unstartable.get(d.name)
        if problem is None:
            fields = tuple(f for f in changed_fields(r.digests, d.digests) if is_run_field(f))
            self._config_restart(d, Restart(instance=d.name, reason=self._changed(d, r), fields=fields,
                                            from_config=True))
            return
        kept = f"{NOT_APPLIED}{problem}; the running process goes on"
        if r.reason != kept:
            self._mark(SetState(instance=d.name, state=S.RUNNING, reason=kept, from_config=True, not_applied=True))

    def _idle(self, d: DesiredProcess, r: ProcessRecord | None) -> None:
        if r is None:
            self._start_or_wait(d, None, Start(instance=d.name, reason="new in config", from_config=True))
        elif r.held:
            if r.digests and r.digests != d.digests:
                self._start_or_wait(d, r, Start(instance=d.name, reason="config changed, hold released",
                                                from_config=True))
            elif r.state is not S.STOPPED:
                self._mark(SetState(instance=d.name, state=S.STOPPED, reason=HELD))
        elif r.state in _WAS_RUNNING:
            self._after_exit(d, ExitStatus(), None, r)  # it ended while no reconciler watched it
        elif r.spec_hash and r.spec_hash != d.spec_hash:
            self._start_or_wait(d, r, Start(instance=d.name, reason=self._changed(d, r), from_config=True))
        elif r.state is S.BACKOFF:
            self._backoff(d, r)
        elif r.state in (S.FAILED, S.EXITED):
            if r.restart_requested:
                self._start_or_wait(d, r, Start(instance=d.name, reason="restart requested"))
            elif r.digests != d.digests:
                self.marks.append(self._update(d, r))
        else:  # stopped but no longer held, pending, or a job that became a service
            why = {S.STOPPED: "start requested", S.PENDING: "dependencies ready"}.get(r.state, "no longer a job")
            self._start_or_wait(d, r, Start(instance=d.name, reason=why, failures=r.failures,
                                            retry=r.state is S.PENDING and r.failures > 0))

    def _failed_run(self, d: DesiredProcess, r: ProcessRecord, what: str) -> None:
        """Stop a process that is unhealthy or over a limit; its restart follows the restart policy's back-off and
        `max_retries`, as a crash would (a process that is always unhealthy is not restarted hot forever)."""
        ran_for = self.now - r.started_at if r.started_at is not None else 0.0
        decision = after_failure(d.restart, what, ran_for=ran_for, failures=r.failures, at=0.0)
        backoff = decision.retry_at if decision.retry_at is not None else 0.0
        self._stop(Stop(instance=d.name, reason=decision.reason, then=decision.state, backoff=backoff,
                        failures=decision.failures))

    def _backoff(self, d: DesiredProcess, r: ProcessRecord) -> None:
        if r.retry_at is not None and r.retry_at > self.now:
            self._wake(r.retry_at)
            return
        self._start_or_wait(d, r, Start(instance=d.name, reason="backoff over", failures=r.failures, restart=True,
                                           retry=True))

    # --- helpers ------------------------------------------------------------------------------

    def _start_or_wait(self, d: DesiredProcess, r: ProcessRecord | None, start: Start,
                       exit: ExitStatus | None = None) -> None:
        """Start now, or record `pending` with what it waits for (its dependencies, or room under the descriptor
        limit). An exit being handled is always recorded."""
        waiting = self.no_room.get(d.name) or self._waits_for(d)
        if waiting is None:
            self._start(d, start)
        elif exit is not None or r is None or r.state is not S.PENDING or r.reason != waiting:
            failures = start.failures if exit is not None else None
            self._mark(SetState(instance=d.name, state=S.PENDING, reason=waiting, failures=failures, exit=exit,
                                from_config=r is None))

    def _start(self, d: DesiredProcess, start: Start) -> None:
        self.up.add(d.name)
        if start.restart:
            self._bounce(d)
        self.starts.append(start)
        self.starting.add(d.name)

    def _restart(self, d: DesiredProcess, restart: Restart) -> None:
        self.healthy.discard(d.name)  # the new process has to pass its check again
        self._bounce(d)
        self.starts.append(restart)
        self.starting.add(d.name)

    def _bounce(self, d: DesiredProcess) -> None:
        if d.restart_dependents:
            self.bounced.add(d.process)

    def _mark(self, action: SetState) -> None:
        self.marked[action.instance] = action
        self.marks.append(action)

    def _stop(self, action: Stop | Forget) -> None:
        self.up.discard(action.instance)
        self.healthy.discard(action.instance)
        rank = self.rank.get(process_of(action.instance, self.rank), 0)
        self.stops.append((-rank, action.instance, action))

    def _config_restart(self, d: DesiredProcess, restart: Restart) -> None:
        """A restart an edit of the file causes: once the file has settled (its rest may give back the running spec)."""
        if not self._unsettled():
            self._restart(d, restart)

    def _unsettled(self) -> bool:
        """True while the file may still be half-written: a stop it causes waits, and a pass runs once it settled."""
        if self.settles_at is None:
            return False
        self._wake(self.settles_at)
        return True

    def _wake(self, at: float) -> None:
        self.wake_at = at if self.wake_at is None else min(self.wake_at, at)

    def _waits_for(self, d: DesiredProcess) -> str | None:
        """'waiting for db, cache' while a dependency's condition does not hold yet, else None."""
        missing = [dep for dep, condition in sorted(d.depends_on.items()) if not self._holds(dep, condition)]
        return f"waiting for {', '.join(map(self._named, missing))}" if missing else None

    def _completed(self, instance: str) -> bool:
        """Exited as expected: a service that is done, or a job whose last run succeeded. Judged on the
        record as this pass leaves it, so a job whose run ended in this pass lets its dependents start now."""
        state = self._state_after(instance)
        if state is S.EXITED:
            return True
        record, d, mark = self.records.get(instance), self.desired.get(instance), self.marked.get(instance)
        last = mark.exit if mark is not None and mark.exit is not None else record.exit if record is not None else None
        return state is S.SCHEDULED and d is not None and last is not None and last.expected(d.restart.exit_codes)

    def _state_after(self, instance: str) -> ProcessState | None:
        """The instance's state once the states marked earlier in this pass are recorded."""
        mark = self.marked.get(instance)
        return mark.state if mark is not None else _state(self.records, instance)

    def _named(self, dep: str) -> str:
        """`db`, or why it will not come by itself: `db (failed)` when one of its instances has given up,
        `db (held stopped by …)` when `sentinel stop` holds one, with the command that releases it."""
        instances = self.instances.get(dep, [])
        if any(self._state_after(i) is S.FAILED for i in instances):
            return f"{dep} (failed)"
        if any((record := self.records.get(i)) is not None and record.held and i not in self.starting
               for i in instances):
            return f"{dep} (held stopped by `sentinel stop`; `sentinel start {dep}` releases it)"
        return dep

    def _holds(self, dep: str, condition: str) -> bool:
        instances = self.instances.get(dep, [])
        if condition == "completed":
            return all(self._completed(i) for i in instances)
        if condition == "healthy":
            return all(i in self.healthy for i in instances)
        return all(i in self.up for i in instances)

    @staticmethod
    def _update(d: DesiredProcess, r: ProcessRecord) -> Update:
        fields = changed_fields(r.digests, d.digests)
        return Update(instance=d.name, reason=f"updated in place ({', '.join(fields)})", fields=fields)

    @staticmethod
    def _changed(d: DesiredProcess, r: ProcessRecord) -> str:
        fields = [f for f in changed_fields(r.digests, d.digests) if is_run_field(f)] or ["spec"]
        return f"{', '.join(fields)} changed"


def _recorded_dependencies(records: Records, desired: Desired) -> dict[str, dict[str, str]]:
    """What processes no longer in the file depended on, from their records' digests (`depends_on.db`),
    so that they too stop in reverse dependency order."""
    out: dict[str, dict[str, str]] = {}
    for name, record in records.items():
        if name in desired:
            continue
        process = numbered(name, REPLICA) or name
        deps = out.setdefault(process, {})
        deps.update({key.split(".", 1)[1]: "started" for key in record.digests if key.startswith("depends_on.")})
    return out


def _job_waits(d: DesiredProcess) -> str:
    """Why a job is `scheduled` between runs: its schedule, or, with `schedule: manual`, a request."""
    return f"runs when asked (`sentinel run {d.name}`)" if d.schedule is not None and d.schedule.manual else JOB_WAITS


def _state(records: Mapping[str, ProcessRecord], name: str) -> ProcessState | None:
    record = records.get(name)
    return record.state if record is not None else None
