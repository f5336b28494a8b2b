"""The runtime's log writers at scale (docs/limitations.md, 1000 processes): overlapping runs of a job share one
writer, a writer is let go with the last run that used it, and a later run opens the log again; `spawned(name)`
answers what `running()` does for one instance."""

from __future__ import annotations

import os
from typing import Any

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus
from tests.integration.runtime.helpers import log_texts, python, run, runtime, wait_exit

LIMITS: dict[str, Any] = {"log_max_size": 1_000_000, "log_keep": 2}


def _open_logs(path: str) -> int:
    """How many of this process's descriptors are open on `path`."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink(f"/proc/self/fd/{fd}") == path
        except OSError:
            continue
    return found


def test_overlapping_runs_share_the_log_and_a_later_run_opens_it_again(state: StateDir) -> None:
    log = str(state.log_file("job"))

    async def scenario() -> None:
        rt, exits = runtime(state)
        first = rt.spawn(python(state, "job", "print('first')"), log_as="job", **LIMITS)
        second = rt.spawn(python(state, "job+1", "print('second')"), log_as="job", **LIMITS)
        assert _open_logs(log) == 1  # one writer for both runs
        assert rt.spawned("job") == first and rt.spawned("job+1") == second
        assert rt.spawned("job") == rt.running().get("job") and rt.spawned("nothing") is None
        assert await wait_exit(exits, "job") == ExitStatus(code=0)
        assert await wait_exit(exits, "job+1") == ExitStatus(code=0)
        assert rt.spawned("job") is None and "job" not in rt.running()  # exited: no longer running
        rt.release("job")
        assert _open_logs(log) == 1  # the other run still writes it
        rt.release("job+1")
        assert _open_logs(log) == 0  # let go with its last run
        exits.calls.clear()
        rt.spawn(python(state, "job", "print('third')"), log_as="job", **LIMITS)
        assert await wait_exit(exits, "job", timeout=10) == ExitStatus(code=0)
        assert _open_logs(log) == 1
        rt.release("job")
        assert _open_logs(log) == 0

    run(scenario())
    assert sorted(log_texts(state, "job")) == ["first", "second", "third"]
