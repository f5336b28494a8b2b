"""Noticing that a process exited, from the event loop, without a thread per child.

Used by `manager.Runtime` for children it started and for processes it adopted. `watch_exit`
picks the best mechanism of the platform:

- Linux: `os.pidfd_open(pid)`, readable when the process exits; `waitid(P_PIDFD)` then reaps
  exactly that process if it is our child (exact status), or fails if it is not (an adopted
  process: status unknown). A pidfd cannot name a later process that reuses the pid.
- macOS: a kqueue with `EVFILT_PROC`/`NOTE_EXIT`, its descriptor registered with the loop.
- Elsewhere, or when those fail: a psutil poll every `POLL_INTERVAL` seconds.

Our children are reaped by pid (`waitid` on the pidfd, or `waitpid(pid)`), never with
`waitpid(-1)`, which would steal other waiters' statuses (docs/reliability.md#f05-a-global-reaper). The callback runs
once, from the loop, unless the watch was cancelled first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from typing import Protocol

from sentinel.pidfd import PidfdReader
from sentinel.reconcile.observed import ExitStatus, ProcessIdentity
from sentinel.runtime import probe

ExitCallback = Callable[[ExitStatus], None]

POLL_INTERVAL = 0.5
_RETRY = 0.005  # readiness seen but the zombie is not waitable yet


class ExitWatch(Protocol):
    def cancel(self) -> None:
        """Stop watching; the callback will not run."""


def watch_exit(loop: asyncio.AbstractEventLoop, identity: ProcessIdentity, callback: ExitCallback) -> ExitWatch:
    """Call `callback(status)` from `loop` once the process `identity` has exited (at once if it already has)."""
    try:
        return PidfdWatch(loop, identity, callback)
    except OSError:
        pass  # no pidfd (macOS, old kernel, seccomp)
    if sys.platform == "darwin":
        try:
            return KqueueWatch(loop, identity, callback)
        except OSError:
            pass
    return PollingWatch(loop, identity, callback)


def reap(identity: ProcessIdentity) -> ExitStatus | None:
    """The status of a process that has exited: exact when it is our unreaped child, unknown otherwise.

    None when it is our child but not waitable yet. An unreaped zombie still holds its pid, so
    `waitpid(pid)` reaches exactly it.
    """
    if probe.parent_pid(identity) != os.getpid():
        return ExitStatus()
    try:
        pid, status = os.waitpid(identity.pid, os.WNOHANG)
    except ChildProcessError:
        return ExitStatus()
    return ExitStatus.from_wait_status(status) if pid else None


class _Watch:
    def __init__(self, loop: asyncio.AbstractEventLoop, identity: ProcessIdentity, callback: ExitCallback) -> None:
        self._loop = loop
        self.identity = identity
        self._callback: ExitCallback | None = callback
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None

    def cancel(self) -> None:
        self._callback = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self, status: ExitStatus) -> None:
        callback, self._callback = self._callback, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if callback is not None:
            callback(status)

    def _finish_soon(self, status: ExitStatus) -> None:
        self._timer = self._loop.call_soon(self._finish, status)


class PidfdWatch(_Watch):
    """Linux ≥ 5.3: the pidfd (`sentinel.pidfd`) becomes readable when the process exits."""

    def __init__(self, loop: asyncio.AbstractEventLoop, identity: ProcessIdentity, callback: ExitCallback) -> None:
        super().__init__(loop, identity, callback)
        self._pidfd: PidfdReader | None = None
        try:
            self._pidfd = PidfdReader(loop, identity.pid, self._ready)
        except ProcessLookupError:
            self._finish_soon(ExitStatus())
            return
        if not probe.matches(identity):  # the pid was reused before we held it
            self._close()
            self._finish_soon(ExitStatus())

    def cancel(self) -> None:
        super().cancel()
        self._close()

    def _ready(self) -> None:
        status = self._collect()
        if status is None:  # readable, but the zombie is not waitable yet
            self._timer = self._loop.call_later(_RETRY, self._rearm)
            return
        self._close()
        self._finish(status)

    def _collect(self) -> ExitStatus | None:
        assert self._pidfd is not None, "called back only while the pidfd is open"
        try:
            info = os.waitid(os.P_PIDFD, self._pidfd.fd, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            return ExitStatus()  # not our child: the status went to its parent
        except OSError:
            return reap(self.identity)  # waitid(P_PIDFD) needs Linux 5.4, pidfd_open only 5.3
        if info is None:
            return None
        if info.si_code == os.CLD_EXITED:
            return ExitStatus(code=info.si_status)
        return ExitStatus(signal=info.si_status)

    def _rearm(self) -> None:
        self._timer = None
        if self._pidfd is not None:
            self._pidfd.rearm()

    def _close(self) -> None:
        if self._pidfd is not None:
            self._pidfd.close()
            self._pidfd = None


class PollingWatch(_Watch):
    """The fallback: look every POLL_INTERVAL seconds whether the process is still alive."""

    def __init__(self, loop: asyncio.AbstractEventLoop, identity: ProcessIdentity, callback: ExitCallback) -> None:
        super().__init__(loop, identity, callback)
        self._timer = loop.call_soon(self._tick)

    def _tick(self) -> None:
        self._timer = None
        status = None if probe.is_alive(self.identity) else reap(self.identity)
        if status is None:
            self._timer = self._loop.call_later(POLL_INTERVAL, self._tick)
        else:
            self._finish(status)


if sys.platform == "darwin":  # pragma: no cover - exercised on macOS only

    import select

    class KqueueWatch(_Watch):
        """macOS: a kqueue with EVFILT_PROC/NOTE_EXIT; its descriptor is readable once the process exits."""

        def __init__(self, loop: asyncio.AbstractEventLoop, identity: ProcessIdentity, callback: ExitCallback) -> None:
            super().__init__(loop, identity, callback)
            self._kq: select.kqueue | None = select.kqueue()
            event = select.kevent(identity.pid, filter=select.KQ_FILTER_PROC,
                                  flags=select.KQ_EV_ADD | select.KQ_EV_ONESHOT, fflags=select.KQ_NOTE_EXIT)
            try:
                self._kq.control([event], 0, 0)
            except ProcessLookupError:
                self._close()
                self._timer = loop.call_soon(self._collect)
                return
            loop.add_reader(self._kq.fileno(), self._ready)

        def cancel(self) -> None:
            super().cancel()
            self._close()

        def _ready(self) -> None:
            self._close()
            self._collect()

        def _collect(self) -> None:
            status = reap(self.identity)
            if status is None:  # exited but not waitable yet: poll the rest of the way
                self._timer = self._loop.call_later(_RETRY, self._collect)
            else:
                self._finish(status)

        def _close(self) -> None:
            if self._kq is not None:
                self._loop.remove_reader(self._kq.fileno())
                self._kq.close()
                self._kq = None
