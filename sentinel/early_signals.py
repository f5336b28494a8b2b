"""Signals that reach `sentinel up` before its loop runs (docs/conventions.md#signal-handlers-only-record,
docs/reliability.md#f40-signals-to-the-reconciler).

The interpreter takes the default action for SIGTERM and SIGHUP (the process dies) until a
handler is installed, and the reconciler's loop installs its own only once imports, the config
load, the state lock and state.db are done. So the `sentinel` program installs these first,
before it imports anything else: they only record. `up` then asks `stop_received()` and, when
a stop came before its loop ran, starts nothing and exits 0; every other command `release()`s
them, and a signal recorded meanwhile takes its usual action then.

`up --detach` spawns the reconciler with these signals blocked, so that even one sent before the
interpreter has started waits until `hold()` unblocks it into the recording handler.
"""

from __future__ import annotations

import signal
from types import FrameType

STOPS = frozenset({signal.SIGTERM, signal.SIGINT})
HELD = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_received: list[int] = []
_holding: list[bool] = []  # [True] once `hold()` ran: `release()` then has something to give back


def hold() -> None:
    """Record SIGTERM, SIGINT and SIGHUP from now on instead of acting on them; unblock them (`up --detach`)."""
    for number in HELD:
        signal.signal(number, _record)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD)
    _holding[:] = [True]


def hold_again() -> None:
    """Record them again once the loop's own handlers are gone (the reconciler's last writes), if they were held."""
    if _holding:
        hold()


def release() -> None:
    """Give the signals back their usual actions, then act on any recorded meanwhile (not running `up`)."""
    if not _holding:
        return
    _holding.clear()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    received = list(dict.fromkeys(_received))
    _received.clear()
    for number in received:
        signal.raise_signal(number)


def stop_received() -> bool:
    """True once SIGTERM or SIGINT has been recorded: the reconciler is to start nothing and exit."""
    return any(number in STOPS for number in _received)


def _record(number: int, frame: FrameType | None) -> None:
    _received.append(number)
