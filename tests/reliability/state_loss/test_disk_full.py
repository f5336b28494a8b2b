"""A full disk (docs/reliability.md#f34-disk-full): the state writes it refuses are kept and written once space
returns, `status` and `/healthz` say "no space left for state.db / logs", the reconciler's log says so once per
outage, and a log that cannot be rotated is reported instead of silently growing past `logs.max_size`.

The full disk is a 1 MiB tmpfs mounted at the state directory in a private mount namespace, held by a `sleep`;
the reconciler runs in that namespace (`nsenter`), and the test reaches the state directory through
/proc/PID/root. Where the machine does not allow it (not root, no `unshare`), the test is skipped.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.reliability.state_loss.conftest import tagged
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

pytestmark = pytest.mark.reliability  # a step of its own in CI (.ci/run)

CONFIG = (
    "processes:\n"
    "  web: {command: sleep 1000, restart: {backoff: {initial: 0}}}\n"
    "  tick: {command: [sh, -c, 'while :; do yes 0123456789012345678 | head -n 24; sleep 0.02; done']}\n"
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A 1 MiB tmpfs at tmp_path/disk in a mount namespace of its own: (pid holding the namespace, mount point)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("nsenter") is None:
        pytest.skip("a private mount namespace needs root, unshare and nsenter")
    mount = tmp_path / "disk"
    mount.mkdir()
    script = f"mount -t tmpfs -o size=1m,mode=0700 tmpfs {mount} && echo ready && exec sleep 600"
    holder = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "ready":
            pytest.skip(f"cannot mount a tmpfs in a private namespace: {holder.communicate(timeout=10)[1].strip()}")
        yield holder.pid, mount
    finally:
        holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes its pipes


def fill(path: Path) -> None:
    """Write `path` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)


def healthz(r: Reconciler) -> dict[str, Any]:
    answer: dict[str, Any] = r.client.get("/healthz")
    return answer


def test_a_full_disk_keeps_state_writes_says_so_and_loses_nothing(
    make_reconciler: Callable[..., Reconciler], small_disk: tuple[int, Path],
) -> None:
    holder, mount = small_disk
    r = make_reconciler(CONFIG, name=mount.name)
    r.namespace_of = holder
    r.start()
    first = r.wait_state("web", "running")["pid"]
    r.wait_state("tick", "running")

    filler = r.state_dir.root / "filler"
    fill(filler)
    psutil.Process(first).kill()  # its restart, new pid and events cannot be written now
    wait_for(lambda: r.row("web")["pid"] not in (None, first) and r.row("web")["state"] == "running",
             message=lambda: str(r.rows()))
    second = r.row("web")["pid"]
    wait_for(lambda: {"no space left for logs (tick)"} <= set(healthz(r)["storage_problems"]),
             message=lambda: f"{healthz(r)}\n{r.log[-2000:]}")
    problems = healthz(r)["storage_problems"]
    assert any(p.startswith("no space left for state.db (") for p in problems), problems
    status = r.cli("status")
    assert status.exit_code == 0
    assert "warning: no space left for state.db (" in status.output
    assert "warning: no space left for logs (tick)" in status.output
    assert r.log.count("event=state_db_full") == 1, "the outage is logged once, not at every retry"

    filler.unlink()  # space returns: what was kept is written
    wait_for(lambda: healthz(r)["storage_problems"] == [], timeout=10, message=lambda: str(healthz(r)))
    assert "event=state_db_space_again" in r.log

    r.kill()  # the next reconciler knows the restart from state.db, not by guessing
    r.start()
    row = r.row("web")
    assert (row["pid"], row["restarts"], row["state"]) == (second, 1, "running"), row
    messages = [e["message"] for e in r.client.get("/v1/events", limit=100)["events"]]
    assert any(m.startswith("restarted web: killed by SIGKILL") for m in messages), messages
    assert not any("unknown to state.db" in m for m in messages), messages
    r.stop()
    assert tagged(r.home) == []


def test_a_log_that_cannot_be_rotated_is_reported(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes:\n"
                        "  tick: {command: [sh, -c, 'while :; do echo tick; sleep 0.01; done'], "
                        "logs: {max_size: 2KB, keep: 1}}\n")
    blocker = r.state_dir.logs / "tick.log.1"
    (blocker / "inside").mkdir(parents=True)  # a directory where the rotated file must go
    for private in (r.home, r.state_dir.logs):
        private.chmod(0o700)
    r.start()
    wait_for(lambda: any(p.startswith("log of tick cannot be rotated: ") for p in healthz(r)["storage_problems"]),
             timeout=10, message=lambda: f"{healthz(r)}\n{r.log[-2000:]}")
    assert "warning: log of tick cannot be rotated: " in r.cli("status").output
    assert r.log.count("event=log_rotation_failed") == 1
    shutil.rmtree(blocker)  # rotation works again, and the report ends
    wait_for(lambda: healthz(r)["storage_problems"] == [], timeout=10, message=lambda: str(healthz(r)))
    assert r.state_dir.logs.joinpath("tick.log.1").is_file()
    r.stop()
    assert tagged(r.home) == []
