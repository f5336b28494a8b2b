"""Restart policy arithmetic: backoff delays (with the cap) and the decision after each kind of exit."""

from __future__ import annotations

import math

import pytest

from sentinel.reconcile.desired import RestartRule
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.policy import AfterExit, after_exit, backoff_delay
from sentinel.states import ProcessState as S


def rule(policy: str = "always", *, max_retries: int | None = None, initial: float = 1.0, factor: float = 2.0,
         max_delay: float = 60.0, reset_after: float = 60.0, exit_codes: frozenset[int] = frozenset({0}),
         ) -> RestartRule:
    return RestartRule(policy=policy, max_retries=max_retries, initial=initial, factor=factor, max_delay=max_delay,
                       reset_after=reset_after, exit_codes=exit_codes)


@pytest.mark.parametrize(
    ("restart", "failures", "delay"),
    [
        pytest.param(rule(), 0, 1.0, id="first-restart-waits-initial"),
        pytest.param(rule(), 1, 2.0, id="second-doubles"),
        pytest.param(rule(), 5, 32.0, id="sixth-is-initial-times-factor-to-the-fifth"),
        pytest.param(rule(), 6, 60.0, id="capped-at-max"),
        pytest.param(rule(), 1000, 60.0, id="long-loop-stays-capped"),
        pytest.param(rule(initial=0.5, factor=3.0, max_delay=10.0), 2, 4.5, id="fractional-initial-and-factor"),
        pytest.param(rule(initial=0.5, factor=3.0, max_delay=10.0), 3, 10.0, id="fractional-capped"),
        pytest.param(rule(factor=1.0), 50, 1.0, id="factor-one-is-constant"),
        pytest.param(rule(initial=0.0), 7, 0.0, id="zero-initial-never-waits"),
        pytest.param(rule(initial=5.0, max_delay=5.0), 3, 5.0, id="max-equal-to-initial"),
        pytest.param(rule(initial=1.0, factor=1e6, max_delay=60.0), 60, 60.0,
                     id="huge-factor-is-capped-not-overflowed"),
    ],
)
def test_backoff_delay(restart: RestartRule, failures: int, delay: float) -> None:
    assert backoff_delay(restart, failures) == delay


CODE_0, CODE_1, KILLED = ExitStatus(code=0), ExitStatus(code=1), ExitStatus(signal=9)


@pytest.mark.parametrize(
    ("restart", "exit", "ran_for", "failures", "decision"),
    [
        pytest.param(rule(), CODE_1, 0.0, 0, AfterExit(S.BACKOFF, 1, 101.0, "exited 1, restarting in 1s (attempt 1)"),
                     id="always-first-crash"),
        pytest.param(rule(), CODE_1, 0.0, 3, AfterExit(S.BACKOFF, 4, 108.0, "exited 1, restarting in 8s (attempt 4)"),
                     id="always-fourth-crash-in-a-row"),
        pytest.param(rule(), CODE_1, 60.0, 3, AfterExit(S.BACKOFF, 1, 101.0, "exited 1, restarting in 1s (attempt 1)"),
                     id="always-after-a-run-of-reset-after"),
        pytest.param(rule(), CODE_1, 59.9, 3, AfterExit(S.BACKOFF, 4, 108.0, "exited 1, restarting in 8s (attempt 4)"),
                     id="always-just-short-of-reset-after"),
        pytest.param(rule(), CODE_0, 0.0, 0, AfterExit(S.BACKOFF, 1, 101.0, "exited 0, restarting in 1s (attempt 1)"),
                     id="always-quick-clean-exit-counts"),
        pytest.param(rule(), KILLED, 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 101.0, "killed by SIGKILL, restarting in 1s (attempt 1)"),
                     id="always-killed"),
        pytest.param(rule(max_retries=3), CODE_1, 0.0, 2,
                     AfterExit(S.BACKOFF, 3, 104.0, "exited 1, restarting in 4s (attempt 3/3)"), id="last-retry"),
        pytest.param(rule(max_retries=3), CODE_1, 0.0, 3,
                     AfterExit(S.FAILED, 3, None, "exited 1; gave up after 4 runs in a row failed"),
                     id="retries-exhausted"),
        pytest.param(rule(max_retries=3), CODE_1, 60.0, 3,
                     AfterExit(S.BACKOFF, 1, 101.0, "exited 1, restarting in 1s (attempt 1/3)"),
                     id="retries-exhausted-but-ran-long-enough"),
        pytest.param(rule(initial=1.5), CODE_1, 0.0, 1,
                     AfterExit(S.BACKOFF, 2, 103.0, "exited 1, restarting in 3s (attempt 2)"), id="whole-seconds"),
        pytest.param(rule(initial=0.25), CODE_1, 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 100.25, "exited 1, restarting in 0.25s (attempt 1)"), id="sub-second"),
        pytest.param(rule("on-failure"), CODE_0, 0.0, 2, AfterExit(S.EXITED, 0, None, "exited 0"),
                     id="on-failure-expected"),
        pytest.param(rule("on-failure"), CODE_1, 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 101.0, "exited 1, restarting in 1s (attempt 1)"),
                     id="on-failure-unexpected"),
        pytest.param(rule("on-failure", exit_codes=frozenset({2})), CODE_0, 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 101.0, "exited 0, restarting in 1s (attempt 1)"),
                     id="on-failure-zero-not-listed-is-a-failure"),
        pytest.param(rule("on-failure"), KILLED, 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 101.0, "killed by SIGKILL, restarting in 1s (attempt 1)"),
                     id="on-failure-signal"),
        pytest.param(rule("on-failure"), ExitStatus(), 0.0, 0,
                     AfterExit(S.BACKOFF, 1, 101.0, "exited (status unknown), restarting in 1s (attempt 1)"),
                     id="on-failure-unknown-status-is-a-failure"),
        pytest.param(rule("never"), CODE_0, 0.0, 0, AfterExit(S.EXITED, 0, None, "exited 0"), id="never-expected"),
        pytest.param(rule("never"), CODE_1, 0.0, 0,
                     AfterExit(S.FAILED, 0, None, "exited 1 (restart policy never)"), id="never-unexpected"),
        pytest.param(rule("never"), KILLED, 0.0, 0,
                     AfterExit(S.FAILED, 0, None, "killed by SIGKILL (restart policy never)"), id="never-killed"),
    ],
)
def test_after_exit(restart: RestartRule, exit: ExitStatus, ran_for: float, failures: int,
                    decision: AfterExit) -> None:
    assert after_exit(restart, exit, ran_for=ran_for, failures=failures, exited_at=100.0) == decision


def test_long_delays_read_as_plain_seconds() -> None:
    """A reason is read by people: `restarting in 1350.5s`, never in scientific notation."""
    decision = after_exit(rule(initial=1350.5, max_delay=3600.0), CODE_1, ran_for=0.0, failures=0, exited_at=0.0)
    assert "e+" not in decision.reason
    assert math.isclose(decision.retry_at or 0.0, 1350.5)
