"""The Store on a real SQLite file: process records, events and config revisions round-trip,
events are ordered, limited, filtered and pruned, and two Stores stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sentinel.errors import StateError
from sentinel.state import Event, Revision, Store, StoredProcess
from sentinel.state.store import KEEP_EVENTS, KEEP_REVISIONS, PRUNE_EVENTS_EVERY
from sentinel.state.values import NewEvent
from sentinel.states import ProcessState
from tests.integration.state.support import T0, raw, scalar

EVERY_FIELD = StoredProcess(
    name="web.1",
    state=ProcessState.BACKOFF,
    spec_hash="sha256:abc",
    digests={"command": "d1", "env": "d2", "cwd": "é"},
    failures=3,
    restarts=7,
    exit_code=1,
    exit_signal=9,
    pid=4242,
    create_time=1764124800.125,
    pgid=4240,
    started_at=T0,
    retry_at=T0 + timedelta(seconds=4, microseconds=1),
    held=True,
    restart_requested=True,
    reason="crashed (exit 1), retrying in 4s",
    updated_at=T0 + timedelta(minutes=1),
)


def test_every_field_of_a_process_record_round_trips(store: Store) -> None:
    store.save_process(EVERY_FIELD)
    assert store.processes() == {"web.1": EVERY_FIELD}


def test_a_minimal_record_round_trips_with_nulls_and_false(store: Store) -> None:
    minimal = StoredProcess(name="db", state=ProcessState.PENDING, updated_at=T0)
    store.save_process(minimal)
    assert store.processes()["db"] == minimal


def test_times_come_back_as_utc_with_microseconds(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    store.save_process(StoredProcess(name="a", state=ProcessState.RUNNING, started_at=T0.astimezone(paris)))
    started = store.processes()["a"].started_at
    assert started == T0
    assert started is not None
    assert started.tzinfo is UTC


def test_updated_at_is_stamped_when_not_given(store: Store) -> None:
    before = datetime.now(UTC)
    store.save_process(StoredProcess(name="a", state=ProcessState.RUNNING))
    updated = store.processes()["a"].updated_at
    assert updated is not None
    assert before <= updated <= datetime.now(UTC)


def test_a_naive_datetime_is_refused_and_nothing_is_saved(store: Store) -> None:
    good = StoredProcess(name="a", state=ProcessState.RUNNING)
    naive = StoredProcess(name="b", state=ProcessState.RUNNING, started_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.save_processes([good, naive])
    assert store.processes() == {}


def test_saving_again_replaces_the_record(store: Store) -> None:
    store.save_process(EVERY_FIELD)
    stopped = StoredProcess(name="web.1", state=ProcessState.STOPPED, held=True, updated_at=T0)
    store.save_process(stopped)
    assert store.processes() == {"web.1": stopped}


def test_save_processes_writes_them_all_in_name_order(store: Store) -> None:
    records = [StoredProcess(name=f"w.{i}", state=ProcessState.RUNNING, updated_at=T0) for i in range(120)]
    store.save_processes(reversed(records))
    got = store.processes()
    assert list(got) == sorted(record.name for record in records)
    assert list(got.values()) == sorted(records, key=lambda record: record.name)


def test_a_write_failing_inside_its_transaction_is_rolled_back_as_a_state_error(store: Store) -> None:
    store.save_revision(path="/a.yaml", environment=None, digest="d1", config="{}", files=(), at=T0)
    with pytest.raises(StateError, match=r"^state\.db: NOT NULL constraint failed: config_revision\.digest$"):
        store.save_revision(path="/b.yaml", environment=None, digest=None, config="{}", files=(), at=T0)  # type: ignore[arg-type]
    last = store.last_revision()
    assert last is not None
    assert last.path == "/a.yaml"
    store.save_processes([])
    store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING))
    assert list(store.processes()) == ["web"]


def test_delete_forgets_a_process_and_ignores_unknown_names(store: Store) -> None:
    store.save_processes([EVERY_FIELD, StoredProcess(name="db", state=ProcessState.RUNNING)])
    store.delete_process("web.1")
    store.delete_process("never-was")
    assert list(store.processes()) == ["db"]


def test_records_survive_closing_and_reopening(db_path: Path) -> None:
    with Store.open(db_path) as first:
        first.save_process(EVERY_FIELD)
        first.add_event("started", "web.1 started", process="web.1", at=T0)
    with Store.open(db_path) as second:
        assert second.processes() == {"web.1": EVERY_FIELD}
        assert [event.message for event in second.events()] == ["web.1 started"]
        assert second.recovered is None


def test_two_stores_on_two_files_in_one_process_stay_apart(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.db") as a, Store.open(tmp_path / "b.db") as b:
        a.save_process(StoredProcess(name="only-a", state=ProcessState.RUNNING))
        b.save_process(StoredProcess(name="only-b", state=ProcessState.STOPPED))
        a.add_event("started", "in a", at=T0)
        b.add_event("stopped", "in b", at=T0)
        b.add_event("stopped", "in b again", at=T0)
        assert list(a.processes()) == ["only-a"]
        assert list(b.processes()) == ["only-b"]
        assert [event.message for event in a.events()] == ["in a"]
        assert [event.message for event in b.events()] == ["in b", "in b again"]


# Events


def test_add_event_returns_what_events_reads_back(store: Store) -> None:
    added = store.add_event("config_invalid", "sentinel.yaml:3:1: bad", at=T0)
    assert added == Event(added.id, T0, None, "config_invalid", "sentinel.yaml:3:1: bad")
    assert store.events() == [added]


def test_add_events_records_them_in_order_with_the_ids_events_reads_back(store: Store) -> None:
    store.add_event("started", "before", at=T0)
    new = [NewEvent("started", f"web.{i} started\n  again", T0 + timedelta(seconds=i), f"web.{i}",
                    "abc1234" if i % 2 else None) for i in range(160)]  # more than one insert's worth
    added = store.add_events(new)
    assert [event.message for event in added] == [f"web.{i} started; again" for i in range(160)]
    assert [event.id for event in added] == list(range(2, 162))
    assert store.events(limit=None)[1:] == added
    assert store.add_events([]) == []


def test_add_events_with_one_bad_kind_records_none_of_them(store: Store) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        store.add_events([NewEvent("started", "fine", T0), NewEvent("Not-A-Kind", "bad", T0)])
    assert store.events() == []


def test_events_come_newest_last_and_limit_keeps_the_newest(store: Store) -> None:
    for i in range(30):
        store.add_event("started", f"event {i}", process="web", at=T0 + timedelta(seconds=i))
    assert [event.message for event in store.events()] == [f"event {i}" for i in range(10, 30)]
    assert [event.message for event in store.events(limit=3)] == ["event 27", "event 28", "event 29"]
    assert len(store.events(limit=None)) == 30
    assert store.events(limit=0) == []
    ids = [event.id for event in store.events(limit=None)]
    assert ids == sorted(ids)


def test_the_process_filter_matches_the_process_and_its_instances(store: Store) -> None:
    for name in ("web", "web.0", "webby", "web.1", "web.api", "web.0.1", "db", None, "web.10"):
        store.add_event("started", f"about {name}", process=name, at=T0)
    assert [event.process for event in store.events(process="web")] == ["web", "web.0", "web.1", "web.10"]
    # A process may itself be named "web.0"; its instances would be "web.0.0", "web.0.1".
    assert [event.process for event in store.events(process="web.0")] == ["web.0", "web.0.1"]
    assert [event.process for event in store.events(process="web.api")] == ["web.api"]
    assert [event.process for event in store.events(process="web", limit=2)] == ["web.1", "web.10"]
    assert store.events(process="nothing") == []
    assert store.events(process="web%") == []


def test_a_multi_line_message_is_stored_on_one_line(store: Store) -> None:
    event = store.add_event("config_invalid", "a.yaml:1:1: first\n\n  a.yaml:2:1: second\n", at=T0)
    assert event.message == "a.yaml:1:1: first; a.yaml:2:1: second"
    assert store.events()[0].message == event.message


@pytest.mark.parametrize("kind", ["Started", "config-invalid", "", "1st", "started now"])
def test_an_event_kind_must_be_snake_case(store: Store, kind: str) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        store.add_event(kind, "x", at=T0)


def test_old_events_are_pruned_at_open_and_every_few_hundred_events(db_path: Path) -> None:
    Store.open(db_path).close()
    extra = 600
    with raw(db_path) as connection:
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO event (at, process, kind, message) VALUES (?, ?, 'started', ?)",
            [("2026-03-01T12:00:00.000000Z", "web", f"old {i}") for i in range(KEEP_EVENTS + extra)],
        )
        connection.execute("COMMIT")
    with Store.open(db_path) as store:
        assert scalar(db_path, "SELECT count(*) FROM event") == KEEP_EVENTS
        assert scalar(db_path, "SELECT min(id) FROM event") == extra + 1
        for i in range(PRUNE_EVENTS_EVERY - 1):
            store.add_event("started", f"new {i}", at=T0)
        assert scalar(db_path, "SELECT count(*) FROM event") == KEEP_EVENTS + PRUNE_EVENTS_EVERY - 1
        store.add_event("started", "the one that prunes", at=T0)
        assert scalar(db_path, "SELECT count(*) FROM event") == KEEP_EVENTS
        assert store.events(limit=1)[0].message == "the one that prunes"
        store.add_events([NewEvent("started", f"many {i}", T0) for i in range(PRUNE_EVENTS_EVERY + 1)])
        assert scalar(db_path, "SELECT count(*) FROM event") == KEEP_EVENTS  # a batch past the count prunes too


# Config revisions


def test_a_revision_round_trips_and_the_last_one_wins(store: Store) -> None:
    assert store.last_revision() is None
    config = '{"processes": {"web": {"env": {"TOKEN": "s3cret"}, "command": "srv ✓"}}}'
    first = store.save_revision(path="/etc/a.yaml", environment=None, digest="d1", config="{}", files=["/a"], at=T0)
    second = store.save_revision(
        path="/etc/sentinel.yaml",
        environment="prod",
        digest="d2",
        config=config,
        files=["/etc/sentinel.yaml", "/etc/conf.d/web.yaml"],
        at=T0 + timedelta(seconds=1),
    )
    assert second == Revision(
        second.id,
        T0 + timedelta(seconds=1),
        "/etc/sentinel.yaml",
        "prod",
        "d2",
        config,
        ("/etc/sentinel.yaml", "/etc/conf.d/web.yaml"),
    )
    assert second.id > first.id
    assert store.last_revision() == second


def test_only_the_newest_revisions_are_kept(db_path: Path, store: Store) -> None:
    for i in range(KEEP_REVISIONS + 5):
        store.save_revision(path="/c.yaml", environment=None, digest=f"d{i}", config="{}", files=(), at=T0)
    assert scalar(db_path, "SELECT count(*) FROM config_revision") == KEEP_REVISIONS
    last = store.last_revision()
    assert last is not None
    assert last.digest == f"d{KEEP_REVISIONS + 4}"
    assert last.files == ()


# Lifecycle and damaged rows


def test_a_closed_store_raises_state_error_and_closing_twice_is_fine(db_path: Path) -> None:
    store = Store.open(db_path)
    store.close()
    store.close()
    with pytest.raises(StateError, match=r"^state\.db: the store is closed$"):
        store.processes()


def test_a_damaged_row_is_a_state_error_naming_it(db_path: Path, store: Store) -> None:
    with raw(db_path) as connection:
        connection.execute("INSERT INTO process_record (name, state, updated_at) VALUES ('x', 'dancing', 'now')")
    with pytest.raises(StateError, match=r"^state\.db: process_record row x is damaged \(.*dancing"):
        store.processes()


def test_a_value_that_does_not_decode_names_its_row(db_path: Path, store: Store) -> None:
    store.save_processes([StoredProcess(name=name, state=ProcessState.RUNNING) for name in ("a", "b", "c")])
    for message in ("one", "two"):
        store.add_event("started", message, at=T0)
    with raw(db_path) as connection:
        connection.execute("UPDATE process_record SET digests = '[1]' WHERE name = 'b'")
        connection.execute("UPDATE event SET at = 'yesterday' WHERE id = 2")
    with pytest.raises(StateError, match=r"^state\.db: process_record row b is damaged \(expected a JSON object"):
        store.processes()
    with pytest.raises(StateError, match=r"^state\.db: event row 2 is damaged \(not a stored time .*: 'yesterday'"):
        store.events()
    assert [event.message for event in store.events(limit=None, process="nobody")] == []


# Files written by earlier versions


# Rows exactly as the Peewee-based Store wrote them (sqlite3's iterdump of its state.db) for the
# writes of test_rows_of_the_peewee_store_read_back_and_are_written_byte_for_byte_the_same.
PEEWEE_ROWS = r"""
INSERT INTO "process_record" VALUES('web.1','backoff','sha256:abc','{"command":"d1","cwd":"\u00e9","env":"d2"}',3,7,1,9,
    4242,1764124800.125,4240,'2026-03-01T12:00:00.123456Z','2026-03-01T12:00:04.123457Z',1,1,
    'crashed (exit 1), retrying in 4s','2026-03-01T12:01:00.123456Z');
INSERT INTO "process_record" VALUES('db','pending','','{}',0,0,NULL,NULL,NULL,3.0,NULL,NULL,NULL,0,0,'',
    '2026-03-01T12:00:00.123456Z');
INSERT INTO "event" VALUES(1,'2026-03-01T12:00:00.123456Z','web.1','started','web.1 started',NULL);
INSERT INTO "event" VALUES(2,'2026-03-01T12:00:01.123456Z',NULL,'config_invalid','x; y',NULL);
INSERT INTO "config_revision" VALUES(1,'2026-03-01T12:00:00.123456Z','/a.yaml','prod','d','{"a": "é"}',
    '["/a.yaml","/b"]',NULL,NULL,'[]');
"""
DB_RECORD = StoredProcess(name="db", state=ProcessState.PENDING, create_time=3, updated_at=T0)


def typed_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, each value with its SQLite storage class."""
    rows = {}
    with raw(path) as connection:
        for table in ("process_record", "event", "config_revision"):
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
            typed = ", ".join(f"{column}, typeof({column})" for column in columns)
            rows[table] = connection.execute(f"SELECT {typed} FROM {table} ORDER BY rowid").fetchall()
    return rows


def test_rows_of_the_peewee_store_read_back_and_are_written_byte_for_byte_the_same(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    Store.open(old).close()
    with raw(old) as connection:
        connection.executescript(PEEWEE_ROWS)
    with Store.open(old, readonly=True) as reader:
        assert reader.processes() == {"db": DB_RECORD, "web.1": EVERY_FIELD}
        assert reader.events() == [
            Event(1, T0, "web.1", "started", "web.1 started"),
            Event(2, T0 + timedelta(seconds=1), None, "config_invalid", "x; y"),
        ]
        assert reader.last_revision() == Revision(1, T0, "/a.yaml", "prod", "d", '{"a": "é"}', ("/a.yaml", "/b"))
    new = tmp_path / "new.db"
    with Store.open(new) as store:
        store.save_processes([EVERY_FIELD, DB_RECORD])
        store.add_event("started", "web.1 started", process="web.1", at=T0)
        store.add_event("config_invalid", "x\ny", at=T0 + timedelta(seconds=1))
        files = ["/a.yaml", "/b"]
        store.save_revision(path="/a.yaml", environment="prod", digest="d", config='{"a": "é"}', files=files, at=T0)
    assert typed_rows(new) == typed_rows(old)
    assert typed_rows(new)["process_record"][1][18:20] == (3.0, "real")  # create_time, given as the int 3


def test_rows_are_inserted_whatever_the_order_of_their_columns(store: Store) -> None:
    """Peewee writes an insert's columns in the model's order: the values of a row given in any other order go in
    that order too, each under its own column (the store's one insert, `_insert_each`)."""
    table = store._tables.event
    store._insert_each(table, [{"process": "web", "message": "second", "kind": "started", "at": T0}])
    store._insert_each(table, [{"at": T0, "process": "web", "kind": "started", "message": "first"}])
    assert [(e.process, e.kind, e.message) for e in store.events()] == [("web", "started", "second"),
                                                                        ("web", "started", "first")]
