"""Finding and killing every process a test started, through a marker in their environment.

Each integration test gets a unique `SENTINEL_TEST_MARKER` (see tests/integration/conftest.py);
children inherit it, so a test's processes are found even after they were reparented or left
their process group. "Alive" never counts zombies (docs/reliability.md#f06-zombies-are-dead).
A test looks only at its own processes: other tests run beside it (pytest-xdist workers, other
checkouts' suites on the same machine) with the same commands and instance names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil

MARKER = "SENTINEL_TEST_MARKER"
EXIT_GRACE = 10.0  # seconds for what a test stopped to finish exiting before it counts as leaked


def gone(pid: int) -> bool:
    """Dead: no such process, or a zombie (which its parent, not the test, must reap). Never raises: a process
    can vanish between two looks at it."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def marked(marker: str | None = None) -> list[psutil.Process]:
    """Live (non-zombie) processes whose environment carries `marker` (default: this test's)."""
    value = marker if marker is not None else os.environ.get(MARKER)
    if not value:
        return []
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(MARKER) == value and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
    return found


def instance_of(proc: psutil.Process) -> str:
    """The SENTINEL_INSTANCE a process was started as ("" for none, or once it is gone)."""
    try:
        return str(proc.environ().get("SENTINEL_INSTANCE", ""))
    except psutil.Error:
        return ""


def command_of(proc: psutil.Process) -> list[str]:
    """A process's argv ([] once it is gone)."""
    try:
        return list(proc.cmdline())
    except psutil.Error:
        return []


def marked_alive(marker: str | None = None) -> list[int]:
    """Pids of this test's live processes: `assert marked_alive() == []` proves no orphan survived."""
    return sorted(p.pid for p in marked(marker))


def describe(marker: str) -> list[str]:
    """One line per live process carrying `marker`: its pid and command line, reconcilers named as such."""
    lines = []
    for proc in marked(marker):
        with contextlib.suppress(psutil.Error):
            argv = proc.cmdline()
            kind = "reconciler" if "sentinel" in " ".join(argv[1:4]) and "up" in argv else "process"
            lines.append(f"{kind} {proc.pid}: {' '.join(argv)}")
    return sorted(lines)


def leaks(marker: str, grace: float = EXIT_GRACE) -> list[str]:
    """What still carries `marker` after `grace` seconds (`describe` lines); empty as soon as nothing does.

    The grace covers what is still on its way out: `sentinel down` returns once the reconciler let go
    of its lock, a moment before its process is gone."""
    deadline = time.monotonic() + grace
    while marked(marker):
        if time.monotonic() >= deadline:
            return describe(marker)
        time.sleep(0.02)
    return []


def kill_marked(marker: str, timeout: float = 5.0) -> list[int]:
    """SIGKILL every live process carrying `marker`, wait until they are dead, reap those that are our children.

    Returns the pids that were still alive (a test that left processes behind).
    """
    victims = marked(marker)
    for proc in victims:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while marked(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    for proc in victims:
        _reap_if_child(proc)
    return sorted(p.pid for p in victims)


def _reap_if_child(proc: psutil.Process) -> None:
    with contextlib.suppress(psutil.Error, ChildProcessError):
        if proc.is_running() and proc.ppid() == os.getpid():
            os.waitpid(proc.pid, os.WNOHANG)
