"""Resource limits: memory is a breach at once, cpu only after cpu_window over the limit."""

from __future__ import annotations

import pytest

from sentinel.reconcile.limits import LimitRule, LimitState, check

MB = 1_000_000
RULE = LimitRule(memory=512 * MB, cpu=90.0, cpu_window=30.0)


@pytest.mark.parametrize(("state", "cpu", "rss", "now", "expected"), [
    pytest.param(LimitState(), 10.0, 100 * MB, 0.0, (LimitState(), ""), id="under-both"),
    pytest.param(LimitState(), 10.0, 612 * MB, 0.0, (LimitState(), "memory 612MB > 512MB"), id="memory-at-once"),
    pytest.param(LimitState(), 180.0, 100 * MB, 5.0, (LimitState(5.0), ""), id="cpu-over-starts-the-window"),
    pytest.param(LimitState(5.0), 180.0, 100 * MB, 20.0, (LimitState(5.0), ""), id="cpu-window-not-yet-over"),
    pytest.param(LimitState(5.0), 180.0, 100 * MB, 35.0, (LimitState(5.0), "cpu 180% > 90% for 30s"),
                 id="cpu-over-for-the-whole-window"),
    pytest.param(LimitState(5.0), 50.0, 100 * MB, 35.0, (LimitState(), ""), id="cpu-back-under-resets"),
    pytest.param(LimitState(), 10.0, 5_500_000, 0.0, (LimitState(), ""), id="small-and-fine"),
])
def test_check(state: LimitState, cpu: float, rss: int, now: float, expected: tuple[LimitState, str]) -> None:
    assert check(RULE, state, cpu=cpu, rss=rss, now=now) == expected


def test_small_limits_read_with_a_decimal() -> None:
    rule = LimitRule(memory=2 * MB, cpu=None, cpu_window=30.0)
    assert check(rule, LimitState(), cpu=0.0, rss=3_400_000, now=0.0)[1] == "memory 3.4MB > 2.0MB"


def test_no_limits_means_nothing_to_check() -> None:
    assert not LimitRule(memory=None, cpu=None, cpu_window=30.0).any
