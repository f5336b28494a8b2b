"""The API's OpenAPI document (sentinel/api/openapi.py): checked in as schema/openapi.json, the same as
what a live reconciler serves at /openapi.json, listing every route, and describing what the API
really answers (real answers and errors validated against it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from starlette.routing import Route, WebSocketRoute

from sentinel.api.app import ROUTES
from sentinel.api.openapi import openapi_text
from tests.integration.daemon.test_api_and_cli import _raw
from tests.support.daemon import Reconciler

ROOT = Path(__file__).parents[3]


def test_the_checked_in_document_is_what_the_routes_and_models_generate() -> None:
    assert (ROOT / "schema" / "openapi.json").read_text() == openapi_text(), (
        "the API changed: regenerate with scripts/schema (`sentinel schema --openapi > schema/openapi.json`)"
    )


def test_every_route_and_method_is_documented() -> None:
    """HTTP routes in the OpenAPI document; WebSocket routes (outside OpenAPI's model) in docs/contract.md."""
    paths = json.loads(openapi_text())["paths"]
    contract = (ROOT / "docs" / "contract.md").read_text()
    for route in ROUTES:
        if isinstance(route, WebSocketRoute):
            assert f"`{route.path}?follow=true" in contract, route.path
            continue
        assert isinstance(route, Route)
        methods = {method.lower() for method in route.methods or ()} - {"head"}
        assert set(paths[route.path]) == methods, route.path


def test_each_action_is_documented_with_its_own_body_and_answer() -> None:
    operations = json.loads(openapi_text())["paths"]
    schemas = {path: (operation["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
                      next(iter(operation["post"]["responses"].values()))["content"]["application/json"]["schema"]["$ref"])
               for path, operation in operations.items() if "post" in operation}
    ref = "#/components/schemas/{}".format
    assert schemas["/v1/processes/{name}/signal"] == (ref("SendSignal"), ref("Signalled"))
    assert schemas["/v1/processes/{name}/reload"] == (ref("ReloadProcess"), ref("Reloaded"))
    assert schemas["/v1/processes/{name}/run"] == (ref("RunJob"), ref("Acted"))
    for verb in ("start", "stop", "restart"):
        assert schemas[f"/v1/processes/{verb}"] == (ref("Act"), ref("Acted"))
        assert schemas[f"/v1/processes/{{name}}/{verb}"] == (ref("ActOnOne"), ref("Acted"))
        assert schemas[f"/v1/groups/{{group}}/{verb}"] == (ref("ActOnOne"), ref("Acted"))
    operation_ids = [op["operationId"] for path in operations.values() for op in path.values()]
    assert len(operation_ids) == len(set(operation_ids))


def _validator(document: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    schema = document["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


def test_a_live_reconciler_serves_the_document_and_answers_as_it_says(
        make_reconciler: Callable[..., Reconciler]) -> None:
    r = make_reconciler("processes: {a: {command: sleep 1000}}")
    r.start()
    r.wait_state("a", "running")
    status, served = _raw(r, "GET", "/openapi.json")
    assert status == 200
    document = json.loads(served)
    assert document == json.loads((ROOT / "schema" / "openapi.json").read_text())
    checks = [
        ("GET", "/v1/processes", "/v1/processes", None, 200),
        ("GET", "/healthz", "/healthz", None, 200),
        ("GET", "/v1/config", "/v1/config", None, 200),
        ("GET", "/v1/events?limit=5", "/v1/events", None, 200),
        ("GET", "/v1/processes?name=nope", "/v1/processes", None, 404),
        ("POST", "/v1/processes/restart", "/v1/processes/restart", b'{"targets": ["a"], "timeout": 5}', 200),
        ("POST", "/v1/processes/stop", "/v1/processes/stop", b'{"all": "no"}', 422),
        ("POST", "/v1/processes/stop", "/v1/processes/stop", b"\x00", 400),  # found by schemathesis
        ("POST", "/v1/processes/a/run", "/v1/processes/{name}/run", b"{}", 409),
        ("POST", "/v1/processes/a/reload", "/v1/processes/{name}/reload", b"{}", 409),
        ("POST", "/v1/processes/a/signal", "/v1/processes/{name}/signal", b'{"signal": "CONT"}', 200),
        ("POST", "/v1/processes/a/restart", "/v1/processes/{name}/restart", b'{"timeout": 5}', 200),
        ("GET", "/v1/processes/a", "/v1/processes/{name}", None, 200),
        ("GET", "/v1/processes/a/runs", "/v1/processes/{name}/runs", None, 409),
        ("GET", "/v1/groups", "/v1/groups", None, 200),
        ("GET", "/v1/events?limit=0", "/v1/events", None, 422),
        ("POST", "/v1/config/diff", "/v1/config/diff", b"{}", 200),
        ("GET", "/v1/processes/a/logs?lines=5", "/v1/processes/{name}/logs", None, 200),
        ("GET", "/v1/processes/nope/logs", "/v1/processes/{name}/logs", None, 404),
        ("GET", "/v1/processes/a/logs?lines=many", "/v1/processes/{name}/logs", None, 422),
    ]
    for method, url, path, body, expected in checks:
        status, text = _raw(r, method, url, body)
        assert status == expected, (url, text)
        errors = list(_validator(document, path, method.lower(), status).iter_errors(json.loads(text)))
        assert not errors, (url, text, errors[0].message)


def test_sentinel_schema_openapi_prints_the_document() -> None:
    from click.testing import CliRunner

    from sentinel.cli.main import cli

    result = CliRunner().invoke(cli, ["schema", "--openapi"])
    assert (result.exit_code, result.stdout) == (0, openapi_text())
