"""The decisions of notifications (sentinel/reconcile/notify.py, README.md#notifications): which event makes a
notice, which targets get it, the bodies, the signature, the retry schedule and the burst lines."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentinel.config.models import NotifyTarget
from sentinel.config.secrets import masked_url
from sentinel.reconcile.notify import (
    RETRY_MAX_DELAY,
    Notice,
    Troubled,
    body_of,
    burst_line,
    deliveries,
    headers_for,
    next_attempt,
    notice_of,
    target_label,
    target_shown,
)

AT = "2026-12-06T10:00:00.000Z"


def _event(kind: str, troubled: Troubled, process: str | None = "web.1", exit_code: int | None = None) -> tuple[
        Notice | None, Troubled]:
    return notice_of(kind, process=process, name="web" if process else None, group="front" if process else None,
                     reason=f"{process} {kind}", exit_code=exit_code, at=AT, troubled=troubled)


def _target(**fields: Any) -> NotifyTarget:
    return NotifyTarget.model_validate({"url": "https://hooks.example.com/services/T0/B0/TOKEN", **fields})


def test_trouble_passes_as_is_and_only_a_passed_check_or_a_start_after_failed_is_a_recovery() -> None:
    notice, troubled = _event("backoff", {}, exit_code=1)
    assert notice is not None and (notice.event, notice.exit_code, notice.name, notice.group) == (
        "backoff", 1, "web", "front")
    assert troubled == {"web.1": "backoff"}
    assert _event("restarted", troubled) == (None, troubled)  # may crash again at once: no pair of notices
    notice, troubled = _event("failed", troubled, exit_code=1)
    assert notice is not None and notice.event == "failed"
    notice, troubled = _event("started", troubled)
    assert notice is not None and notice.event == "recovered" and troubled == {}
    assert _event("healthy", {}) == (None, {})  # healthy without trouble before: nothing
    _, troubled = _event("unhealthy", {})
    assert _event("restarted", troubled) == (None, troubled)  # restarted for its check: not recovered until it passes
    notice, troubled = _event("healthy", troubled)
    assert notice is not None and notice.event == "recovered" and troubled == {}
    for ending in ("stopped", "forget"):
        _, troubled = _event("failed", {})
        assert _event(ending, troubled) == (None, {})


def test_job_and_config_events_become_notices_and_the_rest_do_not() -> None:
    for kind, event in (("job_failed", "job_failed"), ("job_succeeded", "job_succeeded"),
                        ("config_invalid", "config_error"), ("config_applied", "config_applied")):
        notice, _ = _event(kind, {}, process=None if kind.startswith("config") else "backup")
        assert notice is not None and notice.event == event
    for kind in ("started", "stopped", "notify_failed", "killed", "healthy"):
        assert _event(kind, {}) == (None, {})


def test_targets_get_the_events_they_want_of_the_processes_they_name() -> None:
    failed, _ = _event("failed", {})
    config, _ = _event("config_invalid", {}, process=None)
    assert failed is not None and config is not None
    targets = [
        _target(),  # the default events, every process
        _target(events=["config_error"]),
        _target(processes=["web"]),
        _target(groups=["front"]),
        _target(processes=["api"], groups=["back"]),  # another process: but config events pass every filter
    ]
    assert deliveries(failed, targets) == (0, 2, 3)
    assert deliveries(config, targets) == (0, 1, 2, 3, 4)
    test = Notice("test", None, None, None, "a test", None, AT)
    assert deliveries(test, targets) == (0, 1, 2, 3, 4)


def test_the_json_body_the_slack_body_and_the_signature() -> None:
    notice = Notice("failed", "web.1", "web", "front", "web.1 exited 3", 3, AT)
    body = body_of(notice, _target(), host="box", revision=None)
    assert json.loads(body) == {"event": "failed", "process": "web.1", "group": "front", "reason": "web.1 exited 3",
                                "exit_code": 3, "host": "box", "time": AT, "revision": None}
    slack = json.loads(body_of(notice, _target(format="slack"), host="box", revision="abc123"))
    assert slack["text"] == ":red_circle: box: web.1 failed (exit code 3): web.1 exited 3"
    assert slack["blocks"][1]["elements"][0]["text"] == f"sentinel on box at {AT}, revision abc123"
    config = Notice("config_error", None, None, None, "bad file", None, AT)
    assert json.loads(body_of(config, _target(format="slack"), host="box", revision=None))["text"] == (
        ":warning: box: config config_error: bad file")
    assert headers_for(body, None) == {}
    expected = hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert headers_for(body, b"key") == {"X-Sentinel-Signature": f"sha256={expected}"}


def test_retries_back_off_exponentially_within_retry_for() -> None:
    assert next_attempt(attempts=1, first_at=100.0, now=100.2, retry_for=300.0) == pytest.approx(101.2)
    assert next_attempt(attempts=2, first_at=100.0, now=101.3, retry_for=300.0) == pytest.approx(103.3)
    assert next_attempt(attempts=3, first_at=100.0, now=103.4, retry_for=300.0) == pytest.approx(107.4)
    assert next_attempt(attempts=30, first_at=100.0, now=150.0, retry_for=300.0) == 150.0 + RETRY_MAX_DELAY
    assert next_attempt(attempts=2, first_at=100.0, now=101.0, retry_for=1.5) is None
    assert next_attempt(attempts=1, first_at=100.0, now=100.0, retry_for=0.0) is None


@given(attempts=st.integers(1, 10_000), waited=st.floats(0, 1e6), retry_for=st.floats(0, 86_400))
def test_a_retry_is_never_after_retry_for_nor_sooner_than_a_second(attempts: int, waited: float,
                                                                    retry_for: float) -> None:
    now = 1000.0 + waited
    at = next_attempt(attempts=attempts, first_at=1000.0, now=now, retry_for=retry_for)
    assert at is None or (now + 1.0 <= at <= min(1000.0 + retry_for, now + RETRY_MAX_DELAY))


def test_a_failing_target_is_said_once_per_burst() -> None:
    first = burst_line("ops (https://x/***)", failures_before=0, delivered=False, why="HTTP 500")
    assert first is not None and first[0] == "notify_failed" and "ops (https://x/***) failed: HTTP 500" in first[1]
    assert burst_line("ops", failures_before=1, delivered=False, why="HTTP 500") is None
    assert burst_line("ops", failures_before=0, delivered=True, why="") is None
    again = burst_line("ops", failures_before=3, delivered=True, why="")
    assert again == ("notify_delivered", "notifications to ops delivered again after 3 failed")


def test_targets_are_named_without_their_tokens() -> None:
    assert target_label(2, _target()) == "notify[2]"
    assert target_label(2, _target(name="ops")) == "ops"
    assert target_shown(0, _target()) == "notify[0] (https://hooks.example.com/***)"
    assert masked_url("https://user:pw@hooks.example.com:8443") == "https://hooks.example.com:8443/***"
    assert masked_url("http://[::1]:9000/?token=x") == "http://[::1]:9000/***"
    assert masked_url("http://example.com/") == "http://example.com"
    assert masked_url("http://example.com:99999/x") == "http://example.com/***"
