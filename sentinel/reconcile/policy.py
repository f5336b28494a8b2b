"""Restart policy arithmetic: what follows an exit, and how long to back off. Pure.

A run shorter than `reset_after` extends the crash loop (`failures`); a longer one clears it.
Each restart in a loop waits `initial × factor^failures`, capped at `max`. Once `max_retries`
restarts in a row have failed the process is `failed` (`max_retries: 3` = four runs in all).
A quick clean exit under `always` counts toward the loop too, so nothing restarts hot forever.
A process stopped because it is unhealthy or over a limit is a failed run too (`after_failure`),
whatever the policy: Kubernetes restarts a container its liveness probe killed with the same
back-off as one that crashed.
A start that could not happen at all (program, `cwd` or `user` missing) is a failed run too; with
no `max_retries` it is given up after `UNSTARTABLE_RETRIES` such starts in a row (a missing program
does not appear by waiting, a `cwd` on a late mount gets about half a minute).
"""

from __future__ import annotations

from dataclasses import dataclass

from sentinel.reconcile.desired import RestartRule
from sentinel.reconcile.observed import ExitStatus
from sentinel.states import ProcessState

UNSTARTABLE_RETRIES = 5


@dataclass(frozen=True, slots=True)
class AfterExit:
    """The decision for one exit: the next state, and for a restart when and at which attempt."""

    state: ProcessState  # BACKOFF (restart at retry_at), EXITED or FAILED
    failures: int
    retry_at: float | None
    reason: str


def backoff_delay(rule: RestartRule, failures: int) -> float:
    """Delay before the restart that follows `failures` earlier failed restarts in a row."""
    if rule.initial <= 0:
        return 0.0
    delay = rule.initial
    if rule.factor <= 1:  # validation keeps factor >= 1: a constant delay
        return float(min(delay, rule.max_delay))
    for _ in range(failures):  # multiply step by step: a huge factor reaches the cap instead of overflowing
        if delay >= rule.max_delay:
            break
        delay *= rule.factor
    return float(min(delay, rule.max_delay))


def after_exit(
    rule: RestartRule, exit: ExitStatus, *, ran_for: float, failures: int, exited_at: float
) -> AfterExit:
    """What happens after a run that lasted `ran_for` seconds ended with `exit`."""
    what = exit.describe()
    expected = exit.expected(rule.exit_codes)
    if rule.policy == "never" or (rule.policy == "on-failure" and expected):
        if expected:
            return AfterExit(ProcessState.EXITED, 0, None, what)
        return AfterExit(ProcessState.FAILED, failures, None, f"{what} (restart policy {rule.policy})")
    return after_failure(rule, what, ran_for=ran_for, failures=failures, at=exited_at,
                         unstartable=bool(exit.unstartable))


def after_failure(rule: RestartRule, what: str, *, ran_for: float, failures: int, at: float,
                  unstartable: bool = False) -> AfterExit:
    """A failed run of `ran_for` seconds (`what` went wrong) that is to be restarted: when, or given up."""
    loop = 0 if ran_for >= rule.reset_after else failures
    retries = UNSTARTABLE_RETRIES if rule.max_retries is None and unstartable else rule.max_retries
    if retries is not None and loop >= retries:
        runs = loop + 1
        return AfterExit(ProcessState.FAILED, loop, None, f"{what}; gave up after {runs} {_runs(runs)} in a row failed")
    delay = backoff_delay(rule, loop)
    of = f"/{rule.max_retries}" if rule.max_retries is not None else ""
    return AfterExit(
        ProcessState.BACKOFF,
        loop + 1,
        at + delay,
        f"{what}, restarting in {_seconds(delay)} (attempt {loop + 1}{of})",
    )


def _runs(count: int) -> str:
    return "run" if count == 1 else "runs"


def _seconds(delay: float) -> str:
    """'4s', '0.05s', '1350.5s': plain decimals, at most three after the point."""
    text = f"{delay:.3f}".rstrip("0").rstrip(".")
    return f"{text}s"
