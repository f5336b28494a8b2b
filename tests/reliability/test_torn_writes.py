"""A config file written in pieces never stops a process the finished file still lists
(docs/reliability.md#f21-a-half-written-config, docs/limitations.md).

The file is truncated and written in three chunks, broken just before `  s2:` and `  s3:`, as
`scp`, Ansible's `copy` or a slow NFS write it: the half-written file is valid and lacks s2 and s3.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import process_marker  # noqa: F401  (fails a test that leaves processes behind)
from tests.support.daemon import Reconciler
from tests.support.procs import marked_alive
from tests.support.wait import wait_for

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("process_marker")]

CONFIG = """\
processes:
  s1:
    command: sleep 1000
  s2:
    command: sleep 1000
  s3:
    command: sleep 1000
"""
SETTLE = 1.0  # reconcile.planner.SETTLE
WATCH = SETTLE + 1.5  # seconds the pids are watched once the last chunk is written: past the settle time


@pytest.fixture
def reconciler(tmp_path: Path) -> Iterator[Reconciler]:
    config = tmp_path / "sentinel.yaml"
    config.write_text(CONFIG)
    running = Reconciler(home=tmp_path / "home", config=config)
    running.start()
    yield running
    running.stop()
    assert marked_alive() == []


def pids(reconciler: Reconciler) -> dict[str, int | None]:
    return {name: row.get("pid") for name, row in reconciler.rows().items()}


def all_running(reconciler: Reconciler) -> dict[str, int | None]:
    wait_for(lambda: all(r["state"] == "running" for r in reconciler.rows().values()) and len(reconciler.rows()) == 3,
             timeout=10.0, message=lambda: str(reconciler.rows()))
    return pids(reconciler)


def write_in_pieces(path: Path, gap: float) -> None:
    """Truncate `path`, then write CONFIG in three chunks `gap` seconds apart (the fault itself, not a wait)."""
    first, rest = CONFIG.split("  s2:")
    second, third = ("  s2:" + rest).split("  s3:")
    with open(path, "w") as handle:
        for number, chunk in enumerate((first, second, "  s3:" + third)):
            if number:
                time.sleep(gap)
            handle.write(chunk)
            handle.flush()


@pytest.mark.parametrize("gap", [0.05, 0.1, 0.3, 0.8])
def test_a_file_written_in_pieces_stops_nothing_it_still_lists(reconciler: Reconciler, gap: float) -> None:
    before = all_running(reconciler)
    write_in_pieces(reconciler.config, gap)
    deadline = time.monotonic() + WATCH
    while time.monotonic() < deadline:  # every pid stays the same throughout, and past the settle time
        assert pids(reconciler) == before, reconciler.log[-3000:]
        time.sleep(0.02)
    events = reconciler.client.get("/v1/events", limit="200")["events"]
    assert [e for e in events if e["process"] in ("s2", "s3") and "removed from config" in e["message"]] == []


def test_a_removal_still_happens_once_the_file_has_settled(reconciler: Reconciler) -> None:
    before = all_running(reconciler)
    reconciler.config.write_text(CONFIG.split("  s3:", maxsplit=1)[0])
    wait_for(lambda: "s3" not in reconciler.rows(), timeout=10.0, message=lambda: str(reconciler.rows()))
    assert pids(reconciler) == {"s1": before["s1"], "s2": before["s2"]}
    assert before["s3"] not in marked_alive()


def test_apply_stops_at_once_what_a_whole_file_removes(reconciler: Reconciler) -> None:
    """`apply` reads the whole file on the user's word: it does not wait for the file to settle."""
    before = all_running(reconciler)
    reconciler.config.write_text(CONFIG.split("  s3:", maxsplit=1)[0])
    result = reconciler.cli("apply", "-f", str(reconciler.config))
    assert result.exit_code == 0, result.output
    assert set(reconciler.rows()) == {"s1", "s2"}  # apply returned with the removal done
    assert before["s3"] not in marked_alive()
