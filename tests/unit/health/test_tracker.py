"""The health tracker's fold over check results: thresholds, start period, recovery (Kubernetes-probe semantics)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sentinel.health import tracker
from sentinel.health.tracker import HealthState, initial, observe
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
