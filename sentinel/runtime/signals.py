"""Stopping a whole process tree: the stop signal, a grace period, then SIGKILL (docs/reliability.md#rules).

Called by `manager.Runtime.stop`, for children we started and for adopted processes alike.

1. Find the tree: the leader's descendants, the members of its process group, the processes
   whose environment carries the tree's tag (`SENTINEL_TREE`, set at spawn: it finds children
   that left the group *and* the leader's descendants by setsid plus a double fork,
   docs/reliability.md#f02-escaped-descendants), and identities the caller saw earlier.
2. Send the stop signal as `stop.mode` says (docs/contract.md#stop-modes):
   - `group` (the default): to the group with `killpg` while the leader still holds the group (its
     identity matches, so the pgid cannot have been reused), and to every other member of the
     tree one by one; with the leader gone, group members are signalled one by one.
   - `mixed` and `main`: to the leader alone (it stops its own children, as postgres does). With
     the leader already gone there is no one to tell the rest, so the rest gets it as in `group`.
3. Wait for the leader's exit (an event set by the exit watcher, no polling), then poll the rest
   of the tree until it is gone or `timeout` has passed since the signal. `main` does not wait
   for the rest: what is left once the leader has exited is killed at once.
4. SIGKILL the group and everything of the tree still alive, and wait until it is gone.

A zombie is dead (docs/reliability.md#f06-zombies-are-dead); a process is only signalled through a psutil handle that
remembers its creation time, so a reused pid is never hit (docs/reliability.md#f07-pid-reuse).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal as _signal
from dataclasses import dataclass
from typing import Literal

import psutil

from sentinel.log import get_logger
from sentinel.reconcile.observed import ProcessIdentity
from sentinel.runtime import probe
from sentinel.signames import signal_name

log = get_logger(__name__)

TREE_VAR = "SENTINEL_TREE"  # in the environment of every process of a tree: the value is the tree's tag
KILL_WAIT = 5.0  # after SIGKILL: only a process in uninterruptible sleep takes longer
_POLL_FIRST, _POLL_MAX = 0.005, 0.05
StopMode = Literal["group", "main", "mixed"]


@dataclass(frozen=True, slots=True)
class StopTarget:
    """A tree to stop: its leader, process group, tag (the `SENTINEL_TREE` value), descendants seen before."""

    leader: ProcessIdentity
    pgid: int
    tag: str | None = None
    known: tuple[ProcessIdentity, ...] = ()


@dataclass(frozen=True, slots=True)
class StopReport:
    """What a stop took: `sigkill` when something outlived the timeout; `escaped` counts the
    processes outside the group that had to be signalled one by one; `survivors` outlived SIGKILL."""

    signalled: bool = False
    sigkill: bool = False
    escaped: int = 0
    survivors: tuple[ProcessIdentity, ...] = ()


async def stop_tree(target: StopTarget, *, sig: int, timeout: float, leader_exited: asyncio.Event,
                    scanner: probe.Scanner | None = None, mode: StopMode = "group") -> StopReport:
    """Stop the tree of `target`; returns once all of it is gone (or outlived SIGKILL, see `survivors`).

    `scanner` shares readings of the process table between stops running at once (`down`).
    `sigkill` in the report means the timeout ran out; a `main` stop's SIGKILL to what the leader left
    behind is its normal end, not a timeout."""
    loop = asyncio.get_running_loop()
    tree = _Tree(target, scanner or probe.Scanner(TREE_VAR))
    leader_alive = tree.leader is not None and probe.running(tree.leader)
    leader_only = mode != "group" and leader_alive
    signalled = tree.signal_leader(sig) if leader_only else tree.signal(sig)
    deadline = loop.time() + max(timeout, 0.0)
    if leader_alive:
        await _wait(leader_exited, timeout)
    if mode == "main":
        remaining = tree.alive(deep=True)
        timed_out = tree.leader is not None and probe.running(tree.leader)
    else:
        remaining = await tree.settle(deadline, None if leader_only else sig)
        timed_out = bool(remaining)
    if not remaining:
        return StopReport(signalled=signalled, escaped=len(tree.escaped))
    log.info("stop_timeout" if timed_out else "stop_leftovers", pgid=target.pgid, remaining=len(remaining),
             signal="SIGKILL")
    tree.signal(_signal.SIGKILL)
    remaining = await tree.settle(loop.time() + KILL_WAIT, _signal.SIGKILL)
    if leader_alive:
        await _wait(leader_exited, KILL_WAIT)
    survivors = tuple(i for i in map(probe.identity_of, remaining) if i is not None)
    return StopReport(signalled=True, sigkill=timed_out, escaped=len(tree.escaped), survivors=survivors)


def leftovers(target: StopTarget, scanner: probe.Scanner | None = None) -> list[ProcessIdentity]:
    """The live processes of the tree other than its leader (what a crashed leader left behind), by pid."""
    tree = _Tree(target, scanner or probe.Scanner(TREE_VAR))
    alive = tree.alive(deep=True)
    found = [probe.identity_of(proc) for proc in alive if proc.pid != target.leader.pid]
    return sorted((i for i in found if i is not None), key=lambda i: i.pid)


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(timeout, 0.0))


class _Tree:
    """The processes one stop must end; grows as new descendants and group members turn up."""

    def __init__(self, target: StopTarget, scanner: probe.Scanner) -> None:
        self.scanner = scanner
        self.pgid = target.pgid
        self.tag = target.tag
        self.started = target.leader.create_time
        self.leader = probe.process(target.leader)  # a zombie too; None when gone or the pid was reused
        # Scan the group only while its pgid is ours for sure: the leader still holds it, or no
        # process holds that pid (so no other group can be using it). Never our own group.
        ours = self.pgid > 1 and self.pgid != os.getpgrp()
        self.scan_group = ours and (self.leader is not None or probe.identify(self.pgid) is None)
        self.procs: dict[int, psutil.Process] = {}
        self.told: dict[int, set[int]] = {}  # signal -> pids that got it
        self.escaped: set[int] = set()
        for proc in filter(None, map(probe.process, target.known)):
            self._add(proc)
        if self.leader is not None:
            self._add(self.leader)

    def holds_group(self) -> bool:
        """The leader exists (maybe as a zombie), so no other group can have taken its pgid."""
        return self.scan_group and self.leader is not None and self.leader.is_running()

    def signal(self, sig: int) -> bool:
        """Send `sig` to the group and to every live member of the tree; True if anything got it."""
        alive = self.alive(deep=True)
        told = self.told.setdefault(sig, set())
        sent = False
        if self.holds_group():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, sig)
                sent = True
                log.info("stop_signal", pgid=self.pgid, signal=signal_name(sig))
            told.update(p.pid for p in alive if _pgid(p) == self.pgid)
        return self._tell(alive, sig) or sent

    def signal_leader(self, sig: int) -> bool:
        """Send `sig` to the leader alone (`stop.mode` main and mixed); True if it got it."""
        if self.leader is None or not probe.running(self.leader):
            return False
        return self._tell([self.leader], sig)

    async def settle(self, deadline: float, sig: int | None) -> list[psutil.Process]:
        """Poll until the tree is gone or `deadline`; newcomers get `sig` too (None: nobody is signalled,
        the leader of a `mixed` stop ends its own children). Returns what is left.

        Polls look only at the processes already known; once they are all gone, one full scan
        (descendants, group, tag) confirms that nothing else is left.
        """
        loop = asyncio.get_running_loop()
        delay = _POLL_FIRST
        while True:
            alive = self.alive(deep=False) or self.alive(deep=True)
            if not alive or loop.time() >= deadline:
                return alive
            if sig is not None:
                self._tell(alive, sig)
            await asyncio.sleep(min(delay, max(deadline - loop.time(), 0.0)))
            delay = min(delay * 2, _POLL_MAX)

    def alive(self, *, deep: bool) -> list[psutil.Process]:
        """The live processes of the tree: the known ones, and with `deep` a fresh scan of the process
        table for their descendants, the group's members and the tagged processes."""
        if deep:
            table = self.scanner.table()
            for member in self._group(table) + self._tagged():
                self._add(member)
            for proc in list(self.procs.values()):
                if probe.running(proc):
                    for child in table.descendants(proc):
                        self._add(child)
        return [p for p in self.procs.values() if probe.running(p)]

    def _tell(self, alive: list[psutil.Process], sig: int) -> bool:
        told = self.told.setdefault(sig, set())
        sent = False
        for proc in alive:
            if proc.pid in told:
                continue
            told.add(proc.pid)
            if _pgid(proc) != self.pgid:
                self.escaped.add(proc.pid)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                proc.send_signal(sig)  # psutil checks the creation time first
                sent = True
                log.info("stop_signal", pid=proc.pid, signal=signal_name(sig))
        return sent

    def _add(self, proc: psutil.Process) -> None:
        if proc.pid <= 1 or proc.pid == os.getpid():
            return
        old = self.procs.get(proc.pid)
        if old is None or not probe.running(old):
            self.procs[proc.pid] = proc

    def _group(self, table: probe.ProcessTable) -> list[psutil.Process]:
        """Live members of the process group. Members were all created after the leader (the group
        lives in the leader's own session), which also keeps out a later group that took the number."""
        if not self.scan_group:
            return []
        found = []
        for pid in table.groups.get(self.pgid, ()):
            try:
                proc = psutil.Process(pid)  # the handle pins the process; check its pgid once more
                later = proc.create_time() >= self.started - probe.SLACK
                if later and os.getpgid(pid) == self.pgid and probe.running(proc):
                    found.append(proc)
            except (OSError, psutil.Error):
                continue
        return found

    def _tagged(self) -> list[psutil.Process]:
        """Live processes whose environment carries this tree's tag (checked again through the handle)."""
        if not self.tag:
            return []
        found = []
        for pid in self.scanner.tagged(self.tag):
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if proc.environ().get(TREE_VAR) == self.tag and probe.running(proc):
                    found.append(proc)
        return found


def _pgid(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None
