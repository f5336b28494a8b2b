"""The health tracker's fold over check results: thresholds, start period, recovery (Kubernetes-probe semantics)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.health import tracker
from sentinel.health.tracker import HealthState, after_check, initial, next_check_in, observe, shielded
from sentinel.states import Health
from tests.unit.test_purity import FORBIDDEN

OK, FAIL, EARLY = "ok", "fail", "early-fail"  # EARLY: a failure inside start_period


def fold(results: list[str], retries: int, start: HealthState | None = None) -> HealthState:
    state = initial() if start is None else start
    for n, result in enumerate(results):
        detail = "HTTP 200" if result == OK else f"HTTP 503 #{n}"
        state = observe(state, result == OK, detail, in_start_period=result == EARLY, retries=retries)
    return state


@pytest.mark.parametrize(
    ("results", "retries", "status", "failures"),
    [
        pytest.param([], 3, Health.UNKNOWN, 0, id="nothing-observed-is-unknown"),
        pytest.param([OK], 3, Health.HEALTHY, 0, id="one-success-is-healthy"),
        pytest.param([FAIL], 3, Health.UNKNOWN, 1, id="first-failure-below-threshold-stays-unknown"),
        pytest.param([FAIL, FAIL], 3, Health.UNKNOWN, 2, id="two-of-three-stays-unknown"),
        pytest.param([FAIL, FAIL, FAIL], 3, Health.UNHEALTHY, 3, id="threshold-reached-is-unhealthy"),
        pytest.param([FAIL], 1, Health.UNHEALTHY, 1, id="retries-one-first-failure-is-unhealthy"),
        pytest.param([OK, FAIL, FAIL], 3, Health.HEALTHY, 2, id="healthy-survives-fewer-than-retries"),
        pytest.param([OK, FAIL, FAIL, FAIL], 3, Health.UNHEALTHY, 3, id="healthy-to-unhealthy-at-threshold"),
        pytest.param([FAIL, FAIL, OK, FAIL, FAIL], 3, Health.HEALTHY, 2, id="success-resets-the-count"),
        pytest.param([FAIL, FAIL, FAIL, OK], 3, Health.HEALTHY, 0, id="unhealthy-recovers-on-one-success"),
        pytest.param([FAIL] * 5, 3, Health.UNHEALTHY, 5, id="unhealthy-keeps-counting"),
        pytest.param([EARLY] * 10, 3, Health.UNKNOWN, 0, id="start-period-failures-do-not-count"),
        pytest.param([EARLY, EARLY, FAIL, FAIL], 3, Health.UNKNOWN, 2, id="counting-starts-after-start-period"),
        pytest.param([EARLY, FAIL, FAIL, FAIL], 3, Health.UNHEALTHY, 3, id="unhealthy-after-start-period"),
        pytest.param([OK, EARLY, EARLY, EARLY], 1, Health.HEALTHY, 0, id="start-period-shields-healthy-too"),
        pytest.param([FAIL, EARLY], 2, Health.UNKNOWN, 1, id="start-period-failure-keeps-earlier-count"),
    ],
)
def test_observe_sequence(results: list[str], retries: int, status: Health, failures: int) -> None:
    state = fold(results, retries)
    assert (state.status, state.failures) == (status, failures)


def test_initial_is_unknown_with_no_failures() -> None:
    assert initial() == HealthState(Health.UNKNOWN, 0, "")


@pytest.mark.parametrize(
    ("ok", "in_start_period"),
    [
        pytest.param(True, False, id="success"),
        pytest.param(False, False, id="counted-failure"),
        pytest.param(False, True, id="start-period-failure"),
    ],
)
def test_detail_is_the_last_results(ok: bool, in_start_period: bool) -> None:
    state = observe(HealthState(Health.HEALTHY, 0, "HTTP 200"), ok, "timed out after 1s",
                    in_start_period=in_start_period, retries=3)
    assert state.detail == "timed out after 1s"


def test_start_period_failure_leaves_status_and_count() -> None:
    before = HealthState(Health.UNHEALTHY, 4, "HTTP 503")
    assert observe(before, False, "exited 1", in_start_period=True, retries=3) == HealthState(
        Health.UNHEALTHY, 4, "exited 1")


def test_observe_returns_new_values_and_leaves_the_old_one() -> None:
    before = initial()
    after = observe(before, True, "exited 0", in_start_period=False, retries=3)
    assert before == HealthState(Health.UNKNOWN) and after is not before
    with pytest.raises(AttributeError):
        after.status = Health.UNHEALTHY  # type: ignore[misc]


def test_tracker_does_no_io() -> None:
    """The same guard as tests/unit/test_purity.py, for the tracker: no I/O, clock or process modules."""
    assert tracker.__file__ is not None
    tree = ast.parse(Path(tracker.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert imported & FORBIDDEN == set()
    assert calls & {"open", "input", "print"} == set()


def checks(results: list[tuple[float, bool]], *, interval: float, start_period: float, retries: int = 3,
           started_at: float = 0.0) -> HealthState:
    state = initial(started_at)
    for at, ok in results:
        state = after_check(state, ok, "HTTP 200" if ok else "connection refused", now=at, interval=interval,
                            start_period=start_period, retries=retries)
    return state


def test_a_slow_starter_is_not_failed_during_its_start_period() -> None:
    """The issue's server: not listening for 1.5 s, checked every 200 ms; healthy at its first success."""
    failing = [(0.2 * n, False) for n in range(8)]
    assert checks(failing, interval=0.2, start_period=30.0) == HealthState(
        Health.UNKNOWN, 0, "connection refused", counted_at=0.0, early_checks=8)
    assert checks([*failing, (1.6, True)], interval=0.2, start_period=30.0).status is Health.HEALTHY


def test_failures_count_once_the_start_period_is_over_without_a_success() -> None:
    state = checks([(29.75, False), (30.0, False), (30.25, False), (30.5, False)], interval=0.2, start_period=30.0)
    assert (state.status, state.failures, state.counted_at) == (Health.UNHEALTHY, 3, 30.5)


def test_the_start_period_ends_with_the_first_success() -> None:
    state = checks([(1.0, True), (1.2, False), (1.4, False), (1.6, False)], interval=0.2, start_period=30.0)
    assert (state.status, state.failures) == (Health.UNHEALTHY, 3)


def test_early_checks_count_a_failure_once_per_interval() -> None:
    """Checked every second until one passes, but with `interval: 10s` a failure counts once per 10 s."""
    state = checks([(float(n), False) for n in range(1, 21)], interval=10.0, start_period=0.0, started_at=0.0)
    assert (state.failures, state.counted_at) == (2, 20.0)


@pytest.mark.parametrize(("passed", "interval", "expected"), [
    pytest.param(False, 0.02, 0.02, id="an-interval-under-50ms-before-a-pass"),
    pytest.param(False, 10.0, tracker.FIRST_EARLY_INTERVAL, id="50ms-after-the-first-check"),
    pytest.param(True, 10.0, 10.0, id="interval-after-a-pass"),
])
def test_next_check_in(passed: bool, interval: float, expected: float) -> None:
    assert next_check_in(replace(initial(), passed=passed, early_checks=1), interval) == expected


def _cadence(interval: float, results: list[bool]) -> list[float]:
    """The waits between checks with these results, the first check at the start."""
    state, now, waits = initial(0.0), 0.0, []
    for ok in results:
        state = after_check(state, ok, "", now=now, interval=interval, start_period=30.0, retries=3)
        waits.append(next_check_in(state, interval))
        now += waits[-1]
    return waits


def test_until_a_check_passes_the_cadence_starts_at_50ms_and_doubles_up_to_the_interval() -> None:
    """A server ready 30 ms after its spawn is seen at the second check, 50 ms in, not a second later."""
    assert _cadence(10.0, [False] * 8) == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert _cadence(0.3, [False] * 5) == [0.05, 0.1, 0.2, 0.3, 0.3]
    assert _cadence(10.0, [False, True, False]) == [0.05, 10.0, 10.0]  # the interval once one has passed


@given(results=st.lists(st.booleans(), max_size=40), interval=st.floats(0.01, 3600.0))
def test_the_next_check_is_never_later_than_the_interval_nor_sooner_than_50ms_or_it(
    results: list[bool], interval: float,
) -> None:
    for wait in _cadence(interval, results):
        assert min(interval, tracker.FIRST_EARLY_INTERVAL) <= wait <= interval


@pytest.mark.parametrize(("now", "passed", "shielded_expected"), [
    pytest.param(5.0, False, True, id="in-start-period"),
    pytest.param(31.0, False, False, id="after-start-period"),
    pytest.param(5.0, True, False, id="after-a-success"),
])
def test_shielded(now: float, passed: bool, shielded_expected: bool) -> None:
    state = replace(initial(), passed=passed)
    assert shielded(state, now=now, interval=1.0, start_period=30.0) is shielded_expected
