"""Schedules in other managers' calendar syntax: cron as systemd `OnCalendar=` (systemd.time(7)) and as launchd
`StartCalendarInterval` entries (launchd.plist(5)), a one-time `at` as `OnCalendar=`. Pure; the values each cron
field matches come from sentinel.schedule.cron."""

from __future__ import annotations

import datetime as dt
import itertools

from sentinel.schedule.cron import CronFields

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
MAX_CALENDAR_ENTRIES = 500  # StartCalendarInterval dictionaries: beyond this, a schedule is left out with a note


def _numbers(values: tuple[int, ...] | None, highest: int, width: int = 2) -> str:
    """`*`, `05`, `01,15`, or `00/5` for a step that runs to the end of the field's range."""
    if values is None:
        return "*"
    steps = {later - earlier for earlier, later in itertools.pairwise(values)}
    if len(values) > 2 and len(steps) == 1:
        step = steps.pop()
        if values[-1] + step > highest:
            return f"{values[0]:0{width}d}/{step}"
    return ",".join(f"{value:0{width}d}" for value in values)


def on_calendar(fields: CronFields, timezone: str | None) -> list[str]:
    """The `OnCalendar=` values of a cron schedule (plain fields: no `L` or `#`). When both day of month and day of
    week are restricted, cron runs on either: two values, as systemd requires both of one value to match."""
    time = ":".join((_numbers(fields.hours, 23), _numbers(fields.minutes, 59), _numbers(fields.seconds, 59)))
    month = _numbers(fields.months, 12)
    zone = f" {timezone}" if timezone else ""
    weekdays = ",".join(WEEKDAYS[day] for day in fields.weekdays) if fields.weekdays is not None else None
    if fields.days is not None and weekdays is not None:
        return [f"*-{month}-{_numbers(fields.days, 31)} {time}{zone}", f"{weekdays} *-{month}-* {time}{zone}"]
    date = f"*-{month}-{_numbers(fields.days, 31)}"
    return [f"{weekdays} {date} {time}{zone}" if weekdays else f"{date} {time}{zone}"]


def at_calendar(moment: dt.datetime, timezone: str | None) -> str:
    """The `OnCalendar=` value of a one-time run: an aware time in UTC, a naive one in its zone (or the system's)."""
    if moment.tzinfo is not None:
        return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
    return f"{moment:%Y-%m-%d %H:%M:%S}" + (f" {timezone}" if timezone else "")


def calendar_intervals(fields: CronFields) -> list[dict[str, int]] | None:
    """launchd `StartCalendarInterval` dictionaries (Month, Day, Weekday, Hour, Minute; an absent key matches every
    value) for a cron schedule; None when it needs more than MAX_CALENDAR_ENTRIES of them. When both day of month
    and day of week are restricted, cron runs on either: entries for each, never both keys in one."""
    days: list[tuple[str, tuple[int, ...] | None]] = [("Day", fields.days), ("Weekday", fields.weekdays)]
    alternatives = [[days[0]], [days[1]]] if fields.days is not None and fields.weekdays is not None else [days]
    entries: list[dict[str, int]] = []
    for day_keys in alternatives:
        keyed = [(key, values) for key, values in
                 (("Month", fields.months), *day_keys, ("Hour", fields.hours), ("Minute", fields.minutes))
                 if values is not None]
        names = [key for key, _ in keyed]
        for combination in itertools.product(*(values for _, values in keyed)):
            entries.append(dict(zip(names, combination, strict=True)))
            if len(entries) > MAX_CALENDAR_ENTRIES:
                return None
    return entries
