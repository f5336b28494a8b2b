"""What `apply` waits for: what has not converged, what is final, and when to look again."""

from __future__ import annotations

import pytest

from sentinel.config.models import Config
from sentinel.reconcile.convergence import SETTLE_TIME, Convergence, convergence
from sentinel.reconcile.desired import expand
from sentinel.reconcile.observed import ExitStatus, ObservedProcess, ProcessIdentity, ProcessRecord
from sentinel.states import Health
from sentinel.states import ProcessState as S

DESIRED = expand(Config.model_validate({"processes": {
    "db": {"command": "db", "cwd": "/tmp"},
    "web": {"command": "web", "cwd": "/tmp", "replicas": 2, "depends_on": ["db"]},
}}))
CHAIN = expand(Config.model_validate({"processes": {
    "db": {"command": "db", "cwd": "/tmp", "health": {"tcp": "127.0.0.1:1"}},
    "api": {"command": "api", "cwd": "/tmp", "depends_on": {"db": "healthy"}},
    "web": {"command": "web", "cwd": "/tmp", "depends_on": {"api": "started"}},
    "migrate": {"command": "migrate", "cwd": "/tmp", "restart": {"policy": "on-failure"}},
    "app": {"command": "app", "cwd": "/tmp", "depends_on": {"migrate": "completed"}},
}}))
NOW = 100.0
LONG_AGO = NOW - 60.0


def record(name: str, state: S, reason: str = "", *, started_at: float | None = LONG_AGO,
           held: bool = False) -> ProcessRecord:
    return ProcessRecord(name=name, state=state, reason=reason, started_at=started_at, held=held)


def seen(name: str, *, busy: bool = False, health: Health = Health.NONE, detail: str = "",
         exit: ExitStatus | None = None) -> ObservedProcess:
    return ObservedProcess(name=name, identity=ProcessIdentity(1, 1.0), busy=busy, health=health,
                           health_detail=detail, exit=exit)


def running(*names: str) -> dict[str, ProcessRecord]:
    return {name: record(name, S.RUNNING) for name in names}


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
def test_waiting(records: dict[str, ProcessRecord], busy: tuple[str, ...], expected: list[str]) -> None:
    observed = {name: seen(name, busy=True) for name in busy}
    assert list(convergence(DESIRED, observed, records, NOW).waiting) == expected


@pytest.mark.parametrize(("records", "final"), [
    pytest.param({**running("api", "web", "migrate", "app"), "db": record("db", S.FAILED),
                  }, True, id="only-failed"),
    pytest.param({**running("migrate", "app"), "db": record("db", S.FAILED),
                  "api": record("api", S.PENDING, "waiting for db (failed)"),
                  "web": record("web", S.PENDING, "waiting for api")}, True,
                 id="pending-on-failed-directly-and-through-another-pending"),
    pytest.param({**running("migrate", "app", "db"), "api": record("api", S.PENDING, "waiting for db"),
                  "web": record("web", S.PENDING, "waiting for api")}, False,
                 id="pending-on-a-dependency-coming-up"),
    pytest.param({**running("migrate", "app", "web"), "db": record("db", S.BACKOFF, "exited 1"),
                  "api": record("api", S.PENDING, "waiting for db")}, False, id="pending-on-backoff"),
    pytest.param({**running("migrate", "app", "web"), "db": record("db", S.STOPPED, "stopped by user", held=True),
                  "api": record("api", S.PENDING, "waiting for db")}, True, id="pending-on-a-held-dependency"),
    pytest.param({**running("db", "api", "web"), "migrate": record("migrate", S.EXITED),
                  "app": record("app", S.PENDING, "waiting for migrate")}, False,
                 id="exited-is-what-completed-waits-for"),
    pytest.param({**running("migrate", "app", "web"), "db": record("db", S.EXITED),
                  "api": record("api", S.PENDING, "waiting for db")}, True,
                 id="exited-will-not-turn-healthy"),
])
def test_final(records: dict[str, ProcessRecord], final: bool) -> None:
    result = convergence(CHAIN, {"db": seen("db", health=Health.HEALTHY)}, records, NOW)
    assert result.waiting and result.final is final and result.done is final


def test_pending_on_a_dependency_whose_check_has_not_passed_yet_is_not_final() -> None:
    records = {**running("migrate", "app", "db", "web"), "api": record("api", S.PENDING, "waiting for db")}
    result = convergence(CHAIN, {"db": seen("db", health=Health.UNKNOWN)}, records, NOW)
    assert result.waiting == ("api: pending (waiting for db)", "db: running, not healthy yet") and not result.done


def test_nothing_waiting_is_done() -> None:
    records = {name: record(name, S.RUNNING) for name in DESIRED}
    assert convergence(DESIRED, {}, records, NOW) == Convergence((), True, None)


@pytest.mark.parametrize(("health", "detail", "line"), [
    pytest.param(Health.UNKNOWN, "connection refused", "db: running, not healthy yet (connection refused)",
                 id="unknown"),
    pytest.param(Health.UNHEALTHY, "HTTP 503", "db: running, unhealthy (HTTP 503)", id="unhealthy"),
    pytest.param(Health.UNKNOWN, "", "db: running, not healthy yet", id="no-result-yet"),
])
def test_a_process_with_a_check_converges_when_healthy(health: Health, detail: str, line: str) -> None:
    records = {name: record(name, S.RUNNING if name != "app" else S.EXITED) for name in CHAIN}
    result = convergence(CHAIN, {"db": seen("db", health=health, detail=detail)}, records, NOW)
    assert result.waiting == (line,) and not result.done
    healthy = convergence(CHAIN, {"db": seen("db", health=Health.HEALTHY)}, records, NOW)
    assert healthy.waiting == () and healthy.done


def test_a_process_without_a_check_converges_once_it_has_stayed_up_for_the_settle_time() -> None:
    started = NOW - SETTLE_TIME / 2
    records = {**running("db", "web.0"), "web.1": record("web.1", S.RUNNING, started_at=started)}
    early = convergence(DESIRED, {}, records, NOW)
    assert early.waiting == (f"web.1: running, not yet up for {SETTLE_TIME:g}s",)
    assert not early.done and early.check_again_at == started + SETTLE_TIME
    later = convergence(DESIRED, {}, records, started + SETTLE_TIME)
    assert later == Convergence((), True, None)


def test_an_exit_within_the_settle_time_is_not_converged() -> None:
    records = {**running("db", "web.0"), "web.1": record("web.1", S.RUNNING, started_at=NOW - 0.1)}
    result = convergence(DESIRED, {"web.1": seen("web.1", exit=ExitStatus(code=1))}, records, NOW + SETTLE_TIME)
    assert result.waiting == ("web.1: exited 1",) and not result.done


def test_the_earliest_settle_time_is_the_one_to_check_again_at() -> None:
    records = {"db": record("db", S.RUNNING, started_at=NOW - 0.1), "web.0": record("web.0", S.RUNNING,
                                                                                       started_at=NOW - 0.3),
               "web.1": record("web.1", S.RUNNING, started_at=None)}
    assert convergence(DESIRED, {}, records, NOW).check_again_at == pytest.approx(NOW - 0.3 + SETTLE_TIME)


def test_jobs_converge_while_scheduled_or_running() -> None:
    desired = expand(Config.model_validate({"processes": {
        "backup": {"command": "backup", "cwd": "/tmp", "schedule": {"every": "1h"}},
    }}))
    for state in (S.SCHEDULED, S.RUNNING):
        records = {"backup": record("backup", state, started_at=NOW)}
        assert convergence(desired, {}, records, NOW).waiting == ()
