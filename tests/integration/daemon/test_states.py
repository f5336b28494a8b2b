"""Process states as `status` shows them (docs/states.md): stopping, kills, the crash loop, RESTARTS, reasons."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

STUBBORN = """
processes:
  stubborn:
    command: ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]
    stop: {timeout: 2s}
"""


def _events(r: Reconciler, process: str) -> list[str]:
    return [e["message"] for e in r.client.get("/v1/events", process=process, limit=100)["events"]]


def _sentinel(r: Reconciler, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sentinel", "--state-dir", str(r.home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_stop_shows_stopping_for_its_whole_grace_and_says_when_it_ended_in_sigkill(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    r = make_reconciler(STUBBORN)
    r.start()
    pid = r.wait_state("stubborn", "running")["pid"]
    stop = _sentinel(r, "stop", "stubborn")
    try:
        row = r.wait_state("stubborn", "stopping")
        assert (row["pid"], row["reason"]) == (pid, "stopped by user")
        assert json.loads(r.cli("status", "--json", "stubborn").stdout)[0]["state"] == "stopping"
        out, err = stop.communicate(timeout=30)
    finally:
        if stop.poll() is None:
            stop.kill()
            stop.wait()
    assert (stop.returncode, out, err) == (0, "killed stubborn: still running 2s after SIGTERM\n", "")
    assert "killed stubborn: still running 2s after SIGTERM" in _events(r, "stubborn")
    assert r.row("stubborn")["state"] == "stopped"


def test_a_restart_shows_stopping_until_its_old_process_is_gone(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(STUBBORN)
    r.start()
    pid = r.wait_state("stubborn", "running")["pid"]
    restart = _sentinel(r, "restart", "stubborn")
    try:
        assert r.wait_state("stubborn", "stopping")["pid"] == pid
        restart.communicate(timeout=30)
    finally:
        if restart.poll() is None:
            restart.kill()
            restart.wait()
    row = r.wait_state("stubborn", "running")
    assert row["pid"] != pid
    assert row["restarts"] == 0  # asked for, not a failure


CRASHING = """
processes:
  c:
    command: ["sh", "-c", "sleep 0.1; exit 1"]
    restart: {backoff: {initial: 100ms, factor: 20, max: 60s}}
"""


def test_stop_then_start_starts_the_crash_loop_afresh(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(CRASHING)
    r.start()
    wait_for(lambda: "(attempt 3)" in r.row("c")["reason"], timeout=20,
             message=lambda: str(r.row("c")))  # the third restart waits 40 s
    assert r.cli("stop", "c").exit_code == 0
    assert r.cli("start", "c").exit_code == 0

    def after_start() -> list[str]:
        events = _events(r, "c")
        return [e for e in events[events.index("start c requested"):] if "restarting in" in e]

    wait_for(after_start, timeout=10)
    assert after_start()[0] == "c exited 1, restarting in 0.1s (attempt 1)"


def test_restarts_counts_failures_only_and_a_config_restart_starts_it_afresh(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    # It fails once (exit 1), then runs; an edit of its env restarts it as a new run.
    config = """
processes:
  worker:
    command: ["sh", "-c", "if [ -e ran ]; then exec sleep 1000; fi; touch ran; exit 1"]
    env: {LEVEL: "%s"}
    restart: {backoff: {initial: 0}}
"""
    r = make_reconciler(config % "1")
    r.start()
    wait_for(lambda: r.rows().get("worker", {}).get("restarts") == 1 and r.row("worker")["state"] == "running")
    pid = r.row("worker")["pid"]
    r.config.write_text(config % "2")
    r.signal(signal.SIGHUP)
    wait_for(lambda: r.row("worker")["pid"] not in (pid, None), timeout=10)
    assert r.row("worker")["restarts"] == 0
    assert "RESTARTS" in r.cli("status").stdout.splitlines()[0]


def test_a_failed_process_keeps_its_reason_through_an_update_in_place(
    make_reconciler: Callable[..., Reconciler],
) -> None:
    config = 'processes: {f: {command: "false", restart: {policy: never, max_retries: %d}}}'
    r = make_reconciler(config % 1)
    r.start()
    reason = r.wait_state("f", "failed")["reason"]
    assert reason == "exited 1 (restart policy never)"
    r.config.write_text(config % 5)
    r.signal(signal.SIGHUP)
    wait_for(lambda: "updated f: updated in place (restart.max_retries)" in _events(r, "f"))
    assert (r.row("f")["state"], r.row("f")["reason"]) == ("failed", reason)
