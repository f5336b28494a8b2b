"""Wall-clock times in a time zone placed on the UTC timeline, across daylight-saving changes.

A wall-clock time (a naive datetime read in a zone) falls on the timeline in one of three ways:
once (the usual case); twice, when the clock is set back and an hour repeats (the first time with
`fold=0`, the repeat with `fold=1`); or not at all, when the clock jumps forward over it. Placement
records all three so that the cron policy (`sentinel.schedule.cron`) can pick what to run.

Transitions are found by bisection on the timeline, so any `tzinfo` works (ZoneInfo, fixed offsets).
Assumption, true of every zone in tzdata: a clock is never set back by more than `HORIZON`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

HORIZON = timedelta(hours=6)
_TICK = timedelta(microseconds=1)


def offset(zone: tzinfo, instant: datetime) -> timedelta:
    """The zone's UTC offset at an aware instant."""
    shift = instant.astimezone(zone).utcoffset()
    if shift is None:
        raise ValueError(f"time zone {zone!r} gives no UTC offset")
    return shift


def wall(zone: tzinfo, instant: datetime) -> datetime:
    """The wall-clock time (naive) the zone shows at an aware instant."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def change_between(zone: tzinfo, low: datetime, high: datetime) -> datetime:
    """The first instant in (low, high] whose offset differs from the offset at `low` (exact to 1 µs).

    The caller knows the offsets at `low` and `high` differ.
    """
    before = offset(zone, low)
    while high - low > _TICK:
        middle = low + (high - low) // 2
        if offset(zone, middle) == before:
            low = middle
        else:
            high = middle
    return high


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one wall-clock time falls on the UTC timeline.

    `first` is the instant it is shown (the earlier one when it repeats); for a skipped time, the
    instant the clock jumped (the first moment after the gap). `repeat` is the second showing of a
    time in a repeated hour. Over increasing wall times, `first` never decreases.
    """

    first: datetime
    repeat: datetime | None = None
    skipped: bool = False

    def instants(self, *, hourly: bool) -> tuple[datetime, ...]:
        """The triggers for this wall time, in order.

        `hourly` schedules follow the clock (a repeated time fires twice, a skipped one never);
        the others fire once per wall-clock time (a repeated time once, a skipped one at the jump).
        """
        if self.skipped:
            return () if hourly else (self.first,)
        if hourly and self.repeat is not None:
            return (self.first, self.repeat)
        return (self.first,)


def place(local: datetime, zone: tzinfo) -> Placement:
    """Place a naive wall-clock time of `zone` on the UTC timeline."""
    naive = local.replace(tzinfo=None, fold=0)
    shift_first = naive.replace(tzinfo=zone, fold=0).utcoffset()
    shift_second = naive.replace(tzinfo=zone, fold=1).utcoffset()
    if shift_first is None or shift_second is None:
        raise ValueError(f"time zone {zone!r} gives no UTC offset")
    first = (naive - shift_first).replace(tzinfo=UTC)
    if shift_first == shift_second:
        return Placement(first)
    second = (naive - shift_second).replace(tzinfo=UTC)
    if second > first:
        return Placement(first, repeat=second)
    return Placement(change_between(zone, second, first), skipped=True)


def lowest_wall_from(zone: tzinfo, instant: datetime) -> datetime:
    """The earliest wall-clock time shown at or after `instant` (earlier than now if the clock goes back soon)."""
    lowest = wall(zone, instant)
    later = instant + HORIZON
    if offset(zone, later) < offset(zone, instant):
        lowest = min(lowest, wall(zone, change_between(zone, instant, later)))
    return lowest


def highest_wall_until(zone: tzinfo, instant: datetime) -> datetime:
    """A wall-clock time above every time shown at or before `instant` (a set-back clock showed later ones)."""
    highest = wall(zone, instant)
    earlier = instant - HORIZON
    if offset(zone, earlier) > offset(zone, instant):
        change = change_between(zone, earlier, instant)
        highest = max(highest, (change + offset(zone, earlier)).replace(tzinfo=None))
    return highest
