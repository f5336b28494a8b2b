"""The runtime façade the controller uses: spawn, adopt, stop, sample, and let go of processes.

`Runtime` ties the parts together for each instance: the child (`spawn`), its output
(`capture` into `logfile`), its exit (`exits`), its stop (`signals`) and its usage (`probe`).
All methods run on the event loop thread; `on_exit(name, identity, status)` is called from the
loop once per run, after the run's output was drained (docs/reliability.md#f24-output-lost-at-exit).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import psutil

from sentinel.errors import SpawnError
from sentinel.log import bound, get_logger, unbound
from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime import probe
from sentinel.runtime.capture import Capture, remove_pipe
from sentinel.runtime.exits import ExitWatch, watch_exit
from sentinel.runtime.logfile import LogWriter
from sentinel.runtime.signals import KILL_WAIT, TREE_VAR, StopMode, StopReport, StopTarget, leftovers, stop_tree
from sentinel.runtime.spawn import SPEC_VAR, Spawned, SpawnRequest, spawn, tree_tag
from sentinel.runtime.streams import LogLines
from sentinel.signames import signal_name

log = get_logger(__name__)

OnExit = Callable[[str, ProcessIdentity, ExitStatus], None]


@dataclass(frozen=True, slots=True)
class Stray:
    """A process of an instance that runs unwatched (`Runtime.strays`): `spec` is its leader's SENTINEL_SPEC,
    None when the leader is gone or carries none."""

    identity: ProcessIdentity
    pgid: int
    spec: str | None


@dataclass(eq=False)
class _Run:
    """One run of an instance that we watch; `status` is set once it has exited."""

    spawned: Spawned
    tag: str  # SENTINEL_TREE of its processes
    capture: Capture | None
    sampler: probe.TreeSampler
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    watch: ExitWatch | None = None
    status: ExitStatus | None = None


class Runtime:
    """Runs and watches the processes of one reconciler (one state directory)."""

    def __init__(self, state_dir: StateDir, *, on_exit: OnExit, utc: Callable[[], datetime],
                 child_nofile: int | None = None) -> None:
        """`child_nofile`: the soft open-file limit children get unless they set their own (the one the
        reconciler started with, before it raised its own)."""
        self.state_dir = state_dir
        self.child_nofile = child_nofile
        self._on_exit = on_exit
        self._utc = utc
        self._runs: dict[str, _Run] = {}
        self._writers: dict[Path, LogWriter] = {}  # by file; shared by the captures writing it
        self.log_lines = LogLines()  # the lines written to the logs, for the API's live readers
        self._dirs_ready = False
        self._scanner = probe.Scanner(TREE_VAR)

    def spawn(self, req: SpawnRequest, *, log_max_size: int, log_keep: int, log_as: str | None = None,
              label: bytes = b"", first_line: str | None = None) -> Spawned:
        """Start `req` with its output captured and its exit watched; raises SpawnError.

        Its output goes to the log of `log_as` (default: its own name), each line labelled `label`,
        after `first_line` if one is given (a job run's start)."""
        loop = asyncio.get_running_loop()
        old = self._runs.get(req.name)
        if old is not None and old.status is None:
            raise SpawnError(f"{req.name}: already running (pid {old.spawned.identity.pid})")
        self.release(req.name)
        try:
            capture = self._capture(log_as or req.name, req.fifo, log_max_size, log_keep, label)
        except OSError as err:
            reason = os.strerror(err.errno).lower() if err.errno else str(err)
            where = f"{err.filename}: " if err.filename else ""
            raise SpawnError(f"{req.name}: cannot capture output: {where}{reason}") from None
        if first_line is not None:
            capture.note(first_line)  # before the child exists, so before anything it writes
        try:
            spawned = spawn(req)
        except SpawnError:
            capture.close()
            raise
        self._watch(loop, spawned, tree_tag(req.fifo), capture)
        log.info("spawned", process=req.name, pid=spawned.identity.pid)
        return spawned

    def adopt(self, name: str, identity: ProcessIdentity, pgid: int, *, log_max_size: int, log_keep: int,
              log_as: str | None = None, label: bytes = b"") -> bool:
        """Watch a process a previous reconciler started; False (nothing registered) if it is no longer alive.
        `log_as` and `label` as for `spawn`."""
        loop = asyncio.get_running_loop()
        old = self._runs.get(name)
        if old is not None and old.status is None:
            return old.spawned.identity == identity
        if not probe.is_alive(identity):
            return False
        self.release(name)
        fifo = self.state_dir.fifo(name)
        capture: Capture | None = None
        try:
            capture = self._capture(log_as or name, fifo, log_max_size, log_keep, label)
            capture.drain()
        except OSError as err:
            log.warning("adopt_without_capture", process=name, error=str(err))
        self._watch(loop, Spawned(name=name, identity=identity, pgid=pgid), tree_tag(fifo), capture)
        log.info("adopted", process=name, pid=identity.pid)
        return True

    async def stop(self, name: str, *, signal: int, timeout: float, mode: StopMode = "group") -> StopReport:
        """Stop the instance's whole tree (signal, `timeout`, SIGKILL); returns once it is gone and its exit reported.

        Also ends what is left of a run that already exited (a group member or an escaped child
        that outlived its leader). Nothing to do for an unknown name.
        """
        run = self._runs.get(name)
        if run is None:
            return StopReport()
        spawned = run.spawned
        target = StopTarget(spawned.identity, spawned.pgid, tag=run.tag, known=run.sampler.seen())
        with bound(process=name):  # on the lines of the stop sequence (runtime.signals)
            report = await stop_tree(target, sig=signal, timeout=timeout, leader_exited=run.exited,
                                     scanner=self._scanner, mode=mode)
        if run.watch is not None:  # the exit is seen by now, but its callback may not have run yet
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.exited.wait(), KILL_WAIT)
        if report.survivors:
            log.error("stop_incomplete", process=name, survivors=[i.pid for i in report.survivors])
        return report

    def leftovers(self, name: str) -> list[ProcessIdentity]:
        """What is still alive of the instance's tree besides its main process: after the main process
        exited, what a stop would still have to end (workers of a crashed master)."""
        run = self._runs.get(name)
        if run is None:
            return []
        spawned = run.spawned
        return leftovers(StopTarget(spawned.identity, spawned.pgid, tag=run.tag, known=run.sampler.seen()),
                         self._scanner)

    def signal(self, name: str, number: int) -> int | None:
        """Send signal `number` to the instance's main process (`sentinel signal`, `reload: {signal: …}`);
        its pid, or None when it is not running."""
        run = self._runs.get(name)
        proc = probe.process(run.spawned.identity) if run is not None and run.status is None else None
        if proc is None:
            return None
        try:
            proc.send_signal(number)  # psutil checks the creation time first
        except psutil.NoSuchProcess:
            return None
        log.info("signal_sent", process=name, pid=proc.pid, signal=signal_name(number))
        return proc.pid

    async def stop_stray(self, name: str, identity: ProcessIdentity, pgid: int, *, signal: int,
                         timeout: float, mode: StopMode = "group") -> StopReport:
        """Stop the tree of a run of `name` that is not registered (leftovers of one that ended while no
        reconciler ran, or one that could not be adopted). While `name` runs, its tag is not used: the
        tag would find the current run too."""
        tag = None if name in self.running() else tree_tag(self.state_dir.fifo(name))
        target = StopTarget(identity, pgid, tag=tag)
        with bound(process=name):
            return await stop_tree(target, sig=signal, timeout=timeout, leader_exited=_set_event(),
                                   scanner=self._scanner, mode=mode)

    def strays(self) -> dict[str, Stray]:
        """Instances of this state directory whose processes run unwatched: started by a reconciler that
        died before it recorded them, or recorded in a state.db since lost. By name; the process named is
        the tree's leader (its own process group) when it is still there, else one of the others."""
        prefix = f"{self.state_dir.run}{os.sep}"
        running = self.running()
        found: dict[str, Stray] = {}
        for tag, pids in sorted(probe.tag_index(TREE_VAR).items()):
            name = tag.removeprefix(prefix).removesuffix(".fifo")
            if not tag.startswith(prefix) or not tag.endswith(".fifo") or name in running:
                continue
            for pid in sorted(pids):
                identity = probe.identify(pid)
                with contextlib.suppress(OSError):
                    if identity is not None:
                        pgid = os.getpgid(pid)
                        leader = pgid == pid
                        if leader or name not in found:
                            spec = probe.environ_value(pid, SPEC_VAR) if leader else None
                            found[name] = Stray(identity, pgid, spec)
                        if leader:
                            break
        return found

    def note(self, name: str, line: str) -> None:
        """Write `line` into the instance's log, after the output read so far (a job run's start or end)."""
        run = self._runs.get(name)
        if run is not None and run.capture is not None:
            run.capture.note(line)

    def log_errors(self) -> dict[str, tuple[str, OSError]]:
        """The instances whose log cannot be written or rotated now, by name: ("written" or "rotated", why)."""
        found: dict[str, tuple[str, OSError]] = {}
        for name, run in sorted(self._runs.items()):
            error = run.capture.log_error if run.capture is not None else None
            if error is not None:
                found[name] = error
        return found

    def usage(self, name: str, *, max_age: float = 0.0) -> tuple[float, int] | None:
        """(cpu_percent since the previous sample, rss bytes) of the instance's tree; None if it is not running.
        A sample taken less than `max_age` seconds ago is answered as it is, without reading the process table."""
        run = self._runs.get(name)
        if run is None or run.status is not None:
            return None
        sampler = run.sampler
        if sampler.taken_at is not None and time.monotonic() - sampler.taken_at < max_age:
            return sampler.last
        return sampler.sample(self._scanner.table())

    def last_usage(self, name: str) -> tuple[float, int] | None:
        """The latest `usage` taken of the running instance (by the limits sampler or a `status`), without
        reading the process table; None if it is not running or was never sampled."""
        run = self._runs.get(name)
        if run is None or run.status is not None:
            return None
        return run.sampler.last

    def release(self, name: str) -> None:
        """Let go of the instance after its exit was handled: drain and close its capture; the FIFO stays."""
        run = self._runs.pop(name, None)
        if run is None:
            return
        if run.status is None:
            log.warning("released_while_running", process=name, pid=run.spawned.identity.pid)
        self._close(run)

    def forget(self, name: str) -> None:
        """The instance is gone for good: release it and remove its FIFO."""
        run = self._runs.get(name)
        fifos = {self.state_dir.fifo(name)}
        if run is not None and run.capture is not None:
            fifos.add(run.capture.fifo)
        self.release(name)
        for fifo in sorted(fifos):
            remove_pipe(fifo)

    def running(self) -> Mapping[str, Spawned]:
        """The instances started or adopted whose exit has not been seen, by name."""
        return {name: run.spawned for name, run in sorted(self._runs.items()) if run.status is None}

    def spawned(self, name: str) -> Spawned | None:
        """`running().get(name)` without building the whole map, which costs a pass that keeps many records
        time in proportion to all the instances for each of them (docs/limitations.md, 1000 processes)."""
        run = self._runs.get(name)
        return run.spawned if run is not None and run.status is None else None

    def detach(self) -> None:
        """Stop watching and capturing everything and leave the processes running (`down --keep`, exit)."""
        for name in sorted(self._runs):
            self._close(self._runs.pop(name))

    # --- parts ----------------------------------------------------------------------------------

    def _capture(self, log_as: str, fifo: Path, max_size: int, keep: int, label: bytes) -> Capture:
        if not self._dirs_ready:
            self.state_dir.ensure()
            self._dirs_ready = True
        path = self.state_dir.log_file(log_as)
        writer = self._writers.get(path)
        if writer is not None and writer.open_count > 0:
            writer.open_count += 1  # overlapping runs of one job: one writer, so rotation stays whole
        else:
            writer = self._writers[path] = LogWriter(path, max_size, keep, self._utc, tap=self.log_lines.tap(log_as))
        try:
            return Capture(fifo, writer, label)
        except OSError:
            writer.close()
            self._forget_closed(writer)
            raise

    def _watch(self, loop: asyncio.AbstractEventLoop, spawned: Spawned, tag: str, capture: Capture | None) -> None:
        run = _Run(spawned=spawned, tag=tag, capture=capture, sampler=probe.TreeSampler(spawned.identity))
        self._runs[spawned.name] = run

        def register() -> None:
            if capture is not None:
                capture.start(loop)
            run.watch = watch_exit(loop, spawned.identity, partial(self._exited, run))

        unbound(register)  # its exit and output outlive the pass that started it: no pass_id on their lines

    def _exited(self, run: _Run, status: ExitStatus) -> None:
        name = run.spawned.name
        if self._runs.get(name) is not run or run.status is not None:
            return
        run.status = status
        run.watch = None
        if run.capture is not None:
            run.capture.drain()
        run.exited.set()
        log.info("exited", process=name, pid=run.spawned.identity.pid, status=status.describe())
        self._on_exit(name, run.spawned.identity, status)

    def _close(self, run: _Run) -> None:
        if run.watch is not None:
            run.watch.cancel()
            run.watch = None
        if run.capture is not None:
            run.capture.drain()
            run.capture.close()
            self._forget_closed(run.capture.writer)
            run.capture = None

    def _forget_closed(self, writer: LogWriter) -> None:
        """Drop `writer` once its last user has closed it, so that `_writers` holds only the writers in use
        (instead of a scan of them all at every spawn, which 1000 processes made slow, docs/limitations.md)."""
        if writer.open_count <= 0 and self._writers.get(writer.path) is writer:
            del self._writers[writer.path]


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event
