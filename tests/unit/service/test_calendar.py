"""Cron in other schedulers' calendars (sentinel/service/export/calendar.py): launchd's StartCalendarInterval entries
start a job at exactly the minutes sentinel's cron does; systemd's OnCalendar= text for each kind of field."""

from __future__ import annotations

import datetime as dt

import pytest

from sentinel.schedule.cron import CronRule, cron_fields
from sentinel.service.export.calendar import at_calendar, calendar_intervals, on_calendar

START = dt.datetime(2026, 1, 26)  # a Monday, five days before a month ends
MINUTES = 9 * 24 * 60


def _launchd_minutes(entries: list[dict[str, int]]) -> set[dt.datetime]:
    """The minutes of the window launchd starts the job at: any entry whose keys all match (absent: any)."""
    found = set()
    for step in range(MINUTES):
        moment = START + dt.timedelta(minutes=step)
        values = {"Month": moment.month, "Day": moment.day, "Weekday": (moment.weekday() + 1) % 7,
                  "Hour": moment.hour, "Minute": moment.minute}
        if any(all(values[key] == value for key, value in entry.items()) for entry in entries):
            found.add(moment)
    return found


def _cron_minutes(expression: str) -> set[dt.datetime]:
    from croniter import croniter

    walls = croniter(CronRule.parse(expression).expression, START - dt.timedelta(seconds=1))
    found = set()
    while (moment := walls.get_next(dt.datetime)) < START + dt.timedelta(minutes=MINUTES):
        found.add(moment)
    return found


@pytest.mark.parametrize("expression", [
    "30 2 * * 1-5", "*/15 9-10 * * *", "0 0 1,31 * *", "0 12 1 * 0", "@daily", "0 */6 * 2 *", "5 4 * * 7",
])
def test_start_calendar_intervals_start_when_cron_would(expression: str) -> None:
    entries = calendar_intervals(cron_fields(expression))
    assert entries is not None
    assert _launchd_minutes(entries) == _cron_minutes(expression)


def test_a_schedule_needing_too_many_entries_has_none() -> None:
    assert calendar_intervals(cron_fields("0,30 0-22 1-20 * *")) is None


@pytest.mark.parametrize(("expression", "timezone", "expected"), [
    ("30 2 * * 1-5", "Europe/Paris", ["Mon,Tue,Wed,Thu,Fri *-*-* 02:30:00 Europe/Paris"]),
    ("*/5 * * * *", None, ["*-*-* *:00/5:00"]),
    ("0 0 1,15 * 0", None, ["*-*-01,15 00:00:00", "Sun *-*-* 00:00:00"]),
    ("15 30 8 * 3 *", "UTC", ["*-03-* 08:30:15 UTC"]),
    ("@hourly", None, ["*-*-* *:00:00"]),
    ("0 9,17 * * *", None, ["*-*-* 09,17:00:00"]),
])
def test_on_calendar(expression: str, timezone: str | None, expected: list[str]) -> None:
    assert on_calendar(cron_fields(expression), timezone) == expected


def test_plain_and_special_fields() -> None:
    assert cron_fields("0 0 L * *").plain is False
    assert cron_fields("0 0 * * 1#2").plain is False
    assert cron_fields("0 0 * * 7").weekdays == (0,)
    assert cron_fields("* * * * * *").seconds == tuple(range(60))


def test_at_in_its_zone_or_utc() -> None:
    assert at_calendar(dt.datetime(2027, 5, 1, 8, 0), "Asia/Tokyo") == "2027-05-01 08:00:00 Asia/Tokyo"
    assert at_calendar(dt.datetime(2027, 5, 1, 8, 0), None) == "2027-05-01 08:00:00"
    aware = dt.datetime(2027, 5, 1, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert at_calendar(aware, None) == "2027-05-01 06:00:00 UTC"
