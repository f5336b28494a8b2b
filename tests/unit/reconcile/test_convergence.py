"""What `apply` waits for: unsettled instances and when waiting is over."""

from __future__ import annotations

import pytest

from sentinel.config.models import Config
from sentinel.reconcile.convergence import nothing_more_to_wait_for, unsettled
from sentinel.reconcile.desired import expand
from sentinel.reconcile.observed import ProcessRecord
from sentinel.states import ProcessState as S

DESIRED = expand(Config.model_validate({"processes": {
    "db": {"command": "db", "cwd": "/tmp"},
    "web": {"command": "web", "cwd": "/tmp", "replicas": 2, "depends_on": ["db"]},
}}))


def record(name: str, state: S, reason: str = "") -> ProcessRecord:
    return ProcessRecord(name=name, state=state, reason=reason)


@pytest.mark.parametrize(("records", "busy", "expected"), [
    pytest.param({"db": record("db", S.RUNNING), "web.0": record("web.0", S.RUNNING),
                  "web.1": record("web.1", S.EXITED)}, (), [], id="running-and-exited-are-settled"),
    pytest.param({"db": record("db", S.BACKOFF, "exited 1, restarting in 1s (attempt 1)"),
                  "web.0": record("web.0", S.PENDING, "waiting for db")}, (),
                 ["db: backoff (exited 1, restarting in 1s (attempt 1))", "web.0: pending (waiting for db)",
                  "web.1: not started"], id="backoff-pending-and-missing"),
    pytest.param({"db": record("db", S.RUNNING), "web.0": record("web.0", S.STOPPED),
                  "web.1": record("web.1", S.RUNNING), "old": record("old", S.RUNNING)}, ("web.1",),
                 ["web.1: stopping", "old: being removed"], id="busy-and-removed"),
    pytest.param({"db": record("db", S.FAILED), "web.0": record("web.0", S.SCHEDULED),
                  "web.1": record("web.1", S.RUNNING)}, (), ["db: failed"], id="failed-is-not-settled"),
])
def test_unsettled(records: dict[str, ProcessRecord], busy: tuple[str, ...], expected: list[str]) -> None:
    assert unsettled(DESIRED, records, busy) == expected


@pytest.mark.parametrize(("lines", "over"), [
    pytest.param([], True, id="nothing-left"),
    pytest.param(["db: failed", "web.0: pending (waiting for db)"], True, id="only-failed-and-their-dependents"),
    pytest.param(["db: backoff (exited 1)", "web.0: pending (waiting for db)"], False, id="backoff-may-still-come"),
    pytest.param(["web.1: stopping"], False, id="a-stop-in-flight"),
])
def test_nothing_more_to_wait_for(lines: list[str], over: bool) -> None:
    assert nothing_more_to_wait_for(lines) is over
