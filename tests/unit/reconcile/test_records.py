"""record_after: the record the controller keeps once an action is done; and the user's requests on a record."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sentinel.reconcile.actions import Action, Forget, Restart, SetState, Start, Stop, Update
from sentinel.reconcile.desired import DesiredProcess, expand
from sentinel.reconcile.observed import ExitStatus, ProcessRecord
from sentinel.reconcile.records import held, killed, moving, record_after, released, restart_requested
from sentinel.states import ProcessState as S
from tests.support.simworld import make_config

NOW = 50.0
WEB = expand(make_config({"web": {"command": "web", "env": {"A": "1"}}}))["web"]
OLD_RUN = ProcessRecord(
    name="web", state=S.BACKOFF, spec_hash="old", digests={"command": "old"}, failures=2, restarts=5,
    exit=ExitStatus(code=1), started_at=10.0, retry_at=60.0, held=True, restart_requested=True, reason="was",
)


def running(reason: str, *, failures: int = 0, restarts: int = 0, exit: ExitStatus | None = None) -> ProcessRecord:
    return ProcessRecord(name="web", state=S.RUNNING, spec_hash=WEB.spec_hash, digests=dict(WEB.digests),
                         failures=failures, restarts=restarts, exit=exit, started_at=NOW, reason=reason)


@pytest.mark.parametrize(
    ("action", "before", "desired", "after"),
    [
        pytest.param(Start(instance="web", reason="new in config"), None, WEB, running("new in config"),
                     id="start-makes-a-running-record"),
        pytest.param(Start(instance="web", reason="backoff over", failures=2, restart=True, retry=True), OLD_RUN, WEB,
                     running("backoff over", failures=2, restarts=6, exit=ExitStatus(code=1)),
                     id="restart-after-backoff-counts-and-clears-hold-and-request"),
        pytest.param(Start(instance="web", reason="command changed", restart=True, from_config=True), OLD_RUN, WEB,
                     running("command changed", exit=ExitStatus(code=1)),
                     id="a-start-the-config-caused-counts-afresh"),
        pytest.param(Start(instance="web", reason="start requested"), OLD_RUN, WEB,
                     running("start requested", restarts=5, exit=ExitStatus(code=1)),
                     id="plain-start-does-not-count-as-a-restart"),
        pytest.param(Restart(instance="web", reason="command changed", from_config=True), OLD_RUN, WEB,
                     running("command changed", exit=ExitStatus(code=1)),
                     id="a-restart-the-config-caused-counts-afresh-and-clears-the-loop"),
        pytest.param(Restart(instance="web", reason="restart requested"), OLD_RUN, WEB,
                     running("restart requested", restarts=5, exit=ExitStatus(code=1)),
                     id="a-restart-asked-for-is-not-counted"),
        pytest.param(Stop(instance="web", reason="stopped by user"), OLD_RUN, WEB,
                     replace(OLD_RUN, state=S.STOPPED, reason="stopped by user", retry_at=None,
                             restart_requested=False),
                     id="stop-keeps-the-record-stopped"),
        pytest.param(Stop(instance="web", reason="removed", forget=True), OLD_RUN, None, None,
                     id="pruning-stop-drops-the-record"),
        pytest.param(Stop(instance="web", reason="x"), None, WEB, None, id="stop-without-record-keeps-none"),
        pytest.param(Update(instance="web", reason="updated in place"), replace(OLD_RUN, state=S.RUNNING), WEB,
                     replace(OLD_RUN, state=S.RUNNING, digests=dict(WEB.digests), spec_hash=WEB.spec_hash,
                             reason="updated in place"),
                     id="update-takes-the-settings-not-the-process"),
        pytest.param(Update(instance="web", reason="updated in place"), replace(OLD_RUN, state=S.FAILED), WEB,
                     replace(OLD_RUN, state=S.FAILED, digests=dict(WEB.digests), spec_hash=WEB.spec_hash),
                     id="a-process-not-running-keeps-its-reason-through-an-update"),
        pytest.param(SetState(instance="web", state=S.PENDING, reason="waiting for db"), None, WEB,
                     ProcessRecord(name="web", state=S.PENDING, reason="waiting for db", spec_hash=WEB.spec_hash,
                                   digests=dict(WEB.digests)),
                     id="set-state-without-record-makes-one-for-the-desired-spec"),
        pytest.param(SetState(instance="web", state=S.BACKOFF, reason="r", retry_at=70.0, failures=3,
                              exit=ExitStatus(signal=9)), OLD_RUN, WEB,
                     replace(OLD_RUN, reason="r", retry_at=70.0, failures=3, exit=ExitStatus(signal=9),
                             restart_requested=False),
                     id="set-state-backoff-takes-the-exit-and-drops-a-request"),
        pytest.param(SetState(instance="web", state=S.RUNNING, reason="running"), OLD_RUN, WEB,
                     replace(OLD_RUN, state=S.RUNNING, reason="running", retry_at=None),
                     id="set-state-keeps-failures-exit-and-request-when-not-given"),
        pytest.param(Forget(instance="web", reason="removed"), OLD_RUN, None, None, id="forget-drops-the-record"),
    ],
)
def test_record_after(action: Action, before: ProcessRecord | None, desired: DesiredProcess | None,
                      after: ProcessRecord | None) -> None:
    assert record_after(action, before, desired, NOW) == after


def test_held_drops_a_pending_restart_request() -> None:
    record = replace(OLD_RUN, held=False, state=S.RUNNING)
    assert held(record) == replace(record, held=True, restart_requested=False)


@pytest.mark.parametrize("state", [S.FAILED, S.BACKOFF, S.EXITED])
def test_released_finished_process_starts_afresh(state: S) -> None:
    assert released(replace(OLD_RUN, state=state)) == replace(
        OLD_RUN, state=S.STOPPED, held=False, failures=0, retry_at=None
    )


@pytest.mark.parametrize("state", [S.RUNNING, S.STOPPED, S.PENDING])
def test_released_keeps_state_otherwise_and_forgets_the_crash_loop(state: S) -> None:
    assert released(replace(OLD_RUN, state=state)) == replace(OLD_RUN, state=state, held=False, retry_at=None,
                                                               failures=0)


def test_restart_requested_releases_and_flags() -> None:
    record = replace(OLD_RUN, state=S.STOPPED, restart_requested=False)
    assert restart_requested(record) == replace(record, held=False, retry_at=None, restart_requested=True,
                                                failures=0)


def test_moving_and_killed_change_only_state_and_reason() -> None:
    record = replace(OLD_RUN, state=S.RUNNING)
    assert moving(record, S.STOPPING, "stopped by user") == replace(record, state=S.STOPPING,
                                                                    reason="stopped by user")
    assert killed(record, "killed: still running 3s after SIGTERM") == replace(
        record, reason="killed: still running 3s after SIGTERM")
