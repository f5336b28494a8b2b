"""A service that cannot be started (program, cwd or user missing), black-box: said once, held `failed`
after its retries; and a running service is never stopped for an edit that could not start."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from sentinel.reconcile.policy import UNSTARTABLE_RETRIES
from tests.support.daemon import Reconciler
from tests.support.wait import wait_for

FAST = "restart: {backoff: {initial: 50ms, max: 50ms}}"


def _events(r: Reconciler, kind: str) -> list[str]:
    rows = r.client.get("/v1/events", process="svc", limit=1000)["events"]
    return [e["message"] for e in rows if e["kind"] == kind]


def test_a_missing_program_is_said_once_and_held_failed_after_its_retries(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(f"processes:\n  svc: {{command: nosuchprog-h7, {FAST}}}\n")
    r.start()
    row = r.wait_state("svc", "failed")
    assert row["reason"] == (f"cannot start (command not found: nosuchprog-h7); gave up after "
                             f"{UNSTARTABLE_RETRIES + 1} runs in a row failed")
    assert _events(r, "spawn_failed") == ["svc: command not found: nosuchprog-h7"]


@pytest.mark.parametrize(("edit", "problem"), [
    ("{command: nosuchprog-h7}", "command not found: nosuchprog-h7"),
    ("{command: sleep 999, cwd: /nonexistent-h7}", "cwd /nonexistent-h7: no such directory"),
    ("{command: sleep 999, user: nosuchuser-h7}", "unknown user 'nosuchuser-h7'"),
])
def test_a_running_service_is_not_stopped_for_an_edit_that_cannot_start(
        make_reconciler: Callable[..., Reconciler], edit: str, problem: str) -> None:
    r = make_reconciler("processes:\n  svc: {command: sleep 1000}\n")
    r.start()
    pid = r.wait_state("svc", "running")["pid"]
    r.config.write_text(f"processes:\n  svc: {edit}\n")
    r.signal(signal.SIGHUP)
    kept = f"edit not applied: {problem}; the running process goes on"
    wait_for(lambda: r.row("svc")["reason"] == kept, timeout=10, message=lambda: str(r.row("svc")))
    assert r.row("svc")["state"] == "running" and r.row("svc")["pid"] == pid
    assert [m for m in _events(r, "running") if "edit not applied" in m] == [f"running svc: {kept}"]

    r.config.write_text("processes:\n  svc: {command: sleep 998}\n")  # an edit that can start is taken
    r.signal(signal.SIGHUP)
    wait_for(lambda: r.row("svc")["state"] == "running" and r.row("svc")["pid"] != pid, timeout=10)
    assert r.row("svc")["reason"] != kept


def test_diff_says_an_edit_that_cannot_start_will_not_be_applied(make_reconciler: Callable[..., Reconciler],
                                                                 tmp_path: Path) -> None:
    """`diff` plans with the facts a pass uses: it does not promise a restart the reconciler would not make."""
    r = make_reconciler("processes:\n  svc: {command: sleep 1000}\n  other: {command: sleep 1000}\n")
    r.start()
    r.wait_state("svc", "running")
    edited = tmp_path / "edited.yaml"
    edited.write_text("processes:\n  svc: {command: nosuchprog-h7}\n  other: {command: sleep 999}\n")
    diff = r.cli("diff", "-f", str(edited))
    assert (diff.exit_code, diff.stdout.splitlines()) == (1, [
        "~ svc edit not applied: command not found: nosuchprog-h7; the running process goes on",
        "~ other restart (command)",
    ])
    changes = json.loads(r.cli("diff", "--json", "-f", str(edited)).stdout)
    assert [(c["action"], c["instance"]) for c in changes] == [("keep", "svc"), ("restart", "other")]
