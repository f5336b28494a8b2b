"""When a job runs next, which trigger it missed, and whether a trigger is due (issue #5,
docs/reliability.md#f27-daylight-saving, docs/reliability.md#f28-wall-clock-jumps,
docs/reliability.md#f29-triggers-missed-while-the-reconciler-was-down,
docs/reliability.md#f30-an-early-wake-up-that-fires-twice).

All functions are pure: the caller passes the time (aware datetimes, or monotonic floats for
`every`) and the system's time zone. Instants in and out are aware; results are in UTC.

How the controller uses them, so that a trigger slot fires at most once
(docs/reliability.md#f30-an-early-wake-up-that-fires-twice) and a wall-clock jump causes neither a burst nor a stall
(docs/reliability.md#f28-wall-clock-jumps):

- at start-up: `catch_up(...)` → one catch-up run (the latest missed trigger) for
  `on_missed: run-once`, however many triggers were missed, and none for `skip`; then
  `next_at = next_run(schedule, now)`. The two
  windows, (last run, now] and (now, …), never overlap, so no trigger is counted twice.
- sleep until `is_due(next_at, now)`; fire the slot `next_at`; then
  `next_at = after_firing(schedule, next_at, now)`, which is strictly after the slot even if the
  timer woke a little early, and after `now`, so a clock that jumped forward gives one run, not
  one per skipped slot. Record the slot (not the start time) as the run's `last_run`.
- when the wall clock is seen to have gone back (by more than a minute), recompute
  `next_at = next_run(schedule, t)` where `t` is the last look at the clock, on the new timeline:
  jobs go on from the new time at once instead of waiting for the old one.
- `every` keeps its cadence on the monotonic clock with `next_every`; its wall-clock time
  (`after + interval`) is for display, and for noticing a machine that slept through a run.
"""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

from sentinel.config.models import OnMissed, Schedule
from sentinel.schedule.cron import CronRule, cron_last, cron_next
from sentinel.schedule.localtime import place


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def schedule_zone(schedule: Schedule, system_tz: tzinfo) -> tzinfo:
    """The zone a schedule's cron (or naive `at`) is read in: its `timezone`, else the system's."""
    return system_tz if schedule.timezone is None else zoneinfo.ZoneInfo(schedule.timezone)


def at_instant(schedule: Schedule, system_tz: tzinfo) -> datetime:
    """A one-shot schedule's `at` in UTC; a naive `at` is read in the schedule's zone.

    A naive time skipped by spring-forward means the moment of the jump; a repeated one, its first showing.
    """
    if schedule.at is None:
        raise ValueError("schedule has no `at`")
    if schedule.at.tzinfo is not None and schedule.at.utcoffset() is not None:
        return schedule.at.astimezone(UTC)
    return place(schedule.at, schedule_zone(schedule, system_tz)).first


def next_run(schedule: Schedule, after: datetime, *, system_tz: tzinfo) -> datetime | None:
    """The first trigger strictly after `after` (aware), in UTC; None when there is none.

    - cron: in `schedule.timezone`, else `system_tz`; DST policy in `sentinel.schedule.cron`
      (hourly schedules follow the clock; others run a skipped time once at the jump and a repeated
      time once, at its first showing). None for an expression that never matches (Feb 30).
    - every: `after + every`, for display; the real cadence is `next_every` on the monotonic clock.
    - at: the `at` instant if it is after `after`, else None (it never comes again).
    """
    after = _utc(after, "after")
    if schedule.cron is not None:
        return cron_next(CronRule.parse(schedule.cron), schedule_zone(schedule, system_tz), after)
    if schedule.every is not None:
        return after + timedelta(seconds=schedule.every)
    at = at_instant(schedule, system_tz)
    return at if at > after else None


def after_firing(schedule: Schedule, slot: datetime, now: datetime, *, system_tz: tzinfo) -> datetime | None:
    """The next trigger after firing `slot` at `now`: strictly after both (no slot twice, no catch-up burst)."""
    return next_run(schedule, max(_utc(slot, "slot"), _utc(now, "now")), system_tz=system_tz)


def missed_trigger(
    schedule: Schedule, last_run: datetime | None, created: datetime, now: datetime, *, system_tz: tzinfo
) -> datetime | None:
    """The most recent trigger after max(last_run, created) and at or before `now`, if any (UTC).

    The caller runs one catch-up for it under `on_missed: run-once`, however many were missed, and
    none under `skip`. `now` itself is included so that `next_run(schedule, now)` takes over with no
    gap. `at`: the `at` if it is not in the future and the job never ran (even if it was before
    `created`: on_missed decides), else None. `every`: wall-clock slots `base + k * every` (k ≥ 1)
    counted from base = max(last_run, created).
    """
    now = _utc(now, "now")
    base = _utc(created, "created")
    if last_run is not None:
        base = max(base, _utc(last_run, "last_run"))
    if schedule.at is not None:
        at = at_instant(schedule, system_tz)
        return at if last_run is None and at <= now else None
    if schedule.every is not None:
        interval = timedelta(seconds=schedule.every)
        steps = (now - base) // interval
        return base + steps * interval if steps >= 1 else None
    if schedule.cron is None:
        raise ValueError("schedule has no trigger")
    last = cron_last(CronRule.parse(schedule.cron), schedule_zone(schedule, system_tz), now)
    return last if last is not None and last > base else None


def catch_up(
    schedule: Schedule,
    on_missed: OnMissed,
    last_run: datetime | None,
    created: datetime,
    now: datetime,
    *,
    system_tz: tzinfo,
) -> datetime | None:
    """The one missed trigger to run at start-up: `missed_trigger` under `run-once`, None under `skip`."""
    if on_missed == "skip":
        return None
    return missed_trigger(schedule, last_run, created, now, system_tz=system_tz)


def next_every(anchor: float, interval: float, now: float) -> float:
    """On the monotonic clock: the first `anchor + k * interval` (k ≥ 1) strictly after `now`.

    Always counted from the anchor, never `now + interval`, so wake-up latency never accumulates
    (no drift); pass the slot just fired as `now` and the result is the following slot.
    """
    if not (math.isfinite(interval) and interval > 0):
        raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
    steps = max(1, math.floor((now - anchor) / interval) + 1)
    while anchor + steps * interval <= now:
        steps += 1
    while steps > 1 and anchor + (steps - 1) * interval > now:
        steps -= 1
    return anchor + steps * interval


def is_due(next_at: datetime, now: datetime, *, early: timedelta = timedelta(0)) -> bool:
    """Whether the trigger `next_at` should fire at `now`, tolerating a timer that wakes up to `early` too soon.

    Firing a slot ahead of time is safe only because the next slot is computed from after the later of
    the slot and `now` (`after_firing`), so an early wake-up cannot make the same slot fire twice.
    """
    return _utc(now, "now") >= _utc(next_at, "next_at") - early
