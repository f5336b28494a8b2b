"""The one `status` row builder (live and from state.db), and log lines as data (`logs --json`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sentinel.cli.logfiles import parsed_line
from sentinel.state.status import KEYS, Known, in_group, status_row
from sentinel.states import ProcessState as S

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_a_live_row_measures_what_runs() -> None:
    known = Known(name="web", state=S.STOPPING, reason="stopped by user", pid=42, started_at=NOW - timedelta(seconds=5),
                  health="healthy", usage=(12.34, 2048), group="front")
    row = status_row(known, now=NOW, reconciler=True)
    assert tuple(row) == KEYS
    assert (row["state"], row["pid"], row["uptime_s"], row["cpu_percent"], row["memory_rss"]) == (
        "stopping", 42, 5.0, 12.3, 2048)
    assert row["started_at"] == "2026-11-26T02:59:55.000Z"


def test_a_row_that_is_not_live_shows_no_process() -> None:
    row = status_row(Known(name="web", state=S.FAILED, reason="exited 1", pid=42, health="healthy", usage=(1.0, 1),
                           exit_code=1), now=NOW, reconciler=True)
    assert (row["pid"], row["health"], row["cpu_percent"], row["exit_code"]) == (None, "unknown", None, 1)


def test_from_state_db_nothing_is_scheduled_nor_measured() -> None:
    job = Known(name="nightly", state=S.SCHEDULED, reason="waits for its schedule", is_job=True,
                next_run=NOW + timedelta(hours=1))
    row = status_row(job, now=NOW, reconciler=False)
    assert (row["state"], row["reason"], row["next_run"]) == ("stopped", "no reconciler running", None)
    assert status_row(job, now=NOW, reconciler=True)["state"] == "scheduled"
    web = status_row(Known(name="web", state=S.RUNNING, pid=7, started_at=NOW), now=NOW, reconciler=False)
    assert (web["state"], web["pid"], web["uptime_s"]) == ("running", 7, None)


def test_a_one_shot_job_that_has_run_shows_its_outcome() -> None:
    done = Known(name="once", state=S.SCHEDULED, reason="last run exited 0", is_job=True, one_shot=True,
                 last_run=NOW, last_outcome="succeeded")
    assert status_row(done, now=NOW, reconciler=True)["state"] == "exited"
    assert status_row(done, now=NOW, reconciler=False)["state"] == "exited"
    failed = Known(name="once", state=S.SCHEDULED, is_job=True, one_shot=True, last_outcome="timed out")
    assert status_row(failed, now=NOW, reconciler=True)["state"] == "failed"
    skipped = Known(name="once", state=S.SCHEDULED, is_job=True, one_shot=True, last_outcome="skipped")
    assert status_row(skipped, now=NOW, reconciler=True)["state"] == "scheduled"


def test_in_group() -> None:
    rows: list[dict[str, Any]] = [{"name": "a", "group": "x"}, {"name": "b", "group": None}]
    assert in_group(rows, "x") == [rows[0]]
    assert in_group(rows, None) == rows


def test_log_lines_as_data() -> None:
    assert parsed_line("2026-11-26T03:00:00.010Z hello world\n") == {
        "time": "2026-11-26T03:00:00.010Z", "text": "hello world", "run": None}
    assert parsed_line("2026-11-26T03:00:00.010Z #42 hello\n") == {
        "time": "2026-11-26T03:00:00.010Z", "text": "hello", "run": 42}
    assert parsed_line("2026-11-26T03:00:00.010Z #tag\n")["run"] is None
    assert parsed_line("2026-11-26T03:00:00.010Z #7x y\n")["text"] == "#7x y"
