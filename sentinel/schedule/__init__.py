"""Scheduled jobs' time arithmetic (docs/contract.md#the-config-language `schedule`, issue #5): pure functions, no
clock, no I/O.

Time is always passed in: wall-clock instants as aware UTC datetimes, the monotonic clock as floats,
and the system's time zone as a `tzinfo` argument. The controller owns the clock and the sleeping.
"""

from __future__ import annotations

from sentinel.schedule.next_run import (
    after_firing,
    at_instant,
    catch_up,
    is_due,
    missed_trigger,
    next_every,
    next_run,
    schedule_zone,
)

__all__ = [
    "after_firing",
    "at_instant",
    "catch_up",
    "is_due",
    "missed_trigger",
    "next_every",
    "next_run",
    "schedule_zone",
]
