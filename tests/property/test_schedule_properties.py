"""Properties of the schedule core (sentinel.schedule) over cron expressions, zones and instants, DST days included.

- next_run is strictly after `after`, in UTC, and again strictly after itself: next_run(next_run(t)) > next_run(t).
- the forward and backward searches agree: nothing triggers in (t, next_run(t)), and the last trigger at or
  before next_run(t) is next_run(t) itself (missed_trigger uses the backward one).
- a schedule that is not hourly never fires the same wall-clock time twice in a row (fall-back runs once).
- `* * * * *` fires every 60 s of real time in any zone on any day of 2026, DST days included.
- near DST changes, next_run agrees with a brute-force reading of the policy minute by minute on the UTC
  timeline: a minute fires when its wall-clock time matches (for a schedule that is not hourly, only its
  first showing), and the instant of a spring-forward jump fires for a non-hourly schedule that matches a
  skipped wall-clock time.
- next_every returns an exact grid point anchor + k * interval (k ≥ 1), after `now`, and the first such.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter
from hypothesis import assume, given
from hypothesis import strategies as st

from sentinel.config.models import Schedule
from sentinel.schedule import missed_trigger, next_every, next_run
from sentinel.schedule.cron import CronRule
from sentinel.schedule.localtime import change_between, offset, wall

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham",
         "Asia/Kolkata", "Europe/London", "Australia/Sydney"]
YEAR_2026 = datetime(2026, 1, 1, tzinfo=UTC)


def _changes(name: str) -> list[datetime]:
    """Every UTC offset change of the zone in 2026 (DST starts and ends)."""
    zone, found = ZoneInfo(name), []
    for day in range(366):
        low, high = YEAR_2026 + timedelta(days=day), YEAR_2026 + timedelta(days=day + 1)
        if offset(zone, low) != offset(zone, high):
            found.append(change_between(zone, low, high))
    return found


CHANGES = {name: _changes(name) for name in ZONES}
assert len(CHANGES["Europe/Paris"]) == len(CHANGES["Australia/Lord_Howe"]) == 2


@st.composite
def moments(draw: st.DrawFn, zone: str) -> datetime:
    """An instant in 2026, half the time within 3 hours of one of the zone's DST changes."""
    changes = CHANGES[zone]
    near = draw(st.booleans())
    if changes and near:
        return draw(st.sampled_from(changes)) + timedelta(seconds=draw(st.integers(-3 * 3600, 3 * 3600)))
    return YEAR_2026 + timedelta(seconds=draw(st.integers(0, 365 * 86400 - 1)), microseconds=draw(st.integers(0, 1)))


@st.composite
def crons(draw: st.DrawFn) -> str:
    """5-field expressions, 6-field ones (seconds first) and macros."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly", "@yearly"]))
    fields = [
        draw(st.sampled_from(["*", "0", "30", "*/15", "5,35", "0-10"])),
        draw(st.sampled_from(["*", "2", "0", "1-3", "*/2", "0,12", "1,2"])),
        draw(st.sampled_from(["*", "*", "1", "15"])),
        draw(st.sampled_from(["*", "*", "3", "10,11"])),
        draw(st.sampled_from(["*", "*", "0", "1-5"])),
    ]
    if draw(st.booleans()):
        fields.insert(0, draw(st.sampled_from(["0", "*/20", "30"])))
    return " ".join(fields)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    zone = draw(st.sampled_from(ZONES))
    return Schedule(cron=draw(crons()), timezone=zone), draw(moments(zone))


@given(cases())
def test_next_run_is_after_and_moves_on(case: tuple[Schedule, datetime]) -> None:
    schedule, after = case
    first = next_run(schedule, after, system_tz=UTC)
    assert first is not None
    second = next_run(schedule, first, system_tz=UTC)
    assert second is not None
    assert after < first < second
    assert first.tzinfo is UTC
    assert missed_trigger(schedule, None, after, first - timedelta(microseconds=1), system_tz=UTC) is None
    assert missed_trigger(schedule, None, after, first, system_tz=UTC) == first
    assert missed_trigger(schedule, None, after, second, system_tz=UTC) == second
    assert schedule.cron is not None and schedule.timezone is not None
    if not CronRule.parse(schedule.cron).hourly:
        zone = ZoneInfo(schedule.timezone)
        assert wall(zone, first) != wall(zone, second)


@given(st.sampled_from(ZONES).flatmap(lambda zone: st.tuples(st.just(zone), moments(zone))))
def test_every_minute_is_60_seconds_apart_all_year(case: tuple[str, datetime]) -> None:
    zone, after = case
    schedule = Schedule(cron="* * * * *", timezone=zone)
    first = next_run(schedule, after, system_tz=UTC)
    assert first is not None
    second = next_run(schedule, first, system_tz=UTC)
    assert timedelta(0) < first - after <= timedelta(minutes=1)
    assert second is not None and second - first == timedelta(minutes=1)
    assert (first.second, first.microsecond) == (0, 0)


@given(
    anchor=st.floats(0, 1e6, allow_nan=False),
    interval=st.floats(1e-3, 1e5, allow_nan=False),
    ahead=st.floats(-1e3, 1e7, allow_nan=False),
)
def test_every_slots_are_exact_multiples(anchor: float, interval: float, ahead: float) -> None:
    now = anchor + ahead
    slot = next_every(anchor, interval, now)
    steps = round((slot - anchor) / interval)
    assume(steps < 2**50)
    assert steps >= 1
    assert slot == anchor + steps * interval
    assert slot > now
    assert steps == 1 or anchor + (steps - 1) * interval <= now


MINUTE = timedelta(minutes=1)


def _matcher(expression: str) -> Callable[[datetime], bool]:
    """Whether a wall-clock time matches `minutes hours * * *`, from croniter's own expansion of the fields."""
    minutes, hours = croniter.expand(expression)[0][:2]
    return lambda local: all(f == ["*"] or v in f for f, v in ((minutes, local.minute), (hours, local.hour)))


def _fires(matches: Callable[[datetime], bool], hourly: bool, zone: ZoneInfo, moment: datetime) -> bool:
    """The DST policy read literally, one UTC minute at a time (the oracle for next_run)."""
    local = moment.astimezone(zone)
    if matches(local) and (hourly or local.fold == 0):
        return True
    before, now = offset(zone, moment - MINUTE), offset(zone, moment)
    skipped = (moment + before + k * MINUTE for k in range((now - before) // MINUTE))
    return not hourly and now > before and any(matches(gap) for gap in skipped)


@given(
    zone=st.sampled_from([name for name in ZONES if CHANGES[name]]),
    minutes=st.sampled_from(["*", "0", "30", "*/15", "5,35", "0-10", "45"]),
    hours=st.sampled_from(["*", "2", "0", "1-3", "*/2", "1,2", "23", "0,1"]),
    shift=st.integers(-200, 200),
    which=st.integers(0, 1),
)
def test_next_run_matches_the_minute_oracle(zone: str, minutes: str, hours: str, shift: int, which: int) -> None:
    expression, place = f"{minutes} {hours} * * *", ZoneInfo(zone)
    after = CHANGES[zone][which] + shift * MINUTE
    found = next_run(Schedule(cron=expression, timezone=zone), after, system_tz=UTC)
    assert found is not None
    hourly, matches = CronRule.parse(expression).hourly, _matcher(expression)
    moment = after.replace(second=0, microsecond=0) + MINUTE
    while moment < found and not _fires(matches, hourly, place, moment):
        moment += MINUTE
    assert moment == found
    assert _fires(matches, hourly, place, found)
