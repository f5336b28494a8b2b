"""The property of issue #11: every config that `validate` accepts can be started, reconciled and stopped.

Configs are drawn from the JSON Schema's own ranges (tests/support/schema_configs.py), edges
included; each one that loads is run by a real reconciler, which must answer, list every
process, and stop cleanly (exit 0) without an internal error. A few dozen examples at most, so
the test stays in the default suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from sentinel.config.loader import load
from sentinel.errors import ConfigError
from tests.support.daemon import Reconciler
from tests.support.schema_configs import configs

pytestmark = pytest.mark.deep  # properties against live reconcilers: CI's deep step, not the default run


@settings(max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_every_config_that_validates_runs(tmp_path_factory: pytest.TempPathFactory, config: dict[str, Any]) -> None:
    directory = tmp_path_factory.mktemp("drawn")
    path = directory / "sentinel.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    try:
        loaded = load(str(path), environ={})
    except ConfigError:
        assume(False)
        return
    reconciler = Reconciler(home=directory / "home", config=path)
    try:
        reconciler.start()
        names = {row["name"].split(".")[0] for row in reconciler.rows().values()}
        assert names >= {name for name, process in loaded.config.processes.items() if process.replicas}
        assert reconciler.cli("status").exit_code == 0
    finally:
        reconciler.stop()
    log = reconciler.log
    assert reconciler.process is not None and reconciler.process.returncode == 0, log
    assert "internal error" not in log and "Traceback" not in log, log


def test_the_drawn_configs_cover_the_edges_of_the_ranges(tmp_path: Path) -> None:
    """The strategy reaches the bounds: the largest `every`, the latest `at` (and they validate)."""
    from tests.support.schema_configs import definitions

    schedule = definitions()["Schedule"]["properties"]
    path = tmp_path / "sentinel.yaml"
    path.write_text(json.dumps({"processes": {
        "edge": {"command": "true", "schedule": {"every": schedule["every"]["anyOf"][0]["anyOf"][0]["maximum"]}},
        "late": {"command": "true", "schedule": {"at": schedule["at"]["formatMaximum"]}},
    }}))
    assert set(load(str(path), environ={}).config.processes) == {"edge", "late"}
