"""Reading the process table: identities, liveness, trees, tags and per-tree resource usage.

Called by the rest of the runtime (spawn, exits, signals, manager); the only place besides
`signals` that uses psutil. A pid is only ever trusted together with its creation time
(docs/reliability.md#rules, docs/conventions.md#a-pid-alone-identifies-nothing), and a zombie is never alive
(docs/reliability.md#f06-zombies-are-dead).

Scans of the whole table (`ProcessTable.read`, `tag_index`) read /proc directly on Linux, several
times faster than psutil's per-process objects; elsewhere they go through psutil.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

import psutil

from sentinel.reconcile.observed import ProcessIdentity

# psutil derives create_time from the start tick (1/100 s on Linux) plus the boot time; values
# computed by two processes for one pid agree exactly. The slack only absorbs float noise: it
# must stay far below the time the kernel needs to hand the same pid out again (docs/reliability.md#f07-pid-reuse).
SLACK = 0.005
_PROC = "/proc"
_LINUX = sys.platform == "linux"

_GONE = (psutil.NoSuchProcess, psutil.AccessDenied, ValueError)


def same_start(a: float, b: float) -> bool:
    """Two creation times name the same process start."""
    return abs(a - b) <= SLACK


def identify(pid: int) -> ProcessIdentity | None:
    """The identity of the process now holding `pid` (a zombie too), or None when there is none."""
    try:
        return ProcessIdentity(pid, psutil.Process(pid).create_time())
    except _GONE:
        return None


def process(identity: ProcessIdentity) -> psutil.Process | None:
    """A psutil handle on exactly that process (a zombie included), or None when the pid is gone or reused.

    psutil remembers the creation time in the handle, so signals sent through it are never
    delivered to a process that reused the pid later.
    """
    try:
        proc = psutil.Process(identity.pid)
        created = proc.create_time()
    except _GONE:
        return None
    return proc if same_start(created, identity.create_time) else None


def matches(identity: ProcessIdentity) -> bool:
    """The pid still names that process, exited but unreaped (zombie) included."""
    return process(identity) is not None


def running(proc: psutil.Process) -> bool:
    """The handle's process exists, is the same one, and is not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except _GONE:
        return False


def is_alive(identity: ProcessIdentity) -> bool:
    """The process with that identity is running: same pid and creation time, not a zombie."""
    proc = process(identity)
    return proc is not None and running(proc)


def parent_pid(identity: ProcessIdentity) -> int | None:
    """The parent of that process (a zombie too), or None when it is gone or the pid was reused."""
    proc = process(identity)
    try:
        return proc.ppid() if proc is not None else None
    except _GONE:
        return None


def identity_of(proc: psutil.Process) -> ProcessIdentity | None:
    try:
        return ProcessIdentity(proc.pid, proc.create_time())
    except _GONE:
        return None


def tag_index(name: str) -> dict[str, list[int]]:
    """value → pids, for every process whose (initial) environment sets `name`: one scan serves many lookups."""
    if not _LINUX:
        index: dict[str, list[int]] = {}
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                value = proc.environ().get(name)
                if value is not None:
                    index.setdefault(value, []).append(proc.pid)
        return index
    index = {}
    for pid in psutil.pids():
        value = environ_value(pid, name)
        if value is not None:
            index.setdefault(value, []).append(pid)
    return index


def environ_value(pid: int, name: str) -> str | None:
    """The value of `name` in the (initial) environment of process `pid`; None when unset or unreadable."""
    if not _LINUX:
        try:
            return psutil.Process(pid).environ().get(name)
        except psutil.Error:
            return None
    try:
        with open(f"{_PROC}/{pid}/environ", "rb") as f:
            data = f.read()
    except OSError:
        return None
    prefix = f"{name}=".encode()
    for entry in data.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode(errors="replace")
    return None


class Scanner:
    """Readings of the process table, shared by every caller in one turn of the event loop.

    A status request samples every instance, and a `down` stops every tree at once: each would
    otherwise read all of /proc again. A reading is dropped when the loop turns.
    """

    def __init__(self, tag_name: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._tag_name = tag_name
        self._loop = loop
        self._table: ProcessTable | None = None
        self._tags: dict[str, list[int]] | None = None

    def table(self) -> ProcessTable:
        table = self._table or ProcessTable.read()
        if self._table is None and self._shared():
            self._table = table
        return table

    def tagged(self, value: str) -> list[int]:
        tags = self._tags if self._tags is not None else tag_index(self._tag_name)
        if self._tags is None and self._shared():
            self._tags = tags
        return list(tags.get(value, ()))

    def _shared(self) -> bool:
        """Keep a reading until the loop turns; False (keep nothing) outside a running loop."""
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return False
        if self._table is None and self._tags is None:
            loop.call_soon(self._forget)
        return True

    def _forget(self) -> None:
        self._table = None
        self._tags = None


@dataclass(frozen=True, slots=True)
class ProcessTable:
    """One reading of every process's parent and group: the trees of many processes for the price of one scan."""

    children: Mapping[int, tuple[int, ...]]  # ppid -> pids
    groups: Mapping[int, tuple[int, ...]]  # pgid -> pids

    @classmethod
    def read(cls) -> ProcessTable:
        children: dict[int, list[int]] = {}
        groups: dict[int, list[int]] = {}
        for pid, ppid, pgid in _scan():
            children.setdefault(ppid, []).append(pid)
            groups.setdefault(pgid, []).append(pid)
        return cls({k: tuple(v) for k, v in children.items()}, {k: tuple(v) for k, v in groups.items()})

    def descendants(self, proc: psutil.Process) -> list[psutil.Process]:
        """Live descendants of `proc` as of this reading. A child is never older than its parent, which
        keeps out a pid reused since the reading."""
        found: list[psutil.Process] = []
        stack = [proc]
        while stack:
            parent = stack.pop()
            try:
                born = parent.create_time()
            except _GONE:
                continue
            for pid in self.children.get(parent.pid, ()):
                try:
                    child = psutil.Process(pid)
                    if child.create_time() >= born - SLACK:
                        found.append(child)
                        stack.append(child)
                except _GONE:
                    continue
        return [p for p in found if running(p)]


def _read_small(path: str) -> bytes:
    """A /proc file of one line, in one read without a buffered file object: half the cost of `open()` per file, and
    a scan reads one for every process on the machine (a fresh `status` scans once, bench/cli_latency.py)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


def _scan() -> list[tuple[int, int, int]]:
    """(pid, ppid, pgid) of every process."""
    rows = []
    if not _LINUX:
        for proc in psutil.process_iter(["ppid"]):
            with contextlib.suppress(OSError):
                rows.append((proc.pid, int(proc.info["ppid"] or 0), os.getpgid(proc.pid)))
        return rows
    for pid in psutil.pids():
        try:
            data = _read_small(f"{_PROC}/{pid}/stat")
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
            _state, ppid, pgid = data[data.rindex(b")") + 2 :].split(b" ", 3)[:3]
            rows.append((pid, int(ppid), int(pgid)))
        except (OSError, ValueError):
            continue
    return rows


class TreeSampler:
    """CPU and memory of one process and all its descendants.

    `cpu_percent` is measured since the previous `sample()` (psutil's non-blocking mode), so the
    psutil handles are cached between samples; a process seen for the first time counts 0 % CPU
    until the next sample. `memory_rss` is the sum of the resident set sizes of the tree.
    """

    def __init__(self, leader: ProcessIdentity) -> None:
        self._leader = leader
        self._cache: dict[int, psutil.Process] = {}
        self._seen: tuple[ProcessIdentity, ...] = ()
        self.last: tuple[float, int] | None = None  # the latest sample, for readers that must not take one
        self.taken_at: float | None = None  # when `last` was taken (time.monotonic())

    def sample(self, table: ProcessTable) -> tuple[float, int] | None:
        """(cpu_percent, rss bytes) of the tree in `table`, or None when the leader is no longer alive."""
        leader = self._cached(self._leader.pid, self._leader.create_time)
        if leader is None:
            self._cache.clear()
            return None
        with leader.oneshot():  # its /proc/PID/stat is read once for the check and the sample below
            if not running(leader):
                self._cache.clear()
                return None
            return self._sample(leader, table)

    def _sample(self, leader: psutil.Process, table: ProcessTable) -> tuple[float, int]:
        members = [leader] + [self._keep(p) for p in table.descendants(leader)]
        cpu, rss = 0.0, 0
        for proc in members:
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent(None)
                    rss += proc.memory_info().rss
            except _GONE:
                continue
        self._cache = {p.pid: p for p in members}
        self._seen = tuple(i for i in map(identity_of, members[1:]) if i is not None)
        self.last = (cpu, rss)
        self.taken_at = time.monotonic()
        return self.last

    def seen(self) -> tuple[ProcessIdentity, ...]:
        """The descendants found by the last sample: a stop looks for them even after the leader died."""
        return self._seen

    def _cached(self, pid: int, created: float) -> psutil.Process | None:
        proc = self._cache.get(pid)
        if proc is not None and same_start(proc.create_time(), created):
            return proc
        return process(ProcessIdentity(pid, created))

    def _keep(self, fresh: psutil.Process) -> psutil.Process:
        old = self._cache.get(fresh.pid)
        with contextlib.suppress(*_GONE):
            if old is not None and same_start(old.create_time(), fresh.create_time()):
                return old
        return fresh
