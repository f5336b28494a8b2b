"""What the reconciler counts about itself, for `/metrics` (sentinel.api.metrics): how long its passes
take, config reloads and the invalid files among them, API requests. Plain numbers, added to where
the events happen (the loop, the daemon, the API); a scrape only reads them.

The passes themselves are counted by the controller (`Controller.passes`), job runs by `JobRuns`,
limit breaches by `LimitSampler`: each count lives beside the event it counts.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

# Seconds. A pass plans the whole world: well under a millisecond with a few processes, tens of
# milliseconds with hundreds (docs/contract.md#performance-budgets); the top buckets catch a stall.
PASS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


@dataclass(slots=True)
class Histogram:
    """Observations counted into buckets of upper bounds (`le`), as Prometheus histograms are."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)  # per bucket, not cumulative; the last is +Inf
    total: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or under it) for each bucket, +Inf last."""
        running, result = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            result.append((bound, running))
        return result


@dataclass(slots=True)
class Counters:
    """The reconciler's own counts since it started."""

    pass_seconds: Histogram = field(default_factory=lambda: Histogram(PASS_BUCKETS))
    reloads: int = 0  # config loads after start-up that ended (file change, SIGHUP, apply), valid or not
    config_errors: int = 0  # of those, the files found invalid
    source_fetch_errors: int = 0  # fetches of the git source that failed or ran out of time
    source_refused: int = 0  # commits of the git source that were not applied
    api_requests: dict[tuple[str, int], int] = field(default_factory=dict)  # (method, status) → answered
    # (target label, outcome) → notifications: delivered, retried (a try that failed and will be tried again),
    # failed (given up), dropped (its queue was full). Each key has one writer (a target's thread, or the loop for
    # `dropped`), so the senders' threads need no lock.
    notifications: dict[tuple[str, str], int] = field(default_factory=dict)

    def notification(self, target: str, outcome: str) -> None:
        key = (target, outcome)
        self.notifications[key] = self.notifications.get(key, 0) + 1

    def api_request(self, method: str, status: int) -> None:
        """One API request answered with `status` (methods outside HTTP's own are counted as `other`)."""
        key = (method if method in METHODS else "other", status)
        self.api_requests[key] = self.api_requests.get(key, 0) + 1
