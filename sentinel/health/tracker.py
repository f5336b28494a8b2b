"""Health state from probe results, with Kubernetes-probe thresholds: a pure fold, no I/O and no clock.

Called by the controller's health monitor with each `checks.run_check` result and the time it
came (`now`, monotonic, passed in). The resulting status is the process's `health` in
`sentinel status` (docs/states.md), a change of status is an event, and an UNHEALTHY status
(with `health.restart: true`) is an observation the planner turns into a restart.

Rules: a success makes the process HEALTHY and clears the failure count. Until the first success
after a start, a failure is not counted while the start period runs (`start_period`, 30 s by
default: a slow server is not restarted before it had the time to come up, as Docker's
`start_period` and Kubernetes' startup probe), nor more often than once per `interval` (the
early checks find readiness sooner but do not fail a process sooner). Early checks come on a
growing cadence, 50 ms doubling up to the interval (a second at most): a server ready 30 ms after
its spawn is seen healthy within tens of milliseconds, a slow one costs few probes
(bench/readiness.py).
A failure not counted leaves the status, and updates the detail. Any other failure is
counted, and `retries` consecutive ones make the process UNHEALTHY until the next success; a
HEALTHY process therefore stays HEALTHY through up to `retries - 1` failures in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sentinel.states import Health

EARLY_INTERVAL = 1.0  # seconds: the longest wait between two checks until a check has passed
FIRST_EARLY_INTERVAL = 0.05  # seconds: the wait after the first check; it doubles with each early check


@dataclass(frozen=True, slots=True)
class HealthState:
    """What the checks of one process instance have shown so far."""

    status: Health  # UNKNOWN until decided, then HEALTHY or UNHEALTHY (NONE means "no check": not used here)
    failures: int = 0  # consecutive failures counted (outside the start period)
    detail: str = ""  # the last result's one-line detail: "HTTP 503", "connection refused", "exited 1"
    started_at: float = 0.0  # monotonic: when the process started (its start period runs from here)
    passed: bool = False  # a check has passed since the process started
    counted_at: float = 0.0  # monotonic: when a failure last counted (the start, before any)
    early_checks: int = 0  # checks made before the first pass: the wait before the next one doubles with each


def initial(started_at: float = 0.0) -> HealthState:
    """The state of a process started at `started_at` whose check has not decided anything yet: UNKNOWN."""
    return HealthState(Health.UNKNOWN, started_at=started_at, counted_at=started_at)


def observe(state: HealthState, ok: bool, detail: str, *, in_start_period: bool, retries: int) -> HealthState:
    """The state after one more check result `ok` (with its `detail`); `in_start_period`: a failure not counted."""
    if ok:
        return replace(state, status=Health.HEALTHY, failures=0, detail=detail, passed=True)
    if in_start_period:
        return replace(state, detail=detail)
    failures = state.failures + 1
    status = Health.UNHEALTHY if failures >= retries else state.status
    return replace(state, status=status, failures=failures, detail=detail)


def shielded(state: HealthState, *, now: float, interval: float, start_period: float) -> bool:
    """True when a failure at `now` is not counted: no check has passed since the start, and the start
    period still runs or a failure already counted less than `interval` ago."""
    if state.passed:
        return False
    return now - state.started_at < start_period or now - state.counted_at < interval


def after_check(state: HealthState, ok: bool, detail: str, *, now: float, interval: float, start_period: float,
                retries: int) -> HealthState:
    """The state after a check that ended at `now`, with the start period and early checks applied."""
    not_counted = not ok and shielded(state, now=now, interval=interval, start_period=start_period)
    new = observe(state, ok, detail, in_start_period=not_counted, retries=retries)
    if not state.passed:
        new = replace(new, early_checks=state.early_checks + 1)
    return new if ok or not_counted else replace(new, counted_at=now)


def next_check_in(state: HealthState, interval: float) -> float:
    """Seconds until the next check: `interval` once a check has passed; before, 50 ms after the first check,
    doubling with each one, up to `interval` and `EARLY_INTERVAL` (0.05, 0.1, 0.2, 0.4, 0.8, 1, 1 …)."""
    if state.passed:
        return interval
    growing = FIRST_EARLY_INTERVAL * 2.0 ** min(max(state.early_checks - 1, 0), 16)
    return min(interval, EARLY_INTERVAL, growing)
