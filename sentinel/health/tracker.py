"""Health state from probe results, with Kubernetes-probe thresholds: a pure fold, no I/O and no clock.

Called by the controller with each `checks.run_check` result. The resulting status is the
process's `health` in `sentinel status` (DESIGN §4), a change of status is an event, and an
UNHEALTHY status (with `health.restart: true`) is an observation the planner turns into a
restart. The caller says whether a result fell inside `start_period`, so no time is read here.

Rules: a success makes the process HEALTHY and clears the failure count. A failure during the
start period is not counted (the status stays, the detail is updated). Any other failure is
counted, and `retries` consecutive ones make the process UNHEALTHY until the next success; a
HEALTHY process therefore stays HEALTHY through up to `retries - 1` failures in a row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sentinel.states import Health


@dataclass(frozen=True, slots=True)
class HealthState:
    """What the checks of one process instance have shown so far."""

    status: Health  # UNKNOWN until decided, then HEALTHY or UNHEALTHY (NONE means "no check": not used here)
    failures: int = 0  # consecutive failures counted (outside the start period)
    detail: str = ""  # the last result's one-line detail: "HTTP 503", "connection refused", "exited 1"


def initial() -> HealthState:
    """The state of a process whose check has not decided anything yet: UNKNOWN."""
    return HealthState(Health.UNKNOWN)


def observe(state: HealthState, ok: bool, detail: str, *, in_start_period: bool, retries: int) -> HealthState:
    """The state after one more check result `ok` (with its `detail`)."""
    if ok:
        return HealthState(Health.HEALTHY, 0, detail)
    if in_start_period:
        return replace(state, detail=detail)
    failures = state.failures + 1
    status = Health.UNHEALTHY if failures >= retries else state.status
    return HealthState(status, failures, detail)
