"""The control loop: wait for a trigger, observe, plan, execute, record (docs/contract.md#reconcile-semantics,
docs/conventions.md#plan-then-execute, docs/conventions.md#level-triggered-passes).

`Controller` owns the only mutable state of the reconciler: the desired state, the records,
the exits the runtime reported and the stops in flight. Triggers (child exit, config change,
API request, a backoff timer) only wake the loop; every pass plans the whole world again.
Stops and restarts run as tasks so a slow `stop.timeout` never holds up other processes.
Called by `sentinel.daemon` (the process around it) and `api` (requests).

Over the ~400-line guide on purpose: this is the one place that mutates the reconciler's state,
and keeping every mutation beside the state it touches is worth the length. What could be
split off is: health checks, limits, jobs and file watching live in their own modules.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING, assert_never

from sentinel.clock import Clock
from sentinel.config.loader import Loaded
from sentinel.config.secrets import EVENT_MASK_MIN, all_secrets, named_secret_values, redact
from sentinel.controller.counters import Counters
from sentinel.controller.health import HealthMonitor
from sentinel.controller.jobs import MAX_SLEEP, JobRuns, JobScheduler
from sentinel.controller.limits import LimitSampler
from sentinel.controller.notify import Notifier
from sentinel.controller.persist import StateWriter
from sentinel.errors import BadSignal, NotReloadable, SentinelError, SpawnError, StateError
from sentinel.health.tracker import HealthState
from sentinel.log import Burst, bound, get_logger
from sentinel.reconcile import records as user_requests
from sentinel.reconcile.actions import Action, Forget, Plan, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.convergence import Convergence, convergence
from sentinel.reconcile.descriptors import DescriptorBudget, not_fitting, shortage
from sentinel.reconcile.desired import DesiredProcess, expand, reuse_unchanged
from sentinel.reconcile.launch import launch_problem
from sentinel.reconcile.observed import ExitStatus, ObservedProcess, ProcessIdentity, ProcessRecord
from sentinel.reconcile.overlap import overlap_of, spec_of
from sentinel.reconcile.planner import plan
from sentinel.reconcile.records import record_after
from sentinel.reconcile.render import done_line, killed_line, leftover_line, leftovers_gone_line
from sentinel.reconcile.shutdown import shutdown_stops
from sentinel.reconcile.strays import ADOPT, StrayFacts, stray_verdict
from sentinel.reconcile.targets import resolve_targets, target_error
from sentinel.runtime.manager import Runtime, Stray
from sentinel.runtime.reload import run_reload_command
from sentinel.runtime.signals import StopMode
from sentinel.runtime.spawn import SpawnRequest, launch_facts
from sentinel.runtime.streams import Fanout
from sentinel.signames import short_signal_name, signal_number
from sentinel.state.convert import identity_of, to_record, to_stored
from sentinel.state.store import Store, StoredProcess
from sentinel.state.values import NewEvent, iso
from sentinel.states import Health, IllegalMove, ProcessState, can_move, check_move

if TYPE_CHECKING:
    from sentinel.reconcile.source import Commit, SourceState  # only with a git source (sentinel.daemon)

S = ProcessState
SPAWN_FAILED = 127  # the exit code of a start that could not happen, as a shell reports a command it cannot run
_DEFAULT_STOP: tuple[str, float, StopMode] = ("TERM", 10.0, "group")
RELOAD_TIMEOUT = 60.0  # a `reload: {command: …}` running longer than this is killed
log = get_logger(__name__)


class Controller:
    """The reconciler's state and its passes. All methods run on the event loop's thread."""

    def __init__(self, *, runtime: Runtime, store: Store, clock: Clock, environ: Mapping[str, str],
                 system_tz: tzinfo = UTC, wall_clock_check: float = MAX_SLEEP, strict: bool = False,
                 descriptors: DescriptorBudget | None = None,
                 on_bug: Callable[[IllegalMove], None] | None = None) -> None:
        """`strict`: a record move outside the state table raises IllegalMove (`SENTINEL_DEBUG`, and the tests)
        instead of only being logged, and is handed to `on_bug` first, wherever it happens (a pass, a stop's
        task, a request), so the reconciler can stop on it (`sentinel.daemon`). `descriptors`: the
        reconciler's descriptor limit, which caps how many processes run at once (`reconcile.descriptors`);
        None for no cap."""
        self.runtime, self.store, self.clock, self.environ = runtime, store, clock, dict(environ)
        self.strict = strict
        self.on_bug = on_bug
        self.descriptors = descriptors
        self._shortage: str | None = None  # the last "too few file descriptors" line said
        self.loaded: Loaded | None = None
        self._secrets: frozenset[str] = frozenset()  # masked in every event (config.secrets)
        self._answer_secrets: frozenset[str] = frozenset()  # and these in API errors (`redact`)
        self.path: str | None = None
        self.desired: dict[str, DesiredProcess] = {}
        self.records: dict[str, ProcessRecord] = {}
        self.config_error: str | None = None
        self.source_state: SourceState | None = None  # the git source, when the config comes from one
        self.revision: Commit | None = None  # the source's commit in force; every event carries it
        self.source_labels: tuple[str, str] = ("", "")  # the source's ref and path, for /metrics
        # When the file last changed (monotonic), while it may still be half-written: the planner holds the stops a
        # config change causes until it has settled (reconcile.planner.SETTLE). None: read whole (start, apply, SIGHUP).
        self.changed_at: float | None = None
        self.wake_at: float | None = None
        self.passes = 0
        # Bumped by every change `status` shows that does not wait for a pass (a record kept, an event): with
        # `passes`, what `api.status.RowCache` keys its rows on.
        self.changes = 0
        self.counters = Counters()  # the reconciler's own numbers for /metrics (passes are `passes`)
        self.closing = False
        self._running = False  # `run()` is taking passes
        self._exits: dict[str, tuple[ExitStatus, float]] = {}
        self._cannot_start: dict[str, str] = {}  # instance -> why its last start could not happen (said once)
        self._busy: set[str] = set()
        self._acted: set[str] = set()  # instances the last pass acted on
        self._stop_settings: dict[str, tuple[str, float, StopMode]] = {}
        self._leftovers: dict[str, tuple[tuple[int, ...], float]] = {}  # instance → (pids, SIGKILL at), waited for
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsaved: dict[str, None] | None = None  # records kept during a pass, written together at its end
        self._unsaved_events: list[NewEvent] | None = None  # and its events, after them
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self.journal: list[str] = []  # what was done, newest last (bounded)
        self.events = Fanout()  # live readers of the events (the API's WebSocket)
        self.health = HealthMonitor(clock, self._on_health)
        self.limits = LimitSampler(clock, runtime.usage, self.wake)
        self.writer = StateWriter(store)
        self.notifier = Notifier(counters=self.counters, monotonic=clock.monotonic)
        self._state_rebuild_failed = Burst(log, "state_rebuild_failed")
        self.jobs = JobRuns(self)
        self.scheduler = JobScheduler(self, system_tz, max_sleep=wall_clock_check)

    # --- desired state ------------------------------------------------------------------------

    def set_config(self, loaded: Loaded, path: str, desired: dict[str, DesiredProcess] | None = None) -> None:
        """Make `loaded` the desired state (the caller has validated it); `desired`: its instances, when the caller
        has expanded them already."""
        self.loaded, self.path, self.config_error = loaded, path, None
        self._secrets = all_secrets(loaded.tainted, min_length=EVENT_MASK_MIN)
        expanded = expand(loaded.config, loaded.env_files, loaded.watched) if desired is None else desired
        self.desired = reuse_unchanged(self.desired, expanded)
        # Events name keys (`env.API_TOKEN changed`): they mask only what the config took in. What the API sends of
        # a child's output or echoes of a request also masks the values of secret-looking variables.
        self._answer_secrets = self._secrets | named_secret_values(
            (d.env for d in self.desired.values()), min_length=EVENT_MASK_MIN)
        self.runtime.log_lines.redact = partial(redact, secrets=self._answer_secrets)
        self.notifier.configure(loaded.config.notify, path, self.event)
        for name, d in self.desired.items():
            self._stop_settings[name] = (d.stop_signal, d.stop_timeout, d.stop_mode)
        self._say_shortage()
        self.wake()

    def _say_shortage(self) -> None:
        """Before anything starts: an event (and its log line) when the descriptor limit cannot cover every
        desired process (once per new figure, not at every reload)."""
        if self.descriptors is None:
            return
        message = shortage(len(self.desired), self.descriptors)
        if message is not None and message != self._shortage:
            self.event("descriptors_short", message)
        self._shortage = message

    def set_config_error(self, message: str) -> None:
        """An invalid file: recorded and shown, while the last good desired state stays in force."""
        self.config_error = message
        self.counters.config_errors += 1
        self.event("config_invalid", message)

    def clear_config_error(self, path: str) -> None:
        """A valid file was read: an error shown until now is over, and an event says so."""
        if self.config_error is not None:
            self.config_error = None
            self.event("config_error_cleared", f"config error cleared: {path} is valid")

    def reason_of(self, name: str) -> str:
        """Why the instance is in its state, as `status` shows it: the record's reason, or while leftovers
        of its last run get their stop grace, what it waits for with the time to SIGKILL as of now."""
        waiting = self._leftovers.get(name)
        if waiting is not None:
            pids, kill_at = waiting
            return leftover_line(name, pids, kill_at - self.clock.monotonic())
        record = self.records.get(name)
        return record.reason if record is not None else ""

    def spec(self, name: str) -> DesiredProcess | None:
        """The desired spec of instance `name`; an overlapping run of a job (`backup+1`) runs its job's."""
        return spec_of(name, self.desired)

    # --- the loop -----------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Pass after pass until `close()`: each trigger, or the planner's wake-up time, starts one."""
        self._running = True
        try:
            while not self.closing:
                timeout = None if self.wake_at is None else max(0.0, self.wake_at - self.clock.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
                if not self.closing:
                    await self.run_pass()
        finally:
            self._running = False

    async def after_due_pass(self, longest: float) -> None:
        """Return once the pass that is due (woken, not taken yet) has run, or after `longest` seconds; at once
        when none is due. What the API's reads wait on, so that supervision goes first (`api.turns`)."""
        if not (self._running and self._wake.is_set()):
            return
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), longest)

    async def run_pass(self) -> Plan:
        now = self.clock.monotonic()
        result = self.plan_for(self.desired, now, changed_at=self.changed_at)
        self._acted = {action.instance for action in result.actions}
        if result.actions:
            with bound(pass_id=self.passes + 1):  # also on the lines of the stops and restarts it starts
                self._execute_all(result.actions, now)
        self.wake_at = result.wake_at
        self.passes += 1
        took = max(0.0, self.clock.monotonic() - now)
        self.counters.pass_seconds.observe(took)
        # what bench/soak.py reads for the pass p99 (at `log: {level: debug}` only)
        log.debug("reconcile_pass", took_ms=round(took * 1000, 3), actions=len(result.actions))
        if result.actions:
            self.wake()  # level-triggered: plan again until a pass has nothing to do
        async with self._changed:
            self._changed.notify_all()
        return result

    def plan_for(self, desired: Mapping[str, DesiredProcess], now: float, *, changed_at: float | None = None) -> Plan:
        """The plan of a pass towards `desired`, on what runs now, the launch facts of edited specs and the room
        under the descriptor limit: a pass (`desired` in force) and `diff` (a file not applied yet) plan alike.
        `changed_at`: when the watched file last changed, while it may still be settling (`planner.SETTLE`)."""
        return plan(desired, self.observe(), self.records, now, self._unstartable_edits(desired),
                    no_room=self._no_room(desired), changed_at=changed_at)

    def _no_room(self, desired: Mapping[str, DesiredProcess]) -> dict[str, str]:
        """Instances that wait for room under the descriptor limit, and why (docs/reliability.md#f43-many-processes)."""
        if self._shortage is None:
            return {}
        depends_on = {d.process: d.depends_on for d in desired.values()}
        return not_fitting(desired, depends_on, self.descriptors, self.runtime.running())

    def _unstartable_edits(self, desired: Mapping[str, DesiredProcess]) -> dict[str, str]:
        """Running instances whose edited spec could not be started, and why: the planner keeps them running."""
        found: dict[str, str] = {}
        for name in self.runtime.running():
            d, record = desired.get(name), self.records.get(name)
            if d is None or d.is_job or record is None or not record.spec_hash or record.spec_hash == d.spec_hash:
                continue
            problem = launch_problem(launch_facts(d.argv, d.cwd, d.user, self._env(d), d.nofile))
            if problem is not None:
                found[name] = problem
        return found

    def observe(self) -> dict[str, ObservedProcess]:
        observed: dict[str, ObservedProcess] = {}
        for name, spawned in self.runtime.running().items():
            state = self.health.state(name)
            observed[name] = ObservedProcess(
                name=name, identity=spawned.identity, busy=name in self._busy,
                health=state.status if state else Health.NONE, health_detail=state.detail if state else "",
                over_limit=self.limits.breach(name),
            )
        for name, (status, at) in self._exits.items():
            identity = observed[name].identity if name in observed else ProcessIdentity(0, 0.0)
            observed[name] = ObservedProcess(
                name=name, identity=identity, busy=name in self._busy, exit=status, exited_at=at
            )
        for name in self._busy - observed.keys():
            observed[name] = ObservedProcess(name=name, identity=ProcessIdentity(0, 0.0), busy=True)
        return observed

    def on_exit(self, name: str, identity: ProcessIdentity, status: ExitStatus) -> None:
        """The runtime saw a process exit (output already drained)."""
        self.health.unwatch(name)
        if name in self._busy:
            return  # a stop we asked for; its task records the outcome
        self._exits[name] = (status, self.clock.monotonic())
        self.wake()

    # --- executing actions --------------------------------------------------------------------

    def _execute_all(self, actions: tuple[Action, ...], now: float) -> None:
        """Execute a plan's actions in order; their records and events are written in one transaction."""
        with self._records_together():
            for action in actions:
                try:
                    self._execute(action, now)
                except SentinelError as err:  # one action's failure neither stops the others nor loses their writes
                    log.warning("action_failed", process=action.instance, error=str(err))

    @contextlib.contextmanager
    def _records_together(self) -> Iterator[None]:
        """One transaction (`StateWriter.batch`) for the writes inside, where the records kept are written once
        each, together, on the way out, then the events recorded inside, in order: a start keeps its record two
        or three times and makes an event, and one insert of many rows costs what one row does (cold start,
        docs/contract.md#performance-budgets). Live readers get the events once they are stored, as ever.
        Nothing inside may wait (await): the transaction would stay open meanwhile."""
        with self.writer.batch():
            self._unsaved, self._unsaved_events = {}, []
            try:
                yield
            finally:
                names, self._unsaved = [name for name in self._unsaved if name in self.records], None
                events, self._unsaved_events = self._unsaved_events, None
                if names:
                    self.write_safely(self.store.save_processes, [self.stored(name) for name in names])
                if events:
                    self.write_safely(self._record_events, events)

    def _execute(self, action: Action, now: float) -> None:
        match action:
            case Start() if action.instance in self._exits:
                self._end_job_run(action.instance, self._exits[action.instance][0])
                self._mark_moving(action.instance, S.STARTING, action.reason)  # what is left of the run ends first
                self.background(action.instance, self._relaunch(action))
            case Start():
                self._launch(action, now)
            case Stop():
                self._mark_moving(action.instance, S.STOPPING, action.reason)
                self.background(action.instance, self._stop(action))
            case Restart():
                self._mark_moving(action.instance, S.STOPPING, action.reason)
                self.background(action.instance, self._restart(action))
            case Update() | SetState() | Forget():
                self._take(action, now)
            case _:
                assert_never(action)

    def _take(self, action: Update | SetState | Forget, now: float) -> None:
        name = action.instance
        if isinstance(action, Forget) and name in self._exits:
            self._end_job_run(name, self._exits[name][0])  # an overlapping run ended
        if name in self._exits and not isinstance(action, Update):
            del self._exits[name]
            self.background(name, self._clean_up(name, forget=isinstance(action, Forget)))
        elif isinstance(action, Forget):
            self.runtime.forget(name)
        self.keep(name, record_after(action, self.records.get(name), self.desired.get(name), now))
        d = self.desired.get(name)
        if isinstance(action, SetState) and action.exit is not None:
            self._end_job_run(name, action.exit)
        if isinstance(action, Update) and action.reload and d is not None:
            self.background(name, self._reload(d, action.reason))
        health_changed = isinstance(action, Update) and any(f.startswith("health") for f in action.fields)
        if d is not None and health_changed and self.runtime.spawned(name) is not None:
            self._check_health(d, now)
        if isinstance(action, SetState) and action.state is S.PENDING:
            return  # waiting is shown by status, not an event per pass
        kind = str(action.state) if isinstance(action, SetState) else type(action).__name__.lower()
        message = f"{name} {action.reason}" if isinstance(action, SetState) and action.exit else done_line(action)
        exit_code = action.exit.code if isinstance(action, SetState) and action.exit else None
        self.event(kind, message, process=name, exit_code=exit_code)

    def _mark_moving(self, name: str, state: ProcessState, reason: str) -> None:
        """Show `stopping` (or `starting`) while a stop sequence (or the clean-up before a start) runs."""
        record = self.records.get(name)
        if record is not None and record.state is not state and can_move(record.state, state):
            self.keep(name, user_requests.moving(record, state, reason))

    def _launch(self, action: Start | Restart, now: float) -> None:
        name = action.instance
        d = self.spec(name)
        if d is None:
            return  # gone from the file while its stop ran
        if name in self._exits:
            del self._exits[name]
        self.runtime.release(name)
        self._stop_settings[name] = (d.stop_signal, d.stop_timeout, d.stop_mode)
        record = record_after(action, self.records.get(name), d, now)
        label = self.jobs.started(name, now, retry=isinstance(action, Start) and action.restart) if d.is_job else b""
        try:
            self.runtime.spawn(self._request(d), log_max_size=d.log_max_size, log_keep=d.log_keep,
                               log_as=overlap_of(name, self.desired), label=label,
                               first_line=f"started: {action.reason}" if d.is_job else None)
        except SpawnError as err:
            problem = str(err).removeprefix(f"{name}: ")
            self.keep(name, record)
            self._exits[name] = (ExitStatus(code=SPAWN_FAILED, unstartable=problem), now)
            if self._cannot_start.get(name) != problem:
                self._cannot_start[name] = problem
                self.event("spawn_failed", str(err), process=name)  # once, not at every retry
            self.wake()
            return
        self._cannot_start.pop(name, None)
        self.keep(name, record)
        self._check_health(d, now)
        self.event("restarted" if isinstance(action, Restart) or action.restart else "started", done_line(action),
                   process=name)

    def _check_health(self, d: DesiredProcess, started_at: float) -> None:
        """Start (or restart) the instance's health check, or stop it if it has none any more."""
        if d.health is None:
            self.health.unwatch(d.name)
        else:
            self.health.watch(d.name, d.health, started_at=started_at, cwd=d.cwd, env=self._env(d),
                              user=d.user)

    def _on_health(self, name: str, old: HealthState, new: HealthState) -> None:
        detail = f" ({new.detail})" if new.status is Health.UNHEALTHY and new.detail else ""
        self.event(str(new.status), f"{name} is {new.status}{detail}", process=name)
        self.wake()

    def _env(self, d: DesiredProcess) -> dict[str, str]:
        return {**self.environ, **d.env, "SENTINEL_INSTANCE": d.name}

    def _request(self, d: DesiredProcess) -> SpawnRequest:
        env = self._env(d)
        return SpawnRequest(name=d.name, argv=d.argv, env=env, cwd=d.cwd, user=d.user,
                            fifo=self.runtime.state_dir.fifo(d.name), spec=d.spec_hash,
                            nofile=d.nofile if d.nofile is not None else self.runtime.child_nofile)

    def background(self, name: str, work: Awaitable[None]) -> None:
        self._busy.add(name)

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("action_failed", process=name)
            finally:
                self._busy.discard(name)
                self.wake()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_tree(self, name: str, *, force: bool = False) -> str | None:
        """Stop the instance's whole tree; returns what the grace ended in when it ended in SIGKILL (also an event)."""
        self.health.unwatch(name)
        self.limits.forget(name)
        signal_name, timeout, mode = self._stop_settings.get(name, _DEFAULT_STOP)
        report = await self.runtime.stop(name, signal=signal_number(signal_name), timeout=0.0 if force else timeout,
                                         mode=mode)
        self._exits.pop(name, None)
        if not report.sigkill or force:
            return None
        self.event("killed", killed_line(name, f"SIG{signal_name}", timeout), process=name)
        return killed_line(None, f"SIG{signal_name}", timeout)

    async def _stop(self, action: Stop) -> None:
        name = action.instance
        killed = await self.stop_tree(name)
        self.jobs.ended(name, outcome="stopped")  # a job's run stopped by `sentinel stop` or removal
        if action.forget:
            self.runtime.forget(name)
        else:
            self.runtime.release(name)
        record = record_after(action, self.records.get(name), self.desired.get(name), self.clock.monotonic())
        self.keep(name, user_requests.killed(record, killed) if killed and record and action.then is None else record)
        self.event("stopped", done_line(action), process=name)

    async def _clean_up(self, name: str, *, forget: bool) -> None:
        """After a run ended: end what is left of its tree (a child that outlived the leader would keep
        its port or lock, docs/reliability.md#f03-an-orphan-holds-the-port), then let go of it. While
        leftovers get their stop grace, the instance shows `starting` and what it waits for (`leftover_line`)."""
        left = tuple(identity.pid for identity in self.runtime.leftovers(name))
        _, timeout, mode = self._stop_settings.get(name, _DEFAULT_STOP)
        before = self.records.get(name)
        if left and mode != "main" and timeout > 0:  # `main` kills them at once: nothing to wait for
            self._leftovers[name] = (left, self.clock.monotonic() + timeout)
            self.event("waiting", self.reason_of(name), process=name)
            if before is not None and can_move(before.state, S.STARTING) and can_move(S.STARTING, before.state):
                self.keep(name, user_requests.moving(before, S.STARTING, self.reason_of(name)))
        try:
            killed = await self.stop_tree(name)
        finally:
            waited = self._leftovers.pop(name, None) is not None
        if waited:
            self.event("leftovers_gone", leftovers_gone_line(name, left, killed is not None), process=name)
            now = self.records.get(name)
            if before is not None and now is not None and now.state is S.STARTING:
                self.keep(name, replace(now, state=before.state, reason=before.reason))
        if forget:
            self.runtime.forget(name)
        else:
            self.runtime.release(name)

    async def _relaunch(self, action: Start) -> None:
        await self._clean_up(action.instance, forget=False)
        self._launch(action, self.clock.monotonic())

    async def _restart(self, action: Restart) -> None:
        await self.stop_tree(action.instance)
        self.jobs.ended(action.instance, outcome="stopped")  # a job's run replaced (`concurrency: replace`)
        if self.spec(action.instance) is not None:
            self._launch(action, self.clock.monotonic())

    # --- reload and signal --------------------------------------------------------------------

    async def _reload(self, d: DesiredProcess, why: str) -> None:
        """Reload the running instance as its `reload:` says (signal its main process, or run the command
        with `$MAINPID` set); an event says how it went."""
        name = d.name
        spawned = self.runtime.spawned(name)
        if spawned is None:
            return
        pid = spawned.identity.pid
        if d.reload_signal is not None:
            sent = self.runtime.signal(name, signal_number(d.reload_signal))
            outcome = f"sent SIG{d.reload_signal} to pid {pid}" if sent else "not running"
            self.event("reloaded", f"reloaded {name}: {why} ({outcome})", process=name)
            return
        assert d.reload_argv is not None
        outcome = await run_reload_command(d.reload_argv, cwd=d.cwd, env={**self._env(d), "MAINPID": str(pid)},
                                           timeout=RELOAD_TIMEOUT)
        kind = "reloaded" if outcome.startswith("exit 0") else "reload_failed"
        self.event(kind, f"{'reloaded' if kind == 'reloaded' else 'reload failed:'} {name}: {why} ({outcome})",
                   process=name)

    def reload_request(self, name: str) -> list[str]:
        """`sentinel reload NAME`: reload each running instance of NAME; raises TargetError (unknown) or
        NotReloadable. Returns the instances reloaded."""
        names, unknown = resolve_targets([name], self.desired)
        if unknown:
            raise target_error(unknown, self.desired)
        if not all(self.desired[n].reloads for n in names):
            raise NotReloadable(f"{name} has no reload: way (add reload: {{signal: HUP}} or reload: {{command: …}})")
        running = [n for n in names if n in self.runtime.running() and n not in self._busy]
        for instance in running:
            self.background(instance, self._reload(self.desired[instance], "reload requested"))
        return running

    def signal_request(self, name: str, signal_text: str) -> dict[str, int]:
        """`sentinel signal NAME SIGNAL`: send SIGNAL to the main process of each running instance of NAME.
        Returns instance → pid signalled."""
        names, unknown = resolve_targets([name], self.desired)
        if unknown:
            raise target_error(unknown, self.desired)
        try:
            number = int(signal_text) if signal_text.isdigit() else signal_number(signal_text)
            label = short_signal_name(number)
        except (KeyError, ValueError):
            raise BadSignal(f"no signal {signal_text!r} on this system (use a name such as HUP or USR1)") from None
        sent: dict[str, int] = {}
        for instance in names:
            pid = self.runtime.signal(instance, number)
            if pid is not None:
                sent[instance] = pid
                self.event("signalled", f"sent SIG{label} to {instance} (pid {pid})",
                           process=instance)
        return sent

    # --- jobs ---------------------------------------------------------------------------------

    def exits_seen(self) -> set[str]:
        return set(self._exits)

    def _end_job_run(self, name: str, exit: ExitStatus) -> None:
        """A job's run ended: its history row says how."""
        d = self.spec(name)
        if d is not None and d.is_job:
            known = exit.code is not None or exit.signal is not None
            outcome = ("succeeded" if exit.expected(d.restart.exit_codes) else "failed") if known else "unknown"
            self.jobs.ended(name, outcome=outcome, exit_code=exit.code, exit_signal=exit.signal)

    def is_busy(self, name: str) -> bool:
        """A stop or restart of `name` is in flight."""
        return name in self._busy

    # --- records and events -------------------------------------------------------------------

    def keep(self, name: str, record: ProcessRecord | None) -> None:
        self.changes += 1
        if record is None:
            self.records.pop(name, None)
            if self._unsaved is not None:
                self._unsaved.pop(name, None)
            self.write_safely(self.store.delete_process, name)
            return
        old = self.records.get(name)
        if old is not None:
            try:
                check_move(name, old.state, record.state)
            except IllegalMove as bug:
                log.error("illegal_transition", process=name, old=str(old.state), new=str(record.state))
                if self.strict:
                    if self.on_bug is not None:
                        self.on_bug(bug)
                    raise
        if record.reason:  # a reason may quote what a secret became (a command that cannot start)
            record = replace(record, reason=redact(record.reason, self._secrets))
        self.records[name] = record
        if self._unsaved is not None:
            self._unsaved[name] = None
            return
        self.write_safely(self.store.save_process, self.stored(name))

    def stored(self, name: str) -> StoredProcess:
        spawned = self.runtime.spawned(name)
        identity = spawned.identity if spawned is not None and name not in self._exits else None
        pgid = spawned.pgid if spawned is not None and identity is not None else None
        return to_stored(self.records[name], identity, pgid, mono=self.clock.monotonic(), wall=self.clock.now_utc())

    def redact(self, text: str) -> str:
        """`text` with the config's secrets masked (those events mask, and the values of secret-looking
        variables): for an API error, which may name what the caller sent."""
        return redact(text, self._answer_secrets)

    def event(self, kind: str, message: str, *, process: str | None = None, exit_code: int | None = None) -> None:
        """Record an event (state.db, the log, the live readers) and notify the targets that want it. `exit_code`:
        of the exit it is about, for the notifications."""
        self.changes += 1
        message = redact(message, self._secrets)  # a secret the config took in may reach a spawn error, …
        log.info(kind, message=message, **({"process": process} if process else {}))
        self.journal.append(message)
        del self.journal[:-1000]
        at = self.clock.now_utc()
        new = NewEvent(kind, message, at, process)
        if self._unsaved_events is not None:  # a pass's: written at its end (`_records_together`)
            self._unsaved_events.append(new)
        else:
            self.write_safely(self._record_events, [new])
        self.notify(kind, message, process=process, exit_code=exit_code, at=at)

    def notify(self, kind: str, message: str, *, process: str | None, exit_code: int | None, at: datetime) -> None:
        """Hand an event to the notifier (`reconcile.notify.notice_of` decides whether it makes a notification)."""
        d = self.spec(process) if process is not None else None
        self.notifier.offer(kind, process=process, name=d.process if d is not None else process,
                            group=d.group if d is not None else None, reason=message,
                            exit_code=exit_code, at=iso(at) or "")

    def _record_events(self, new: list[NewEvent]) -> None:
        """Store events, then send them to the `/v1/events?follow=true` readers with the fields of `GET /v1/events`
        (their ids included: the cursor of that list)."""
        revision = self.revision.short if self.revision is not None else None
        stored = self.store.add_events([replace(event, revision=revision) for event in new])
        if self.events.active:
            for event in stored:
                self.events.publish(event.kind, {"id": event.id, "at": iso(event.at), "process": event.process,
                                                 "kind": event.kind, "message": event.message,
                                                 "revision": revision}, len(event.message) + 100)

    def write_safely(self, write: Callable[..., object], *args: object, **kwargs: object) -> None:
        """Write to state.db without holding up supervision: kept and retried while the database is locked,
        logged and dropped on any other failure (docs/reliability.md#f32-a-locked-state-database,
        docs/reliability.md#f34-disk-full; `persist`)."""
        self.writer.write(write, *args, **kwargs)

    def storage_problems(self) -> list[str]:
        """What cannot be written now, for `status` and `/healthz` (docs/reliability.md#f34-disk-full):
        "no space left for state.db (12 writes waiting)", "no space left for logs (web, api)", …"""
        problems = [self.writer.problem] if self.writer.problem else []
        errors = self.runtime.log_errors()
        full = [name for name, (_, error) in errors.items() if error.errno == errno.ENOSPC]
        if full:
            problems.append(f"no space left for logs ({', '.join(full)})")
        problems += [f"log of {name} cannot be {what}: {error.strerror or error}"
                     for name, (what, error) in errors.items() if name not in full]
        return problems

    def check_state_file(self) -> bool:
        """state.db deleted, emptied or overwritten under the reconciler: open a fresh one, write back every record
        it holds in memory and record the rebuild as an event (docs/reliability.md#f33-a-corrupt-state-database).
        True when it was rebuilt; the caller writes back what else it holds (the config in force)."""
        damage = self.store.damage()
        if damage is None:
            return False
        try:
            moved = self.store.reopen(damage)
        except StateError as err:
            self._state_rebuild_failed.failed(error=str(err), damage=damage)
            return False
        self._state_rebuild_failed.ended("state_rebuild_succeeded")
        self.write_safely(self.store.save_processes, [self.stored(name) for name in sorted(self.records)])
        aside = f"; what was left of it is in {moved}" if moved is not None else ""
        self.event("state_rebuilt", f"state.db {damage} while the reconciler ran: rebuilt from its memory "
                   f"({len(self.records)} process records; earlier events and job runs are lost){aside}")
        return True

    # --- start-up: records from state.db, adoption -------------------------------------------

    def restore(self, stored: Mapping[str, StoredProcess]) -> list[str]:
        """Take the records of the previous reconciler and adopt the processes it left running."""
        mono, wall = self.clock.monotonic(), self.clock.now_utc()
        adopted: list[str] = []
        with self._records_together():  # their events in one write
            for name, row in sorted(stored.items()):
                self.records[name] = to_record(row, mono=mono, wall=wall)
                identity = identity_of(row)
                if identity is None or row.state not in (S.RUNNING, S.STARTING, S.STOPPING):
                    continue
                d = self.spec(name)
                max_size, keep = (d.log_max_size, d.log_keep) if d else (10_000_000, 5)
                if self.runtime.adopt(name, identity, row.pgid or identity.pid, log_max_size=max_size, log_keep=keep,
                                      log_as=overlap_of(name, self.desired), label=self.jobs.label_of_open_run(name)):
                    adopted.append(name)
                    if d is not None:
                        started = self.records[name].started_at
                        self._check_health(d, mono if started is None else started)
                    self.event("adopted", f"adopted {name} (pid {identity.pid})", process=name)
                else:
                    self.event("lost", f"{name} (pid {identity.pid}) ended while no reconciler watched it",
                               process=name)
        return adopted

    async def take_strays(self) -> list[str]:
        """Processes of this state directory that no record knows (their reconciler died between starting
        them and writing them down, or state.db was lost): adopt those whose instance is still desired as
        the same spec, stop the others, so that none runs twice (`reconcile.strays`,
        docs/reliability.md#f33-a-corrupt-state-database). Returns the names stopped."""
        stopped: list[str] = []
        for name, stray in sorted(self.runtime.strays().items()):
            record = self.records.get(name)
            facts = StrayFacts(name, stray.spec, held=record is not None and record.held)
            verdict = stray_verdict(facts, self.desired)
            if verdict == ADOPT and self._adopt_stray(name, stray):
                continue
            signal_name, timeout, mode = self._stop_settings.get(name, _DEFAULT_STOP)
            await self.runtime.stop_stray(name, stray.identity, stray.pgid, signal=signal_number(signal_name),
                                          timeout=timeout, mode=mode)
            self.event("stray_stopped", f"stopped {name} (pid {stray.identity.pid}): running, but unknown to "
                       f"state.db ({verdict})", process=name)
            stopped.append(name)
        return stopped

    def _adopt_stray(self, name: str, stray: Stray) -> bool:
        """Watch a stray whose spec is the desired one, as if it had been recorded; False if it has gone."""
        d = self.desired[name]
        if not self.runtime.adopt(name, stray.identity, stray.pgid, log_max_size=d.log_max_size,
                                  log_keep=d.log_keep):
            return False
        now = self.clock.monotonic()
        old = self.records.get(name) or ProcessRecord(name=name, state=S.PENDING)
        self.keep(name, replace(old, state=S.RUNNING, spec_hash=d.spec_hash, digests=dict(d.digests), exit=None,
                                started_at=now, retry_at=None, reason="adopted by its tag"))
        self._check_health(d, now)
        self.event("adopted", f"adopted {name} (pid {stray.identity.pid}) by its tag: unknown to state.db, "
                   "same spec as the config", process=name)
        return True

    # --- user requests ------------------------------------------------------------------------

    def request(self, verb: str, targets: list[str], *, everything: bool = False) -> list[str]:
        """`start`, `stop` or `restart` targets; raises TargetError naming unknown ones, changing nothing."""
        names, unknown = resolve_targets(targets, self.desired, everything=everything)
        if unknown:
            raise target_error(unknown, self.desired)
        change = {"start": user_requests.released, "stop": user_requests.held,
                  "restart": user_requests.restart_requested}[verb]
        for name in names:
            record = self.records.get(name) or ProcessRecord(name=name, state=S.PENDING)
            self.keep(name, change(record))
            self.event(f"{verb}_requested", f"{verb} {name} requested", process=name)
        self.wake()
        return names

    async def settle(self, names: list[str], timeout: float) -> bool:
        """Wait until no pass acts on `names` and none of them is busy; False on timeout."""
        start = self.passes

        def settled() -> bool:
            quiet = not (set(names) & (self._busy | self._acted))
            return self.passes > start and quiet

        return await self._wait(settled, timeout)

    def convergence(self, names: Collection[str] | None = None) -> Convergence:
        """Where convergence stands now (`reconcile.convergence`), for every instance or only `names`."""
        return convergence(self.desired, self.observe(), self.records, self.clock.monotonic(), names)

    def unsettled(self, names: Collection[str] | None = None) -> list[str]:
        """Instances (of `names`, if given) that have not converged, with why ('web: backoff (exited 1, …)')."""
        return list(self.convergence(names).waiting)

    async def converge(self, timeout: float, names: Collection[str] | None = None) -> bool:
        """Wait until the world matches the desired state (for `names` only, if given); False when it does not
        in time, or a process failed for good (then `unsettled()` says which). A pass runs when a settle time
        ends, so that a process that has stayed up is seen to have converged."""
        start = self.passes
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def done() -> bool:
            nonlocal timer
            if self.passes <= start or self._busy or self._acted:
                return False
            state = self.convergence(names)
            if timer is not None:
                timer.cancel()
            if state.check_again_at is not None:
                timer = loop.call_later(max(0.0, state.check_again_at - self.clock.monotonic()), self.wake)
            return state.done

        try:
            return await self._wait(done, timeout) and not self.unsettled(names)
        finally:
            if timer is not None:
                timer.cancel()

    async def _wait(self, check: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._changed:
            while not check():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    return check()
        return True

    # --- shutdown -----------------------------------------------------------------------------

    async def stop_everything(self, *, force: bool = False) -> None:
        """Stop every process in reverse dependency order (`down`, SIGTERM); records stay for next time."""
        self.closing = True
        self.health.close()
        self.wake()
        if self._tasks and not force:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        running = sorted(self.runtime.running())
        for batch in shutdown_stops(self.desired, running):
            names = [stop.instance for stop in batch]
            self._busy.update(names)
            with self._records_together():  # one write for the batch's `stopping`, not one per process
                for name in names:
                    self._mark_moving(name, S.STOPPING, "reconciler stopping")
            await asyncio.gather(*(self.stop_tree(n, force=force) for n in names), return_exceptions=True)
            with self._records_together():  # and one for what they ended as
                for stop in batch:
                    self.jobs.ended(stop.instance, outcome="stopped")
                    self.runtime.release(stop.instance)
                    record = self.records.get(stop.instance)
                    if record is not None:
                        self.keep(stop.instance, record_after(stop, record, self.spec(stop.instance),
                                                              self.clock.monotonic()))
        self.event("shutdown", f"stopped {len(running)} processes; reconciler exiting")
        self.notifier.close()

    def detach(self) -> None:
        """`down --keep`: leave every process running for the next reconciler to adopt."""
        self.closing = True
        self.health.close()
        self.wake()
        kept = [self.stored(name) for name in self.runtime.running() if name in self.records]
        if kept:
            self.write_safely(self.store.save_processes, kept)
        self.runtime.detach()
        self.event("shutdown", "reconciler exiting; processes left running for the next one")
        self.notifier.close()

