"""A process's pidfd watched from the event loop: the one place one is opened, registered and closed.

Linux ≥ 5.3: `pidfd_open(pid)` gives a descriptor that becomes readable once the process has
exited, and cannot name a later process that reuses the pid. `PidfdReader` registers it with
the loop and calls back, without a thread per process. How the exit is then collected is the
caller's: `runtime.exits` (the supervised processes: `waitid(P_PIDFD)`, or status unknown for
an adopted one) and `health.checks` (exec probes: `waitpid`). Where there is no pidfd (macOS,
old kernels, seccomp) it raises OSError and the caller falls back to its own way.
`ProcessExit` is the blocking form, for the CLI (`down` waits for the reconciler to be gone).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio  # only for annotations: the CLI imports this module, and asyncio costs it ~45 ms


class PidfdReader:
    """The pidfd of process `pid`, registered with `loop`: `on_exit()` runs from the loop once the process
    has exited (once; `rearm()` to be called again). ProcessLookupError when `pid` is gone, another
    OSError when this system has no pidfd."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pid: int, on_exit: Callable[[], None]) -> None:
        opener: Callable[[int], int] | None = getattr(os, "pidfd_open", None)
        if opener is None:
            raise OSError(errno.ENOSYS, "no pidfd_open on this platform")
        self._loop, self._on_exit = loop, on_exit
        self.fd = opener(pid)
        loop.add_reader(self.fd, self._ready)

    def _ready(self) -> None:
        self._loop.remove_reader(self.fd)
        self._on_exit()

    def rearm(self) -> None:
        """Call back again when readable (the exit was seen but could not be collected yet)."""
        if self.fd >= 0:
            self._loop.add_reader(self.fd, self._ready)

    def close(self) -> None:
        """Stop watching and close the descriptor (idempotent)."""
        if self.fd >= 0:
            self._loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


class ProcessExit:
    """Waits, blocking (the CLI: `down`), for process `pid` to have exited: its pidfd becomes readable when it
    has (even while its parent has not reaped it yet); where there is no pidfd, polls until the pid is gone."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = None
        with contextlib.suppress(AttributeError, OSError):  # no pidfd here, or already gone
            self.fd = os.pidfd_open(pid)

    def exited(self, wait: float) -> bool:
        if self.fd is not None:
            return bool(select.select([self.fd], [], [], wait)[0])
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        time.sleep(wait)
        return False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
