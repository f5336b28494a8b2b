"""Adopt or stop a process no record knows (sentinel.reconcile.strays,
docs/reliability.md#f33-a-corrupt-state-database)."""

from __future__ import annotations

import pytest

from sentinel.reconcile.strays import ADOPT, StrayFacts, stray_verdict
from tests.support.simworld import SimWorld
from tests.unit.reconcile.scenarios import job, svc

DESIRED = SimWorld.of({"web": svc(), "report": job()}).desired
WEB = DESIRED["web"].spec_hash


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        pytest.param(StrayFacts("web", WEB), ADOPT, id="same-spec"),
        pytest.param(StrayFacts("web", "0" * 16), "its spec has changed", id="changed"),
        pytest.param(StrayFacts("web", None), "started by a reconciler that did not record its spec", id="no-digest"),
        pytest.param(StrayFacts("web", WEB, held=True), "held stopped", id="held"),
        pytest.param(StrayFacts("gone", WEB), "not in the config", id="removed"),
        pytest.param(StrayFacts("report", DESIRED["report"].spec_hash), "a job run no record knows", id="job"),
    ],
)
def test_a_stray_is_adopted_only_when_its_instance_is_desired_as_the_same_spec(facts: StrayFacts, verdict: str) -> None:
    assert stray_verdict(facts, DESIRED) == verdict
