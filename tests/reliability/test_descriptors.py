"""A descriptor limit too low for the config (docs/reliability.md#f43-many-processes), on a real reconciler
started under a hard RLIMIT_NOFILE of 256 with 101 processes to run: it says so before starting anything,
starts what fits in dependency order, leaves the rest `pending` with the reason, keeps answering, and still
replaces a killed process — where it used to start what it could, fail the rest with "too many open
files" in a backoff loop, and starve its own API."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

pytestmark = pytest.mark.reliability

CONFIG = """\
processes:
  db: {command: sleep 1000}
  web:
    command: sleep 1000
    replicas: 100
    depends_on: {db: started}
    restart: {backoff: {initial: 0}}
"""


def by_state(rows: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, row in sorted(rows.items()):
        out.setdefault(row["state"], []).append(name)
    return out


def test_a_hard_limit_too_low_starts_what_fits_and_says_why_the_rest_waits(
    reconcilers: Callable[..., Reconciler],
) -> None:
    r = reconcilers(CONFIG, fd_hard_limit=256)
    r.start()

    def settled() -> bool:
        states = by_state(r.rows())
        return len(states.get("running", [])) + len(states.get("pending", [])) == 101 and "starting" not in states

    wait_for(settled, timeout=60, message=lambda: f"{by_state(r.rows())}\n{r.log[-3000:]}")
    states = by_state(r.rows())
    running, pending = states["running"], states["pending"]
    assert "db" in running and 20 < len(running) < 60, states  # (256 - base - reserve) / 4 per process
    # dependency order, then by name: db first, then web.0, web.1, web.10, … as far as they fit
    assert running == ["db", *sorted(f"web.{i}" for i in range(100))[:len(running) - 1]]
    reason = r.row(pending[0])["reason"]
    assert reason.startswith("not started: too few file descriptors (the limit is 256; 101 processes need about ")
    assert "Too many open files" not in r.log and "backoff" not in states

    lines = r.cli("events", "-n", "1000").output.splitlines()
    said = [i for i, line in enumerate(lines) if "101 processes need about" in line and "ulimit -n" in line]
    started = [i for i, line in enumerate(lines) if " started " in line]
    assert said and started and said[0] < started[0], lines[:5]  # said before anything started

    # `apply` does not wait for what cannot start: it stops at once with why
    applied = r.cli("apply", "-f", str(r.config), "--timeout", "120")
    assert applied.exit_code == 1 and "too few file descriptors" in applied.output, applied.output
    assert "timed out" not in applied.output

    # the API answers, and the restart path has its descriptors: a killed process is replaced
    victim = running[-1]
    old_pid = r.row(victim)["pid"]
    os.kill(old_pid, signal.SIGKILL)
    wait_for(lambda: r.row(victim)["state"] == "running" and r.row(victim)["pid"] != old_pid, timeout=20,
             message=lambda: f"{r.row(victim)}\n{r.log[-2000:]}")
    assert r.cli("status").exit_code == 0
    assert len(by_state(r.rows())["running"]) == len(running)
