"""Properties of the restart policy over every restart rule the config language accepts.

- backoff_delay is a finite number of seconds between 0 and the cap, for any failure count, and
  never shrinks as the crash loop grows.
- after_exit restarts (BACKOFF) only when the policy allows it, never before the exit, and never
  more than `max_retries` times in a row; a run of `reset_after` starts a new loop.
"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from sentinel.reconcile.desired import RestartRule, expand
from sentinel.reconcile.observed import ExitStatus
from sentinel.reconcile.policy import after_exit, backoff_delay
from sentinel.states import ProcessState
from tests.support.simworld import make_config

S = ProcessState
seconds = st.floats(0, 1e6, allow_nan=False)


@st.composite
def rules(draw: st.DrawFn) -> RestartRule:
    """A RestartRule as expand() builds it from a restart section the models accept."""
    initial = draw(seconds)
    restart = {
        "policy": draw(st.sampled_from(["always", "on-failure", "never"])),
        "max_retries": draw(st.none() | st.integers(0, 100)),
        "backoff": {"initial": initial, "factor": draw(st.floats(1.0, 100.0, allow_nan=False)),  # its whole range
                    "max": draw(st.floats(initial, 1e7, allow_nan=False))},
        "reset_after": draw(seconds),
        "exit_codes": draw(st.lists(st.integers(0, 255), max_size=3)),
    }
    return expand(make_config({"p": {"command": "p", "restart": restart}}))["p"].restart


exits = st.builds(ExitStatus, code=st.none() | st.integers(0, 255)) | st.builds(ExitStatus, signal=st.integers(1, 64))


@given(rules(), st.integers(0, 10_000))
def test_backoff_delay_is_finite_and_capped(rule: RestartRule, failures: int) -> None:
    """For every accepted rule and failure count the delay is finite, at least 0 and at most the cap."""
    delay = backoff_delay(rule, failures)
    assert math.isfinite(delay)
    assert 0.0 <= delay <= rule.max_delay


@given(rules(), st.integers(0, 10_000))
def test_backoff_delay_never_shrinks(rule: RestartRule, failures: int) -> None:
    """A longer crash loop never waits less."""
    assert backoff_delay(rule, failures) <= backoff_delay(rule, failures + 1)


@given(rules(), exits, seconds, st.integers(0, 200), seconds)
def test_after_exit_respects_the_policy(rule: RestartRule, exit: ExitStatus, ran_for: float, failures: int,
                                        exited_at: float) -> None:
    """BACKOFF only under always or an unexpected exit under on-failure, retry no earlier than the exit,
    the loop count within max_retries; EXITED only for an expected exit."""
    decision = after_exit(rule, exit, ran_for=ran_for, failures=failures, exited_at=exited_at)
    expected = exit.expected(rule.exit_codes)
    if decision.state is S.BACKOFF:
        assert rule.policy == "always" or (rule.policy == "on-failure" and not expected)
        assert decision.retry_at is not None and decision.retry_at >= exited_at
        assert rule.max_retries is None or decision.failures <= rule.max_retries
        loop = 0 if ran_for >= rule.reset_after else failures
        assert decision.failures == loop + 1
    else:
        assert decision.retry_at is None
        assert decision.state in (S.EXITED, S.FAILED)
        assert (decision.state is S.EXITED) == (expected and rule.policy != "always")
