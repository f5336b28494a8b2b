"""Shared pytest setup: Hypothesis profiles (docs/conventions.md#hypothesis-profiles).

- dev (the default): 100 random examples per property, a new draw on every run.
- ci (where CI is set, so the default suite of .ci/run): 30 examples, derandomized: the examples
  follow from the test's own source, so a CI run is reproducible and does not fail on a draw nobody
  can replay; the many draws are the deep step's.
- deep: 300 random examples per property, run by .ci/run as its own step
  (`pytest -m hypothesis --hypothesis-profile deep --no-cov tests/property tests/unit`), so CI still
  explores new draws, as many as before, without the default suite paying for them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, database=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=300, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An `untraced` test runs without coverage's tracer (pytest-cov's `no_cover`) when coverage is on; under
    `--no-cov` there is no tracer to pause (pytest-cov 7 fails trying to pause it)."""
    if config.getoption("no_cov", default=False):
        return
    for item in items:
        if item.get_closest_marker("untraced"):
            item.add_marker(pytest.mark.no_cover)
