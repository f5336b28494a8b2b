"""Reading the process table: identities, liveness, trees, tags and per-tree resource usage.

Called by the rest of the runtime (spawn, exits, signals, manager); the only place besides
`signals` that uses psutil. A pid is only ever trusted together with its creation time
(docs/reliability.md#rules, docs/conventions.md#a-pid-alone-identifies-nothing), and a zombie is never alive
(docs/reliability.md#f06-zombies-are-dead).

Scans of the whole table (`ProcessTable.read`, `tag_index`) read /proc directly on Linux, several
times faster than psutil's per-process objects; elsewhere they go through psutil. A tree's cpu and
memory (`TreeSampler`) come from the scan's reading too, not from more reads of each process.
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
class Stat:
    """One process as a scan of the table read it: enough for its tree, its identity and its usage without
    reading it again."""

    ppid: int
    pgid: int
    created: float  # seconds since the epoch, as psutil computes a creation time (so `same_start` compares them)
    cpu: float  # user + system seconds so far
    rss: int  # resident bytes
    zombie: bool


@dataclass(frozen=True, slots=True)
class ProcessTable:
    """One reading of every process: the trees and usage of many processes for the price of one scan."""

    children: Mapping[int, tuple[int, ...]]  # ppid -> pids
    groups: Mapping[int, tuple[int, ...]]  # pgid -> pids
    stats: Mapping[int, Stat]  # pid -> what the scan read of it
    read_at: float  # time.monotonic() of the reading

    @classmethod
    def read(cls) -> ProcessTable:
        stats = dict(_scan_linux() if _LINUX else _scan_portable())
        return cls.of(stats, time.monotonic())

    @classmethod
    def of(cls, stats: Mapping[int, Stat], read_at: float) -> ProcessTable:
        children: dict[int, list[int]] = {}
        groups: dict[int, list[int]] = {}
        for pid, stat in stats.items():
            children.setdefault(stat.ppid, []).append(pid)
            groups.setdefault(stat.pgid, []).append(pid)
        return cls({k: tuple(v) for k, v in children.items()}, {k: tuple(v) for k, v in groups.items()}, stats,
                   read_at)

    def descendants(self, proc: psutil.Process) -> list[psutil.Process]:
        """Live descendants of `proc` as of this reading, as handles that signal only that process (a pid reused
        since the reading gets no handle)."""
        try:
            born = proc.create_time()
        except _GONE:
            return []
        handles = (process(ProcessIdentity(pid, stat.created)) for pid, stat in self._below(proc.pid, born)
                   if not stat.zombie)
        return [handle for handle in handles if handle is not None and running(handle)]

    def tree(self, leader: ProcessIdentity) -> list[tuple[ProcessIdentity, Stat]] | None:
        """The leader and its live descendants as this reading saw them, the leader first; None when the leader
        was not alive then (gone, a zombie, or its pid held by another process)."""
        stat = self.stats.get(leader.pid)
        if stat is None or stat.zombie or not same_start(stat.created, leader.create_time):
            return None
        return [(leader, stat)] + [(ProcessIdentity(pid, found.created), found)
                                   for pid, found in self._below(leader.pid, stat.created) if not found.zombie]

    def _below(self, pid: int, born: float) -> list[tuple[int, Stat]]:
        """Every descendant of the process `pid` started at `born`, zombies too. A child is never older than its
        parent, which keeps out a pid reused since the parent started."""
        found: list[tuple[int, Stat]] = []
        stack = [(pid, born)]
        while stack:
            parent, parent_born = stack.pop()
            for child in self.children.get(parent, ()):
                stat = self.stats.get(child)
                if stat is not None and stat.created >= parent_born - SLACK:
                    found.append((child, stat))
                    stack.append((child, stat.created))
        return found


def _read_small(path: str) -> bytes:
    """A /proc file of one line, in one read without a buffered file object: half the cost of `open()` per file, and
    a scan reads one for every process on the machine (a fresh `status` scans once, bench/cli_latency.py)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return os.read(fd, 4096)
    finally:
        os.close(fd)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _scan_linux() -> list[tuple[int, Stat]]:
    """Every process, from one read of its /proc/PID/stat (fields as proc(5) numbers them, less 3 after the
    command): psutil reads that file two or three times for the same figures."""
    boot = psutil.boot_time()
    rows = []
    for pid in psutil.pids():
        try:
            data = _read_small(f"{_PROC}/{pid}/stat")
            # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
            fields = data[data.rindex(b")") + 2 :].split(b" ", 23)
            rows.append((pid, Stat(
                ppid=int(fields[1]), pgid=int(fields[2]),
                created=int(fields[19]) / _TICKS + boot,  # starttime, in ticks since boot: psutil's create_time
                cpu=(int(fields[11]) + int(fields[12])) / _TICKS,  # utime + stime
                rss=int(fields[21]) * _PAGE, zombie=fields[0] == b"Z",
            )))
        except (OSError, ValueError, IndexError):
            continue
    return rows


def _scan_portable() -> list[tuple[int, Stat]]:
    """Every process, through psutil (macOS and the rest); on Linux, tests compare it with `_scan_linux`. A figure
    psutil may not read (another user's process) is 0, and a creation time of 0 puts it in no tree."""
    rows = []
    for proc in psutil.process_iter(["ppid", "create_time", "cpu_times", "memory_info", "status"]):
        info = proc.info
        times, memory = info["cpu_times"], info["memory_info"]
        with contextlib.suppress(OSError):
            rows.append((proc.pid, Stat(
                ppid=int(info["ppid"] or 0), pgid=os.getpgid(proc.pid), created=info["create_time"] or 0.0,
                cpu=times.user + times.system if times is not None else 0.0,
                rss=memory.rss if memory is not None else 0, zombie=info["status"] == psutil.STATUS_ZOMBIE,
            )))
    return rows


class TreeSampler:
    """CPU and memory of one process and all its descendants, from a reading of the process table.

    `cpu_percent` is measured since the previous `sample()`, per process as psutil's non-blocking
    `cpu_percent` does (100 is one core; a process seen for the first time counts 0 % until the next
    sample); `memory_rss` is the sum of the resident set sizes of the tree.
    """

    def __init__(self, leader: ProcessIdentity) -> None:
        self._leader = leader
        self._cpu: dict[ProcessIdentity, float] = {}  # each member's cpu seconds at the previous sample
        self._seen: tuple[ProcessIdentity, ...] = ()
        self.last: tuple[float, int] | None = None  # the latest sample, for readers that must not take one
        self.taken_at: float | None = None  # when `last` was taken (time.monotonic())

    def sample(self, table: ProcessTable) -> tuple[float, int] | None:
        """(cpu_percent, rss bytes) of the tree in `table`, or None when the leader is no longer alive."""
        members = table.tree(self._leader)
        if members is None:
            self._cpu.clear()
            return None
        elapsed = table.read_at - self.taken_at if self.taken_at is not None else 0.0
        cpu, rss = 0.0, 0
        for identity, stat in members:
            before = self._cpu.get(identity)
            if before is not None and elapsed > 0:
                cpu += round(max(0.0, stat.cpu - before) / elapsed * 100, 1)
            rss += stat.rss
        self._cpu = {identity: stat.cpu for identity, stat in members}
        self._seen = tuple(identity for identity, _stat in members[1:])
        self.last = (cpu, rss)
        self.taken_at = table.read_at
        return self.last

    def seen(self) -> tuple[ProcessIdentity, ...]:
        """The descendants found by the last sample: a stop looks for them even after the leader died."""
        return self._seen
