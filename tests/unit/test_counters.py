"""The reconciler's own counts for /metrics (sentinel/controller/counters.py): histogram buckets, API requests."""

from __future__ import annotations

from sentinel.controller.counters import Counters, Histogram


def test_a_histogram_counts_each_observation_in_the_first_bucket_that_holds_it_and_reports_cumulatively() -> None:
    histogram = Histogram((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 7.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [(0.1, 2), (1.0, 3), (float("inf"), 4)]
    assert histogram.total == 7.65


def test_api_requests_are_counted_by_method_and_status_and_odd_methods_share_one_label() -> None:
    counters = Counters()
    counters.api_request("GET", 200)
    counters.api_request("GET", 200)
    counters.api_request("BREW", 405)
    counters.api_request("X" * 500, 405)
    assert counters.api_requests == {("GET", 200): 2, ("other", 405): 2}
