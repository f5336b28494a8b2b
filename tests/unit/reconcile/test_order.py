"""Dependency ranks (start order, stops reversed) and instance-to-process names."""

from __future__ import annotations

import pytest

from sentinel.reconcile.order import process_of, ranks


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        pytest.param({}, {}, id="nothing"),
        pytest.param({"a": {}, "b": {}}, {"a": 0, "b": 0}, id="independent"),
        pytest.param({"api": {"db": "started"}, "db": {}}, {"api": 1, "db": 0}, id="one-edge"),
        pytest.param({"web": {"api": "started", "db": "started"}, "api": {"db": "healthy"}, "db": {}},
                     {"web": 2, "api": 1, "db": 0}, id="diamond-takes-the-longest-path"),
        pytest.param({"api": {"gone": "started"}}, {"gone": 0, "api": 1},
                     id="unknown-dependency-ranks-zero-below-its-dependent"),
    ],
)
def test_ranks(depends_on: dict[str, dict[str, str]], expected: dict[str, int]) -> None:
    assert ranks(depends_on) == expected


def test_ranks_terminate_on_a_cycle() -> None:
    """Validation refuses cycles; the ordering must still not loop forever on one."""
    out = ranks({"a": {"b": "started"}, "b": {"a": "started"}})
    assert set(out) == {"a", "b"}


@pytest.mark.parametrize(
    ("instance", "process"),
    [
        pytest.param("web", "web", id="single-instance"),
        pytest.param("web.3", "web", id="replica"),
        pytest.param("v1.2", "v1.2", id="dotted-process-name"),
        pytest.param("gone.1", "gone.1", id="unknown-process"),
        pytest.param("web.x", "web.x", id="not-a-replica-suffix"),
    ],
)
def test_process_of(instance: str, process: str) -> None:
    assert process_of(instance, {"web": 0, "v1.2": 0}) == process
