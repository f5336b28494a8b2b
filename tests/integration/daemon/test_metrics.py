"""`/metrics` end to end (README.md#metrics): a real reconciler with services, a crashing one, a health-checked
one, one over its memory limit and jobs with runs, scraped over its socket and parsed as Prometheus does."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.support.daemon import Reconciler
from tests.support.unixhttp import raw_request
from tests.support.wait import wait_for

SECRET = "pw-METRIC-LEAK-7"
HOG = "x = bytearray(60_000_000); import time; time.sleep(1000)"


def _scrape(r: Reconciler) -> tuple[str, str]:
    """(content type, body) of GET /metrics over the socket, as `curl --unix-socket` would get them."""
    status, content_type, text = raw_request(r.state_dir.socket, "GET", "/metrics")
    assert status == 200
    return content_type, text


def _families(r: Reconciler) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(_scrape(r)[1])}


def _value(families: dict[str, Metric], sample_name: str, **labels: str) -> float | None:
    """The value of the one sample named `sample_name` with exactly `labels`, or None."""
    for family in families.values():
        for sample in family.samples:
            if sample.name == sample_name and sample.labels == labels:
                return float(sample.value)
    return None


def test_metrics_describe_instances_jobs_and_the_reconciler(
    make_reconciler: Callable[..., Reconciler], tmp_path: Path,
) -> None:
    r = make_reconciler(f"""
processes:
  web:
    command: sleep 1000
    env: {{DB_PASSWORD: "{SECRET}"}}
    limits: {{memory: 1GB}}
  crashy:
    command: sh -c 'exit 3'
    restart: {{max_retries: 2, backoff: {{initial: 100ms, max: 100ms}}}}
  checked:
    command: sleep 1000
    health: {{exec: "true", interval: 200ms}}
  hog:
    command: ["{sys.executable}", "-c", "{HOG}"]
    limits: {{memory: 30MB}}
    restart: {{max_retries: 0}}
  tick:
    command: sh -c 'exit 0'
    schedule: {{every: 1h}}
  flop:
    command: sh -c 'exit 2'
    schedule: {{every: 1h}}
""")
    r.start()
    r.wait_state("web", "running")
    r.wait_state("crashy", "failed")
    r.wait_state("hog", "failed", timeout=15)
    wait_for(lambda: r.row("checked")["health"] == "healthy")
    assert r.cli("run", "tick").exit_code == 0
    assert r.cli("run", "flop").exit_code == 0
    for job, outcome in (("tick", "succeeded"), ("flop", "failed")):
        wait_for(lambda: _value(_families(r), "sentinel_job_runs_total", name=job, outcome=outcome) == 1,  # noqa: B023
                 message=lambda: _scrape(r)[1])
    wait_for(lambda: _value(_families(r), "sentinel_process_memory_rss_bytes", name="web") is not None)

    content_type, text = _scrape(r)
    assert content_type.startswith("text/plain; version=")
    assert SECRET not in text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    types = {name: family.type for name, family in families.items()}
    assert types == {
        "sentinel_process_up": "gauge", "sentinel_process_state": "gauge", "sentinel_process_health": "gauge",
        "sentinel_process_restarts": "counter", "sentinel_process_last_exit_code": "gauge",
        "sentinel_process_uptime_seconds": "gauge", "sentinel_process_cpu_ratio": "gauge",
        "sentinel_process_memory_rss_bytes": "gauge", "sentinel_process_limit_breaches": "counter",
        "sentinel_job_last_run_timestamp_seconds": "gauge", "sentinel_job_last_run_duration_seconds": "gauge",
        "sentinel_job_last_run_outcome": "gauge", "sentinel_job_runs": "counter",
        "sentinel_reconcile_pass_duration_seconds": "histogram", "sentinel_reconcile_passes": "counter",
        "sentinel_config_reloads": "counter", "sentinel_config_errors": "counter", "sentinel_api_requests": "counter",
        "sentinel_notifications": "counter",
    }

    # Instances: state as one 1 among its states, restarts after crashes, the last exit code, health, limits.
    assert _value(families, "sentinel_process_up", name="web") == 1
    assert _value(families, "sentinel_process_up", name="crashy") == 0
    assert _value(families, "sentinel_process_state", name="crashy", state="failed") == 1
    assert _value(families, "sentinel_process_state", name="crashy", state="running") == 0
    assert _value(families, "sentinel_process_state", name="tick", state="scheduled") == 1
    states = [s for s in families["sentinel_process_state"].samples if s.labels["name"] == "web"]
    assert len(states) == 9 and sum(s.value for s in states) == 1
    assert _value(families, "sentinel_process_restarts_total", name="crashy") == 2
    assert _value(families, "sentinel_process_restarts_total", name="web") == 0
    assert _value(families, "sentinel_process_last_exit_code", name="crashy") == 3
    assert _value(families, "sentinel_process_last_exit_code", name="web") is None
    assert _value(families, "sentinel_process_health", name="checked", health="healthy") == 1
    assert _value(families, "sentinel_process_health", name="checked", health="unhealthy") == 0
    assert _value(families, "sentinel_process_health", name="web", health="healthy") is None  # no check
    assert (_value(families, "sentinel_process_uptime_seconds", name="web") or -1) >= 0
    assert _value(families, "sentinel_process_uptime_seconds", name="crashy") is None
    assert (_value(families, "sentinel_process_memory_rss_bytes", name="web") or 0) > 0  # sampled for its limit
    assert (_value(families, "sentinel_process_cpu_ratio", name="web") or 0) >= 0
    assert _value(families, "sentinel_process_limit_breaches_total", name="hog") == 1
    assert _value(families, "sentinel_process_limit_breaches_total", name="web") == 0
    assert _value(families, "sentinel_process_limit_breaches_total", name="crashy") is None  # has no limits

    # Jobs: the newest run's time, duration and outcome; runs counted by outcome.
    assert _value(families, "sentinel_job_runs_total", name="tick", outcome="succeeded") == 1
    assert _value(families, "sentinel_job_runs_total", name="tick", outcome="failed") == 0
    assert _value(families, "sentinel_job_runs_total", name="flop", outcome="failed") == 1
    assert _value(families, "sentinel_job_last_run_outcome", name="tick", outcome="succeeded") == 1
    assert _value(families, "sentinel_job_last_run_outcome", name="flop", outcome="failed") == 1
    assert _value(families, "sentinel_job_last_run_outcome", name="flop", outcome="succeeded") == 0
    assert (_value(families, "sentinel_job_last_run_timestamp_seconds", name="tick") or 0) > 1.7e9
    assert (_value(families, "sentinel_job_last_run_duration_seconds", name="tick") or -1) >= 0

    # The reconciler itself: passes, their durations, API requests (this scrape's own is counted next time).
    passes = _value(families, "sentinel_reconcile_passes_total")
    assert passes is not None and passes > 0
    assert _value(families, "sentinel_reconcile_pass_duration_seconds_count") == passes
    assert _value(families, "sentinel_reconcile_pass_duration_seconds_bucket", le="+Inf") == passes
    assert (_value(families, "sentinel_api_requests_total", method="GET", code="200") or 0) > 0
    assert _value(families, "sentinel_api_requests_total", method="POST", code="200") == 2  # the two runs
    assert _value(families, "sentinel_config_reloads_total") == 0


def test_metrics_count_reloads_and_invalid_files(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    r.config.write_text("processes: {a: {command: sleep 1000}, b: {command: sleep 1000}}")
    r.wait_state("b", "running")
    r.config.write_text("processes: {a: {command: sleep 1000}, b: {replicas: nope}}")
    wait_for(lambda: r.client.get("/v1/config")["error"] is not None)
    families = _families(r)
    assert _value(families, "sentinel_config_errors_total") == 1
    reloads = _value(families, "sentinel_config_reloads_total")
    assert reloads is not None and reloads >= 2  # a watcher may see one write as more than one change


def test_a_scrape_shows_the_latest_sample_and_takes_none_itself(make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")  # no limits: the sampler leaves it alone
    r.start()
    wait_for(lambda: _value(_families(r), "sentinel_process_up", name="a") == 1)
    for _ in range(3):
        assert _value(_families(r), "sentinel_process_memory_rss_bytes", name="a") is None
    r.rows()  # `status` samples every live tree
    memory = _value(_families(r), "sentinel_process_memory_rss_bytes", name="a")
    assert memory is not None and memory > 0
    assert _value(_families(r), "sentinel_process_cpu_ratio", name="a") is not None
