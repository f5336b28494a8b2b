"""The run history of scheduled jobs in state.db: runs round-trip, are ordered, limited and
pruned per job, the last run and slot are found, and runs left open by a dead reconciler close."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentinel.errors import StateError
from sentinel.state import RUN_OUTCOMES, RUN_TRIGGERS, Run, Store
from tests.integration.state.support import T0, raw, scalar


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_started_then_finished_run_round_trips(store: Store, db_path: Path) -> None:
    started = store.start_run(
        "backup", scheduled_for=at(0), started_at=at(0) + timedelta(microseconds=7), trigger="schedule"
    )
    assert started == Run(
        started.id, "backup", at(0), at(0) + timedelta(microseconds=7), None, None, None, "running", "schedule"
    )
    assert store.runs("backup") == [started]
    store.finish_run("backup", started.id, ended_at=at(2), outcome="failed", exit_code=3, exit_signal=None)
    (finished,) = store.runs("backup")
    assert finished == Run(started.id, "backup", at(0), started.started_at, at(2), 3, None, "failed", "schedule")
    # Times use the same fixed-width UTC text as the other tables.
    assert scalar(db_path, "SELECT ended_at FROM runs") == "2026-03-01T12:02:00.123456Z"


def test_times_in_other_zones_come_back_as_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    run = store.start_run(
        "backup", scheduled_for=at(0).astimezone(paris), started_at=at(1).astimezone(paris), trigger="missed"
    )
    assert run.scheduled_for == at(0) and run.scheduled_for.tzinfo is not None
    assert run.scheduled_for.utcoffset() == timedelta(0)
    assert store.runs("backup") == [run]


def test_a_manual_run_has_no_slot_and_a_signal_is_kept(store: Store) -> None:
    run = store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
    store.finish_run("backup", run.id, ended_at=at(1), outcome="timed out", exit_signal=15)
    assert store.runs("backup") == [Run(run.id, "backup", None, at(0), at(1), None, 15, "timed out", "manual")]


def test_a_skipped_trigger_starts_and_ends_at_once(store: Store) -> None:
    skipped = store.add_skipped_run("backup", scheduled_for=at(5), at=at(5), trigger="schedule")
    assert skipped == Run(skipped.id, "backup", at(5), at(5), at(5), None, None, "skipped", "schedule")
    assert store.runs("backup") == [skipped]


def test_runs_are_newest_last_limited_and_per_job(store: Store) -> None:
    for minute in range(5):
        store.start_run("backup", scheduled_for=at(minute), started_at=at(minute), trigger="schedule")
        store.start_run("report", scheduled_for=None, started_at=at(minute), trigger="manual")
    assert [run.scheduled_for for run in store.runs("backup")] == [at(m) for m in range(5)]
    assert [run.scheduled_for for run in store.runs("backup", limit=2)] == [at(3), at(4)]
    assert len(store.runs("backup", limit=None)) == 5
    assert store.runs("backup", limit=0) == []
    assert {run.job for run in store.runs("report")} == {"report"}
    assert store.runs("nothing") == []


def test_last_run_is_the_newest_whatever_its_outcome(store: Store) -> None:
    assert store.last_run("backup") is None
    first = store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
    store.finish_run("backup", first.id, ended_at=at(1), outcome="succeeded", exit_code=0)
    skipped = store.add_skipped_run("backup", scheduled_for=at(2), at=at(2), trigger="schedule")
    store.start_run("other", scheduled_for=at(3), started_at=at(3), trigger="schedule")
    assert store.last_run("backup") == skipped


def test_last_slot_skips_runs_without_one(store: Store) -> None:
    assert store.last_slot("backup") is None
    store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
    assert store.last_slot("backup") is None
    store.start_run("backup", scheduled_for=at(10), started_at=at(10), trigger="schedule")
    store.add_skipped_run("backup", scheduled_for=at(20), at=at(20), trigger="schedule")
    store.start_run("backup", scheduled_for=None, started_at=at(25), trigger="manual")
    store.start_run("other", scheduled_for=at(30), started_at=at(30), trigger="schedule")
    assert store.last_slot("backup") == at(20)


def test_pruning_keeps_the_newest_runs_of_that_job_only(store: Store) -> None:
    for minute in range(6):
        store.start_run("backup", scheduled_for=at(minute), started_at=at(minute), trigger="schedule")
        store.add_skipped_run("report", scheduled_for=at(minute), at=at(minute), trigger="schedule")
    store.prune_runs("backup", 2)
    assert [run.scheduled_for for run in store.runs("backup", limit=None)] == [at(4), at(5)]
    assert len(store.runs("report", limit=None)) == 6
    store.prune_runs("backup", 10)  # fewer than keep: nothing goes
    assert len(store.runs("backup", limit=None)) == 2
    store.prune_runs("report", 0)
    assert store.runs("report") == []
    with pytest.raises(ValueError, match="keep"):
        store.prune_runs("backup", -1)


def test_close_open_runs_stops_only_the_running_ones(store: Store) -> None:
    running = [store.start_run(job, scheduled_for=at(0), started_at=at(0), trigger="schedule") for job in ("a", "b")]
    done = store.start_run("a", scheduled_for=at(1), started_at=at(1), trigger="retry")
    store.finish_run("a", done.id, ended_at=at(2), outcome="succeeded", exit_code=0)
    assert store.close_open_runs(at(9)) == 2
    assert [(r.outcome, r.ended_at) for r in store.runs("a")] == [("stopped", at(9)), ("succeeded", at(2))]
    assert store.runs("b") == [Run(running[1].id, "b", at(0), at(0), at(9), None, None, "stopped", "schedule")]
    assert store.close_open_runs(at(10)) == 0


def test_writes_join_a_batch_and_roll_back_with_it(store: Store) -> None:
    with pytest.raises(RuntimeError), store.batch():
        run = store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
        store.finish_run("backup", run.id, ended_at=at(1), outcome="succeeded", exit_code=0)
        raise RuntimeError("boom")
    assert store.runs("backup") == []
    with store.batch():
        store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
        assert store.close_open_runs(at(1)) == 1
    assert [run.outcome for run in store.runs("backup")] == ["stopped"]


def test_finishing_an_unknown_run_does_nothing(store: Store) -> None:
    store.finish_run("backup", 12345, ended_at=at(0), outcome="failed", exit_code=1)
    assert store.last_run("backup") is None


def test_bad_arguments_are_value_errors(store: Store) -> None:
    assert "running" in RUN_OUTCOMES and "schedule" in RUN_TRIGGERS
    with pytest.raises(ValueError, match="trigger"):
        store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="cron")
    with pytest.raises(ValueError, match="trigger"):
        store.add_skipped_run("backup", scheduled_for=None, at=at(0), trigger="")
    run = store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
    for outcome in ("running", "crashed", "Succeeded"):
        with pytest.raises(ValueError, match="outcome"):
            store.finish_run("backup", run.id, ended_at=at(1), outcome=outcome)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.start_run("backup", scheduled_for=None, started_at=datetime(2026, 1, 1), trigger="manual")
    with pytest.raises(ValueError, match="timezone-aware"):
        store.finish_run("backup", run.id, ended_at=datetime(2026, 1, 1), outcome="failed")
    assert store.runs("backup") == [run]


def test_a_database_failure_is_a_state_error(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=0) as store, raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StateError, match="locked"):
            store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
        other.execute("ROLLBACK")
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.runs("backup")


def test_a_damaged_row_is_a_state_error(store: Store, db_path: Path) -> None:
    store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
    with raw(db_path) as connection:
        connection.execute("UPDATE runs SET outcome = 'exploded'")
    with pytest.raises(StateError, match=r"runs row 1 is damaged"):
        store.runs("backup")


def test_a_read_only_store_lists_runs(db_path: Path) -> None:
    with Store.open(db_path) as store:
        run = store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
        store.finish_run("backup", run.id, ended_at=at(1), outcome="succeeded", exit_code=0)
    with Store.open(db_path, readonly=True) as reader:
        assert [(r.id, r.outcome, r.exit_code) for r in reader.runs("backup")] == [(run.id, "succeeded", 0)]
        assert reader.last_run("backup") == reader.runs("backup")[0]
        assert reader.last_slot("backup") == at(0)
        with pytest.raises(StateError):
            reader.start_run("backup", scheduled_for=None, started_at=at(2), trigger="manual")


def test_reserved_run_ids_are_new_and_keep_growing_past_pruned_rows(store: Store) -> None:
    first = store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
    second = store.start_run("backup", scheduled_for=None, started_at=at(1), trigger="manual")
    store.prune_runs("backup", 0)  # every row gone; their numbers are not given again
    reserved = [store.reserve_run_id("backup") for _ in range(3)]
    assert reserved == [second.id + 1, second.id + 2, second.id + 3] and first.id < second.id
    late = store.start_run("backup", scheduled_for=None, started_at=at(3), trigger="manual", run_id=reserved[2])
    early = store.add_skipped_run("backup", scheduled_for=at(2), at=at(2), trigger="schedule", run_id=reserved[0])
    assert (late.id, early.id) == (reserved[2], reserved[0])
    assert [r.id for r in store.runs("backup")] == [reserved[0], reserved[2]]  # by number, whatever the write order
    assert store.start_run("backup", scheduled_for=None, started_at=at(4), trigger="manual").id > reserved[2]
    assert store.reserve_run_id("backup") > reserved[2] + 1


def test_a_new_store_reserves_past_what_an_earlier_one_wrote(db_path: Path) -> None:
    with Store.open(db_path) as store:
        last = store.start_run("backup", scheduled_for=None, started_at=at(0), trigger="manual")
    with Store.open(db_path) as store:
        assert store.reserve_run_id("backup") == last.id + 1


def test_runs_are_numbered_per_job(db_path: Path) -> None:
    with Store.open(db_path) as store:
        numbers = [
            (job, store.start_run(job, scheduled_for=None, started_at=at(minute), trigger="manual").id)
            for minute, job in enumerate(("backup", "report", "backup", "report", "backup"))
        ]
        assert numbers == [("backup", 1), ("report", 1), ("backup", 2), ("report", 2), ("backup", 3)]
        assert store.reserve_run_id("report") == 3 and store.reserve_run_id("new") == 1
        store.finish_run("report", 2, ended_at=at(9), outcome="succeeded", exit_code=0)  # not backup's run 2
        assert [(r.id, r.outcome) for r in store.runs("backup")] == [(1, "running"), (2, "running"), (3, "running")]
        assert [(r.id, r.outcome) for r in store.runs("report")] == [(1, "running"), (2, "succeeded")]
    with Store.open(db_path) as store:  # a new reconciler goes on from each job's highest number
        assert (store.reserve_run_id("backup"), store.reserve_run_id("report")) == (4, 3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["backup", "report", "r+1"]), st.sampled_from(["run", "skip", "finish"]),
                          st.integers(0, 600), st.booleans()), max_size=12))
def test_last_run_is_runs_newest_whatever_was_written(store: Store, writes: list[tuple[str, str, int, bool]]) -> None:
    """`last_run` has its own statement (written once, docs/limitations.md): it answers what `runs(limit=1)` does."""
    for job in ("backup", "report", "r+1"):
        store.prune_runs(job, 0)
    for job, what, minute, slot in writes:
        when = at(minute)
        if what == "skip":
            store.add_skipped_run(job, scheduled_for=when, at=when, trigger="schedule")
            continue
        run = store.start_run(job, scheduled_for=when if slot else None, started_at=when,
                              trigger="schedule" if slot else "manual")
        if what == "finish":
            store.finish_run(job, run.id, ended_at=at(minute + 1), outcome="failed", exit_code=2)
    for job in ("backup", "report", "r+1", "never"):
        newest = store.runs(job, limit=1)
        assert store.last_run(job) == (newest[0] if newest else None)


def test_last_run_of_a_damaged_row_or_a_closed_store_is_a_state_error(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.start_run("backup", scheduled_for=at(0), started_at=at(0), trigger="schedule")
        with raw(db_path) as connection:
            connection.execute("UPDATE runs SET started_at = 'yesterday'")
        with pytest.raises(StateError, match=r"runs row 1 is damaged"):
            store.last_run("backup")
    with pytest.raises(StateError, match="closed"):
        store.last_run("backup")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["backup", "report"]), st.booleans()), max_size=14),
       st.lists(st.tuples(st.sampled_from(["backup", "report"]), st.integers(0, 8)), max_size=4))
def test_pruning_keeps_the_newest_runs_however_they_were_numbered(
        store: Store, writes: list[tuple[str, bool]], prunes: list[tuple[str, int]]) -> None:
    """`prune_runs` skips its statement when too few runs were numbered (docs/limitations.md): it keeps what the
    statement keeps, numbers reserved and never written (a gap) included."""
    for job in ("backup", "report"):
        store.prune_runs(job, 0)
    for job, gap in writes:
        if gap:
            store.reserve_run_id(job)
        store.start_run(job, scheduled_for=None, started_at=at(0), trigger="manual")
    for job, keep in prunes:
        before = {name: store.runs(name, limit=None) for name in ("backup", "report")}
        store.prune_runs(job, keep)
        assert store.runs(job, limit=None) == (before[job][-keep:] if keep else [])
        other = "report" if job == "backup" else "backup"
        assert store.runs(other, limit=None) == before[other]
