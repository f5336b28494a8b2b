"""Exit detection: pidfd and the polling fallback, our children (exact status) and others (unknown)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from typing import Any

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus
from sentinel.runtime import probe
from sentinel.runtime.exits import PidfdWatch, PollingWatch, watch_exit
from sentinel.runtime.spawn import spawn
from tests.integration.runtime.helpers import python, run, runtime, wait_exit
from tests.support.wait import wait_for_async

LIMITS: dict[str, Any] = {"log_max_size": 1_000_000, "log_keep": 1}


def test_watch_exit_uses_pidfd_on_linux(state: StateDir) -> None:
    async def scenario() -> None:
        spawned = spawn(python(state, "job", "raise SystemExit(4)"))
        statuses: list[ExitStatus] = []
        watch = watch_exit(asyncio.get_running_loop(), spawned.identity, statuses.append)
        assert isinstance(watch, PidfdWatch) == hasattr(os, "pidfd_open")
        await wait_for_async(lambda: statuses == [ExitStatus(code=4)])
        assert not probe.matches(spawned.identity)

    run(scenario())


def test_polling_watch_reaps_our_child_with_its_exact_status(state: StateDir) -> None:
    async def scenario() -> None:
        spawned = spawn(python(state, "job", "import os, signal; os.kill(os.getpid(), signal.SIGABRT)"))
        statuses: list[ExitStatus] = []
        PollingWatch(asyncio.get_running_loop(), spawned.identity, statuses.append)
        await wait_for_async(lambda: statuses == [ExitStatus(signal=signal.SIGABRT)])
        assert not probe.matches(spawned.identity), "reaped"

    run(scenario())


def test_polling_watch_reports_unknown_status_for_a_process_that_is_not_our_child() -> None:
    parent = subprocess.Popen(["sh", "-c", "sleep 0.3 & echo $!; wait"], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    grandchild = probe.identify(int(parent.stdout.readline()))
    assert grandchild is not None

    async def scenario() -> None:
        statuses: list[ExitStatus] = []
        PollingWatch(asyncio.get_running_loop(), grandchild, statuses.append)
        await wait_for_async(lambda: statuses == [ExitStatus()])

    try:
        run(scenario())
    finally:
        parent.wait()
        parent.stdout.close()


def test_a_pid_that_is_gone_is_reported_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = probe.identify(gone.pid)
    assert identity is not None
    gone.wait()

    async def scenario() -> None:
        statuses: list[ExitStatus] = []
        watch_exit(asyncio.get_running_loop(), identity, statuses.append)
        await wait_for_async(lambda: statuses == [ExitStatus()])

    run(scenario())


def test_a_cancelled_watch_never_calls_back(state: StateDir) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        spawned = spawn(python(state, "job", "pass"))
        calls: list[ExitStatus] = []
        for watch_type in (PidfdWatch, PollingWatch):
            watch_type(loop, spawned.identity, calls.append).cancel()
        reaped: list[ExitStatus] = []
        watch_exit(loop, spawned.identity, reaped.append)
        await wait_for_async(lambda: reaped == [ExitStatus(code=0)])
        await asyncio.sleep(0)
        assert calls == []

    run(scenario())


def test_exit_is_still_reported_when_sigchld_is_ignored(state: StateDir) -> None:
    """With SIGCHLD ignored the kernel reaps children itself: the status is lost, the exit is not."""
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)

    async def scenario() -> None:
        rt, exits = runtime(state)
        rt.spawn(python(state, "job", "raise SystemExit(3)"), **LIMITS)
        assert await wait_exit(exits, "job") == ExitStatus()
        rt.release("job")

    try:
        run(scenario())
    finally:
        signal.signal(signal.SIGCHLD, previous)


def test_usage_sums_the_tree_and_counts_cpu_since_the_last_sample(state: StateDir) -> None:
    async def scenario() -> None:
        rt, _exits = runtime(state)
        rt.spawn(python(state, "busy", f"""
            import subprocess, sys, time
            hog = "x = bytearray(32 * 1024 * 1024); import time; time.sleep(60)"
            child = subprocess.Popen([{sys.executable!r}, "-c", hog])
            print("started", flush=True)
            while True:
                pass
        """), **LIMITS)
        assert rt.usage("nosuch") is None
        await wait_for_async(lambda: (rt.usage("busy") or (0.0, 0))[1] > 40 * 1024 * 1024, timeout=10)
        await wait_for_async(lambda: (rt.usage("busy") or (0.0, 0))[0] > 20.0, interval=0.1)
        await rt.stop("busy", signal=signal.SIGTERM, timeout=5)
        assert rt.usage("busy") is None

    run(scenario())


def test_our_descriptors_return_to_baseline(state: StateDir) -> None:
    """docs/reliability.md#f42-descriptor-leaks: spawning, releasing, adopting and detaching leak no descriptor."""

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def scenario() -> None:
        baseline = fds()
        rt, exits = runtime(state)
        for i in range(10):
            rt.spawn(python(state, f"job{i}", "pass"), **LIMITS)
        await wait_for_async(lambda: len(exits.calls) == 10)
        for i in range(10):
            rt.forget(f"job{i}")
        spawned = rt.spawn(python(state, "long", "import time; time.sleep(60)"), **LIMITS)
        rt.detach()
        other, _ = runtime(state)
        assert other.adopt("long", spawned.identity, spawned.pgid, **LIMITS)
        await other.stop("long", signal=signal.SIGKILL, timeout=0)
        other.forget("long")
        assert fds() == baseline

    run(scenario())


def test_usage_answers_a_sample_younger_than_max_age_without_taking_one(state: StateDir) -> None:
    async def scenario() -> None:
        rt, _exits = runtime(state)
        rt.spawn(python(state, "idle", "import time; time.sleep(60)"), **LIMITS)
        first = rt.usage("idle")
        assert first is not None
        assert rt.usage("idle", max_age=60.0) is first  # the same sample, the process table not read again
        assert rt.last_usage("idle") is first
        again = rt.usage("idle")  # max_age 0 (the limits sampler): always a new sample
        assert again is not None and again is not first
        await rt.stop("idle", signal=signal.SIGTERM, timeout=5)
        assert rt.usage("idle", max_age=60.0) is None

    run(scenario())
