"""Stopping whole trees: group, escaped and double-forked descendants, SIGTERM ignored, zombies, pid reuse."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime import probe
from sentinel.runtime.exits import watch_exit
from tests.integration.runtime.helpers import log_texts, request, run, runtime, wait_exit
from tests.support.procs import marked_alive
from tests.support.wait import wait_for, wait_for_async

LIMITS: dict[str, Any] = {"log_max_size": 10_000_000, "log_keep": 3}
FX_TREE = str(Path(__file__).with_name("fx_tree.py"))


def tree(state: StateDir, name: str, *roles: str) -> tuple[str, ...]:
    return (sys.executable, FX_TREE, "leader", *roles)


def ready(state: StateDir, name: str) -> dict[str, tuple[int, int, int]]:
    """role -> (pid, pgid, sid) for every process that reported ready."""
    out = {}
    for line in log_texts(state, name):
        if line.startswith("ready "):
            role, pid, pgid, sid = line.split()[1:]
            out[role] = (int(pid), int(pgid), int(sid))
    return out


def test_stop_kills_group_escaped_and_double_forked_descendants_and_sigkills_after_timeout(state: StateDir) -> None:
    roles = ("group", "setsid", "double", "stubborn")
    expected = {"leader", "group", "grand", "setsid", "escaped", "double", "orphan", "stubborn"}

    async def scenario() -> None:
        rt, exits = runtime(state)
        spawned = rt.spawn(request(state, "web", tree(state, "web", *roles)), **LIMITS)
        await wait_for_async(lambda: set(ready(state, "web")) == expected)
        procs = ready(state, "web")
        leader_pid = spawned.identity.pid
        assert procs["escaped"][1:] == (procs["escaped"][0],) * 2, "escaped leads its own group and session"
        assert procs["orphan"][1] != leader_pid
        assert procs["orphan"][0] not in {p.pid for p in psutil.Process(leader_pid).children(recursive=True)}
        assert len(marked_alive()) == len(expected)

        started = time.monotonic()
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=0.5)
        took = time.monotonic() - started

        assert marked_alive() == []
        assert report.sigkill and report.signalled and report.survivors == ()
        assert report.escaped == 2  # escaped and orphan: the rest went with the group
        assert 0.5 <= took < 2.5
        assert exits.of("web") == [ExitStatus(signal=signal.SIGTERM)]
        rt.release("web")

    run(scenario())


def test_stop_is_graceful_when_the_tree_obeys_sigterm(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(request(state, "web", tree(state, "web", "group", "setsid")), **LIMITS)
        await wait_for_async(lambda: len(ready(state, "web")) == 5)
        started = time.monotonic()
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=10)
        assert time.monotonic() - started < 2
        assert not report.sigkill and report.escaped == 1
        assert exits.of("web") == [ExitStatus(signal=signal.SIGTERM)]
        assert marked_alive() == []
        rt.release("web")

    run(scenario())


def test_a_stubborn_leader_is_killed_after_the_timeout(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(request(state, "web", (sys.executable, FX_TREE, "--stubborn", "leader", "group")), **LIMITS)
        await wait_for_async(lambda: len(ready(state, "web")) == 3)
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=0.2)
        assert report.sigkill
        assert exits.of("web") == [ExitStatus(signal=signal.SIGKILL)]
        assert marked_alive() == []

    run(scenario())


def test_timeout_zero_kills_at_once(state: StateDir) -> None:
    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(request(state, "web", (sys.executable, FX_TREE, "--stubborn", "leader")), **LIMITS)
        await wait_for_async(lambda: len(ready(state, "web")) == 1)
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=0)
        assert report.sigkill
        assert exits.of("web") == [ExitStatus(signal=signal.SIGKILL)]

    run(scenario())


def test_a_zombie_in_the_group_does_not_hold_up_the_stop(state: StateDir) -> None:
    async def scenario() -> None:
        rt, _exits = runtime(state)
        rt.spawn(request(state, "web", tree(state, "web", "zombie")), **LIMITS)
        await wait_for_async(lambda: len(ready(state, "web")) == 2)
        zombie_maker = psutil.Process(ready(state, "web")["zombie"][0])
        await wait_for_async(lambda: [c.status() for c in zombie_maker.children()] == [psutil.STATUS_ZOMBIE])
        started = time.monotonic()
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=5)
        assert time.monotonic() - started < 1
        assert not report.sigkill
        assert marked_alive() == []

    run(scenario())


def test_leftovers_of_an_exited_leader_are_stopped(state: StateDir) -> None:
    """docs/reliability.md#f03-an-orphan-holds-the-port: the leader died and its grandchild kept running; stopping the
    instance ends it."""

    async def scenario() -> None:
        rt, exits = runtime(state)
        code = f"""
import subprocess, sys, time
child = subprocess.Popen([sys.executable, {FX_TREE!r}, "group"])
while True:
    time.sleep(0.01)
    with open({str(state.log_file("web"))!r}) as log:
        if "ready grand" in log.read():
            raise SystemExit(1)
"""
        rt.spawn(request(state, "web", (sys.executable, "-c", code)), **LIMITS)
        assert await wait_exit(exits, "web") == ExitStatus(code=1)
        assert len(marked_alive()) == 2
        report = await rt.stop("web", signal=signal.SIGTERM, timeout=5)
        assert not report.sigkill
        assert marked_alive() == []
        assert len(exits.calls) == 1

    run(scenario())


def _zombie_leader() -> tuple[subprocess.Popen[bytes], ProcessIdentity, int]:
    """A session leader that exited but whose parent never reaps it, and its still running child."""
    code = """
import subprocess, sys, time
sleeper = "import time; time.sleep(60)"
code = f"import subprocess, sys; g = subprocess.Popen([sys.executable, '-c', {sleeper!r}]); print(g.pid)"
leader = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
grand = int(leader.stdout.readline())
print(leader.pid, grand, flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    leader_pid, grand = map(int, parent.stdout.readline().split())
    wait_for(lambda: psutil.Process(leader_pid).status() == psutil.STATUS_ZOMBIE)
    identity = probe.identify(leader_pid)
    assert identity is not None
    return parent, identity, grand


def test_a_zombie_leader_counts_as_dead(state: StateDir) -> None:
    parent, leader, grand = _zombie_leader()

    async def scenario() -> None:
        rt, _exits = runtime(state)
        assert probe.matches(leader) and not probe.is_alive(leader)
        assert not rt.adopt("web", leader, leader.pid, **LIMITS)
        assert rt.running() == {}
        statuses: list[ExitStatus] = []
        watch_exit(asyncio.get_running_loop(), leader, statuses.append)
        await wait_for_async(lambda: statuses == [ExitStatus()])
        assert probe.matches(leader), "not ours: left for its parent to reap"
        started = time.monotonic()
        report = await rt.stop_stray("web", leader, leader.pid, signal=signal.SIGTERM, timeout=5)
        assert time.monotonic() - started < 1
        assert not report.sigkill
        assert not psutil.pid_exists(grand) or psutil.Process(grand).status() == psutil.STATUS_ZOMBIE

    try:
        run(scenario())
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()  # type: ignore[union-attr]


def test_a_reused_pid_is_never_signalled_nor_adopted(state: StateDir) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    real = probe.identify(stranger.pid)
    assert real is not None
    fake = ProcessIdentity(stranger.pid, real.create_time - 100)

    async def scenario() -> None:
        rt, _exits = runtime(state)
        assert not probe.is_alive(fake) and not probe.matches(fake)
        assert not rt.adopt("web", fake, fake.pid, **LIMITS)
        assert rt.running() == {}
        statuses: list[ExitStatus] = []
        watch_exit(asyncio.get_running_loop(), fake, statuses.append)
        await wait_for_async(lambda: statuses == [ExitStatus()])
        report = await rt.stop_stray("web", fake, fake.pid, signal=signal.SIGKILL, timeout=0)
        assert report == type(report)()
        assert probe.is_alive(real)

    try:
        run(scenario())
    finally:
        stranger.kill()
        stranger.wait()
