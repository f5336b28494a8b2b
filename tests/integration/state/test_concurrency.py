"""state.db shared with other connections and processes: locks (docs/reliability.md#f32-a-locked-state-database), WAL
readers, a writer killed without closing, and writes that fail for lack of space (docs/reliability.md#f34-disk-full)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from sentinel.errors import StateError
from sentinel.state import Store, StoredProcess
from sentinel.state.db import state_error
from sentinel.states import ProcessState
from tests.integration.state.support import T0, raw, scalar


def run_python(code: str, *args: str) -> str:
    """Run `code` in a fresh interpreter (another process on the same files); return its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_write_under_another_connections_lock_fails_within_the_busy_timeout_and_resumes(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=0.2) as store, raw(db_path) as other:
        store.add_event("started", "before", at=T0)
        other.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(StateError, match=r"^state\.db: database is locked$") as caught:
            store.add_event("exited", "during", process="web", at=T0)
        assert 0.15 <= time.monotonic() - started < 1.5
        assert caught.value.sqlite_error == "SQLITE_BUSY"
        with pytest.raises(StateError, match="locked"):
            store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING))
        assert [event.message for event in store.events()] == ["before"]  # WAL: reads go on
        other.execute("ROLLBACK")
        store.add_event("exited", "after", process="web", at=T0)
        store.save_process(StoredProcess(name="web", state=ProcessState.BACKOFF))
        assert [event.message for event in store.events()] == ["before", "after"]
        assert store.processes()["web"].state is ProcessState.BACKOFF


READER = """
    import json, sys
    from pathlib import Path
    from sentinel.state import Store
    with Store.open(Path(sys.argv[1]), readonly=True) as store:
        processes = {name: p.state.value for name, p in store.processes().items()}
        print(json.dumps({"processes": processes, "events": [e.message for e in store.events()]}))
"""


def test_a_reader_in_another_process_sees_committed_writes_while_the_writer_runs(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.save_process(StoredProcess(name="web.0", state=ProcessState.RUNNING, pid=5))
        store.add_event("started", "web.0 started", process="web.0", at=T0)
        assert Path(f"{db_path}-wal").exists()
        seen = json.loads(run_python(READER, str(db_path)))
        assert seen == {"processes": {"web.0": "running"}, "events": ["web.0 started"]}
        store.add_event("exited", "web.0 exited 1", process="web.0", at=T0)
        assert json.loads(run_python(READER, str(db_path)))["events"] == ["web.0 started", "web.0 exited 1"]


KILLED_WRITER = """
    import os, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from sentinel.state import Store, StoredProcess
    from sentinel.states import ProcessState
    store = Store.open(Path(sys.argv[1]))
    store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING, pid=4242, create_time=1.5))
    store.add_event("started", "web started", process="web", at=datetime.now(UTC))
    os._exit(0)  # like SIGKILL: no close, no checkpoint
"""


def test_a_writer_killed_without_closing_loses_no_committed_write(db_path: Path) -> None:
    run_python(KILLED_WRITER, str(db_path))
    assert Path(f"{db_path}-wal").stat().st_size > 0
    with Store.open(db_path, readonly=True) as reader:
        assert reader.processes()["web"].pid == 4242
    with Store.open(db_path) as store:
        web = store.processes()["web"]
        assert (web.pid, web.create_time) == (4242, 1.5)
        assert [event.message for event in store.events()] == ["web started"]


def test_a_corrupt_file_left_with_a_wal_starts_fresh_and_the_old_wal_is_not_replayed(db_path: Path) -> None:
    run_python(KILLED_WRITER, str(db_path))  # its last writes are only in the -wal
    with db_path.open("r+b") as file:
        file.write(os.urandom(100))
    with Store.open(db_path) as store:
        assert store.recovered is not None
        assert store.processes() == {}
        assert store.events() == []


FULL_DISK = """
    import json, resource, signal, sys
    from datetime import UTC, datetime
    from pathlib import Path
    from sentinel.errors import StateError
    from sentinel.state import Store
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    now = datetime.now(UTC)
    with Store.open(Path(sys.argv[1])) as store:
        store.add_event("started", "before", at=now)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000 + 123, resource.RLIM_INFINITY))
        added = 0
        try:
            while added < 10_000:
                store.add_event("output", "x" * 1000, at=now)
                added += 1
        except StateError as exc:
            error = [str(exc), exc.sqlite_error]
        stored = len(store.events(limit=None))
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        store.add_event("started", "after", at=now)
        print(json.dumps({"added": added, "error": error, "stored": stored, "last": store.events(limit=1)[0].message}))
"""


def test_a_write_that_cannot_grow_the_file_is_a_state_error_and_writing_resumes(db_path: Path) -> None:
    result = json.loads(run_python(FULL_DISK, str(db_path)))
    message, code = result["error"]
    assert message.startswith("state.db: ")
    assert code in {"SQLITE_FULL", "SQLITE_IOERR"}  # ENOSPC is FULL; the file size limit used here is IOERR
    assert result["stored"] == result["added"] + 1  # the failed event was rolled back, nothing else lost
    assert result["last"] == "after"
    assert scalar(db_path, "PRAGMA integrity_check") == "ok"


def test_sqlite_full_reads_disk_is_full(db_path: Path) -> None:
    with raw(db_path) as connection:
        connection.execute("CREATE TABLE t (x BLOB)")
        connection.execute("PRAGMA max_page_count = 3")
        with pytest.raises(sqlite3.OperationalError) as caught:
            connection.execute("INSERT INTO t VALUES (zeroblob(100000))")
    error = state_error("state.db", caught.value)
    assert (str(error), error.sqlite_error) == ("state.db: disk is full", "SQLITE_FULL")


def test_a_batch_commits_every_write_inside_at_once(db_path: Path) -> None:
    with Store.open(db_path) as store, raw(db_path) as reader:
        with store.batch():
            store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING))
            store.add_event("started", "web started", process="web", at=T0)
            with store.batch():  # a nested batch (or write) joins the open transaction
                store.save_revision(path="/s.yaml", environment=None, digest="d", config="{}", files=(), at=T0)
            assert reader.execute("SELECT count(*) FROM process_record").fetchone() == (0,)  # not committed yet
            assert reader.execute("SELECT count(*) FROM event").fetchone() == (0,)
            assert [event.message for event in store.events()] == ["web started"]  # the Store reads its own writes
        assert reader.execute("SELECT count(*) FROM process_record").fetchone() == (1,)
        assert reader.execute("SELECT count(*) FROM event").fetchone() == (1,)
        assert reader.execute("SELECT digest FROM config_revision").fetchall() == [("d",)]


def test_a_batch_that_fails_writes_nothing_and_the_store_goes_on(db_path: Path) -> None:
    class Boom(Exception):
        pass

    with Store.open(db_path) as store:
        store.add_event("started", "before", at=T0)
        with pytest.raises(Boom), store.batch():
            store.save_process(StoredProcess(name="web", state=ProcessState.RUNNING))
            store.add_event("started", "inside", at=T0)
            raise Boom
        assert store.processes() == {}
        assert [event.message for event in store.events()] == ["before"]
        store.add_event("started", "after", at=T0)
    assert scalar(db_path, "SELECT group_concat(message, ',') FROM event") == "before,after"


def test_a_batch_waiting_for_another_connections_lock_is_a_state_error(db_path: Path) -> None:
    with Store.open(db_path, busy_timeout=0.05) as store, raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StateError, match=r"^state\.db: database is locked$"), store.batch():
            pytest.fail("the batch must not start without the write lock")
        other.execute("ROLLBACK")
        with store.batch():
            store.add_event("started", "x", at=T0)
    assert scalar(db_path, "SELECT count(*) FROM event") == 1


def test_one_store_is_shared_by_threads(db_path: Path) -> None:
    with Store.open(db_path) as store:

        def write(worker: int) -> None:
            for i in range(25):
                store.add_event("started", f"{worker}.{i}", process=f"w.{worker}", at=T0)
                store.save_process(StoredProcess(name=f"w.{worker}", state=ProcessState.RUNNING, restarts=i))

        threads = [threading.Thread(target=write, args=(worker,)) for worker in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = store.events(limit=None)
        assert len(events) == len({event.id for event in events}) == 100
        assert {name: p.restarts for name, p in store.processes().items()} == {f"w.{n}": 24 for n in range(4)}
