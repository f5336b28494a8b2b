"""`/metrics`: the reconciler in Prometheus text format, through prometheus-client.

`ReconcilerCollector` reads what the reconciler already holds (records, the last cpu and memory
sample of each tree, health verdicts, job runs, its own counters in `controller.counters`) and
yields metric families; a scrape never reads the process table itself, so cpu and memory are
those of the latest sample (every second for a process with `limits`, else the last `status`).
Each scrape renders through a private `CollectorRegistry`: nothing is registered globally.

Labels hold only instance names, states, outcomes, HTTP methods and codes: never a command,
an environment value or a reason text, so no secret can reach a label (docs/security.md#metric-labels).

This module is imported on the first scrape, not before: prometheus-client costs the reconciler
memory it need not pay when nothing scrapes it (README.md#metrics).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from sentinel.api.status import status_rows
from sentinel.state.values import RUN_OUTCOMES
from sentinel.states import Health, ProcessState

if TYPE_CHECKING:
    from sentinel.controller.loop import Controller

CONTENT_TYPE = CONTENT_TYPE_LATEST
ENDED = sorted(RUN_OUTCOMES - {"running"})  # how a run can end (or be skipped): the outcomes counted
CHECKED = (Health.HEALTHY, Health.UNHEALTHY, Health.UNKNOWN)  # verdicts of an instance that has a check


def exposition(controller: Controller) -> str:
    """The scrape's answer: every metric of `controller`, in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReconcilerCollector(controller))
    return generate_latest(registry).decode()


class ReconcilerCollector(Collector):
    """The metric families of one reconciler, built afresh at each `collect()`."""

    def __init__(self, controller: Controller) -> None:
        self._controller = controller

    def collect(self) -> Iterator[Metric]:
        yield from self._instances()
        yield from self._jobs()
        yield from self._reconciler()

    def _instances(self) -> Iterator[Metric]:
        controller = self._controller
        up = GaugeMetricFamily("sentinel_process_up", "1 when the instance is running.", labels=["name"])
        state = GaugeMetricFamily("sentinel_process_state", "1 for the state the instance is in (docs/states.md).",
                                  labels=["name", "state"])
        health = GaugeMetricFamily("sentinel_process_health",
                                   "1 for the verdict of the instance's health check (only instances with one).",
                                   labels=["name", "health"])
        restarts = CounterMetricFamily("sentinel_process_restarts", "Restarts of the instance.", labels=["name"])
        exit_code = GaugeMetricFamily("sentinel_process_last_exit_code", "Exit code of the instance's last exit.",
                                      labels=["name"])
        uptime = GaugeMetricFamily("sentinel_process_uptime_seconds", "Seconds since the instance's current run "
                                   "started (while it runs).", labels=["name"])
        cpu = GaugeMetricFamily("sentinel_process_cpu_ratio", "CPU used by the instance's process tree at the latest "
                                "sample, in cores (1 = one core busy).", labels=["name"])
        memory = GaugeMetricFamily("sentinel_process_memory_rss_bytes", "Resident memory of the instance's process "
                                   "tree at the latest sample.", labels=["name"])
        breaches = CounterMetricFamily("sentinel_process_limit_breaches", "Times the instance's tree was found over "
                                       "one of its limits (each leads to a restart).", labels=["name"])
        for row in status_rows(controller, measure=False):
            name = row["name"]
            up.add_metric([name], 1.0 if row["state"] == ProcessState.RUNNING else 0.0)
            for each in ProcessState:
                state.add_metric([name, str(each)], 1.0 if row["state"] == each else 0.0)
            if row["health"] != Health.NONE:
                for verdict in CHECKED:
                    health.add_metric([name, str(verdict)], 1.0 if row["health"] == verdict else 0.0)
            restarts.add_metric([name], row["restarts"])
            if row["exit_code"] is not None:
                exit_code.add_metric([name], row["exit_code"])
            if row["uptime_s"] is not None:
                uptime.add_metric([name], row["uptime_s"])
            if row["cpu_percent"] is not None:
                cpu.add_metric([name], row["cpu_percent"] / 100.0)
            if row["memory_rss"] is not None:
                memory.add_metric([name], row["memory_rss"])
            spec = controller.spec(name)
            if spec is not None and spec.limits.any:
                breaches.add_metric([name], controller.limits.breaches_total.get(name, 0))
        yield from (up, state, health, restarts, exit_code, uptime, cpu, memory, breaches)

    def _jobs(self) -> Iterator[Metric]:
        controller = self._controller
        started = GaugeMetricFamily("sentinel_job_last_run_timestamp_seconds", "When the job's newest run started "
                                    "(or its newest trigger was skipped), in Unix time.", labels=["name"])
        took = GaugeMetricFamily("sentinel_job_last_run_duration_seconds", "How long the job's newest ended run took.",
                                 labels=["name"])
        outcome = GaugeMetricFamily("sentinel_job_last_run_outcome", "1 for the outcome of the job's newest run.",
                                    labels=["name", "outcome"])
        runs = CounterMetricFamily("sentinel_job_runs", "Runs of the job that ended (or triggers skipped) since the "
                                   "reconciler started, by outcome.", labels=["name", "outcome"])
        jobs = sorted(name for name, d in controller.desired.items() if d.is_job)
        for name in jobs:
            last = controller.jobs.last_run(name)
            if last is not None and last.started_at is not None:
                started.add_metric([name], last.started_at.timestamp())
                if last.ended_at is not None:
                    took.add_metric([name], (last.ended_at - last.started_at).total_seconds())
            if last is not None:
                for each in sorted(RUN_OUTCOMES):
                    outcome.add_metric([name, each], 1.0 if last.outcome == each else 0.0)
        counted = controller.jobs.outcomes
        for name in sorted(set(jobs) | {job for job, _ in counted}):
            for each in ENDED:
                runs.add_metric([name, each], counted.get((name, each), 0))
        yield from (started, took, outcome, runs)

    def _reconciler(self) -> Iterator[Metric]:
        controller, counters = self._controller, self._controller.counters
        histogram = counters.pass_seconds
        yield HistogramMetricFamily(
            "sentinel_reconcile_pass_duration_seconds", "How long each reconcile pass took (plan and execute).",
            buckets=[(_bound(le), count) for le, count in histogram.cumulative()], sum_value=histogram.total)
        yield CounterMetricFamily("sentinel_reconcile_passes", "Reconcile passes since the reconciler started.",
                                  value=controller.passes)
        yield CounterMetricFamily("sentinel_config_reloads", "Config loads after start-up (file change, SIGHUP, "
                                  "apply), valid or not.", value=counters.reloads)
        yield CounterMetricFamily("sentinel_config_errors", "Config loads that found the file invalid (the running "
                                  "config stayed in force).", value=counters.config_errors)
        yield from self._source()
        requests = CounterMetricFamily("sentinel_api_requests", "API requests answered, by method and status code.",
                                       labels=["method", "code"])
        for (method, status), count in sorted(counters.api_requests.items()):
            requests.add_metric([method, str(status)], count)
        yield requests
        notifications = CounterMetricFamily(
            "sentinel_notifications", "Notifications by target (its name, or notify[INDEX]; never its URL) and "
            "outcome: delivered, retried (a failed try, tried again), failed (given up), dropped (queue full).",
            labels=["target", "outcome"])
        for (target, outcome), count in sorted(dict(counters.notifications).items()):
            notifications.add_metric([target, outcome], count)
        yield notifications


    def _source(self) -> Iterator[Metric]:
        """The git source (docs/gitops.md#watching-a-fleet): the commit in force as an info metric, the commit
        refused, fetch failures. Labels hold commit hashes, the ref and the path only."""
        controller = self._controller
        state = controller.source_state
        if state is None:
            return
        info = GaugeMetricFamily("sentinel_config_info", "1, labelled with the git source's commit in force.",
                                 labels=["revision", "ref", "path"])
        ref, path = controller.source_labels
        info.add_metric([state.applied.hash if state.applied else "", ref, path], 1.0)
        yield info
        refused = GaugeMetricFamily("sentinel_source_refused", "1, labelled with the newest commit that was not "
                                    "applied (invalid, unsigned, leaving its checkout), while no newer one applied.",
                                    labels=["revision"])
        if state.refused is not None:
            refused.add_metric([state.refused.hash], 1.0)
        yield refused
        yield GaugeMetricFamily("sentinel_source_fetch_failing", "1 while the last fetch of the git source failed.",
                                value=1.0 if state.fetch_error else 0.0)
        yield GaugeMetricFamily("sentinel_source_suspended", "1 while pulling is suspended (`sentinel source "
                                "suspend`).", value=1.0 if state.suspended_since else 0.0)
        if state.fetched_at is not None:
            yield GaugeMetricFamily("sentinel_source_last_fetch_timestamp_seconds", "When the last fetch worked.",
                                    value=state.fetched_at.timestamp())
        counters = controller.counters
        yield CounterMetricFamily("sentinel_source_fetch_errors", "Fetches of the git source that failed or ran "
                                  "out of time.", value=counters.source_fetch_errors)
        yield CounterMetricFamily("sentinel_source_refused_commits", "Commits of the git source not applied.",
                                  value=counters.source_refused)


def _bound(le: float) -> str:
    return "+Inf" if le == float("inf") else repr(le)
