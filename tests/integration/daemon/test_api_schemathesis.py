"""Property-based tests of the API from its OpenAPI document (schemathesis), black-box against a live reconciler
on its socket: for requests generated from every operation, valid ones and invalid ones, no answer is a 5xx,
and every answer has a status the document lists for that operation, its content type, and a body matching
its schema.

`/v1/shutdown` is left out (it stops the reconciler under test). Path names are drawn from the processes and
the group of the config as well as generated, so that the routes act on real processes too; an action's
`timeout` is cut to 2 s so that a generated one cannot hold the run. The examples per operation are few
(EXAMPLES per mode) to keep the run short in the default suite; `SENTINEL_SCHEMATHESIS_EXAMPLES` asks for more.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sentinel.api.openapi import openapi_text
from tests.support.daemon import Reconciler
from tests.support.unixhttp import unix_session

pytestmark = pytest.mark.deep  # properties against live reconcilers: CI's deep step, not the default run

CONFIG = """
processes:
  web: {command: sleep 1000, group: front, replicas: 2}
  worker: {command: sleep 1000}
  tick: {command: "true", schedule: manual}
"""
EXAMPLES = int(os.environ.get("SENTINEL_SCHEMATHESIS_EXAMPLES", "6"))
KNOWN = {"name": ["web", "web.1", "worker", "tick"], "group": ["front"]}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_TIMEOUT = 2.0


def _strategies(operation: Any) -> list[st.SearchStrategy[Case[Any]]]:
    """Each mode's cases, with generated path values and, for a path naming a process or group, known ones."""
    generated = [operation.as_strategy(generation_mode=mode) for mode in GenerationMode]
    named = [name for name in KNOWN if f"{{{name}}}" in operation.path]
    if not named:
        return generated
    known = st.sampled_from(KNOWN[named[0]]).flatmap(
        lambda value: operation.as_strategy(generation_mode=GenerationMode.POSITIVE,
                                            path_parameters={named[0]: value}))
    return [*generated, known]


def _bounded(case: Case[Any]) -> None:
    body = case.body
    if isinstance(body, dict):
        timeout = body.get("timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > MAX_TIMEOUT:
            body["timeout"] = MAX_TIMEOUT


def _explore(operation: Any, session: requests.Session, failures: list[str]) -> None:
    """Send generated requests of `operation`; note each failed check in `failures`."""

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(_strategies(operation)))
    def answers_as_documented(case: Case[Any]) -> None:
        _bounded(case)
        try:  # noted, not raised: the API has state, so a failure need not repeat when Hypothesis replays it
            case.call_and_validate(base_url="http://localhost", session=session, checks=CHECKS)
        except Exception as failure:  # noqa: BLE001 - each finding is collected, all are reported
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")

    answers_as_documented()


@pytest.mark.timeout(300)  # 13 s on this 2-core machine under a load of 5; leave room for more
def test_every_generated_request_is_answered_as_the_document_says(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler(CONFIG)
    r.start()
    r.wait_state("worker", "running")
    schema = schemathesis.openapi.from_dict(json.loads(openapi_text())).exclude(path="/v1/shutdown")
    session = unix_session(r.state_dir.socket)
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document is valid
        _explore(result.ok(), session, failures)
        tried += 1
    session.close()
    assert tried > 20
    assert failures == [], "\n\n".join(sorted(set(failures)))
    assert r.process is not None and r.process.poll() is None
    assert "Traceback" not in r.log
