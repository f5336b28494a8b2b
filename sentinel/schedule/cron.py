"""Cron expressions in sentinel's form, and their triggers on the UTC timeline (DST policy:
docs/reliability.md#f27-daylight-saving).

Sentinel's cron (docs/contract.md#the-config-language, `sentinel.config.validators.check_cron`): 5 fields (minute hour
day-of-month month day-of-week), or 6 with SECONDS FIRST, or a macro such as `@daily`. croniter's
own 6-field form puts seconds last, so `CronRule.parse` moves the seconds field to the end.

croniter enumerates matching wall-clock times (naive, no zone); `sentinel.schedule.localtime`
places them on the timeline. Daylight-saving policy, as Debian cron does it (healthchecks' blog
"How Debian Cron Handles DST Transitions"):

- An *hourly* schedule (its hour field matches all 24 hours: `* * * * *`, `*/5 * * * *`, `@hourly`)
  follows the clock: minutes skipped by spring-forward simply do not happen, and the repeated hour
  at fall-back runs again, so `* * * * *` fires every 60 s straight through both changes.
- Any other schedule fires once per wall-clock time: a time in the skipped hour (`30 2 * * *` in
  Europe/Paris on 2026-03-29) runs once, at the jump (03:00 CEST); several skipped times collapse
  into that one run. A time in the repeated hour (`30 2 * * *` on 2026-10-25) runs once, at its
  first showing (02:30 CEST), not again at 02:30 CET.

croniter 7 with an aware start does the same at spring-forward, but at fall-back runs a fixed-time
job twice (02:30 CEST and 02:30 CET); this module is what corrects that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache

from sentinel.schedule.localtime import highest_wall_until, lowest_wall_from, place

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SECOND = timedelta(seconds=1)
_HOURS = frozenset(range(24))


@dataclass(frozen=True, slots=True)
class CronRule:
    """A parsed cron schedule: croniter's expression (seconds last) and whether it fires every hour."""

    expression: str
    hourly: bool

    @classmethod
    def parse(cls, text: str) -> CronRule:
        """Parse sentinel's form (5 fields, 6 with seconds first, or a macro); ValueError if invalid."""
        return _parse(text)


@lru_cache(maxsize=256)
def _parse(text: str) -> CronRule:
    """CronRule.parse, remembered: croniter's expansion is the slow part of `cron_next`."""
    fields = text.split()
    if len(fields) == 1 and fields[0].lower() in MACROS:
        fields = MACROS[fields[0].lower()].split()
    if len(fields) == 6:
        fields = [*fields[1:], fields[0]]
    elif len(fields) != 5:
        raise ValueError(f"cron expression {text!r} has {len(fields)} fields; expected 5, or 6 with seconds first")
    expression = " ".join(fields)
    from croniter import croniter  # here, not at the top: a reconciler without cron jobs never loads it (~3 MB)

    hours = croniter.expand(expression)[0][1]
    return CronRule(expression, hourly="*" in hours or set(hours) >= _HOURS)


def _whole_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def cron_next(rule: CronRule, zone: tzinfo, after: datetime) -> datetime | None:
    """The first trigger strictly after the aware instant `after`, in UTC; None if there is none."""
    from croniter import CroniterBadDateError, croniter

    walls = croniter(rule.expression, _whole_second(lowest_wall_from(zone, after)) - _SECOND)
    best: datetime | None = None
    while True:
        try:
            spot = place(walls.get_next(datetime), zone)
        except CroniterBadDateError:
            return best
        fired = spot.instants(hourly=rule.hourly)
        later = [instant for instant in fired if instant > after]
        if later:
            best = min(later) if best is None else min(best, *later)
        # `first` never decreases over later wall times, and no later wall time fires before it.
        if fired and spot.first > after:
            return best


def cron_last(rule: CronRule, zone: tzinfo, until: datetime) -> datetime | None:
    """The last trigger at or before the aware instant `until`, in UTC; None if there is none."""
    from croniter import CroniterBadDateError, croniter

    walls = croniter(rule.expression, _whole_second(highest_wall_until(zone, until)) + 2 * _SECOND)
    best: datetime | None = None
    while True:
        try:
            spot = place(walls.get_prev(datetime), zone)
        except CroniterBadDateError:
            return best
        fired = spot.instants(hourly=rule.hourly)
        earlier = [instant for instant in fired if instant <= until]
        if earlier:
            best = max(earlier) if best is None else max(best, *earlier)
        # The last trigger of a wall time never increases over earlier wall times.
        if fired and fired[-1] <= until:
            return best


@dataclass(frozen=True, slots=True, kw_only=True)
class CronFields:
    """A cron expression's fields as the values each matches (None: every value), for other schedulers' calendar
    syntax (sentinel export). `plain` is False when a field uses `L` or `#`, which have no list of values."""

    seconds: tuple[int, ...]
    minutes: tuple[int, ...] | None
    hours: tuple[int, ...] | None
    days: tuple[int, ...] | None  # day of month, 1-31
    months: tuple[int, ...] | None
    weekdays: tuple[int, ...] | None  # 0 = Sunday … 6 = Saturday
    plain: bool


def cron_fields(text: str) -> CronFields:
    """The fields of sentinel's cron expression `text` (a macro, 5 fields, or 6 with seconds first)."""
    from croniter import croniter

    expression = CronRule.parse(text).expression
    expanded, nth_weekdays = croniter.expand(expression)
    plain = not nth_weekdays and all(isinstance(value, int) or value == "*" for field in expanded for value in field)

    def values(field: Sequence[int | str], modulo: int = 100) -> tuple[int, ...] | None:
        if "*" in field or not plain:
            return None
        return tuple(sorted({int(value) % modulo for value in field}))

    seconds = values(expanded[5]) if len(expanded) > 5 else (0,)
    return CronFields(seconds=seconds or tuple(range(60)), minutes=values(expanded[0]), hours=values(expanded[1]),
                      days=values(expanded[2]), months=values(expanded[3]), weekdays=values(expanded[4], 7),
                      plain=plain)
