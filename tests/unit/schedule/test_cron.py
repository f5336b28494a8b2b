"""Cron triggers: sentinel's 5/6-field form and macros, time zones, and the DST policy
(docs/reliability.md#f27-daylight-saving).

Every expected value is an exact UTC instant. DST days used: Europe/Paris 2026-03-29 (02:00 CET →
03:00 CEST at 01:00Z) and 2026-10-25 (03:00 CEST → 02:00 CET at 01:00Z); America/New_York
2026-03-08 (02:00 EST → 03:00 EDT at 07:00Z) and 2026-11-01 (02:00 EDT → 01:00 EST at 06:00Z).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sentinel.config.models import Schedule
from sentinel.schedule import after_firing, next_run
from sentinel.schedule.cron import CronRule

MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)  # a Friday


def z(year: int, month: int, day: int, *clock: int) -> datetime:
    """A UTC instant: z(2026, 3, 29, 1, 30) is 2026-03-29T01:30:00Z."""
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def triggers(schedule: Schedule, after: datetime, count: int, system_tz: timezone | ZoneInfo = UTC) -> list[datetime]:
    found: list[datetime] = []
    moment: datetime | None = after
    for _ in range(count):
        assert moment is not None
        moment = next_run(schedule, moment, system_tz=system_tz)
        assert moment is not None
        found.append(moment)
    return found


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        pytest.param("*/15 * * * *", MAY_1, z(2026, 5, 1, 0, 15), id="5-field-step"),
        pytest.param("0 3 * * *", MAY_1, z(2026, 5, 1, 3), id="5-field-daily"),
        pytest.param("30 4 1 * *", MAY_1, z(2026, 5, 1, 4, 30), id="5-field-monthly"),
        pytest.param("0 0 * * 1", MAY_1, z(2026, 5, 4), id="5-field-weekday"),
        pytest.param("0 0 1,15 * 1", MAY_1, z(2026, 5, 4), id="5-field-day-or-weekday-like-vixie"),
        pytest.param("0 3 * * *", z(2026, 5, 1, 3), z(2026, 5, 2, 3), id="strictly-after-a-trigger"),
        pytest.param("0 3 * * *", z(2026, 5, 1, 3) - timedelta(microseconds=1), z(2026, 5, 1, 3), id="1us-before"),
        pytest.param("0 0 12 * * *", MAY_1, z(2026, 5, 1, 12), id="6-field-seconds-first"),
        pytest.param("15 30 2 * * *", MAY_1, z(2026, 5, 1, 2, 30, 15), id="6-field-second-minute-hour"),
        pytest.param("30 * * * * *", MAY_1, z(2026, 5, 1, 0, 0, 30), id="6-field-every-minute-at-30s"),
        pytest.param("*/10 * * * * *", z(2026, 5, 1, 0, 0, 10), z(2026, 5, 1, 0, 0, 20), id="6-field-every-10s"),
        pytest.param("@daily", MAY_1, z(2026, 5, 2), id="macro-daily"),
        pytest.param("@midnight", MAY_1, z(2026, 5, 2), id="macro-midnight"),
        pytest.param("@hourly", MAY_1, z(2026, 5, 1, 1), id="macro-hourly"),
        pytest.param("@weekly", MAY_1, z(2026, 5, 3), id="macro-weekly-sunday"),
        pytest.param("@monthly", MAY_1, z(2026, 6, 1), id="macro-monthly"),
        pytest.param("@yearly", MAY_1, z(2027, 1, 1), id="macro-yearly"),
        pytest.param("@annually", MAY_1, z(2027, 1, 1), id="macro-annually"),
        pytest.param("@DAILY", MAY_1, z(2026, 5, 2), id="macro-any-case"),
        pytest.param("0 0 29 2 *", MAY_1, z(2028, 2, 29), id="leap-day"),
        pytest.param("0 0 30 2 *", MAY_1, None, id="never-matches-is-none"),
    ],
)
def test_cron_in_utc(cron: str, after: datetime, expected: datetime | None) -> None:
    assert next_run(Schedule(cron=cron, timezone="UTC"), after, system_tz=UTC) == expected


@pytest.mark.parametrize(
    ("cron", "timezone_name", "system_tz", "after", "expected"),
    [
        pytest.param("0 3 * * *", "Europe/Paris", UTC, MAY_1, z(2026, 5, 1, 1), id="paris-summer"),
        pytest.param("0 3 * * *", "Europe/Paris", UTC, z(2026, 1, 15), z(2026, 1, 15, 2), id="paris-winter"),
        pytest.param("0 3 * * *", "America/New_York", UTC, MAY_1, z(2026, 5, 1, 7), id="new-york-summer"),
        pytest.param("0 3 * * *", "Asia/Kolkata", UTC, MAY_1, z(2026, 5, 1, 21, 30), id="half-hour-offset"),
        pytest.param("0 3 * * *", None, ZoneInfo("Asia/Tokyo"), MAY_1, z(2026, 5, 1, 18), id="system-zone-default"),
        pytest.param("0 3 * * *", None, timezone(timedelta(hours=-3)), MAY_1, z(2026, 5, 1, 6), id="system-fixed"),
        pytest.param("0 3 * * *", "UTC", ZoneInfo("Asia/Tokyo"), MAY_1, z(2026, 5, 1, 3), id="timezone-beats-system"),
        pytest.param(
            "0 3 * * *",
            "Europe/Paris",
            UTC,
            datetime(2026, 5, 1, 2, tzinfo=ZoneInfo("Europe/Paris")),
            z(2026, 5, 1, 1),
            id="after-in-another-zone",
        ),
    ],
)
def test_cron_time_zones(
    cron: str, timezone_name: str | None, system_tz: ZoneInfo | timezone, after: datetime, expected: datetime
) -> None:
    found = next_run(Schedule(cron=cron, timezone=timezone_name), after, system_tz=system_tz)
    assert found == expected
    assert found is not None and found.tzinfo is UTC


PARIS, NEW_YORK = "Europe/Paris", "America/New_York"


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"),
    [
        # Spring forward, Paris: 02:00-02:59 does not exist; the jump is at 01:00Z (03:00 CEST).
        pytest.param("30 2 * * *", PARIS, z(2026, 3, 28, 23), [z(2026, 3, 29, 1), z(2026, 3, 30, 0, 30)],
                     id="paris-spring-skipped-time-runs-once-at-the-jump"),
        pytest.param("*/15 2 * * *", PARIS, z(2026, 3, 28, 23), [z(2026, 3, 29, 1), z(2026, 3, 30, 0)],
                     id="paris-spring-several-skipped-times-collapse-into-one"),
        pytest.param("0 2,3 * * *", PARIS, z(2026, 3, 28, 23), [z(2026, 3, 29, 1), z(2026, 3, 30, 0)],
                     id="paris-spring-skipped-and-03h-are-one-run"),
        pytest.param("* * * * *", PARIS, z(2026, 3, 29, 0, 58, 30), [z(2026, 3, 29, 0, 59), z(2026, 3, 29, 1),
                     z(2026, 3, 29, 1, 1)], id="paris-spring-every-minute-no-gap"),
        pytest.param("30 * * * *", PARIS, z(2026, 3, 29, 0, 15), [z(2026, 3, 29, 0, 30), z(2026, 3, 29, 1, 30)],
                     id="paris-spring-hourly-skips-the-missing-half-hour"),
        pytest.param("0 4 * * *", PARIS, z(2026, 3, 28, 23), [z(2026, 3, 29, 2)], id="paris-spring-after-the-jump"),
        # Fall back, Paris: 02:00-02:59 happens twice (CEST from 00:00Z, CET from 01:00Z).
        pytest.param("30 2 * * *", PARIS, z(2026, 10, 24, 23), [z(2026, 10, 25, 0, 30), z(2026, 10, 26, 1, 30)],
                     id="paris-fall-repeated-time-runs-once"),
        pytest.param("30 2 * * *", PARIS, z(2026, 10, 25, 1), [z(2026, 10, 26, 1, 30)],
                     id="paris-fall-inside-the-repeat-does-not-rerun"),
        pytest.param("0 2 * * *", PARIS, z(2026, 10, 24, 23, 30), [z(2026, 10, 25, 0), z(2026, 10, 26, 1)],
                     id="paris-fall-start-of-repeated-hour-once"),
        pytest.param("* * * * *", PARIS, z(2026, 10, 25, 0, 58, 30), [z(2026, 10, 25, 0, 59), z(2026, 10, 25, 1),
                     z(2026, 10, 25, 1, 1)], id="paris-fall-every-minute-no-stall"),
        pytest.param("0 * * * *", PARIS, z(2026, 10, 24, 23, 30), [z(2026, 10, 25, 0), z(2026, 10, 25, 1),
                     z(2026, 10, 25, 2)], id="paris-fall-hourly-runs-each-real-hour"),
        pytest.param("*/30 * * * *", PARIS, z(2026, 10, 25, 0, 15), [z(2026, 10, 25, 0, 30), z(2026, 10, 25, 1),
                     z(2026, 10, 25, 1, 30)], id="paris-fall-half-hourly-keeps-cadence"),
        # Spring forward, New York: 02:00-02:59 does not exist; the jump is at 07:00Z (03:00 EDT).
        pytest.param("30 2 * * *", NEW_YORK, z(2026, 3, 8, 5), [z(2026, 3, 8, 7), z(2026, 3, 9, 6, 30)],
                     id="new-york-spring-skipped-time-runs-once-at-the-jump"),
        pytest.param("0 30 2 * * *", NEW_YORK, z(2026, 3, 8, 5), [z(2026, 3, 8, 7), z(2026, 3, 9, 6, 30)],
                     id="new-york-spring-6-field"),
        pytest.param("* * * * *", NEW_YORK, z(2026, 3, 8, 6, 58, 30), [z(2026, 3, 8, 6, 59), z(2026, 3, 8, 7),
                     z(2026, 3, 8, 7, 1)], id="new-york-spring-every-minute-no-gap"),
        # Fall back, New York: 01:00-01:59 happens twice (EDT from 05:00Z, EST from 06:00Z).
        pytest.param("30 1 * * *", NEW_YORK, z(2026, 11, 1, 4), [z(2026, 11, 1, 5, 30), z(2026, 11, 2, 6, 30)],
                     id="new-york-fall-repeated-time-runs-once"),
        pytest.param("30 1 * * *", NEW_YORK, z(2026, 11, 1, 6), [z(2026, 11, 2, 6, 30)],
                     id="new-york-fall-inside-the-repeat-does-not-rerun"),
        pytest.param("* * * * *", NEW_YORK, z(2026, 11, 1, 5, 58, 30), [z(2026, 11, 1, 5, 59), z(2026, 11, 1, 6),
                     z(2026, 11, 1, 6, 1)], id="new-york-fall-every-minute-no-stall"),
        pytest.param("0 * * * *", NEW_YORK, z(2026, 11, 1, 4, 30), [z(2026, 11, 1, 5), z(2026, 11, 1, 6),
                     z(2026, 11, 1, 7)], id="new-york-fall-hourly-runs-each-real-hour"),
        pytest.param("* * * * * *", NEW_YORK, z(2026, 11, 1, 5, 59, 58), [z(2026, 11, 1, 5, 59, 59),
                     z(2026, 11, 1, 6), z(2026, 11, 1, 6, 0, 1)], id="new-york-fall-every-second"),
    ],
)
def test_dst_transitions(cron: str, zone: str, after: datetime, expected: list[datetime]) -> None:
    assert triggers(Schedule(cron=cron, timezone=zone), after, len(expected)) == expected


SPRING_2025 = (datetime(2025, 3, 9, 1, 59, 50), datetime(2025, 3, 9, 3, 0, 40))  # EST → EDT, 50 s
FALL_2025 = (datetime(2025, 11, 2, 1, 59, 50), datetime(2025, 11, 2, 1, 40, fold=1))  # EDT → EST, 40 min 10 s


@pytest.mark.parametrize(
    ("window", "cron", "runs", "first"),
    [
        pytest.param(SPRING_2025, "30 2 * * *", 1, z(2025, 3, 9, 7), id="spring-skipped-time-once-at-0300-edt"),
        pytest.param(SPRING_2025, "* * * * *", 1, z(2025, 3, 9, 7), id="spring-minute-job-once-at-0300-edt"),
        pytest.param(FALL_2025, "30 1 * * *", 0, None, id="fall-0130-does-not-run-again-at-0130-est"),
        pytest.param(FALL_2025, "* * * * *", 41, z(2025, 11, 2, 6), id="fall-minute-job-10s-later-at-0100-est"),
    ],
)
def test_f27_scenario(window: tuple[datetime, datetime], cron: str, runs: int, first: datetime | None) -> None:
    """docs/reliability.md#f27-daylight-saving, America/New_York as the system zone: what a controller fires between two
    wall-clock times."""
    system = ZoneInfo(NEW_YORK)
    begin, finish = (moment.replace(tzinfo=system).astimezone(UTC) for moment in window)
    schedule = Schedule(cron=cron)
    fired: list[datetime] = []
    slot = next_run(schedule, begin, system_tz=system)
    while slot is not None and slot <= finish:
        fired.append(slot)
        slot = after_firing(schedule, slot, slot, system_tz=system)
    assert len(fired) == runs
    assert fired[:1] == ([] if first is None else [first])
    assert len(set(fired)) == len(fired)


@pytest.mark.parametrize(
    ("text", "expression", "hourly"),
    [
        pytest.param("* * * * *", "* * * * *", True, id="every-minute-is-hourly"),
        pytest.param("*/5 * * * *", "*/5 * * * *", True, id="step-minutes-is-hourly"),
        pytest.param("0 0-23 * * *", "0 0-23 * * *", True, id="all-hours-spelled-out"),
        pytest.param("0 */2 * * *", "0 */2 * * *", False, id="every-other-hour-is-not"),
        pytest.param("30 2 * * *", "30 2 * * *", False, id="fixed-time"),
        pytest.param("5 0 12 * * *", "0 12 * * * 5", False, id="seconds-move-last-for-croniter"),
        pytest.param("  0   3 *  * * ", "0 3 * * *", False, id="spaces-collapse"),
        pytest.param("@hourly", "0 * * * *", True, id="macro-hourly"),
        pytest.param("@weekly", "0 0 * * 0", False, id="macro-weekly"),
    ],
)
def test_parse(text: str, expression: str, hourly: bool) -> None:
    assert CronRule.parse(text) == CronRule(expression, hourly)


def test_parse_rejects_a_wrong_field_count() -> None:
    with pytest.raises(ValueError, match="has 4 fields"):
        CronRule.parse("* * * *")
