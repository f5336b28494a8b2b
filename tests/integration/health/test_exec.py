"""Command probes as real processes: exit codes, missing programs, timeouts and cancellation that leave nothing behind.

Every process a probe starts inherits this test's SENTINEL_TEST_MARKER, so `marked_alive()` finds
any that survived, reparented or not (docs/reliability.md#f45-health-check-pitfalls: the shell is killed but its child
must be too).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from sentinel.config.models import Health
from sentinel.health.checks import KILL_WAIT, CheckResult, poll_exit, run_check, watch_exit
from tests.support.procs import gone, marked_alive
from tests.support.wait import wait_for


async def probe(command: str | list[str], *, timeout: float = 5.0, cwd: str = "/",
                env: dict[str, str] | None = None) -> CheckResult:
    return await run_check(Health(exec=command), timeout=timeout, cwd=cwd,
                           env=dict(os.environ) if env is None else env)


_EARLIER: set[int] = set()


@pytest.fixture(autouse=True)
def _zombies_before() -> None:
    """Zombies other tests left in this process (detached reconcilers are our children too) are not ours."""
    _EARLIER.clear()
    _EARLIER.update(_zombies())


def _zombies() -> list[int]:
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child.pid)
    return found


def our_zombies() -> list[int]:
    return [pid for pid in _zombies() if pid not in _EARLIER]


def assert_nothing_left() -> None:
    """No live process carries this test's marker (after a moment for SIGKILL to land), and none of ours is a zombie."""
    wait_for(lambda: marked_alive() == [], timeout=2.0, message=lambda: f"probe processes alive: {marked_alive()}")
    assert our_zombies() == []


@pytest.mark.parametrize(
    ("command", "result"),
    [
        pytest.param("true", CheckResult(True, "exited 0"), id="exit-0-is-healthy"),
        pytest.param("false", CheckResult(False, "exited 1"), id="exit-1-is-unhealthy"),
        pytest.param(["sh", "-c", "exit 3"], CheckResult(False, "exited 3"), id="argv-list-exit-3"),
        pytest.param("sh -c 'kill -TERM $$'", CheckResult(False, "killed by SIGTERM"), id="killed-by-a-signal"),
        pytest.param("no-such-program-x", CheckResult(False, "command not found: no-such-program-x"),
                     id="missing-program"),
    ],
)
def test_exit_status_decides(command: str | list[str], result: CheckResult) -> None:
    assert asyncio.run(probe(command)) == result
    assert_nothing_left()


def test_file_that_is_not_executable_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    assert asyncio.run(probe(str(script))) == CheckResult(False, f"cannot run {script}: permission denied")


def test_probe_runs_in_cwd_with_env_and_no_stdin(tmp_path: Path) -> None:
    script = ("import os, sys; sys.exit(0 if os.getcwd() == sys.argv[1] and os.environ['PROBE_X'] == 'y'"
              " and sys.stdin.read() == '' and os.getsid(0) == os.getpid() else 1)")
    env = {**os.environ, "PROBE_X": "y"}
    result = asyncio.run(probe([sys.executable, "-c", script, str(tmp_path.resolve())], cwd=str(tmp_path), env=env))
    assert result == CheckResult(True, "exited 0")


def test_missing_cwd_is_reported() -> None:
    result = asyncio.run(probe("true", cwd="/no/such/dir"))
    assert result == CheckResult(False, "cannot change to directory /no/such/dir: no such file or directory")


def test_timed_out_probe_and_its_grandchild_are_killed_every_time(tmp_path: Path) -> None:
    """docs/reliability.md#f45-health-check-pitfalls: `sh -c 'sleep 30 & sleep 30'`, timeout 300ms, three rounds: each
    cut in time, nothing survives."""
    pidfile = tmp_path / "grandchild"
    for _ in range(3):
        started = time.monotonic()
        result = asyncio.run(probe(f"sh -c 'sleep 30 & echo $! > {pidfile}; sleep 30'", timeout=0.3))
        elapsed = time.monotonic() - started
        assert result == CheckResult(False, "timed out after 300ms")
        assert elapsed < 0.3 + KILL_WAIT
        grandchild = int(pidfile.read_text())
        wait_for(functools.partial(gone, grandchild), timeout=2.0, message=f"grandchild {grandchild} survived")
        assert_nothing_left()


def test_background_children_of_a_finished_probe_are_killed() -> None:
    assert asyncio.run(probe("sh -c 'sleep 30 & exit 0'")) == CheckResult(True, "exited 0")
    assert_nothing_left()


def test_cancelled_probe_is_killed_and_reaped() -> None:
    async def main() -> None:
        task = asyncio.create_task(probe("sh -c 'sleep 30 & sleep 30'", timeout=30))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while len(marked_alive()) < 3 and loop.time() < deadline:  # sh, and both sleeps
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert_nothing_left()


def test_probes_run_concurrently_without_a_thread_each() -> None:
    async def main() -> tuple[list[CheckResult], int]:
        tasks = [asyncio.create_task(probe("sleep 0.3")) for _ in range(20)]
        await asyncio.sleep(0.1)
        threads = threading.active_count()
        return await asyncio.gather(*tasks), threads

    before = threading.active_count()
    started = time.monotonic()
    results, during = asyncio.run(main())
    assert results == [CheckResult(True, "exited 0")] * 20
    assert during == before
    assert time.monotonic() - started < 2.0  # concurrent: about 0.3 s, not 20 × 0.3 s
    assert_nothing_left()


@pytest.mark.parametrize("watch", [watch_exit, poll_exit], ids=["pidfd-or-fallback", "waitpid-poll"])
def test_exit_watch_reaps_the_child_and_sets_its_returncode(watch: object) -> None:
    async def main() -> tuple[int | None, subprocess.Popen[bytes]]:
        proc = subprocess.Popen(["sh", "-c", "sleep 30 & exit 3"], start_new_session=True)
        assert callable(watch)
        return await watch(asyncio.get_running_loop(), proc), proc

    code, proc = asyncio.run(main())
    assert code == 3 and proc.returncode == 3
    assert_nothing_left()


def test_exit_watch_of_a_child_that_already_exited() -> None:
    async def main() -> int | None:
        proc = subprocess.Popen(["sh", "-c", "exit 7"], start_new_session=True)
        wait_for(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE)
        return await watch_exit(asyncio.get_running_loop(), proc)

    assert asyncio.run(main()) == 7
    assert our_zombies() == []


