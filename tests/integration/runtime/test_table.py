"""One reading of the process table (sentinel/runtime/probe.py `ProcessTable`): what it says of real
processes agrees with psutil, and a tree's usage is sampled from it alone."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from sentinel.reconcile.observed import ProcessIdentity
from sentinel.runtime import probe
from tests.support.wait import wait_for

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="compares the /proc scan with psutil's")

CHILD = "x = b'x' * (16 * 1024 * 1024); print('ready', flush=True); import time; time.sleep(60)"
PARENT = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", {CHILD!r}], stdout=subprocess.PIPE)
child.stdout.readline()  # its memory is all there, and stays so
zombie = subprocess.Popen(["true"])  # never reaped: a zombie child
print(child.pid, zombie.pid, flush=True)
time.sleep(60)
"""


@pytest.fixture
def parent() -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    with subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            assert proc.stdout is not None
            child, zombie = (int(word) for word in proc.stdout.readline().split())
            wait_for(lambda: psutil.Process(zombie).status() == psutil.STATUS_ZOMBIE)
            yield proc, child, zombie
        finally:
            os.killpg(proc.pid, 9)
            proc.wait()


def test_the_linux_scan_and_the_portable_one_agree_on_real_processes(
        parent: tuple[subprocess.Popen[str], int, int]) -> None:
    proc, child, zombie = parent
    linux, portable = dict(probe._scan_linux()), dict(probe._scan_portable())
    for pid in (proc.pid, child, zombie, os.getpid()):
        ours, theirs = linux[pid], portable[pid]
        assert (ours.ppid, ours.pgid, ours.zombie) == (theirs.ppid, theirs.pgid, theirs.zombie)
        assert probe.same_start(ours.created, theirs.created)
        assert probe.same_start(ours.created, psutil.Process(pid).create_time())  # psutil's own identity
        assert abs(ours.cpu - theirs.cpu) < 0.5
    assert linux[zombie].zombie and not linux[child].zombie
    assert linux[child].rss > 16 * 1024 * 1024 and abs(linux[child].rss - portable[child].rss) < 4 * 1024 * 1024


def test_a_tree_is_its_live_members_and_nothing_for_a_reused_pid_or_a_zombie(
        parent: tuple[subprocess.Popen[str], int, int]) -> None:
    proc, child, zombie = parent
    table = probe.ProcessTable.read()
    leader = ProcessIdentity(proc.pid, psutil.Process(proc.pid).create_time())
    members = table.tree(leader)
    assert members is not None
    assert [identity.pid for identity, _stat in members] == [proc.pid, child]  # the zombie is no member
    assert table.tree(ProcessIdentity(proc.pid, leader.create_time - 5)) is None  # the pid, but another start
    assert table.tree(ProcessIdentity(zombie, psutil.Process(zombie).create_time())) is None

    sampler = probe.TreeSampler(leader)
    first = sampler.sample(table)
    assert first is not None and first[0] == 0.0  # cpu counts from the second sample
    assert first[1] == sum(stat.rss for _identity, stat in members)
    assert sampler.seen() == (members[1][0],)
