"""Opening state.db: migrations, newer schemas, corrupt files (docs/reliability.md#f33-a-corrupt-state-database),
read-only opens and file permissions (docs/reliability.md#f35-secrets-in-output), each on a real file in tmp_path."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from sentinel.errors import StateError
from sentinel.state import Store, StoredProcess
from sentinel.state.migrations import SCHEMA_VERSION
from sentinel.states import ProcessState
from tests.integration.state.support import T0, raw, scalar

# Schema 1 exactly as it shipped, written out by hand (not by the migration under test).
SCHEMA_1 = """
CREATE TABLE process_record (
    name TEXT NOT NULL PRIMARY KEY, state TEXT NOT NULL, spec_hash TEXT NOT NULL DEFAULT '',
    digests TEXT NOT NULL DEFAULT '{}', failures INTEGER NOT NULL DEFAULT 0,
    restarts INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, exit_signal INTEGER, pid INTEGER,
    create_time REAL, pgid INTEGER, started_at TEXT, retry_at TEXT,
    held INTEGER NOT NULL DEFAULT 0, restart_requested INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL);
CREATE TABLE event (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, process TEXT,
    kind TEXT NOT NULL, message TEXT NOT NULL);
INSERT INTO process_record (name, state, digests, pid, held, updated_at)
    VALUES ('web.0', 'stopped', '{"command":"c1"}', 77, 1, '2026-03-01T12:00:00.123456Z');
INSERT INTO event (at, process, kind, message) VALUES ('2026-03-01T12:00:00.123456Z', 'web.0', 'held', 'held by user');
PRAGMA user_version = 1;
"""

# Schema 2 exactly as it shipped: schema 1 plus config revisions and the event index, with a revision.
SCHEMA_2 = (
    SCHEMA_1.replace("PRAGMA user_version = 1;", "")
    + """
CREATE TABLE config_revision (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, path TEXT NOT NULL,
    environment TEXT, digest TEXT NOT NULL, config TEXT NOT NULL, files TEXT NOT NULL DEFAULT '[]');
CREATE INDEX event_process ON event (process, id);
INSERT INTO config_revision (at, path, environment, digest, config, files)
    VALUES ('2026-03-01T12:00:00.123456Z', '/s.yaml', 'prod', 'd1', '{"a":1}', '["/s.yaml"]');
PRAGMA user_version = 2;
"""
)

# Schema 3 exactly as it shipped: schema 2 plus the run history, with a run that was going.
SCHEMA_3 = (
    SCHEMA_2.replace("PRAGMA user_version = 2;", "")
    + """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, scheduled_for TEXT, started_at TEXT,
    ended_at TEXT, exit_code INTEGER, exit_signal INTEGER, outcome TEXT NOT NULL, trigger TEXT NOT NULL);
CREATE INDEX runs_job ON runs (job, id);
INSERT INTO runs (job, scheduled_for, started_at, outcome, trigger)
    VALUES ('backup', '2026-03-01T03:00:00.000000Z', '2026-03-01T03:00:00.012000Z', 'running', 'schedule');
PRAGMA user_version = 3;
"""
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def make_database(path: Path) -> None:
    with Store.open(path) as store:
        store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING, pid=10, updated_at=T0))
        store.add_event("started", "web started", process="web", at=T0)


# Migrations


def test_a_new_file_is_migrated_to_the_current_schema(db_path: Path) -> None:
    Store.open(db_path).close()
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION == 6


def test_an_empty_existing_file_is_migrated(db_path: Path) -> None:
    db_path.touch()
    with Store.open(db_path) as store:
        assert store.processes() == {}
        assert store.recovered is None
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION


def test_a_schema_1_file_made_by_hand_is_migrated_and_keeps_its_rows(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.executescript(SCHEMA_1)
    with Store.open(db_path) as store:
        web = store.processes()["web.0"]
        assert (web.state, web.digests, web.pid, web.held, web.updated_at) == (
            ProcessState.STOPPED,
            {"command": "c1"},
            77,
            True,
            T0,
        )
        assert [(e.process, e.kind, e.message) for e in store.events()] == [("web.0", "held", "held by user")]
        assert store.last_revision() is None
        store.save_revision(path="/s.yaml", environment=None, digest="d", config="{}", files=["/s.yaml"], at=T0)
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION


def test_a_schema_2_file_made_by_hand_is_migrated_to_5_and_keeps_its_rows(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.executescript(SCHEMA_2)
    with Store.open(db_path) as store:
        assert store.processes()["web.0"].pid == 77
        assert [(e.process, e.kind) for e in store.events()] == [("web.0", "held")]
        revision = store.last_revision()
        assert revision is not None
        assert (revision.path, revision.environment, revision.digest, revision.files) == (
            "/s.yaml",
            "prod",
            "d1",
            ("/s.yaml",),
        )
        assert store.runs("backup") == []
        run = store.start_run("backup", scheduled_for=T0, started_at=T0, trigger="schedule")
        assert store.last_run("backup") == run
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION == 6
    indexes = scalar(db_path, "SELECT group_concat(name) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'")
    assert indexes == "runs_job_number"
    with Store.open(db_path, readonly=True) as reader:
        assert [r.job for r in reader.runs("backup")] == ["backup"]


def test_a_schema_3_run_still_going_is_the_job_s_own_after_the_migration(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.executescript(SCHEMA_3)
    with Store.open(db_path) as store:
        (going,) = store.open_runs("backup")
        assert (going.instance, going.trigger, going.outcome) == (None, "schedule", "running")
        overlapping = store.start_run("backup", scheduled_for=None, started_at=T0, trigger="manual",
                                      instance="backup+1")
        assert [r.instance for r in store.open_runs("backup")] == [None, "backup+1"]
        assert store.runs("backup")[-1] == overlapping
    assert scalar(db_path, "PRAGMA user_version") == SCHEMA_VERSION


# Files written by earlier releases (tests/integration/state/data/README.md says how each was made)

DATA = Path(__file__).parent / "data"


def copy_of(name: str, db_path: Path) -> Path:
    shutil.copyfile(DATA / name, db_path)
    return db_path


def schema_of(path: Path) -> dict[str, object]:
    """Each table's columns (name, type, not null, default, primary key) and its indexes (name, unique, columns).

    SQLite reports `INTEGER PRIMARY KEY` as nullable when it was declared without NOT NULL, which
    changes nothing (it is the row id): primary keys count as not null.
    """
    schema: dict[str, object] = {}
    with raw(path) as connection:
        tables = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        for table in tables:
            columns = [(name, kind, bool(notnull) or bool(pk), default, pk)
                       for _, name, kind, notnull, default, pk in connection.execute(f"PRAGMA table_info({table})")]
            indexes = sorted(
                (name, unique, [column[2] for column in connection.execute(f"PRAGMA index_info({name})")])
                for _, name, unique, origin, _ in connection.execute(f"PRAGMA index_list({table})") if origin == "c"
            )
            schema[table] = {"columns": columns, "indexes": indexes}
    return schema


@pytest.mark.parametrize("name", ["schema3.db", "schema4.db", "schema5.db"])
def test_a_file_of_an_earlier_release_migrates_to_exactly_the_schema_of_a_new_file(tmp_path: Path, name: str) -> None:
    fresh = tmp_path / "fresh.db"
    Store.open(fresh).close()
    migrated = copy_of(name, tmp_path / "state.db")
    Store.open(migrated).close()
    assert scalar(migrated, "PRAGMA user_version") == scalar(fresh, "PRAGMA user_version") == SCHEMA_VERSION
    assert schema_of(migrated) == schema_of(fresh)
    assert scalar(migrated, "PRAGMA integrity_check") == "ok"


def test_a_schema_4_file_of_a_real_reconciler_keeps_its_records_events_holds_and_runs(db_path: Path) -> None:
    copy_of("schema4.db", db_path)
    with Store.open(db_path) as store:
        processes = store.processes()
        assert sorted(processes) == ["backup", "flaky", "report", "report+1", "web.0", "web.1", "worker"]
        assert (processes["worker"].state, processes["worker"].held) == (ProcessState.STOPPED, True)
        assert (processes["flaky"].state, processes["flaky"].exit_code) == (ProcessState.FAILED, 3)
        assert processes["report+1"].pid is not None and processes["report+1"].create_time is not None
        assert any(event.kind == "held" or "stopped by user" in event.message for event in store.events())
        revision = store.last_revision()
        assert revision is not None and revision.files
        # Runs keep the numbers their log lines show (global then); a job's next run follows its highest.
        assert [(r.id, r.outcome) for r in store.runs("backup")] == [(1, "succeeded"), (2, "skipped")]
        assert [(r.id, r.instance) for r in store.open_runs("report")] == [(3, None), (4, "report+1")]
        store.finish_run("report", 4, ended_at=T0, outcome="succeeded", exit_code=0)
        assert [r.outcome for r in store.runs("report")] == ["running", "succeeded"]
        assert store.reserve_run_id("backup") == 3 and store.reserve_run_id("report") == 5
        assert store.start_run("newjob", scheduled_for=None, started_at=T0, trigger="manual").id == 1
    with Store.open(db_path, readonly=True) as reader:
        assert [r.id for r in reader.runs("report")] == [3, 4]


def test_a_schema_3_file_keeps_its_runs_going_and_their_numbers(db_path: Path) -> None:
    copy_of("schema3.db", db_path)
    with Store.open(db_path) as store:
        assert [(r.id, r.outcome, r.instance) for r in store.runs("backup")] == [
            (1, "succeeded", None), (3, "running", None)]
        assert [(r.id, r.job) for r in store.open_runs("report")] == [(2, "report")]
        assert store.processes()["worker"].held
        assert store.close_open_runs(T0) == 2
        assert store.start_run("backup", scheduled_for=None, started_at=T0, trigger="manual").id == 4
        assert store.start_run("report", scheduled_for=None, started_at=T0, trigger="manual").id == 3


@pytest.mark.parametrize("readonly", [False, True])
def test_a_file_from_a_newer_sentinel_is_refused_and_left_alone(db_path: Path, readonly: bool) -> None:
    make_database(db_path)
    with raw(db_path) as connection:
        connection.execute("PRAGMA user_version = 9")
    before = digest(db_path)
    with pytest.raises(StateError, match=r"^state\.db was written by a newer sentinel \(schema 9 > 6\)$"):
        Store.open(db_path, readonly=readonly)
    assert digest(db_path) == before
    assert not [name for name in siblings(db_path) if "corrupt" in name]


def test_a_database_of_another_program_is_refused_and_left_unchanged(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.execute("CREATE TABLE event (x)")
    before = digest(db_path)
    with pytest.raises(StateError, match=r"^state\.db: table \"?event\"? already exists$"):
        Store.open(db_path)
    assert digest(db_path) == before  # the failed migration step was rolled back whole


# Corrupt files (docs/reliability.md#f33-a-corrupt-state-database)


def corrupt_moved(db_path: Path) -> list[Path]:
    return sorted(db_path.parent.glob("state.db.corrupt-*"))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: os.urandom(100) + data[100:], id="header-overwritten"),
        pytest.param(lambda data: os.urandom(8192), id="random-garbage"),
        pytest.param(lambda data: b"\0" * 100 + data[100:], id="header-zeroed"),
        pytest.param(lambda data: data[:4096] + os.urandom(len(data) - 4096), id="pages-garbled"),
    ],
)
def test_a_corrupt_file_is_moved_aside_and_a_fresh_one_works(db_path: Path, damage: object) -> None:
    make_database(db_path)
    damaged = damage(db_path.read_bytes())  # type: ignore[operator]
    db_path.write_bytes(damaged)
    with Store.open(db_path) as store:
        [moved] = corrupt_moved(db_path)
        assert store.recovered is not None
        assert store.recovered.startswith("state.db was corrupt (")
        assert store.recovered.endswith(f"); moved to {moved}")
        assert "\n" not in store.recovered
        assert moved.read_bytes() == damaged
        assert store.processes() == {}
        store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING))
        assert list(store.processes()) == ["web"]
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert scalar(db_path, "PRAGMA integrity_check") == "ok"


def test_sidecar_files_of_a_corrupt_file_never_stay_next_to_the_fresh_one(db_path: Path) -> None:
    make_database(db_path)
    db_path.write_bytes(b"not a database at all" * 10)
    stale = os.urandom(5000)
    Path(f"{db_path}-wal").write_bytes(stale)
    Path(f"{db_path}-journal").write_bytes(stale)
    with Store.open(db_path) as store:
        [moved] = corrupt_moved(db_path)
        assert store.processes() == {}
        # SQLite may already have dropped them while finding the file corrupt; what is left moves with it.
        for suffix in ("-wal", "-journal"):
            fresh = Path(f"{db_path}{suffix}")
            assert not fresh.exists() or fresh.read_bytes() != stale
            assert not Path(f"{moved}{suffix}").exists() or Path(f"{moved}{suffix}").read_bytes() == stale


def test_a_second_corruption_does_not_overwrite_the_first(db_path: Path) -> None:
    for _ in range(2):
        make_database(db_path)
        db_path.write_bytes(b"garbage" * 100)
        with Store.open(db_path) as store:
            assert store.recovered is not None
    assert len(corrupt_moved(db_path)) == 2


def test_a_locked_database_is_not_mistaken_for_a_corrupt_one(db_path: Path) -> None:
    make_database(db_path)  # closed cleanly: back in rollback-journal mode, so a lock blocks readers too
    with raw(db_path) as other:
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StateError, match=r"^state\.db: database is locked$"):
            Store.open(db_path, busy_timeout=0.05)
        other.execute("ROLLBACK")
    assert corrupt_moved(db_path) == []
    with Store.open(db_path) as store:
        assert list(store.processes()) == ["web"]


def test_an_unwritable_location_is_a_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match=r"^state\.db: cannot open .*state\.db: No such file or directory$"):
        Store.open(tmp_path / "missing-dir" / "state.db")


def test_closing_while_another_connection_reads_keeps_wal_mode(db_path: Path) -> None:
    store = Store.open(db_path)
    store.add_event("started", "x", at=T0)
    with raw(db_path) as reader:
        assert reader.execute("SELECT count(*) FROM event").fetchone() == (1,)
        store.close()  # cannot switch back to rollback-journal mode now; that is not an error
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# Read-only opens


def test_read_only_open_of_a_missing_file_fails_and_creates_nothing(db_path: Path) -> None:
    with pytest.raises(StateError, match=r"^state\.db: not found at .*state\.db \(no reconciler has used"):
        Store.open(db_path, readonly=True)
    assert siblings(db_path) == []


def test_read_only_open_reads_and_never_writes(db_path: Path) -> None:
    make_database(db_path)
    before = (digest(db_path), db_path.stat().st_mtime_ns, siblings(db_path))
    with Store.open(db_path, readonly=True) as reader:
        assert reader.readonly
        assert list(reader.processes()) == ["web"]
        assert [event.message for event in reader.events()] == ["web started"]
        with pytest.raises(StateError, match=r"^state\.db: database is read-only$") as caught:
            reader.add_event("started", "x", at=T0)
        assert caught.value.sqlite_error == "SQLITE_READONLY"
        with pytest.raises(StateError, match="read-only"):
            reader.save_process(StoredProcess(name="x", state=ProcessState.RUNNING))
    # A writable Store leaves the file in rollback-journal mode when it closes, so a reader
    # needs no -wal/-shm and creates none.
    assert (digest(db_path), db_path.stat().st_mtime_ns, siblings(db_path)) == before


def test_read_only_open_of_a_wal_file_without_sidecars_documents_what_sqlite_does(db_path: Path) -> None:
    make_database(db_path)
    with raw(db_path) as connection:
        connection.execute("PRAGMA journal_mode = WAL")  # as a reconciler killed mid-run, then -wal removed
    before = (digest(db_path), db_path.stat().st_mtime_ns)
    with Store.open(db_path, readonly=True) as reader:
        assert list(reader.processes()) == ["web"]
    # SQLite creates an empty -wal and a -shm for a read-only connection to a WAL database and
    # leaves them (with the database's permissions); the database file itself is untouched.
    assert (digest(db_path), db_path.stat().st_mtime_ns) == before
    assert siblings(db_path) == ["state.db", "state.db-shm", "state.db-wal"]
    assert Path(f"{db_path}-wal").stat().st_size == 0


def test_read_only_open_refuses_an_older_schema_without_migrating_it(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.executescript(SCHEMA_1)
    with pytest.raises(StateError, match=r"^state\.db has schema 1, this sentinel reads 6: start the reconciler"):
        Store.open(db_path, readonly=True)
    assert scalar(db_path, "PRAGMA user_version") == 1


def test_read_only_open_of_a_corrupt_file_fails_and_leaves_it_in_place(db_path: Path) -> None:
    db_path.write_bytes(os.urandom(4096))
    before = digest(db_path)
    with pytest.raises(StateError, match=r"^state\.db: file is not a database \(the reconciler moves it aside"):
        Store.open(db_path, readonly=True)
    assert digest(db_path) == before
    assert corrupt_moved(db_path) == []


# Permissions (docs/reliability.md#f35-secrets-in-output)


def test_the_database_and_its_wal_are_owner_only_whatever_the_umask(db_path: Path) -> None:
    old = os.umask(0)
    try:
        with Store.open(db_path) as store:
            store.add_event("started", "x", at=T0)
            modes = {name: stat.S_IMODE((db_path.parent / name).stat().st_mode) for name in siblings(db_path)}
    finally:
        os.umask(old)
    assert modes == {"state.db": 0o600, "state.db-shm": 0o600, "state.db-wal": 0o600}


def test_an_existing_database_readable_by_others_is_made_owner_only(db_path: Path) -> None:
    make_database(db_path)
    db_path.chmod(0o644)
    Store.open(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
