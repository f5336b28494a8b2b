"""Cross-process checks: dependencies, cycles, conditions that can never hold, instance names."""

from __future__ import annotations

from typing import Any

import pytest

from sentinel.config.graph import check_processes, find_cycle
from sentinel.config.models import Config
from sentinel.instances import instance_names


def config(**processes: dict[str, Any]) -> Config:
    return Config.model_validate({"processes": processes})


def test_instance_names() -> None:
    assert instance_names("web", 1) == ["web"]
    assert instance_names("web", 3) == ["web.0", "web.1", "web.2"]
    assert instance_names("web", 0) == []


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ({"a": ["b"], "b": []}, None),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": ["y"], "y": ["z"], "z": ["y"]}, ["y", "z", "y"]),
        ({"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}, None),
        ({"a": ["missing"]}, None),
    ],
)
def test_find_cycle(edges: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(edges) == cycle


def test_a_consistent_config_has_no_issues() -> None:
    assert check_processes(config(
        db={"command": "db", "health": {"tcp": "127.0.0.1:5432"}},
        migrate={"command": "m", "restart": {"policy": "never"}},
        api={"command": "api", "depends_on": {"db": "healthy", "migrate": "completed"}},
        report={"command": "r", "schedule": {"every": "1h"}},
        web={"command": "web", "depends_on": ["api", "report"], "replicas": 2},
    )) == []


@pytest.mark.parametrize(
    ("processes", "issue"),
    [
        pytest.param({"api": {"command": "a", "depends_on": {"dbb": "started"}}, "db": {"command": "d"}},
                     (("processes", "api", "depends_on", "dbb"), "unknown process 'dbb'; did you mean 'db'?"),
                     id="unknown-dependency"),
        pytest.param({"api": {"command": "a", "depends_on": {"db": "healthy"}}, "db": {"command": "d"}},
                     (("processes", "api", "depends_on", "db"), "'db' has no health check, so it can never be healthy"),
                     id="healthy-without-check"),
        pytest.param({"api": {"command": "a", "depends_on": {"j": "healthy"}},
                      "j": {"command": "j", "schedule": {"every": "1m"}}},
                     (("processes", "api", "depends_on", "j"),
                      "'j' is a job; a job has no health to wait for (use completed)"),
                     id="healthy-on-job"),
        pytest.param({"api": {"command": "a", "depends_on": {"db": "completed"}}, "db": {"command": "d"}},
                     (("processes", "api", "depends_on", "db"), "'db' restarts always, so it never completes"),
                     id="completed-on-always"),
        pytest.param({"a": {"command": "a", "depends_on": ["b"]}, "b": {"command": "b", "depends_on": ["a"]}},
                     (("processes", "a", "depends_on"), "dependency cycle: a -> b -> a"),
                     id="cycle"),
        pytest.param({"web": {"command": "w", "replicas": 2}, "web.1": {"command": "x"}},
                     (("processes", "web.1"), "instance name 'web.1' is also an instance of 'web'"),
                     id="instance-collision"),
    ],
)
def test_issues(processes: dict[str, Any], issue: tuple[tuple[str, ...], str]) -> None:
    assert check_processes(config(**processes)) == [issue]
