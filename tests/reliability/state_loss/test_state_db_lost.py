"""state.db lost while the reconciler runs, or lost for good: nothing is forgotten, nothing runs twice.

docs/reliability.md#f33-a-corrupt-state-database: state.db deleted, emptied or overwritten while the reconciler
runs is noticed, rebuilt from what the reconciler holds in memory and recorded as an event, so that the next
reconciler still adopts every process with its restart count.

docs/reliability.md#f08-duplicates-after-the-reconciler-dies: when the state is gone for good, a process still
carries its tag and its spec digest; one whose instance is still desired as the same spec is adopted rather than
restarted, the others are stopped."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from tests.reliability.state_loss.conftest import tagged
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

pytestmark = pytest.mark.reliability  # a step of its own in CI (.ci/run)

WEB = "processes: {web: {command: sleep 1000, restart: {backoff: {initial: 0}}}}"


def events(r: Reconciler) -> list[dict[str, str]]:
    found: list[dict[str, str]] = r.client.get("/v1/events", limit=100)["events"]
    return found


def truncate(db: Path) -> None:
    for sidecar in ("-wal", "-shm"):
        Path(f"{db}{sidecar}").unlink(missing_ok=True)
    os.truncate(db, 0)


def delete(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def overwrite(db: Path) -> None:
    with open(db, "r+b") as file:
        file.write(b"not a database, " * 512)


@pytest.mark.parametrize(("damage", "said"), [(truncate, "was truncated to 0 bytes"), (delete, "was deleted"),
                                             (overwrite, "not a SQLite database")])
def test_state_db_damaged_while_running_is_rebuilt_and_the_next_reconciler_adopts(
    make_reconciler: Callable[..., Reconciler], damage: Callable[[Path], None], said: str,
) -> None:
    r = make_reconciler(WEB)
    r.start()
    first = r.wait_state("web", "running")["pid"]
    psutil.Process(first).kill()  # one restart, whose count must survive
    wait_for(lambda: r.row("web")["pid"] not in (None, first) and r.row("web")["state"] == "running",
             message=lambda: str(r.rows()))
    pid = r.row("web")["pid"]
    assert r.row("web")["restarts"] == 1

    damage(r.state_dir.db)
    wait_for(lambda: any(e["kind"] == "state_rebuilt" for e in events(r)), timeout=10,
             message=lambda: f"no state_rebuilt event: {events(r)}\n{r.log[-2000:]}")
    rebuilt = next(e["message"] for e in events(r) if e["kind"] == "state_rebuilt")
    assert said in rebuilt and "rebuilt from its memory (1 process records" in rebuilt

    r.kill()  # the next reconciler reads the rebuilt state.db
    r.start()
    row = r.row("web")
    assert (row["pid"], row["restarts"], row["state"]) == (pid, 1, "running"), f"{row}\n{events(r)}"
    assert not any(e["kind"] == "stray_stopped" for e in events(r))
    r.stop()
    assert tagged(r.home) == []


def test_wiped_state_adopts_unchanged_processes_and_stops_the_others(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler("processes: {web: {command: sleep 1000}, api: {command: sleep 1001}, "
                        "gone: {command: sleep 1002}}")
    r.start()
    before = {name: r.wait_state(name, "running")["pid"] for name in ("web", "api", "gone")}
    r.kill()
    delete(r.state_dir.db)  # a new disk, a wiped state: the processes still run, carrying their tags
    r.config.write_text("processes: {web: {command: sleep 1000}, api: {command: sleep 1003}}")
    r.start()
    after = {name: r.wait_state(name, "running")["pid"] for name in ("web", "api")}
    assert after["web"] == before["web"], "an unchanged process was restarted"
    assert after["api"] != before["api"], "a changed process was adopted"
    assert not psutil.pid_exists(before["gone"]) or psutil.Process(before["gone"]).status() == psutil.STATUS_ZOMBIE
    messages = {e["process"]: e["message"] for e in events(r) if e["kind"] in ("adopted", "stray_stopped")}
    assert messages["web"].startswith(f"adopted web (pid {before['web']}) by its tag")
    assert "its spec has changed" in messages["api"]
    assert "not in the config" in messages["gone"]
    r.stop()
    assert tagged(r.home) == []
