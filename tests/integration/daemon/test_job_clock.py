"""Jobs against the wall clock, black-box: a real reconciler whose wall clock the test sets and steps.

The reconciler runs on tests/support/shiftclock.py's ShiftedClock: real monotonic time and real
sleeping, wall time moved by an offset the test writes, as `date -s` or an NTP step would move it.
docs/reliability.md#f27-daylight-saving (daylight-saving changes) and docs/reliability.md#f28-wall-clock-jumps
(wall-clock jumps); the zone is the machine's (`TZ`), as for a user whose cron entries name no `timezone`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Reconciler
from tests.support.shiftclock import set_wall
from tests.support.wait import wait_for

pytestmark = pytest.mark.reliability  # fault scenarios (docs/reliability.md), run with tests/reliability/ in CI


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _scheduled(r: Reconciler, name: str) -> list[datetime]:
    runs: list[dict[str, Any]] = r.client.get(f"/v1/processes/{name}/runs", limit=100)["runs"]
    return [_utc(x["scheduled_for"]) for x in runs if x["trigger"] == "schedule"]


def _on_clock(make_reconciler: Callable[..., Reconciler], tmp_path: Path, config: str, *, zone: str,
              wall: datetime) -> Reconciler:
    """A started reconciler in time zone `zone` whose wall clock reads `wall` once it answers."""
    r = make_reconciler(config)
    r.wall_clock = tmp_path / "wall-offset"
    r.extra_env["TZ"] = zone
    set_wall(r.wall_clock, wall - timedelta(seconds=30))  # start-up time never reaches a trigger
    r.start()
    set_wall(r.wall_clock, wall)  # a step forward, with no trigger in between
    return r


def test_spring_forward_runs_a_skipped_time_once_and_minutely_jobs_go_on(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    # New York, 2025-03-09: 01:59:59 EST is followed by 03:00:00 EDT (07:00Z); 02:30 never happens.
    r = _on_clock(make_reconciler, tmp_path, """
processes:
  nightly: {command: "true", schedule: {cron: "30 2 * * *"}}
  minutely: {command: "true", schedule: {cron: "* * * * *"}}
""", zone="America/New_York", wall=datetime(2025, 3, 9, 6, 59, 57, tzinfo=UTC))
    change = datetime(2025, 3, 9, 7, 0, tzinfo=UTC)
    wait_for(lambda: _scheduled(r, "nightly") and _scheduled(r, "minutely"), timeout=10)
    assert _scheduled(r, "nightly") == [change]  # 02:30 EST does not exist: it runs once, at 03:00 EDT
    assert _scheduled(r, "minutely") == [change]
    assert _utc(r.row("nightly")["next_run"]) == datetime(2025, 3, 10, 6, 30, tzinfo=UTC)  # 02:30 EDT
    assert _utc(r.row("minutely")["next_run"]) == change + timedelta(minutes=1)


def test_fall_back_runs_minutely_jobs_on_and_a_repeated_time_once(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    # New York, 2025-11-02: 01:59:59 EDT (05:59:59Z) is followed by 01:00:00 EST (06:00Z); 01:00–01:59 repeat.
    r = _on_clock(make_reconciler, tmp_path, """
processes:
  minutely: {command: "true", schedule: {cron: "* * * * *"}}
  nightly: {command: "true", schedule: {cron: "30 1 * * *"}}
""", zone="America/New_York", wall=datetime(2025, 11, 2, 5, 59, 57, tzinfo=UTC))
    wait_for(lambda: _scheduled(r, "minutely"), timeout=10)  # no hour-long stall at the change
    assert _scheduled(r, "minutely") == [datetime(2025, 11, 2, 6, 0, tzinfo=UTC)]
    # 01:30 came at 05:30Z (EDT); its second showing at 06:30Z (EST) is not a new day: next is tomorrow.
    assert _utc(r.row("nightly")["next_run"]) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)


def test_a_wall_clock_stepped_back_or_forward_neither_stalls_nor_bursts(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    r = _on_clock(make_reconciler, tmp_path, """
processes:
  minutely: {command: "true", schedule: {cron: "* * * * *"}}
  beat: {command: "true", schedule: {every: 1s}}
  crashy: {command: "false", restart: {policy: always, backoff: {initial: 1s, max: 1s}}}
""", zone="UTC", wall=datetime(2026, 5, 4, 10, 0, 58, tzinfo=UTC))
    assert r.wall_clock is not None
    wait_for(lambda: _scheduled(r, "minutely") == [datetime(2026, 5, 4, 10, 1, tzinfo=UTC)], timeout=10)

    # Two hours back (NTP step, `date -s`): the next minute is run when it comes, not two hours later.
    set_wall(r.wall_clock, datetime(2026, 5, 4, 8, 0, 58, tzinfo=UTC))
    wait_for(lambda: len(_scheduled(r, "minutely")) == 2, timeout=10)
    assert _scheduled(r, "minutely")[-1] == datetime(2026, 5, 4, 8, 1, tzinfo=UTC)
    beats = len(_scheduled(r, "beat"))
    wait_for(lambda: len(_scheduled(r, "beat")) >= beats + 2, timeout=10)  # `every` kept its cadence
    restarts = r.row("crashy")["restarts"]
    wait_for(lambda: r.row("crashy")["restarts"] >= restarts + 2, timeout=10)  # backoff is in real time

    # Three hours forward (a VM resumed): one catch-up run, not 180, then the new time's cadence.
    beats = len(_scheduled(r, "beat"))
    set_wall(r.wall_clock, datetime(2026, 5, 4, 11, 1, 30, tzinfo=UTC))
    wait_for(lambda: len(_scheduled(r, "minutely")) == 3, timeout=10)
    wait_for(lambda: _utc(r.row("minutely")["next_run"]) == datetime(2026, 5, 4, 11, 2, tzinfo=UTC), timeout=5)
    assert len(_scheduled(r, "minutely")) == 3
    assert len(_scheduled(r, "beat")) <= beats + 3  # a second or two of beats, plus at most one catch-up


def test_triggers_missed_while_no_reconciler_ran_cause_one_run_or_none(
        make_reconciler: Callable[..., Reconciler], tmp_path: Path) -> None:
    r = _on_clock(make_reconciler, tmp_path, """
processes:
  catchup: {command: "true", schedule: {cron: "* * * * *"}}
  skipper: {command: "true", schedule: {cron: "* * * * *"}, on_missed: skip}
""", zone="UTC", wall=datetime(2026, 5, 4, 10, 0, 58, tzinfo=UTC))
    assert r.wall_clock is not None
    first = datetime(2026, 5, 4, 10, 1, tzinfo=UTC)
    wait_for(lambda: _scheduled(r, "catchup") == [first] and _scheduled(r, "skipper") == [first], timeout=10)
    r.stop()
    set_wall(r.wall_clock, datetime(2026, 5, 4, 13, 21, 30, tzinfo=UTC))  # 200 minutes without a reconciler
    r.start()
    missed = datetime(2026, 5, 4, 13, 21, tzinfo=UTC)
    wait_for(lambda: _triggers(r, "catchup") == [("schedule", first), ("missed", missed)], timeout=10)
    assert _triggers(r, "skipper") == [("schedule", first)]  # on_missed: skip
    assert _utc(r.row("catchup")["next_run"]) == missed + timedelta(minutes=1)  # the cadence goes on
    assert _utc(r.row("skipper")["next_run"]) == missed + timedelta(minutes=1)


def _triggers(r: Reconciler, name: str) -> list[tuple[str, datetime]]:
    runs: list[dict[str, Any]] = r.client.get(f"/v1/processes/{name}/runs", limit=100)["runs"]
    return [(x["trigger"], _utc(x["scheduled_for"])) for x in runs]
