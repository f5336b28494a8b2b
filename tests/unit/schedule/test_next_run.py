"""One-shot `at`, `every` on the monotonic clock (no drift), missed runs
(docs/reliability.md#f29-triggers-missed-while-the-reconciler-was-down), and firing each slot once
(docs/reliability.md#f28-wall-clock-jumps, docs/reliability.md#f30-an-early-wake-up-that-fires-twice)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import pytest

from sentinel.config.models import OnMissed, Schedule
from sentinel.schedule import after_firing, at_instant, catch_up, is_due, missed_trigger, next_every, next_run

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def z(year: int, month: int, day: int, *clock: int) -> datetime:
    """A UTC instant: z(2026, 3, 29, 1, 30) is 2026-03-29T01:30:00Z."""
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def sched(**keys: Any) -> Schedule:
    return Schedule.model_validate(keys)


# --- at ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "after", "expected"),
    [
        pytest.param({"at": "2026-12-01T03:00:00Z"}, T0, z(2026, 12, 1, 3), id="future-at"),
        pytest.param({"at": "2026-12-01T03:00:00Z"}, z(2026, 12, 1, 3), None, id="at-equal-to-after-is-gone"),
        pytest.param({"at": "2026-12-01T03:00:00Z"}, z(2027, 1, 1), None, id="past-at-never-again"),
        pytest.param({"at": "2026-12-01T03:00:00+01:00"}, T0, z(2026, 12, 1, 2), id="offset-at-to-utc"),
        pytest.param({"at": "2026-12-01T03:00:00", "timezone": "Europe/Paris"}, T0, z(2026, 12, 1, 2),
                     id="naive-at-in-timezone"),
        pytest.param({"at": "2026-03-29T02:30:00", "timezone": "Europe/Paris"}, T0.replace(month=1), z(2026, 3, 29, 1),
                     id="naive-at-in-skipped-hour-runs-at-the-jump"),
        pytest.param({"at": "2026-10-25T02:30:00", "timezone": "Europe/Paris"}, T0, z(2026, 10, 25, 0, 30),
                     id="naive-at-in-repeated-hour-first-showing"),
    ],
)
def test_at_runs_once(keys: dict[str, str], after: datetime, expected: datetime | None) -> None:
    assert next_run(sched(**keys), after, system_tz=UTC) == expected


def test_naive_at_uses_the_system_zone() -> None:
    from zoneinfo import ZoneInfo

    assert at_instant(sched(at="2026-12-01T03:00:00"), ZoneInfo("Asia/Tokyo")) == z(2026, 11, 30, 18)


def test_at_instant_needs_an_at() -> None:
    with pytest.raises(ValueError, match="no `at`"):
        at_instant(sched(every="1m"), UTC)


# --- every ------------------------------------------------------------------------------------


def test_every_wall_clock_next_run_is_for_display() -> None:
    assert next_run(sched(every="15m"), T0, system_tz=UTC) == T0 + timedelta(minutes=15)


@pytest.mark.parametrize(
    ("anchor", "interval", "now", "expected"),
    [
        pytest.param(100.0, 10.0, 100.0, 110.0, id="at-anchor-is-first-slot"),
        pytest.param(100.0, 10.0, 50.0, 110.0, id="before-anchor-is-first-slot"),
        pytest.param(100.0, 10.0, 109.999, 110.0, id="woke-early-same-slot-not-skipped"),
        pytest.param(100.0, 10.0, 110.0, 120.0, id="at-slot-is-the-following-slot"),
        pytest.param(100.0, 10.0, 113.7, 120.0, id="late-wake-keeps-the-grid"),
        pytest.param(100.0, 10.0, 1_000_005.0, 1_000_010.0, id="long-sleep-skips-to-grid"),
        pytest.param(0.0, 0.1, 3 * 0.1, 4 * 0.1, id="float-slot-passed-back-gives-the-next"),
        pytest.param(0.0, 0.1, 0.3, 3 * 0.1, id="float-grid-is-anchor-plus-k-steps"),
    ],
)
def test_next_every(anchor: float, interval: float, now: float, expected: float) -> None:
    assert next_every(anchor, interval, now) == expected


@pytest.mark.parametrize("interval", [0.0, -1.0, math.nan, math.inf])
def test_next_every_rejects_bad_intervals(interval: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        next_every(0.0, interval, 1.0)


@pytest.mark.parametrize("interval", [pytest.param(0.1, id="100ms"), pytest.param(900.0, id="15m"),
                                      pytest.param(1 / 3, id="third-second")])
def test_every_has_no_drift_over_10000_steps(interval: float) -> None:
    """Each slot is anchor + k * interval: neither exact wake-ups nor late ones (latency < interval) accumulate."""
    anchor, jitter = 12_345.678, random.Random(5)
    exact = late = anchor
    for k in range(1, 10_001):
        exact = next_every(anchor, interval, exact)
        late = next_every(anchor, interval, late + jitter.uniform(0, interval * 0.9))
        assert exact == late == anchor + k * interval


# --- missed runs (docs/reliability.md#f29-triggers-missed-while-the-reconciler-was-down) ----------

MINUTELY = sched(cron="* * * * *")


@pytest.mark.parametrize(
    ("schedule", "last_run", "created", "now", "expected"),
    [
        pytest.param(MINUTELY, T0, T0 - timedelta(days=1), T0 + timedelta(minutes=5, seconds=30),
                     T0 + timedelta(minutes=5), id="down-5-minutes-one-catch-up"),
        pytest.param(MINUTELY, T0, T0 - timedelta(days=1), T0 + timedelta(minutes=200, seconds=30),
                     T0 + timedelta(minutes=200), id="down-200-minutes-still-one"),
        pytest.param(MINUTELY, T0, T0 - timedelta(days=1), T0 + timedelta(seconds=59), None, id="nothing-missed"),
        pytest.param(MINUTELY, T0, T0 - timedelta(days=1), T0, None, id="the-slot-that-ran-is-not-missed"),
        pytest.param(MINUTELY, T0, T0 - timedelta(days=1), T0 + timedelta(minutes=1), T0 + timedelta(minutes=1),
                     id="trigger-at-now-counts"),
        pytest.param(MINUTELY, None, T0 + timedelta(seconds=30), T0 + timedelta(seconds=45), None,
                     id="created-after-last-trigger"),
        pytest.param(MINUTELY, None, T0 - timedelta(seconds=30), T0 + timedelta(seconds=10), T0,
                     id="never-ran-since-created"),
        pytest.param(MINUTELY, T0 - timedelta(days=9), T0, T0 + timedelta(seconds=10), None,
                     id="created-later-than-last-run-wins"),
        pytest.param(sched(cron="0 3 * * *", timezone="Europe/Paris"), z(2026, 6, 1, 1), z(2026, 1, 1),
                     z(2026, 6, 9, 12), z(2026, 6, 9, 1), id="down-8-days-daily-one"),
        pytest.param(sched(cron="30 2 * * *", timezone="Europe/Paris"), z(2026, 10, 24, 0, 30), z(2026, 1, 1),
                     z(2026, 10, 25, 2), z(2026, 10, 25, 0, 30), id="fall-back-first-showing-not-the-repeat"),
        pytest.param(sched(cron="30 2 * * *", timezone="Europe/Paris"), z(2026, 10, 25, 0, 30), z(2026, 1, 1),
                     z(2026, 10, 25, 2), None, id="fall-back-ran-first-showing"),
        pytest.param(sched(cron="* * * * *", timezone="Europe/Paris"), None, z(2026, 1, 1),
                     z(2026, 10, 25, 1, 0, 30), z(2026, 10, 25, 1), id="fall-back-minutely-in-the-repeat"),
        pytest.param(sched(cron="30 2 * * *", timezone="Europe/Paris"), None, z(2026, 3, 28),
                     z(2026, 3, 29, 1, 30), z(2026, 3, 29, 1), id="spring-skipped-time-at-the-jump"),
        pytest.param(sched(cron="0 0 30 2 *"), None, z(2020, 1, 1), T0, None, id="never-matching-cron"),
        pytest.param(sched(at="2026-05-01T00:00:00Z"), None, T0 - timedelta(days=90), T0, z(2026, 5, 1),
                     id="past-at-never-ran"),
        pytest.param(sched(at="2026-05-01T00:00:00Z"), None, T0 - timedelta(days=1), T0, z(2026, 5, 1),
                     id="past-at-before-created-on-missed-decides"),
        pytest.param(sched(at="2026-05-01T00:00:00Z"), z(2026, 5, 1), T0 - timedelta(days=90), T0, None,
                     id="past-at-that-ran-is-done"),
        pytest.param(sched(at="2026-12-01T00:00:00Z"), None, T0, T0, None, id="future-at-not-missed"),
        pytest.param(sched(every="15m"), T0, T0, T0 + timedelta(minutes=50), T0 + timedelta(minutes=45),
                     id="every-latest-slot"),
        pytest.param(sched(every="15m"), T0, T0, T0 + timedelta(minutes=10), None, id="every-not-yet"),
    ],
)
def test_missed_trigger(
    schedule: Schedule, last_run: datetime | None, created: datetime, now: datetime, expected: datetime | None
) -> None:
    assert missed_trigger(schedule, last_run, created, now, system_tz=UTC) == expected


@pytest.mark.parametrize(
    ("on_missed", "down", "runs"),
    [
        pytest.param("run-once", timedelta(minutes=5), 1, id="run-once-down-5-min"),
        pytest.param("run-once", timedelta(minutes=200), 1, id="run-once-down-200-min-still-one"),
        pytest.param("skip", timedelta(minutes=5), 0, id="skip-down-5-min-none"),
        pytest.param("skip", timedelta(minutes=200), 0, id="skip-down-200-min-none"),
    ],
)
def test_catch_up_then_cadence_resumes(on_missed: OnMissed, down: timedelta, runs: int) -> None:
    """docs/reliability.md#f29-triggers-missed-while-the-reconciler-was-down: at start-up at most one catch-up, then
    next_run continues the normal cadence (no permanent error)."""
    now = T0 + down + timedelta(seconds=20)
    caught = catch_up(MINUTELY, on_missed, T0, T0 - timedelta(days=1), now, system_tz=UTC)
    assert len([caught] if caught else []) == runs
    assert next_run(MINUTELY, now, system_tz=UTC) == T0 + down + timedelta(minutes=1)


# --- firing each slot once (docs/reliability.md#f28-wall-clock-jumps,
# docs/reliability.md#f30-an-early-wake-up-that-fires-twice) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "early", "due"),
    [
        pytest.param(T0, timedelta(0), True, id="on-time"),
        pytest.param(T0 - timedelta(milliseconds=1), timedelta(0), False, id="1ms-early-not-due"),
        pytest.param(T0 - timedelta(milliseconds=1), timedelta(milliseconds=5), True, id="1ms-early-within-tolerance"),
        pytest.param(T0 + timedelta(seconds=3), timedelta(0), True, id="late"),
    ],
)
def test_is_due(now: datetime, early: timedelta, due: bool) -> None:
    assert is_due(T0, now, early=early) is due


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(T0 - timedelta(milliseconds=1), T0 + timedelta(minutes=1), id="early-wake-next-slot-not-same"),
        pytest.param(T0 + timedelta(milliseconds=80), T0 + timedelta(minutes=1), id="normal-latency"),
        pytest.param(T0 + timedelta(hours=3, seconds=30), T0 + timedelta(hours=3, minutes=1),
                     id="forward-jump-no-burst"),
    ],
)
def test_after_firing(now: datetime, expected: datetime) -> None:
    assert after_firing(MINUTELY, T0, now, system_tz=UTC) == expected


def test_backward_jump_recomputed_from_now() -> None:
    """docs/reliability.md#f28-wall-clock-jumps: the clock went back 2 h after a run at 10:00:30; recomputing from now
    gives 08:01, not 10:01."""
    now = T0 - timedelta(hours=2) + timedelta(seconds=30)
    assert next_run(MINUTELY, now, system_tz=UTC) == T0 - timedelta(hours=2) + timedelta(minutes=1)


def test_every_second_60_slots_with_early_and_late_wakes() -> None:
    """docs/reliability.md#f30-an-early-wake-up-that-fires-twice: a timer that wakes up to 5 ms early or 300 ms late
    fires 60 slots, none twice, none missing."""
    schedule, wake = sched(cron="* * * * * *"), random.Random(30)
    early = timedelta(milliseconds=5)
    slot = next_run(schedule, T0, system_tz=UTC)
    now, fired = T0, list[datetime]()
    while slot is not None and len(fired) < 60:
        now = max(now, slot + timedelta(milliseconds=wake.uniform(-5, 300)))
        if not is_due(slot, now, early=early):
            continue
        fired.append(slot)
        slot = after_firing(schedule, slot, now, system_tz=UTC)
    assert fired == [T0 + timedelta(seconds=k) for k in range(1, 61)]


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run(MINUTELY, datetime(2026, 1, 1), system_tz=UTC)


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset (a broken or placeholder zone)."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: next_run(sched(cron="0 3 * * *"), T0, system_tz=_NoOffset()), id="cron-in-zone"),
        pytest.param(lambda: next_run(sched(at="2026-12-01T03:00:00"), T0, system_tz=_NoOffset()), id="naive-at"),
        pytest.param(lambda: missed_trigger(Schedule.model_construct(), None, T0, T0, system_tz=UTC), id="no-trigger"),
    ],
)
def test_unusable_zone_or_schedule_is_a_value_error(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"offset|no trigger"):
        call()
