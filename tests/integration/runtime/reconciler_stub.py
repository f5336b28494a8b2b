"""A reconciler stand-in for the adoption tests, run as a separate program that the test SIGKILLs.

    reconciler_stub.py STATE_DIR spawn NAME ARGV...        start ARGV, print `spawned PID CREATE_TIME PGID`
    reconciler_stub.py STATE_DIR adopt NAME PID CT PGID    adopt that process, print `adopted` or `lost`

then capture its output until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentinel.paths import StateDir
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime.manager import Runtime
from sentinel.runtime.spawn import SpawnRequest

LIMITS: dict[str, Any] = {"log_max_size": 1_000_000_000, "log_keep": 1}


def on_exit(name: str, identity: ProcessIdentity, status: ExitStatus) -> None:
    print(f"exited {name} {status.describe()}", flush=True)


async def main(args: list[str]) -> None:
    state, verb, name = StateDir(Path(args[0])), args[1], args[2]
    runtime = Runtime(state, on_exit=on_exit, utc=lambda: datetime.now(UTC))
    if verb == "spawn":
        req = SpawnRequest(name=name, argv=tuple(args[3:]), env=dict(os.environ), cwd=str(state.root), user=None,
                           fifo=state.fifo(name))
        spawned = runtime.spawn(req, **LIMITS)
        print(f"spawned {spawned.identity.pid} {spawned.identity.create_time!r} {spawned.pgid}", flush=True)
    else:
        identity = ProcessIdentity(int(args[3]), float(args[4]))
        print("adopted" if runtime.adopt(name, identity, int(args[5]), **LIMITS) else "lost", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
